package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rawhttptest"
	"github.com/phonecheck/phonecheck/hashset"
)

// The tests here reach into the server (its panic hook, its current
// index, its routes); those that exercise the whole stack through the
// public facade live with the facade.

// Fictional numbers only: US 555-0100..0199 and Australia's 0491 570 xxx
// range for drama.
var (
	testBoth  = []string{"+14155550132", "+61491570156"} // in both datasets
	testOnlyA = []string{"+14155550147", "+61491570157"} // in dataset a only
)

// testReader builds an in-memory index of the numbers above plus filler
// keys (hashes of non-numbers) so that ranges are not empty. extra names a
// variant: indexes with different extra differ.
func testReader(t testing.TB, filler int, extra string) *hashset.Reader {
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
		b.Add(keyscheme.Key(fmt.Sprintf("filler-%s-%d", extra, i)), a, b.Group("ZZ"))
	}
	return readerOf(t, b)
}

func readerOf(t testing.TB, b *hashset.Builder) *hashset.Reader {
	t.Helper()
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

// testIndexes are the plain indexes of testReader, as a server serves them.
func testIndexes(t testing.TB, filler int, extra string) Indexes {
	r := testReader(t, filler, extra)
	return Indexes{Plain: r, Datasets: []rangeapi.Dataset{{Name: "leak-a", Date: "2022-11", Source: "test"}, {Name: "leak-b", Date: "2024-03"}}}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestServer(t testing.TB, filler int) *Server {
	t.Helper()
	s, err := New(testIndexes(t, filler, ""), Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newMixedServer serves a plain index and a private one, sealed under a
// new key at 12 bits.
func newMixedServer(t testing.TB) *Server { return newMixedServerOpts(t, Options{}) }

// newMixedServerOpts is newMixedServer with options (a quiet logger if
// opts has none).
func newMixedServerOpts(t testing.TB, opts Options) *Server {
	t.Helper()
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b := hashset.NewBuilder(hashset.Options{KeyScheme: keyscheme.Name})
	g := b.Group("US")
	a, _ := b.AddDataset(hashset.Dataset{Name: "leak-a", Date: "2026-01"})
	c, _ := b.AddDataset(hashset.Dataset{Name: "leak-b", Date: "2026-01"})
	for _, n := range slices.Concat(testBoth, testOnlyA) {
		b.Add(keyscheme.Key(n), a, g)
	}
	for _, n := range testBoth {
		b.Add(keyscheme.Key(n), c, g)
	}
	var buf bytes.Buffer
	if _, err := private.Seal(context.Background(), readerOf(t, b), &buf, private.SealOptions{Key: k, BucketBits: 12}); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	pix, err := private.New(r, k)
	if err != nil {
		t.Fatal(err)
	}
	ixs := testIndexes(t, 10, "")
	ixs.Private, ixs.Key = pix, k
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := New(ixs, opts)
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

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startFront serves s through an EventServer on a loopback port.
func startFront(t testing.TB, s *Server) string {
	t.Helper()
	f := s.EventServer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	t.Cleanup(func() {
		f.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Front.Serve: %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String()
}

func TestPanicRecovery(t *testing.T) {
	var buf syncBuffer
	s, err := New(testIndexes(t, 100, ""), Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.panicHook = func(r *http.Request) {
		if r.Header.Get("X-Test-Panic") != "" {
			panic("boom")
		}
	}
	w := do(t, s, "GET", "/range/ABCDEF01", "X-Test-Panic", "1")
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"error"`) {
		t.Errorf("panic: %d %s, want 500 JSON", w.Code, w.Body)
	}
	if !strings.Contains(buf.String(), "panic serving a request") || strings.Contains(buf.String(), "ABCDEF01") {
		t.Errorf("log: %s", buf.String())
	}
	if w := do(t, s, "GET", "/range/ABCDE"); w.Code != 200 {
		t.Errorf("after a panic: %d", w.Code)
	}
	// Through a real server too: the process and the listener survive.
	ts := httptest.NewServer(s)
	defer ts.Close()
	req, _ := http.NewRequest("GET", ts.URL+"/range/ABC", nil)
	req.Header.Set("X-Test-Panic", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Errorf("real server: %d", resp.StatusCode)
	}
	resp, err = http.Get(ts.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after a panic: %v", err)
	}
	resp.Body.Close()
}

func TestSwapClosesOldIndexAfterRequests(t *testing.T) {
	s := newTestServer(t, 100)
	old := s.cur.Load()
	held := s.acquire() // a request under way
	done := make(chan error)
	go func() { done <- s.Swap(testIndexes(t, 100, "b")) }()
	select {
	case <-done:
		t.Fatal("Swap returned while a request still held the old index")
	case <-time.After(50 * time.Millisecond):
	}
	if held != old {
		t.Fatal("acquired another index")
	}
	held.release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.closed:
	default:
		t.Fatal("old index not closed")
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for p, ops := range doc.Paths {
		paths = append(paths, p)
		want := "get"
		if p == routePrivateQuery {
			want = "post"
		}
		for m := range ops {
			if m != want {
				t.Errorf("%s: method %s, but the route takes %s only", p, m, strings.ToUpper(want))
			}
		}
	}
	slices.Sort(paths)
	want := slices.Sorted(slices.Values(routes))
	if !slices.Equal(paths, want) {
		t.Errorf("openapi.json paths %v, server routes %v", paths, want)
	}
	// Every route documented answers 200 on a server with both indexes,
	// and so does the document itself.
	s := newMixedServer(t)
	k := s.cur.Load().ixs.Key
	for _, p := range routes {
		if p == routePrivateQuery {
			_, elems, _ := oprf.Blind(k.Public(), [][]byte{oprf.Input(1)}, nil)
			body := wire.AppendRequest(nil, &wire.Request{Bits: 12, Prefix: 0, Elements: elems})
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("POST", p, bytes.NewReader(body)))
			if w.Code != 200 {
				t.Errorf("POST %s: %d %s", p, w.Code, w.Body)
			}
			continue
		}
		if w := do(t, s, "GET", strings.Replace(p, "{prefix}", "ABCDE", 1)); w.Code != 200 {
			t.Errorf("GET %s: %d", p, w.Code)
		}
	}
	if w := do(t, s, "GET", "/openapi.json"); !bytes.Equal(w.Body.Bytes(), openAPI) {
		t.Error("/openapi.json is not the embedded document")
	}
	// Documented prefix pattern = ParsePrefix.
	rng := doc.Paths["/range/{prefix}"]["get"].(map[string]any)
	pat := rng["parameters"].([]any)[0].(map[string]any)["schema"].(map[string]any)["pattern"].(string)
	re := regexp.MustCompile(pat)
	for _, p := range []string{"AB", "ABC", "abcdef12", "ABCDEF123", "XYZ", "12345678"} {
		_, _, err := rangeapi.ParsePrefix(p)
		if re.MatchString(p) != (err == nil) {
			t.Errorf("prefix %q: pattern and ParsePrefix disagree", p)
		}
	}
}

func TestAcceptsJSON(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                                         false,
		"application/json":                         true,
		"Application/JSON":                         true,
		"text/plain, application/json":             true,
		"application/json, text/plain;q=0.9":       true,
		"application/json;q=0.5":                   true,
		"application/json; q=1":                    true,
		"application/json;q=0":                     false,
		"application/json;q=0.0":                   false,
		"application/json; q=0.000":                false,
		"application/json;charset=utf-8;q=0":       false,
		"application/json;q=bad":                   false,
		"text/plain":                               false,
		"application/jsonx":                        false,
		"*/*":                                      false,
		"text/html;q=0.1, application/json;q=0.01": true,
	} {
		var vals []string
		if accept != "" {
			vals = []string{accept}
		}
		if got := acceptsJSON(vals); got != want {
			t.Errorf("acceptsJSON(%q) = %v, want %v", accept, got, want)
		}
	}
}

// TestFrontPanic: a panic in a request answers 500, and the connection and
// the server go on.
func TestFrontPanic(t *testing.T) {
	s, err := New(testIndexes(t, 100, ""), Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.panicHook = func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "DEAD") {
			panic("boom")
		}
	}
	addr := startFront(t, s)
	out, alive := rawhttptest.Exchange(t, addr, "GET /range/DEAD HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
	if out[0].Status != 500 || !strings.Contains(out[0].Body, `"error"`) || !alive {
		t.Errorf("panic: %d %q, connection alive %v", out[0].Status, out[0].Body, alive)
	}
}
