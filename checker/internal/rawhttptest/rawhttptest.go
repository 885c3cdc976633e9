// Package rawhttptest sends raw HTTP/1.1 bytes to a server and compares
// the answers, for the tests that hold the fast path to net/http.
package rawhttptest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Response is a response as read off the wire.
type Response struct {
	Status int
	Proto  string
	Header http.Header
	Body   string
}

// Exchange writes raw on a new connection to addr and reads one response
// per method (the request's method, for HEAD). It then reports whether
// the connection still answers a plain GET /healthz.
func Exchange(t testing.TB, addr, raw string, methods ...string) ([]Response, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	var out []Response
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("reading response %d to %q: %v", len(out)+1, raw, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Response{resp.StatusCode, resp.Proto, resp.Header, string(body)})
	}
	// Does the connection live on?
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return out, false
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return out, false
	}
	resp.Body.Close()
	return out, resp.StatusCode == 200
}

// Compare wants fast to be ref, response by response: status, protocol,
// headers but Date (present in both or neither, and valid), and, if
// bodies, the bodies (else Content-Length is not compared either).
func Compare(t testing.TB, name string, fast, ref []Response, bodies bool) {
	t.Helper()
	if len(fast) != len(ref) {
		t.Fatalf("%s: %d responses, net/http %d", name, len(fast), len(ref))
	}
	for i := range fast {
		a, b := fast[i], ref[i]
		if a.Status != b.Status || a.Proto != b.Proto {
			t.Errorf("%s #%d: %s %d, net/http %s %d", name, i, a.Proto, a.Status, b.Proto, b.Status)
		}
		// net/http sends no Date on its answers to malformed requests.
		if (a.Header.Get("Date") == "") != (b.Header.Get("Date") == "") {
			t.Errorf("%s #%d: Date %q, net/http %q", name, i, a.Header.Get("Date"), b.Header.Get("Date"))
		}
		if d := a.Header.Get("Date"); d != "" {
			if _, err := http.ParseTime(d); err != nil {
				t.Errorf("%s #%d: Date %q: %v", name, i, d, err)
			}
		}
		ha, hb := a.Header.Clone(), b.Header.Clone()
		ha.Del("Date")
		hb.Del("Date")
		if !bodies {
			ha.Del("Content-Length")
			hb.Del("Content-Length")
		}
		if fmt.Sprint(ha) != fmt.Sprint(hb) {
			t.Errorf("%s #%d: headers\n front    %v\n net/http %v", name, i, ha, hb)
		}
		if bodies && a.Body != b.Body {
			t.Errorf("%s #%d: body\n front    %q\n net/http %q", name, i, a.Body, b.Body)
		}
	}
}

// BenchmarkAgainst times one keep-alive client's range requests to fast
// and, as the baseline, to ref (net/http serving the same handler),
// alternating blocks of 256 requests between the two in the same run, and
// reports both and the ratio: front-ns/req, nethttp-ns/req, speedup-x.
func BenchmarkAgainst(b *testing.B, fast, ref string) {
	reqs := make([][]byte, 256)
	for i := range reqs {
		reqs[i] = fmt.Appendf(nil, "GET /range/%05X HTTP/1.1\r\nHost: x\r\n\r\n", i*4099)
	}
	type client struct {
		c  net.Conn
		br *bufio.Reader
		ns time.Duration
	}
	dial := func(addr string) *client {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return &client{c: c, br: bufio.NewReader(c)}
	}
	fc, rc := dial(fast), dial(ref)
	block := func(cl *client, n int) {
		start := time.Now()
		for i := range n {
			cl.c.Write(reqs[i])
			resp, err := http.ReadResponse(cl.br, nil)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		cl.ns += time.Since(start)
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += len(reqs) {
		n := min(len(reqs), b.N-done)
		block(fc, n)
		block(rc, n)
	}
	f, r := float64(fc.ns)/float64(b.N), float64(rc.ns)/float64(b.N)
	b.ReportMetric(f, "front-ns/req")
	b.ReportMetric(r, "nethttp-ns/req")
	b.ReportMetric(r/f, "speedup-x")
}
