package httpfront

import (
	"bytes"
	"io"
	"net"
	"regexp"
	"testing"
	"time"
)

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r\n`)

// rawExchange writes raw on a new connection, half-closes it, and
// returns every byte the server sends until it closes, Date lines removed.
func rawExchange(t *testing.T, addr string, raw []byte) []byte {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(raw)
	c.(*net.TCPConn).CloseWrite()
	out, _ := io.ReadAll(c)
	return dateLine.ReplaceAll(out, nil)
}

// FuzzFrontMatchesNetHTTP: for any bytes a client sends (and then ends
// its side), the front answers exactly what net/http answers serving
// the same handler, byte for byte but the Date lines, whether its event
// loops serve small bodies or not.
func FuzzFrontMatchesNetHTTP(f *testing.F) {
	for _, seed := range []string{
		"GET /range/ABCDE HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /range/abc HTTP/1.1\r\nHost: x\r\nAdd-Padding: true\r\nAccept: application/json\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
		"HEAD /v1/datasets HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n",
		"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
		"GET /range/ABC HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /range/ABD HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /range/ABC HTTP/1.0\r\n\r\n",
		"GET /range/ABC HTTP/1.1\nHost: x\n\n",
		"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
		"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n",
		// net/http's Connection comes after the handler's headers and
		// its own Content-Length (a header order the front once had wrong).
		"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nPOST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab",
	} {
		f.Add([]byte(seed))
	}
	fast, front := startFront(f, nil, nil)
	loops, _ := startFront(f, front.th, loopQueries) // event loops serving bodies
	ref := startNetHTTP(f, front.th)
	f.Fuzz(func(t *testing.T, raw []byte) {
		b := rawExchange(t, ref, raw)
		for _, addr := range []string{fast, loops} {
			a := rawExchange(t, addr, raw)
			if !bytes.Equal(a, b) {
				t.Errorf("request %q:\n front    %q\n net/http %q", raw, a, b)
			}
		}
	})
}
