package rangewire_test

// The fuzz target of the client's range parser, seeded from the wire
// vectors (testdata/vectors at the module root). Fuzz with
//
//	go test -run '^$' -fuzz FuzzParseRange -fuzztime 45s ./checker/internal/rangeapi/rangewire

import (
	"encoding/json"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"
	"github.com/phonecheck/phonecheck/checker/internal/vectors"
)

func FuzzParseRange(f *testing.F) {
	v, err := vectors.Load()
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range v.Ranges {
		f.Add([]byte(r.Body), r.ContentType, r.Prefix)
	}
	for _, r := range v.BadRanges {
		f.Add([]byte(r.Body), r.ContentType, r.Prefix)
	}
	f.Add([]byte("0000000000000:1\n\n0000000000001:+2\r\n"), "text/plain", "abc")
	f.Add([]byte(`{"entries":[{"suffix":"0000000000000","count":1,"datasets":[-1]}]}`), "application/json; charset=utf-8", "abc")
	f.Fuzz(func(t *testing.T, body []byte, contentType, prefixHex string) {
		es, index, err := rangewire.ParseRange(body, contentType, prefixHex)
		if err != nil {
			if es != nil || index != "" {
				t.Fatalf("error %v with %d entries", err, len(es))
			}
			return
		}
		mt, _, _ := mime.ParseMediaType(contentType)
		isJSON := mt == "application/json"
		if !isJSON && index != "" {
			t.Fatalf("index %q from the text form", index)
		}
		// Every key is the prefix followed by the entry's suffix: hex
		// digits, read as strconv reads them.
		var suffixes []string
		if isJSON {
			var r struct {
				Entries []struct {
					Suffix string `json:"suffix"`
				} `json:"entries"`
			}
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("accepted JSON that encoding/json refuses: %v", err)
			}
			for _, e := range r.Entries {
				suffixes = append(suffixes, e.Suffix)
			}
		}
		if isJSON && len(suffixes) != len(es) {
			t.Fatalf("%d entries from %d in the body", len(es), len(suffixes))
		}
		p := strings.ToUpper(prefixHex)
		for i, e := range es {
			switch {
			case e.Count < 0:
				t.Fatalf("entry %d: count %d", i, e.Count)
			case isJSON && e.Datasets == nil, !isJSON && e.Datasets != nil:
				t.Fatalf("entry %d: datasets %v in the %s form", i, e.Datasets, map[bool]string{true: "JSON", false: "text"}[isJSON])
			}
			if isJSON {
				want, err := strconv.ParseUint(p+suffixes[i], 16, 64)
				if err != nil || want != e.Key || len(p+suffixes[i]) != 16 {
					t.Fatalf("entry %d: key %016X from %q + %q (%v)", i, e.Key, p, suffixes[i], err)
				}
			}
			if pfx, bits, err := rangewire.ParsePrefix(prefixHex); err == nil && e.Key>>(64-bits) != pfx {
				t.Fatalf("entry %d: key %016X not under prefix %s", i, e.Key, prefixHex)
			}
		}
		// The text form of the entries reads back the same.
		if !isJSON && len(prefixHex) >= rangewire.MinPrefixHex && len(prefixHex) <= rangewire.MaxPrefixHex {
			var b strings.Builder
			for i, e := range es {
				if i > 0 {
					b.WriteString("\r\n")
				}
				fmt.Fprintf(&b, "%016X:%d", e.Key, e.Count)
			}
			text := b.String()
			var lines []string
			for _, l := range strings.Split(text, "\r\n") {
				if l != "" {
					lines = append(lines, l[len(prefixHex):])
				}
			}
			again, err := rangewire.ParseText([]byte(strings.Join(lines, "\r\n")), p)
			if err != nil || len(again) != len(es) {
				t.Fatalf("re-encoded text: %d entries, %v", len(again), err)
			}
			for i := range es {
				if again[i].Key != es[i].Key || again[i].Count != es[i].Count {
					t.Fatalf("entry %d re-read as %+v, was %+v", i, again[i], es[i])
				}
			}
		}
	})
}
