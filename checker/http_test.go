package checker

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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
// keys (hashes of non-numbers) so that ranges are not empty. extra names a
// variant: indexes with different extra differ.
func testIndex(t testing.TB, filler int, extra string) *Checker {
	t.Helper()
	b := hashset.NewBuilder(hashset.Options{KeyScheme: HashScheme, Created: "2026-11-25", BloomFPR: -1})
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
		b.Add(Key(n), a, grp(n))
		b.Add(Key(n), c, grp(n))
	}
	for _, n := range testOnlyA {
		b.Add(Key(n), a, grp(n))
	}
	for i := range filler {
		b.Add(Key(fmt.Sprintf("filler-%s-%d", extra, i)), a, b.Group("ZZ"))
	}
	return builtChecker(t, b)
}

// builtChecker writes b's index to memory and opens a Checker on it.
func builtChecker(t testing.TB, b *hashset.Builder) *Checker {
	t.Helper()
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	idx, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := New(idx)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestServer(t testing.TB, filler int) *Server {
	t.Helper()
	s, err := NewServer(testIndex(t, filler, ""), ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func do(t testing.TB, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServerRoutes(t *testing.T) {
	s := newTestServer(t, 2000)
	for _, tc := range []struct {
		method, path string
		code         int
		ctype        string
	}{
		{"GET", "/range/ABC", 200, "text/plain; charset=utf-8"},
		{"GET", "/range/abcdef12", 200, "text/plain; charset=utf-8"},
		{"HEAD", "/range/ABCDE", 200, "text/plain; charset=utf-8"},
		{"GET", "/v1/datasets", 200, "application/json"},
		{"GET", "/v1/stats", 200, "application/json"},
		{"GET", "/healthz", 200, "text/plain; charset=utf-8"},
		{"GET", "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"},
		{"GET", "/openapi.json", 200, "application/json"},
		{"GET", "/nope", 404, "application/json"},
		{"GET", "/", 404, "application/json"},
		{"GET", "/range", 404, "application/json"},
		{"POST", "/range/ABCDE", 405, "application/json"},
		{"DELETE", "/v1/datasets", 405, "application/json"},
		{"GET", "/range/AB", 400, "application/json"},
		{"GET", "/range/ABCDEF123", 400, "application/json"},
		{"GET", "/range/ABCDEFG", 400, "application/json"},
		{"GET", "/range/", 400, "application/json"},
		{"GET", "/range/ABC/DEF", 400, "application/json"},
	} {
		w := do(t, s, tc.method, tc.path)
		if w.Code != tc.code {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, w.Code, tc.code)
		}
		if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, strings.SplitN(tc.ctype, ";", 2)[0]) {
			t.Errorf("%s %s: Content-Type %q, want %q", tc.method, tc.path, got, tc.ctype)
		}
		if tc.code >= 400 {
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Errorf("%s %s: body %q is not a JSON error", tc.method, tc.path, w.Body)
			}
			if p := strings.TrimPrefix(tc.path, "/range/"); p != tc.path && p != "" && strings.Contains(w.Body.String(), p) {
				t.Errorf("%s %s: the error echoes the request: %s", tc.method, tc.path, w.Body)
			}
		}
		if tc.code == 405 && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", tc.method, tc.path, w.Header().Get("Allow"))
		}
	}
}

// rangeOf fetches and parses a range.
func rangeOf(t testing.TB, h http.Handler, prefix string, hdr ...string) ([]rangeapi.Entry, *httptest.ResponseRecorder) {
	t.Helper()
	w := do(t, h, "GET", "/range/"+prefix, hdr...)
	if w.Code != 200 {
		t.Fatalf("GET /range/%s: %d %s", prefix, w.Code, w.Body)
	}
	es, err := rangeapi.ParseText(w.Body.Bytes(), prefix)
	if err != nil {
		t.Fatalf("GET /range/%s: %v", prefix, err)
	}
	return es, w
}

func TestRangeContent(t *testing.T) {
	c := testIndex(t, 5000, "")
	s, err := NewServer(c, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, bits := range []int{12, 16, 20, 24, 32} {
		for _, n := range slices.Concat(testBoth, testOnlyA, testNone) {
			key := Key(n)
			prefix := keyscheme.Prefix(key, bits)
			es, w := rangeOf(t, s, prefix)
			body := w.Body.String()
			if strings.HasSuffix(body, "\r\n") || strings.Contains(strings.ReplaceAll(body, "\r\n", ""), "\n") {
				t.Errorf("%d bits: lines must be CRLF-separated without a final CRLF", bits)
			}
			want := 0
			if slices.Contains(testBoth, n) {
				want = 2
			} else if slices.Contains(testOnlyA, n) {
				want = 1
			}
			got := 0
			for i, e := range es {
				if e.Key>>(64-bits) != key>>(64-bits) {
					t.Fatalf("%d bits: key outside the prefix", bits)
				}
				if i > 0 && es[i-1].Key >= e.Key {
					t.Fatalf("%d bits: entries not sorted", bits)
				}
				if e.Count == 0 {
					t.Fatalf("%d bits: unpadded range has a count 0", bits)
				}
				if e.Key == key {
					got = e.Count
				}
			}
			if got != want {
				t.Errorf("%s at %d bits: count %d, want %d", phone.Redact(n), bits, got, want)
			}
			// The index agrees.
			ref, _ := c.Index().Range(key>>(64-bits), bits)
			if len(ref) != len(es) {
				t.Errorf("%d bits: %d entries, index has %d", bits, len(es), len(ref))
			}
		}
	}
	// Lower-case prefixes give the same answer.
	_, a := rangeOf(t, s, "ABCDE")
	_, b := rangeOf(t, s, "abcde")
	if a.Body.String() != b.Body.String() {
		t.Error("lower-case prefix gives another answer")
	}
}

func TestRangeJSON(t *testing.T) {
	s := newTestServer(t, 3000)
	for _, pad := range []string{"false", "true"} {
		key := Key(testBoth[0])
		prefix := keyscheme.Prefix(key, 16)
		w := do(t, s, "GET", "/range/"+prefix, "Accept", "application/json", "Add-Padding", pad)
		if w.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("Content-Type %q", w.Header().Get("Content-Type"))
		}
		var r struct {
			Prefix  string
			Entries []struct {
				Suffix   string
				Count    int
				Datasets []int
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range r.Entries {
			if prefix+e.Suffix == fmt.Sprintf("%016X", key) {
				found = true
				if e.Count != 2 || !slices.Equal(e.Datasets, []int{0, 1}) {
					t.Errorf("entry %+v, want count 2 datasets [0 1]", e)
				}
			}
			if len(e.Suffix) != 12 || e.Count != len(e.Datasets) {
				t.Errorf("malformed entry %+v", e)
			}
		}
		if !found {
			t.Error("the number is missing from the JSON range")
		}
	}
}

func TestRangeCaching(t *testing.T) {
	s := newTestServer(t, 1000)
	w := do(t, s, "GET", "/range/ABCDE")
	etag := w.Header().Get("ETag")
	if sum := sha256.Sum256(w.Body.Bytes()); etag != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("ETag %s is not the SHA-256 of the body", etag)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "public, max-age=3600, immutable" {
		t.Errorf("Cache-Control %q", cc)
	}
	if v := w.Header().Get("Vary"); v != "Accept, Add-Padding" {
		t.Errorf("Vary %q", v)
	}
	for _, inm := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
		w2 := do(t, s, "GET", "/range/ABCDE", "If-None-Match", inm)
		if w2.Code != 304 || w2.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d with %d bytes, want 304", inm, w2.Code, w2.Body.Len())
		}
		if w2.Header().Get("ETag") != etag {
			t.Errorf("304 without the ETag")
		}
	}
	if w2 := do(t, s, "GET", "/range/ABCDE", "If-None-Match", `"other"`); w2.Code != 200 {
		t.Errorf("non-matching If-None-Match: %d", w2.Code)
	}
	// Every representation has its own ETag.
	tags := map[string]bool{etag: true}
	for _, h := range [][]string{{"Add-Padding", "true"}, {"Accept", "application/json"},
		{"Accept", "application/json", "Add-Padding", "true"}} {
		tg := do(t, s, "GET", "/range/ABCDE", h...).Header().Get("ETag")
		if tags[tg] {
			t.Errorf("%v: ETag %s shared with another representation", h, tg)
		}
		tags[tg] = true
	}
	// A padded ETag does not validate the unpadded one.
	padTag := do(t, s, "GET", "/range/ABCDE", "Add-Padding", "true").Header().Get("ETag")
	if w2 := do(t, s, "GET", "/range/ABCDE", "If-None-Match", padTag); w2.Code != 200 {
		t.Errorf("padded ETag validated the unpadded response")
	}
	if w2 := do(t, s, "GET", "/v1/datasets", "If-None-Match", do(t, s, "GET", "/v1/datasets").Header().Get("ETag")); w2.Code != 304 {
		t.Errorf("/v1/datasets If-None-Match: %d", w2.Code)
	}
	s2, _ := NewServer(testIndex(t, 1000, ""), ServerOptions{MaxAge: -1, Logger: quietLogger()})
	defer s2.Close()
	if cc := do(t, s2, "GET", "/range/ABC").Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("MaxAge -1: Cache-Control %q", cc)
	}
}

// TestPaddingManyDatasets: with 10 or more datasets a real count can
// take two digits where a decoy's 0 takes one, so a padded text range
// zero-fills every count to the same width: every line the same length,
// one size per tier, and the counts read back the same.
func TestPaddingManyDatasets(t *testing.T) {
	b := hashset.NewBuilder(hashset.Options{KeyScheme: HashScheme, Created: "2026-11-25", BloomFPR: -1})
	var ds []int
	for i := range 12 {
		d, _ := b.AddDataset(hashset.Dataset{Name: fmt.Sprintf("leak-%d", i)})
		ds = append(ds, d)
	}
	g := b.Group("ZZ")
	for i := range 6000 {
		k := Key(fmt.Sprintf("many-%d", i))
		n := 1 + i%len(ds) // counts 1 to 12
		for _, d := range ds[:n] {
			b.Add(k, d, g)
		}
	}
	s, err := NewServer(builtChecker(t, b), ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sizes := map[int]map[int]bool{} // tier -> body sizes
	twoDigit := 0
	for p := range 64 {
		prefix := fmt.Sprintf("%03X", p*61)
		real, plain := rangeOf(t, s, prefix)
		es, w := rangeOf(t, s, prefix, "Add-Padding", "true")
		lines := strings.Split(w.Body.String(), "\r\n")
		for _, l := range lines {
			if len(l) != len(lines[0]) {
				t.Fatalf("%s: padded line %q is not %d bytes like %q", prefix, l, len(lines[0]), lines[0])
			}
		}
		if c := strings.SplitN(lines[0], ":", 2)[1]; len(c) != 2 {
			t.Fatalf("%s: count of %q is not two digits", prefix, lines[0])
		}
		tier := rangeapi.PaddedSize(len(real))
		if sizes[tier] == nil {
			sizes[tier] = map[int]bool{}
		}
		sizes[tier][w.Body.Len()] = true
		var back []rangeapi.Entry
		for _, e := range es {
			if e.Count > 0 {
				back = append(back, e)
			}
			if e.Count >= 10 {
				twoDigit++
			}
		}
		if !slices.EqualFunc(back, real, func(a, b rangeapi.Entry) bool { return a.Key == b.Key && a.Count == b.Count }) {
			t.Fatalf("%s: padded range reads back %v, unpadded %v", prefix, back, real)
		}
		// Unpadded, counts take the digits they need.
		if strings.Contains(plain.Body.String(), ":0") {
			t.Fatalf("%s: unpadded range zero-fills a count: %q", prefix, plain.Body.String())
		}
	}
	if twoDigit == 0 {
		t.Fatal("no entry in 10 or more datasets: the test checks nothing")
	}
	for tier, sz := range sizes {
		if len(sz) != 1 {
			t.Errorf("tier %d: padded responses of %d different sizes", tier, len(sz))
		}
	}
}

func TestPadding(t *testing.T) {
	c := testIndex(t, 20000, "")
	s, err := NewServer(c, ServerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	id := rangeenc.IndexID(c.Index())
	enc := rangeenc.NewEncoder(c.Index(), id, id) // the server's encoder
	sizes := map[int]map[int]bool{}               // tier -> body sizes
	for p := range 64 {
		prefix := fmt.Sprintf("%04X", p*1021)
		real, _ := rangeOf(t, s, prefix)
		es, w := rangeOf(t, s, prefix, "Add-Padding", "true")
		tier := rangeapi.PaddedSize(len(real))
		if len(es) != tier {
			t.Fatalf("%s: %d entries padded, want tier %d", prefix, len(es), tier)
		}
		if sizes[tier] == nil {
			sizes[tier] = map[int]bool{}
		}
		sizes[tier][w.Body.Len()] = true
		var decoys, reals int
		lines := strings.Split(w.Body.String(), "\r\n")
		for i, e := range es {
			if len(lines[i]) != len(strings.Split(lines[0], ":")[0])+2 {
				t.Fatalf("%s: line %q has another length", prefix, lines[i])
			}
			if i > 0 && es[i-1].Key >= e.Key {
				t.Fatalf("%s: padded entries not sorted or duplicated", prefix)
			}
			if e.Count == 0 {
				decoys++
			} else {
				reals++
			}
		}
		if reals != len(real) || decoys != tier-len(real) {
			t.Fatalf("%s: %d real %d decoys, want %d and %d", prefix, reals, decoys, len(real), tier-len(real))
		}
		// Deterministic: the same bytes again.
		if _, w2 := rangeOf(t, s, prefix, "Add-Padding", "true"); w2.Body.String() != w.Body.String() {
			t.Fatalf("%s: padding differs between two requests", prefix)
		}
		// JSON: one size per tier too.
		jw := do(t, s, "GET", "/range/"+prefix, "Add-Padding", "true", "Accept", "application/json")
		if want := enc.PaddedJSONLen(4, 16, tier); jw.Body.Len() != want {
			t.Fatalf("%s: padded JSON is %d bytes, want %d", prefix, jw.Body.Len(), want)
		}
	}
	for tier, sz := range sizes {
		if len(sz) != 1 {
			t.Errorf("tier %d: padded responses of %d different sizes", tier, len(sz))
		}
	}
	// Decoys look like real suffixes: uniform hex digits over the whole
	// suffix (no fixed pattern), uppercase, same width.
	es, _ := rangeOf(t, s, "FFF", "Add-Padding", "true")
	var hi, lo int
	for _, e := range es {
		if e.Count == 0 {
			if e.Key&(1<<51) != 0 {
				hi++
			} else {
				lo++
			}
		}
	}
	if hi == 0 || lo == 0 {
		t.Errorf("decoys not spread over the suffix range: %d high, %d low", hi, lo)
	}
}

func TestDatasetsAndStats(t *testing.T) {
	s := newTestServer(t, 10)
	var si ServerInfo
	if err := json.Unmarshal(do(t, s, "GET", "/v1/datasets").Body.Bytes(), &si); err != nil {
		t.Fatal(err)
	}
	if len(si.Datasets) != 2 || si.Datasets[0].Name != "leak-a" || si.Datasets[1].Keys != 2 ||
		si.Index.Keys != 14 || si.Index.HashScheme != HashScheme || !slices.Equal(si.PrefixBits, PrefixLengths) || !si.Padding {
		t.Errorf("datasets: %+v", si)
	}
	var st rangeapi.Stats
	if err := json.Unmarshal(do(t, s, "GET", "/v1/stats").Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Countries["US"] != 2 || st.Countries["AU"] != 2 || st.Keys != 14 {
		t.Errorf("stats: %+v", st)
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "[::1]:80": true, "localhost:1": true, "127.1.2.3:9": true,
		":8080": false, "0.0.0.0:80": false, "[::]:80": false, "192.168.1.2:80": false, "example.com:80": false, "bad": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func BenchmarkServeRange(b *testing.B) {
	s := newTestServer(b, 200000)
	for _, pad := range []string{"false", "true"} {
		b.Run("padding="+pad, func(b *testing.B) {
			reqs := make([]*http.Request, 256)
			for i := range reqs {
				reqs[i] = httptest.NewRequest("GET", "/range/"+fmt.Sprintf("%05X", i*4099), nil)
				reqs[i].Header.Set("Add-Padding", pad)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				clear(w.h)
				s.ServeHTTP(w, reqs[i%len(reqs)])
			}
			elapsed := b.Elapsed()

			// Baseline, same run: a handler serving the same answers
			// precomputed in memory (what a static server at best does).
			b.StopTimer()
			bodies := make([][]byte, len(reqs))
			for i, r := range reqs {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, r)
				bodies[i] = rec.Body.Bytes()
			}
			static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := bodies[len(r.URL.Path)%len(bodies)]
				w.Header().Set("Content-Type", "text/plain")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Write(body)
			})
			start := time.Now()
			for i := range b.N {
				clear(w.h)
				static.ServeHTTP(w, reqs[i%len(reqs)])
			}
			base := time.Since(start)
			b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "static-ns/op")
			b.ReportMetric(elapsed.Seconds()/base.Seconds(), "x-static")
			// What the ETag (the body's SHA-256) costs of a request,
			// same run, same bodies.
			start = time.Now()
			for i := range b.N {
				_ = rangeenc.ETagHeader(bodies[i%len(bodies)])
			}
			etag := time.Since(start)
			b.ReportMetric(float64(etag.Nanoseconds())/float64(b.N), "etag-ns/op")
			b.ReportMetric(etag.Seconds()/elapsed.Seconds(), "etag-share")
		})
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}
