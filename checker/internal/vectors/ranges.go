package vectors

import (
	"fmt"
	"slices"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"
)

// The range API's vectors: answers in both forms and malformed ones.

func (g *gen) ranges(nums []string) error {
	for _, d := range g.plain.Meta().Datasets {
		g.f.RangeDatasets = append(g.f.RangeDatasets, DatasetEntry{Name: d.Name, Date: d.Date, Keys: d.Keys})
	}
	si := rangewire.Info{}
	for _, d := range g.f.RangeDatasets {
		si.Datasets = append(si.Datasets, rangewire.DatasetInfo{Dataset: rangewire.Dataset{Name: d.Name, Date: d.Date}, Keys: d.Keys})
	}
	id := rangeenc.IndexID(g.plain)
	enc := rangeenc.NewEncoder(g.plain, rangeenc.PadID(g.plain), id)
	var sc rangeenc.Scratch
	for _, bits := range []int{12, 20} {
		key := keyscheme.Key(nums[0])
		prefix := key >> (64 - bits)
		ph := keyscheme.Prefix(key, bits)
		for _, pad := range []bool{false, true} {
			if err := enc.Load(&sc, prefix, bits, pad); err != nil {
				return err
			}
			forms := []struct {
				ct, kind string
				body     []byte
			}{
				{ctText, "text", slices.Clone(enc.Text(&sc, bits, pad))},
				{ctJSON, "json", slices.Clone(enc.JSON(&sc, ph, bits, pad))},
			}
			for _, fm := range forms {
				name := fmt.Sprintf("%s-%d", fm.kind, bits)
				if pad {
					name += "-padded"
				}
				r := Range{Name: name, Prefix: ph, ContentType: fm.ct, Padded: pad, Body: string(fm.body), Entries: []RangeEntry{}, Decisions: []RangeMatch{}}
				es, index, err := rangewire.ParseRange(fm.body, fm.ct, ph)
				if err != nil {
					return fmt.Errorf("vectors: range %s: %w", name, err)
				}
				r.IndexID = index
				for _, e := range es {
					r.Entries = append(r.Entries, RangeEntry{Key: hx64(e.Key), Count: e.Count, Datasets: e.Datasets})
				}
				for _, n := range nums {
					k := keyscheme.Key(n)
					if k>>(64-bits) != prefix {
						continue
					}
					m := rangewire.MatchKey(si, es, k)
					rm := RangeMatch{E164: n, Key: hx64(k), Exposed: m.Exposed, Count: m.Count, Datasets: []string{}, DatasetsKnown: m.DatasetsKnown}
					for _, d := range m.Datasets {
						rm.Datasets = append(rm.Datasets, d.Name)
					}
					if _, in := g.members[n]; in != m.Exposed {
						return fmt.Errorf("vectors: range %s: %s exposed %v", name, n, m.Exposed)
					}
					r.Decisions = append(r.Decisions, rm)
				}
				g.f.Ranges = append(g.f.Ranges, r)
			}
		}
	}
	ph := keyscheme.Prefix(keyscheme.Key(nums[0]), 20)
	suf := strings.Repeat("0", 11)
	bad := []struct{ name, ct, body string }{
		{"text-suffix-short", ctText, suf[:10] + ":1"},
		{"text-suffix-long", ctText, suf + "0:1"},
		{"text-suffix-not-hex", ctText, suf[:10] + "G:1"},
		{"text-no-colon", ctText, suf + "1"},
		{"text-count-negative", ctText, suf + ":-1"},
		{"text-count-not-number", ctText, suf + ":x"},
		{"text-count-empty", ctText, suf + ":"},
		{"text-second-line-bad", ctText, suf + ":1\r\n" + suf[:10] + "1:1:2"},
		{"json-broken", ctJSON, `{"prefix":"` + ph + `","entries":[`},
		{"json-suffix-short", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf[:10] + `","count":1,"datasets":[0]}]}`},
		{"json-suffix-not-hex", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf[:10] + `G","count":1,"datasets":[0]}]}`},
		{"json-suffix-control-char", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf[:10] + `\u0011","count":1,"datasets":[0]}]}`},
		{"json-count-negative", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf + `","count":-1,"datasets":[0]}]}`},
		{"json-count-string", ctJSON, `{"prefix":"` + ph + `","entries":[{"suffix":"` + suf + `","count":"1","datasets":[0]}]}`},
		{"json-entries-not-array", ctJSON, `{"prefix":"` + ph + `","entries":{}}`},
	}
	for _, b := range bad {
		if _, _, err := rangewire.ParseRange([]byte(b.body), b.ct, ph); err == nil {
			return fmt.Errorf("vectors: bad range %s accepted", b.name)
		}
		g.f.BadRanges = append(g.f.BadRanges, BadRange{Name: b.name, Prefix: ph, ContentType: b.ct, Body: b.body, Error: ErrClassMalformed})
	}
	return nil
}
