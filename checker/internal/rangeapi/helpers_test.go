package rangeapi_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
	"github.com/phonecheck/phonecheck/checker/phone"
	"github.com/phonecheck/phonecheck/hashset"
)

// Fictional numbers only: US 555-0100..0199 and Australia's 0491 570 xxx
// range for drama.
var (
	testBoth  = []string{"+14155550132", "+61491570156"} // in both datasets
	testOnlyA = []string{"+14155550147", "+61491570157"} // in dataset a only
	testNone  = []string{"+14155550199", "+61491570158"} // in neither
)

// testIndex builds an in-memory index of the numbers above plus filler
// keys (hashes of non-numbers) so that ranges are not empty.
func testIndex(t testing.TB, filler int) *hashset.Reader {
	t.Helper()
	b := hashset.NewBuilder(hashset.Options{KeyScheme: keyscheme.Name, Created: "2026-11-25", BloomFPR: -1})
	a, _ := b.AddDataset(hashset.Dataset{Name: "leak-a", Date: "2022-11", Source: "test"})
	c, _ := b.AddDataset(hashset.Dataset{Name: "leak-b", Date: "2024-03"})
	us, au := b.Group("US"), b.Group("AU")
	grp := func(e164 string) uint16 {
		if strings.HasPrefix(e164, "+1") {
			return us
		}
		return au
	}
	for _, n := range testBoth {
		b.Add(keyscheme.Key(n), a, grp(n))
		b.Add(keyscheme.Key(n), c, grp(n))
	}
	for _, n := range testOnlyA {
		b.Add(keyscheme.Key(n), a, grp(n))
	}
	for i := range filler {
		b.Add(keyscheme.Key(fmt.Sprintf("filler--%d", i)), a, b.Group("ZZ"))
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	idx, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// exportDocs gives an export of idx the datasets document a client reads
// (and an empty stats document).
func exportDocs(idx *hashset.Reader) rangeenc.Documents {
	return func(bits []int, padding bool) (any, any) {
		m := idx.Meta()
		si := rangeapi.Info{Index: rangeapi.IndexInfo{ID: rangeenc.IndexID(idx), Keys: idx.Len(), HashScheme: m.KeyScheme, Created: m.Created},
			Datasets: []rangeapi.DatasetInfo{}, PrefixBits: bits, Padding: padding, Static: true}
		for _, d := range m.Datasets {
			si.Datasets = append(si.Datasets, rangeapi.DatasetInfo{Dataset: rangeapi.Dataset{Name: d.Name, Date: d.Date, Source: d.Source}, Keys: d.Keys})
		}
		return si, map[string]any{"keys": idx.Len()}
	}
}

// checkClient runs the test numbers through cl and checks the answers.
// exact says whether the server names the datasets (JSON) or only counts.
func checkClient(t *testing.T, cl *rangeapi.Client, exact bool) {
	t.Helper()
	ctx := context.Background()
	for _, n := range slices.Concat(testBoth, testOnlyA, testNone) {
		res, err := cl.Check(ctx, n, "")
		if err != nil {
			t.Fatalf("%s: %v", phone.Redact(n), err)
		}
		wantCount := 0
		switch {
		case slices.Contains(testBoth, n):
			wantCount = 2
		case slices.Contains(testOnlyA, n):
			wantCount = 1
		}
		if res.Exposed != (wantCount > 0) || res.Count != wantCount {
			t.Errorf("%s: exposed %v count %d, want count %d", phone.Redact(n), res.Exposed, res.Count, wantCount)
		}
		if wantCount == 2 && (!res.DatasetsKnown || len(res.Datasets) != 2) {
			t.Errorf("%s: datasets %v known %v", phone.Redact(n), res.Datasets, res.DatasetsKnown)
		}
		if wantCount == 1 {
			if exact && (!res.DatasetsKnown || len(res.Datasets) != 1 || res.Datasets[0].Name != "leak-a") {
				t.Errorf("%s: datasets %v, want leak-a", phone.Redact(n), res.Datasets)
			}
			if !exact && res.DatasetsKnown {
				t.Errorf("%s: a text range cannot say which dataset", phone.Redact(n))
			}
		}
		if res.Prefix != keyscheme.Prefix(keyscheme.Key(n), res.Bits) || res.Anonymity < keyscheme.DefaultMinAnonymity {
			t.Errorf("%s: sent %q (%d bits), anonymity %.0f", phone.Redact(n), res.Prefix, res.Bits, res.Anonymity)
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
