package httpfront

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/rawhttptest"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// front is a Server under test and what the test sees of it from
// outside: the connections the lean path handed to net/http (as net/http
// reports them to ConnState), and the requests the handler answered off
// the event loops while the server had some.
type front struct {
	*Server
	th       *testHandler
	handOffs atomic.Int64
	offLoop  atomic.Int64
	// loopPosts counts the requests with a body answered on an event loop.
	loopPosts atomic.Int64
}

// onEventLoop reports whether the calling goroutine is an event loop
// answering a request.
func onEventLoop() bool {
	buf := make([]byte, 64<<10)
	return bytes.Contains(buf[:runtime.Stack(buf, false)], []byte("httpfront.(*eventLoop).serve("))
}

// newFront returns a Server of th (a new testHandler for nil), after
// tune, with its hand-offs and the requests served off the event loops
// counted.
func newFront(th *testHandler, tune func(*Server)) *front {
	if th == nil {
		th = newTestHandler()
	}
	f := &front{th: th}
	hook := th.hook
	th.hook = func(r *http.Request) {
		if eventLoopsOn(f.Server) && r.Method != http.MethodPost && !onEventLoop() {
			f.offLoop.Add(1)
		}
		if r.Method == http.MethodPost && onEventLoop() {
			f.loopPosts.Add(1)
		}
		if hook != nil {
			hook(r)
		}
	}
	hs := &http.Server{ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			f.handOffs.Add(1)
		}
	}}
	f.Server = newTestServer(th, hs)
	if tune != nil {
		tune(f.Server)
	}
	return f
}

// startFront serves th (a new testHandler for nil) through a Server,
// after tune, on a loopback port.
func startFront(t testing.TB, th *testHandler, tune func(*Server)) (string, *front) {
	t.Helper()
	f := newFront(th, tune)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- f.Serve(ln) }()
	t.Cleanup(func() {
		f.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v, want ErrServerClosed", err)
		}
	})
	return ln.Addr().String(), f
}

// startNetHTTP serves th through net/http alone, with the limits
// newTestServer gives.
func startNetHTTP(t testing.TB, th *testHandler) string {
	t.Helper()
	return startNetHTTPOf(t, th, &http.Server{})
}

// startNetHTTPOf is startNetHTTP with hs's limits where it sets them.
func startNetHTTPOf(t testing.TB, th *testHandler, hs *http.Server) string {
	t.Helper()
	newTestServer(th, hs)
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

// frontModes are the ways a Server serves connections: event loops
// (where the system has them) and a goroutine per connection.
var frontModes = []struct {
	name string
	tune func(*Server)
}{
	{"event loops", nil},
	{"event loops serving bodies", loopQueries},
	{"goroutines", func(s *Server) { s.EventLoops = -1 }},
}

// loopQueries lets s's event loops serve the query route's small bodies
// (Config.LoopBody), but those of requests that say X-Not-On-Loop.
func loopQueries(s *Server) {
	s.body = func(r *http.Request) bool { return r.URL.Path == queryPath && r.Header.Get("X-Not-On-Loop") == "" }
}

// forFrontModes runs test once in each mode.
func forFrontModes(t *testing.T, test func(t *testing.T, tune func(*Server))) {
	for _, m := range frontModes {
		t.Run(m.name, func(t *testing.T) { test(t, m.tune) })
	}
}

// eventLoopsOn reports whether s serves its connections in event loops.
func eventLoopsOn(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.loops) > 0
}

func testFrontMatchesNetHTTP(t *testing.T, tune func(*Server)) {
	fast, front := startFront(t, nil, tune)
	ref := startNetHTTP(t, front.th)
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
		{"route not taken", get("/v1/private/key"), nil, false},
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
		before, offBefore := front.handOffs.Load(), front.offLoop.Load()
		a, aliveA := rawhttptest.Exchange(t, fast, c.raw, methods...)
		if handed := front.handOffs.Load() > before; handed == c.lean {
			t.Errorf("%s: handed off %v, want %v", c.name, handed, !c.lean)
		}
		if off := front.offLoop.Load() > offBefore; c.lean && off {
			t.Errorf("%s: an event loop gave the connection to a goroutine", c.name)
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
}

// TestFrontKeepAlive: many requests on one connection, lean and handed
// off in turn, all answered in order.
func TestFrontKeepAlive(t *testing.T) { forFrontModes(t, testFrontKeepAlive) }

func testFrontKeepAlive(t *testing.T, tune func(*Server)) {
	addr, f := startFront(t, nil, tune)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range 200 {
		prefix := fmt.Sprintf("%05X", i*5000)
		req := "GET /range/" + prefix + " HTTP/1.1\r\nHost: x\r\n\r\n"
		if i == 100 {
			req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" // hands the connection to net/http
		}
		io.WriteString(c, req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, body)
		}
		if i != 100 {
			want := do(t, f.th, "GET", "/range/"+prefix).Body.String()
			if string(body) != want {
				t.Fatalf("request %d: body differs from the handler's", i)
			}
		}
	}
}

// TestFrontTimeouts: an idle connection and a head that stalls are closed.
func TestFrontTimeouts(t *testing.T) { forFrontModes(t, testFrontTimeouts) }

func testFrontTimeouts(t *testing.T, tune func(*Server)) {
	addr, _ := startFront(t, nil, func(s *Server) {
		if tune != nil {
			tune(s)
		}
		s.idle = 300 * time.Millisecond
		s.readHeader = 300 * time.Millisecond
	})
	for _, first := range []string{"", "GET /range/ABC HTTP/1.1\r\nHost: x\r\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, first)
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 1))
		if n != 0 || err == nil || isTimeout(err) {
			t.Errorf("after %q: read %d, %v; want the server to close", first, n, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("after %q: closed after %v", first, d)
		}
		c.Close()
	}
}

// TestFrontShutdown: Shutdown lets a request under way finish, closes
// idle connections and stops Serve.
func TestFrontShutdown(t *testing.T) {
	forFrontModes(t, testFrontShutdown)
	// Both connections in one event loop, which the request under way holds:
	// the idle one is closed all the same.
	t.Run("one event loop", func(t *testing.T) { testFrontShutdown(t, func(s *Server) { s.EventLoops = 1 }) })
}

// TestFrontShutdownAtStart: a Shutdown that comes as Serve starts (a
// SIGTERM right after start) is a clean stop in every mode: Serve returns
// http.ErrServerClosed, never the error of a listener closed under it.
func TestFrontShutdownAtStart(t *testing.T) {
	forFrontModes(t, func(t *testing.T, tune func(*Server)) {
		for i := range 200 {
			f := newFront(newTestHandler(), tune)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			go func() { served <- f.Serve(ln) }()
			if i%2 == 1 {
				runtime.Gosched()
			}
			if err := f.Shutdown(context.Background()); err != nil {
				t.Fatalf("round %d: Shutdown: %v", i, err)
			}
			if err := <-served; err != http.ErrServerClosed {
				t.Fatalf("round %d: Serve returned %v; want http.ErrServerClosed", i, err)
			}
		}
	})
}

func testFrontShutdown(t *testing.T, tune func(*Server)) {
	th := newTestHandler()
	started, release := make(chan struct{}), make(chan struct{})
	th.hook = func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "F00D") {
			close(started)
			<-release
		}
	}
	f := newFront(th, tune)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.Serve(ln) }()
	addr := ln.Addr().String()

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idleBr := bufio.NewReader(idle)
	io.WriteString(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(idleBr, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("idle conn: %v", err)
	} else {
		io.Copy(io.Discard, resp.Body)
	}

	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET /range/F00D HTTP/1.1\r\nHost: x\r\n\r\n")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- f.Shutdown(context.Background()) }()

	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idleBr.ReadByte(); err == nil || isTimeout(err) {
		t.Errorf("idle connection not closed: %v", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a request was under way", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request under way: %v", err)
	}
	if !resp.Close {
		t.Errorf("an answer during shutdown without Connection: close")
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("still accepting after Shutdown")
	}
	waitLanes(t)
}

// waitLanes fails t unless every event loop (of this test's servers, the
// tests running one at a time) has stopped within 5 s.
func waitLanes(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if !bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("httpfront.(*eventLoop).run(")) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("event loops still running after the server stopped")
			return
		}
	}
}

// TestFrontPanic: a panic in a request that its handler recovers from
// answers 500, and the connection and the server go on; one it does not
// recover from closes the connection, as net/http does.
func TestFrontPanic(t *testing.T) {
	th := newTestHandler()
	th.hook = func(r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "BEEF") {
			panic(http.ErrAbortHandler) // the handler passes it on
		}
	}
	addr, _ := startFront(t, th, nil)
	out, alive := rawhttptest.Exchange(t, addr, "GET /range/DEAD HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
	if out[0].Status != 500 || !strings.Contains(out[0].Body, `"error"`) || !alive {
		t.Errorf("panic: %d %q, connection alive %v", out[0].Status, out[0].Body, alive)
	}
	for _, a := range []string{addr, startNetHTTP(t, th)} {
		c, err := net.Dial("tcp", a)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET /range/BEEF HTTP/1.1\r\nHost: x\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 512)); err == nil || isTimeout(err) {
			t.Errorf("%s: read %d, %v after an aborted handler; want the connection closed", a, n, err)
		}
		c.Close()
	}
}

// TestFrontConcurrent: many connections at once, each checking its
// answers, under the race detector when it is on.
func TestFrontConcurrent(t *testing.T) { forFrontModes(t, testFrontConcurrent) }

func testFrontConcurrent(t *testing.T, tune func(*Server)) {
	addr, f := startFront(t, nil, tune)
	want := map[string]string{}
	var prefixes []string
	for i := range 64 {
		p := fmt.Sprintf("%04X", i*1000)
		prefixes = append(prefixes, p)
		want[p] = do(t, f.th, "GET", "/range/"+p, "Add-Padding", "true").Body.String()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for i := range 100 {
				p := prefixes[(g*7+i)%len(prefixes)]
				io.WriteString(c, "GET /range/"+p+" HTTP/1.1\r\nHost: x\r\nAdd-Padding: true\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) != want[p] {
					errs <- fmt.Errorf("prefix %s: wrong body", p)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
