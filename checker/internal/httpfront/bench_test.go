package httpfront

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// BenchmarkFront times one keep-alive client's range requests over
// loopback through a Server, and through net/http serving the same
// handler (the baseline), alternating blocks of 256 requests between the
// two in the same run; it reports both and the ratio.
func BenchmarkFront(b *testing.B) {
	fastAddr, f := startFront(b, nil, nil)
	refAddr := startNetHTTP(b, f.th)
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
	fast, ref := dial(fastAddr), dial(refAddr)
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
		block(fast, n)
		block(ref, n)
	}
	fr, r := float64(fast.ns)/float64(b.N), float64(ref.ns)/float64(b.N)
	b.ReportMetric(fr, "front-ns/req")
	b.ReportMetric(r, "nethttp-ns/req")
	b.ReportMetric(r/fr, "speedup-x")
}
