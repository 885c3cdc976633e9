package checker

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rawhttptest"

	"github.com/phonecheck/phonecheck/hashset"
)

// The transport itself (every rule of the lean path, the event loops,
// timeouts, shutdown) is tested in its own package over a stand-in
// handler. These tests serve the real Server through it: the answers on
// the wire, which requests the Server lets the lean path take, and what
// a request costs.

// testFront is a Front and the connections it handed to net/http, as
// net/http reports them to ConnState.
type testFront struct {
	*EventServer
	handOffs atomic.Int64
}

// front returns a Front for hs, whose handler answers as s does.
func (s *Server) front(hs *http.Server) *EventServer { return &EventServer{f: s.s.EventServerOf(hs)} }

// startFront serves s through a Front on a loopback port.
func startFront(t testing.TB, s *Server, tune func(*EventServer)) (string, *testFront) {
	t.Helper()
	tf := &testFront{}
	hs := s.HTTPServer("")
	hs.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			tf.handOffs.Add(1)
		}
	}
	tf.EventServer = s.front(hs)
	f := tf.EventServer
	if tune != nil {
		tune(f)
	}
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
	return ln.Addr().String(), tf
}

// startNetHTTP serves s through net/http alone, as HTTPServer configures it.
func startNetHTTP(t testing.TB, s *Server) string {
	t.Helper()
	hs := s.HTTPServer("")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// TestFrontMatchesNetHTTP sends the same bytes to the front and to
// net/http serving the same Server, and wants the same answers: status,
// headers but Date, body, and whether the connection stays open. The
// cases cover what the lean path takes and what it must hand off.
func TestFrontMatchesNetHTTP(t *testing.T) {
	forFrontModes(t, testFrontMatchesNetHTTP)
}

// frontModes are the ways a Front serves connections: event loops
// (where the system has them) and a goroutine per connection.
var frontModes = []struct {
	name string
	tune func(*EventServer)
}{
	{"event loops", nil},
	{"goroutines", func(f *EventServer) { f.EventLoops = -1 }},
}

// forFrontModes runs test once in each front mode.
func forFrontModes(t *testing.T, test func(t *testing.T, tune func(*EventServer))) {
	for _, m := range frontModes {
		t.Run(m.name, func(t *testing.T) { test(t, m.tune) })
	}
}

func testFrontMatchesNetHTTP(t *testing.T, tune func(*EventServer)) {
	s := newTestServer(t, 3000)
	fast, front := startFront(t, s, tune)
	ref := startNetHTTP(t, s)
	get := func(target string, hdr ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: phonecheck.test\r\n" + strings.Join(hdr, "") + "\r\n"
	}
	big := "X-Big: " + strings.Repeat("a", 6000) + "\r\n"
	huge := "X-Huge: " + strings.Repeat("a", 20000) + "\r\n"
	cases := []struct {
		name, raw string
		methods   []string
		lean      bool // answered on the lean path, not handed off
	}{
		{"range", get("/range/ABCDE"), nil, true},
		{"lower case", get("/range/abcde"), nil, true},
		{"3 digits", get("/range/00A"), nil, true},
		{"8 digits", get("/range/00A1B2C3"), nil, true},
		{"padded", get("/range/ABCDE", "Add-Padding: true\r\n"), nil, true},
		{"padded odd case", get("/range/ABCDE", "add-padding:  TRUE \r\n"), nil, true},
		{"json", get("/range/ABCDE", "Accept: application/json\r\n"), nil, true},
		{"json padded", get("/range/123", "Accept: text/html, application/json;q=0.9\r\n", "Add-Padding: true\r\n"), nil, true},
		{"two accept headers", get("/range/123", "Accept: text/html\r\n", "Accept: application/json\r\n"), nil, true},
		{"if-none-match star", get("/range/ABCDE", "If-None-Match: *\r\n"), nil, true},
		{"if-none-match other", get("/range/ABCDE", `If-None-Match: "nope"`+"\r\n"), nil, true},
		{"head", "HEAD /range/ABCDE HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HEAD"}, true},
		{"bad prefix", get("/range/XYZ"), nil, true},
		{"long prefix", get("/range/ABCDEF012"), nil, true},
		{"empty prefix", get("/range/"), nil, true},
		{"query", get("/range/ABC?x=1&y"), nil, true},
		{"percent", get("/range/%41BC"), nil, false},
		{"dot segments", get("/range/../v1/stats"), nil, true},
		{"datasets", get("/v1/datasets"), nil, true},
		{"datasets etag", get("/v1/datasets", "If-None-Match: *\r\n"), nil, true},
		{"stats", get("/v1/stats"), nil, true},
		{"healthz", get("/healthz"), nil, true},
		{"head healthz", "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HEAD"}, true},
		{"openapi", get("/openapi.json"), nil, true},
		{"not found", get("/nope"), nil, false},
		{"private off", get(PrivateKeyPath), nil, false},
		{"post", "POST /range/ABC HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", nil, false},
		{"put with body", "PUT /range/ABC HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", nil, false},
		{"http/1.0", "GET /range/ABC HTTP/1.0\r\n\r\n", nil, false},
		{"http/1.0 keep-alive", "GET /range/ABC HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", nil, false},
		{"no host", "GET /range/ABC HTTP/1.1\r\n\r\n", nil, false},
		{"two hosts", "GET /range/ABC HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", nil, false},
		{"bad host", "GET /range/ABC HTTP/1.1\r\nHost: a b\r\n\r\n", nil, false},
		{"obs-fold", get("/range/ABC", "X-A: 1\r\n folded\r\n"), nil, false},
		{"space before colon", "GET /range/ABC HTTP/1.1\r\nHost : x\r\n\r\n", nil, false},
		{"control byte", get("/range/ABC", "X-A: a\x01b\r\n"), nil, false},
		{"big head", get("/range/ABC", big), nil, false},
		{"huge head", get("/range/ABC", huge), nil, false},
		{"connection close", get("/range/ABC", "Connection: close\r\n"), nil, true},
		{"connection close list", get("/range/ABC", "Connection: keep-alive, Close\r\n"), nil, true},
		{"chunked", get("/range/ABC", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n", nil, false},
		{"expect", get("/range/ABC", "Expect: 100-continue\r\n"), nil, false},
		{"upgrade", get("/range/ABC", "Connection: Upgrade\r\n", "Upgrade: h2c\r\n"), nil, false},
		{"absolute form", "GET http://x/range/ABC HTTP/1.1\r\nHost: x\r\n\r\n", nil, false},
		{"bad version", "GET /range/ABC HTTP/9.9\r\nHost: x\r\n\r\n", nil, false},
		{"garbage", "HELLO\r\n\r\n", nil, false},
		{"bare LF", "GET /range/ABC HTTP/1.1\nHost: x\n\n", nil, false},
		{"bare LF in a header", "GET /range/ABC HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", nil, false},
		{"leading CRLF", "\r\nGET /range/ABC HTTP/1.1\r\nHost: x\r\n\r\n", nil, false},
		{"tab in value", get("/range/ABC", "Add-Padding:\ttrue\t\r\n"), nil, true},
		{"pipelined", get("/range/ABCDE") + "HEAD /range/ABCDE HTTP/1.1\r\nHost: x\r\n\r\n" + get("/v1/datasets") +
			"POST /range/ABC HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" + get("/range/FFFFF", "Add-Padding: true\r\n"),
			[]string{"GET", "HEAD", "GET", "POST", "GET"}, false},
		// A big answer (written with writev) after buffered small ones,
		// then a small one again: the order and bytes must hold.
		{"pipelined big", get("/healthz") + get("/range/ABCDE") + get("/openapi.json") + get("/openapi.json") + get("/v1/stats"),
			[]string{"GET", "GET", "GET", "GET", "GET"}, true},
	}
	for _, c := range cases {
		methods := c.methods
		if methods == nil {
			methods = []string{"GET"}
		}
		before := front.handOffs.Load()
		a, aliveA := rawhttptest.Exchange(t, fast, c.raw, methods...)
		if handed := front.handOffs.Load() > before; handed == c.lean {
			t.Errorf("%s: handed off %v, want %v", c.name, handed, !c.lean)
		}
		b, aliveB := rawhttptest.Exchange(t, ref, c.raw, methods...)
		rawhttptest.Compare(t, c.name, a, b, true)
		if aliveA != aliveB {
			t.Errorf("%s: connection open after the answer: front %v, net/http %v", c.name, aliveA, aliveB)
		}
	}
	// Metrics are handed off; their counts differ between the two.
	a, _ := rawhttptest.Exchange(t, fast, get("/metrics"), "GET")
	b, _ := rawhttptest.Exchange(t, ref, get("/metrics"), "GET")
	rawhttptest.Compare(t, "metrics", a, b, false)
	if !strings.Contains(a[0].Body, `phonecheck_http_requests_total{code="200",route="/range/{prefix}"}`) {
		t.Errorf("front requests are not counted in /metrics:\n%s", a[0].Body)
	}
}

// BenchmarkFront times one keep-alive client's range requests over
// loopback through the front, and through net/http serving the same
// Server (the baseline), alternating blocks of 256 requests between the
// two in the same run; it reports both and the ratio.
func BenchmarkFront(b *testing.B) {
	s := newTestServer(b, 100_000)
	fastAddr, _ := startFront(b, s, nil)
	refAddr := startNetHTTP(b, s)
	rawhttptest.BenchmarkAgainst(b, fastAddr, refAddr)
}

// TestFrontPrivateMatchesNetHTTP: private queries (POST with a body) on
// the lean path get the answers net/http gives, errors byte for byte;
// valid answers carry a fresh proof each time, so they are compared by
// status, headers and size, and checked by the client.
func TestFrontPrivateMatchesNetHTTP(t *testing.T) {
	ixs := newPrivateIndexes(t)
	k := ixs.Key
	s, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger(), Private: PrivateHandlerOptions{Rate: -1, MaxElements: 4}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fast, front := startFront(t, s, nil)
	ref := startNetHTTP(t, s)

	query := func(n int, bits int) []byte {
		var inputs [][]byte
		for i := range n {
			inputs = append(inputs, oprfInput(Key(testBoth[i%len(testBoth)])))
		}
		var elems []byte
		if n > 0 {
			var err error
			if _, elems, err = blind(k.Public(), inputs, nil); err != nil {
				t.Fatal(err)
			}
		}
		return wire.AppendRequest(nil, &wire.Request{Bits: bits, Prefix: Key(testBoth[0]) >> (64 - bits), Elements: elems})
	}
	post := func(body []byte, hdr ...string) string {
		return "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", len(body)) + strings.Join(hdr, "") + "\r\n" + string(body)
	}
	valid := query(1, 12)
	cases := []struct {
		name, raw string
		lean      bool
		sameBody  bool
	}{
		{"one element and a bucket", post(valid), true, false},
		{"padding asked", post(valid, "Add-Padding: true\r\n"), true, false},
		{"four elements", post(query(4, 0)), true, false},
		{"bucket only", post(query(0, 12)), true, true}, // decoys are a function of the index and the prefix
		{"too many elements", post(query(5, 12)), true, true},
		{"malformed", post([]byte{9, 9, 9}), true, true},
		{"empty body", post(nil), true, true},
		{"body over the handler's limit", post(make([]byte, 5000)), true, true},
		{"body over the front's limit", post(make([]byte, 70000)), false, true},
		{"two content lengths", "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", false, true},
		{"chunked", "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\x01\x01\x00\r\n0\r\n\r\n", false, true},
		{"no length", "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\n\r\n", false, true},
		{"get the query route", "GET " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\n\r\n", false, true},
		{"pipelined", post(valid) + post([]byte{9}) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + post(query(2, 12)), true, false},
	}
	for _, c := range cases {
		methods := []string{"POST"}
		if strings.HasPrefix(c.raw, "GET") {
			methods = []string{"GET"}
		}
		if c.name == "pipelined" {
			methods = []string{"POST", "POST", "GET", "POST"}
		}
		before := front.handOffs.Load()
		a, aliveA := rawhttptest.Exchange(t, fast, c.raw, methods...)
		if handed := front.handOffs.Load() > before; handed == c.lean {
			t.Errorf("%s: handed off %v, want %v", c.name, handed, !c.lean)
		}
		b, aliveB := rawhttptest.Exchange(t, ref, c.raw, methods...)
		rawhttptest.Compare(t, c.name, a, b, c.sameBody)
		for i := range a {
			if len(a[i].Body) != len(b[i].Body) {
				t.Errorf("%s #%d: %d-byte body, net/http %d", c.name, i, len(a[i].Body), len(b[i].Body))
			}
			if a[i].Status == 200 && methods[i] == "POST" {
				if _, err := wire.ParseResponse([]byte(a[i].Body)); err != nil {
					t.Errorf("%s #%d: %v", c.name, i, err)
				}
			}
		}
		if aliveA != aliveB {
			t.Errorf("%s: connection open after the answer: front %v, net/http %v", c.name, aliveA, aliveB)
		}
	}
}

// TestFrontPrivateHeaders: a private query on the lean path carries every
// header, so a ClientID read from a proxy's header sees it.
func TestFrontPrivateHeaders(t *testing.T) {
	ixs := newPrivateIndexes(t)
	seen := make(chan string, 4)
	s, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger(), Private: PrivateHandlerOptions{
		ClientID: func(r *http.Request) string {
			seen <- r.Header.Get("X-Forwarded-For")
			return r.Header.Get("X-Forwarded-For")
		}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	addr, front := startFront(t, s, nil)
	_, elems, err := blind(ixs.Key.Public(), [][]byte{oprfInput(Key(testBoth[0]))}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := wire.AppendRequest(nil, &wire.Request{Elements: elems})
	raw := "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + string(body)
	before := front.handOffs.Load()
	out, _ := rawhttptest.Exchange(t, addr, raw, "POST")
	if out[0].Status != 200 || front.handOffs.Load() != before {
		t.Fatalf("status %d, handed off %v", out[0].Status, front.handOffs.Load() != before)
	}
	if got := <-seen; got != "203.0.113.7" {
		t.Errorf("ClientID saw X-Forwarded-For %q", got)
	}
}

// TestServerAllocs: the Server allocates nothing per request on the
// routes of the lean path but a range's ETag (its content's hash, one
// allocation), whatever the ResponseWriter, so a busy server collects
// little garbage (and pauses little for it). (The lean path's own test
// allows itself one allocation a request: the request URI.)
func TestServerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	// Over a memory-mapped index, as served (an index read through an
	// io.ReaderAt allocates its reads).
	path := filepath.Join(t.TempDir(), "test.idx")
	b := hashset.NewBuilder(hashset.Options{KeyScheme: HashScheme, BloomFPR: -1})
	ds, _ := b.AddDataset(hashset.Dataset{Name: "leak-a"})
	for i := range 3000 {
		b.Add(Key(fmt.Sprintf("+1415555%04d", i)), ds, b.Group("US"))
	}
	if _, err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	// The Server lets a page's origin in: its CORS headers cost no
	// allocation either.
	const origin = "https://app.example.org"
	s, err := NewServer(c, ServerOptions{Logger: quietLogger(), AllowOrigins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := &discardWriter{h: http.Header{}}
	for _, r := range []*http.Request{
		{Method: "GET", URL: &url.URL{Path: "/range/ABCDE"}, Header: http.Header{}},
		{Method: "GET", URL: &url.URL{Path: "/range/ABCDE"}, Header: http.Header{"Add-Padding": {"true"}}},
		{Method: "GET", URL: &url.URL{Path: "/range/ABCDE"}, Header: http.Header{"Add-Padding": {"true"}, "Origin": {origin}}},
		{Method: "GET", URL: &url.URL{Path: "/range/ABCDE"}, Header: http.Header{"Origin": {"https://other.example.org"}}},
		{Method: "GET", URL: &url.URL{Path: "/v1/datasets"}, Header: http.Header{}},
		{Method: "GET", URL: &url.URL{Path: "/v1/datasets"}, Header: http.Header{"Origin": {origin}}},
	} {
		allocs := testing.AllocsPerRun(200, func() {
			clear(w.h)
			s.ServeHTTP(w, r)
		})
		// A range's ETag is its body's hash: a string made per
		// response, one allocation.
		want := 0.0
		if strings.HasPrefix(r.URL.Path, "/range/") {
			want = 1
		}
		if allocs > want {
			t.Errorf("%s %s %v: %.1f allocations per request, want %.0f", r.Method, r.URL.Path, r.Header, allocs, want)
		}
	}
}
