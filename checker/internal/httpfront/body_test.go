package httpfront

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/rawhttptest"
)

// queryPath is the route of testHandler that takes a POST.
const queryPath = "/v1/query"

// discardConn is a net.Conn that swallows writes.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }

// TestFrontAllocs: the lean path allocates next to nothing per request,
// so a busy server collects little garbage (and pauses little for it).
func TestFrontAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	// A handler that allocates nothing, as the range server's does not
	// (its own test says so): what is counted is the lean path's.
	body := bytes.Repeat([]byte("0123456789ABCDEF:1\r\n"), 40)
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = hdrText
		if r.Header["If-None-Match"] != nil {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(body)
	})
	th := newTestHandler()
	s := New(&http.Server{Handler: static}, Config{Take: th.take, Headers: testHeaders, Logger: quietLogger()})
	fc := &conn{s: s, c: discardConn{}}
	fc.w.hdr = http.Header{}
	fc.bw = bufio.NewWriter(io.Discard)
	for _, head := range [][]byte{
		[]byte("GET /range/ABCDE HTTP/1.1\r\nHost: phonecheck.test\r\nUser-Agent: wrk\r\n\r\n"),
		[]byte("GET /range/ABCDE HTTP/1.1\r\nHost: phonecheck.test\r\nAdd-Padding: true\r\n\r\n"),
		[]byte("GET /v1/datasets HTTP/1.1\r\nHost: phonecheck.test\r\nIf-None-Match: *\r\n\r\n"),
	} {
		allocs := testing.AllocsPerRun(200, func() {
			if !fc.parse(head) {
				t.Fatalf("%q handed off", head)
			}
			fc.respond()
		})
		// The request URI string; header values repeated from the last
		// request are reused.
		if allocs > 1 {
			t.Errorf("%q: %.1f allocations per request, want <= 1", head, allocs)
		}
	}
}

// TestFrontPostMatchesNetHTTP: queries (POST with a body) on the lean
// path get the answers net/http gives, byte for byte but the Date, in
// every mode; with Config.LoopBody, event loops answer the small bodies
// that come whole themselves, and leave the others to goroutines.
func TestFrontPostMatchesNetHTTP(t *testing.T) { forFrontModes(t, testFrontPostMatchesNetHTTP) }

func testFrontPostMatchesNetHTTP(t *testing.T, tune func(*Server)) {
	fast, front := startFront(t, nil, tune)
	ref := startNetHTTP(t, front.th)

	// query is a well-formed body of n elements of 32 bytes.
	query := func(n int, bits int) []byte {
		b := []byte{1, byte(bits)}
		for i := range n * 32 {
			b = append(b, byte(i*7))
		}
		return b
	}
	post := func(body []byte, hdr ...string) string {
		return "POST " + queryPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" +
			fmt.Sprintf("Content-Length: %d\r\n", len(body)) + strings.Join(hdr, "") + "\r\n" + string(body)
	}
	valid := query(1, 12)
	// onLoop is how many of a case's bodies an event loop answers when
	// it serves bodies: those of at most MaxLoopBody bytes that come whole
	// with their head, to the query route (the others go to a goroutine);
	// -1 for a POST without a body, which any event loop answers.
	cases := []struct {
		name, raw string
		lean      bool
		onLoop    int
	}{
		{"one element and a bucket", post(valid), true, 1},
		{"padding asked", post(valid, "Add-Padding: true\r\n"), true, 1},
		{"four elements", post(query(4, 0)), true, 1},
		{"bucket only", post(query(0, 12)), true, 1},
		{"a body of MaxLoopBody bytes", post(append(query(0, 12), make([]byte, MaxLoopBody-2)...)), true, 1},
		{"a body over MaxLoopBody", post(append(query(0, 12), make([]byte, MaxLoopBody-1)...)), true, 0},
		{"too many elements", post(query(128, 12)), true, 0},
		{"malformed", post([]byte{9, 9, 9}), true, 1},
		{"empty body", post(nil), true, -1}, // no body: on a loop in either mode
		{"LoopBody refuses", post(valid, "X-Not-On-Loop: 1\r\n"), true, 0},
		{"body over the handler's limit", post(make([]byte, 5000)), true, 0},
		{"body over the front's limit", post(make([]byte, 70000)), false, 0},
		{"two content lengths", "POST " + queryPath + " HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", false, 0},
		{"chunked", "POST " + queryPath + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n\x01\x01\x00\r\n0\r\n\r\n", false, 0},
		{"no length", "POST " + queryPath + " HTTP/1.1\r\nHost: x\r\n\r\n", false, 0},
		{"get the query route", "GET " + queryPath + " HTTP/1.1\r\nHost: x\r\n\r\n", false, 0},
		{"pipelined", post(valid) + post([]byte{9}) + "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + post(query(2, 12)), true, 3},
	}
	loopBodies := front.body != nil && runtime.GOOS == "linux"
	for _, c := range cases {
		methods := []string{"POST"}
		if strings.HasPrefix(c.raw, "GET") {
			methods = []string{"GET"}
		}
		if c.name == "pipelined" {
			methods = []string{"POST", "POST", "GET", "POST"}
		}
		before, loopBefore := front.handOffs.Load(), front.loopPosts.Load()
		a, aliveA := rawhttptest.Exchange(t, fast, c.raw, methods...)
		if handed := front.handOffs.Load() > before; handed == c.lean {
			t.Errorf("%s: handed off %v, want %v", c.name, handed, !c.lean)
		}
		want := 0
		switch {
		case c.onLoop < 0 && eventLoopsOn(front.Server):
			want = 1
		case c.onLoop > 0 && loopBodies:
			want = c.onLoop
		}
		if got := int(front.loopPosts.Load() - loopBefore); got != want {
			t.Errorf("%s: %d requests with a body answered on an event loop, want %d", c.name, got, want)
		}
		b, aliveB := rawhttptest.Exchange(t, ref, c.raw, methods...)
		rawhttptest.Compare(t, c.name, a, b, true)
		if aliveA != aliveB {
			t.Errorf("%s: connection open after the answer: front %v, net/http %v", c.name, aliveA, aliveB)
		}
	}
}

// TestFrontFlushesBeforeWaiting: an answer goes out before the front
// waits for more of the next request (a stray CRLF after a request, a
// pipelined head cut in two), not after it.
func TestFrontFlushesBeforeWaiting(t *testing.T) {
	addr, _ := startFront(t, nil, nil)
	for _, raw := range []string{
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /hea",
		"GET /range/ABC HTTP/1.1\r\nHost: x\r\n\r\nPOST " + queryPath + " HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, raw)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%q: no answer while the next request is incomplete: %v", raw, err)
		}
		c.Close()
	}
}

// TestFrontPostHeaders: a query on the lean path carries every header,
// so a client address read from a proxy's header sees it; a request
// without a body carries only the named ones.
func TestFrontPostHeaders(t *testing.T) {
	th := newTestHandler()
	seen := make(chan string, 4)
	th.hook = func(r *http.Request) {
		seen <- r.Header.Get("X-Forwarded-For") + "|" + r.Header.Get("Add-Padding")
	}
	addr, front := startFront(t, th, nil)
	body := []byte{1, 0, 42}
	raw := "POST " + queryPath + " HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n", len(body)) + string(body)
	before := front.handOffs.Load()
	out, _ := rawhttptest.Exchange(t, addr, raw, "POST")
	if out[0].Status != 200 || front.handOffs.Load() != before {
		t.Fatalf("status %d, handed off %v", out[0].Status, front.handOffs.Load() != before)
	}
	if got := <-seen; got != "203.0.113.7|" {
		t.Errorf("the handler saw X-Forwarded-For|Add-Padding %q", got)
	}
	<-seen // exchange's own last request
	rawhttptest.Exchange(t, addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.7\r\nadd-padding: true\r\n\r\n", "GET")
	if got := <-seen; got != "|true" {
		t.Errorf("a GET: the handler saw X-Forwarded-For|Add-Padding %q, want only the named header", got)
	}
	<-seen // exchange's own last request
}

// TestFrontLanesBackpressure: a client that sends many requests before
// reading any answer fills its socket; the event loop gives the connection,
// with what it read and the answers the socket did not take, to a
// goroutine, and every answer arrives, in order.
func TestFrontLanesBackpressure(t *testing.T) {
	addr, f := startFront(t, nil, nil)
	// Ranges between big answers (/openapi.json): far more than the
	// socket buffers hold.
	const n = 4000
	var req strings.Builder
	want := map[string]string{"/openapi.json": do(t, f.th, "GET", "/openapi.json").Body.String()}
	targets := make([]string, n)
	for i := range n {
		targets[i] = "/openapi.json"
		if i%2 == 1 {
			targets[i] = fmt.Sprintf("/range/%05X", i*1337)
			want[targets[i]] = do(t, f.th, "GET", targets[i]).Body.String()
		}
		req.WriteString("GET " + targets[i] + " HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	if len(want["/openapi.json"])*n/2 < 16<<20 {
		t.Fatalf("answers of %d bytes in all: too few to fill the socket buffers", len(want["/openapi.json"])*n/2)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go io.WriteString(c, req.String())
	time.Sleep(200 * time.Millisecond) // let the answers pile up
	br := bufio.NewReader(c)
	for i, target := range targets {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != want[target] {
			t.Fatalf("answer %d (%s): %d, body differs from the handler's", i, target, resp.StatusCode)
		}
	}
	if !eventLoopsOn(f.Server) {
		if runtime.GOOS == "linux" {
			t.Fatal("no event loops on Linux")
		}
		return // only Linux has event loops; the answers are checked all the same
	}
	if f.offLoop.Load() == 0 {
		t.Errorf("the socket never filled: the test did not test the hand-over")
	}
}

// TestFrontLanesClose: Close closes the connections event loops hold,
// idle or not, and the loops stop.
func TestFrontLanesClose(t *testing.T) {
	f := newFront(nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- f.Serve(ln) }()
	var conns []net.Conn
	for i := range 6 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 0 { // some served once, some never, one mid-head
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
				t.Fatal(err)
			} else {
				resp.Body.Close()
			}
		}
		if i == 5 {
			io.WriteString(c, "GET /healthz HTTP/1.1\r\nHo")
		}
		conns = append(conns, c)
	}
	time.Sleep(50 * time.Millisecond) // every connection reaches its loop
	if !eventLoopsOn(f.Server) && runtime.GOOS == "linux" {
		t.Fatal("no event loops on Linux")
	}
	f.Close()
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(2 * time.Second)) // well before ReadHeaderTimeout
		if n, err := c.Read(make([]byte, 512)); err == nil || isTimeout(err) {
			t.Errorf("connection %d: read %d, %v after Close; want it closed", i, n, err)
		}
	}
	waitLanes(t)
}
