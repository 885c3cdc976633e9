package httpfront

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// timedExchange dials addr, writes each chunk after waiting its gap (from
// the previous chunk, or from the dial), and reads until the server
// closes: it returns what the server sent (Date lines removed) and when
// it closed, from the dial.
func timedExchange(t *testing.T, addr string, chunks []timedChunk) ([]byte, time.Duration) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		for _, ch := range chunks {
			time.Sleep(ch.gap)
			if _, err := io.WriteString(c, ch.data); err != nil {
				return
			}
		}
	})
	c.SetReadDeadline(start.Add(10 * time.Second))
	var out bytes.Buffer
	_, err = io.Copy(&out, c)
	d := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the server did not close the connection in 10 s")
	}
	c.Close()
	return dateLine.ReplaceAll(out.Bytes(), nil), d
}

type timedChunk struct {
	gap  time.Duration
	data string
}

// TestFrontHeaderTimeouts: with short timeouts, the front closes (or
// answers) silent and slow connections when net/http does, and says
// what it says: ReadHeaderTimeout from the accept for a connection's
// first request, IdleTimeout and then ReadHeaderTimeout from the first
// byte for the next ones, once a request, a head handed to net/http
// midway included.
func TestFrontHeaderTimeouts(t *testing.T) { forFrontModes(t, testFrontHeaderTimeouts) }

func testFrontHeaderTimeouts(t *testing.T, tune func(*Server)) {
	const (
		readHeader = 400 * time.Millisecond
		idle       = 1600 * time.Millisecond
		slack      = 300 * time.Millisecond // times doubled and slack wide: CI machines are loaded
	)
	limits := func(hs *http.Server) {
		hs.ReadHeaderTimeout = readHeader
		hs.IdleTimeout = idle
	}
	fast, front := startFront(t, nil, func(s *Server) {
		if tune != nil {
			tune(s)
		}
		limits(s.hs)
		s.readHeader, s.idle = readHeader, idle
	})
	refHS := &http.Server{}
	limits(refHS)
	ref := startNetHTTPOf(t, front.th, refHS)

	req := "GET /range/ABC HTTP/1.1\r\nHost: x\r\n\r\n"
	// A head of 5.4 KiB, more than the lean path's buffer, that arrives
	// in pieces over 720 ms: the buffer is full (the lean path hands the
	// connection off) at ~360 ms.
	slowBig := []timedChunk{{0, "GET /range/ABC HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 3000)}}
	for range 12 {
		slowBig = append(slowBig, timedChunk{60 * time.Millisecond, strings.Repeat("a", 200)})
	}
	slowBig = append(slowBig, timedChunk{0, "\r\n\r\n"})
	afterOne := func(gap time.Duration, then ...timedChunk) []timedChunk {
		return append([]timedChunk{{0, req}, {gap, ""}}, then...)
	}
	cases := []struct {
		name   string
		chunks []timedChunk
	}{
		{"silent", nil},
		{"partial head", []timedChunk{{0, "GET /range/ABC HTTP/1.1\r\nHost: x\r\n"}}},
		{"head in pieces", []timedChunk{{0, "GET /range/ABC HTTP/1.1\r\n"}, {300 * time.Millisecond, "Host: x\r\n"}, {300 * time.Millisecond, "\r\n"}}},
		{"late first byte", []timedChunk{{600 * time.Millisecond, req}}},
		{"slow big head", slowBig},
		{"idle after a request", afterOne(0)},
		{"partial head after idle", afterOne(600*time.Millisecond, timedChunk{0, "GET /range/ABC HTTP/1.1\r\n"})},
		{"head in pieces after idle", afterOne(600*time.Millisecond, timedChunk{0, "GET /range/ABC HTTP/1.1\r\n"},
			timedChunk{300 * time.Millisecond, "Host: x\r\n"}, timedChunk{300 * time.Millisecond, "\r\n"})},
		{"slow big head after idle", afterOne(600*time.Millisecond, slowBig...)},
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Go(func() {
			var a, b []byte
			var da, db time.Duration
			var ew sync.WaitGroup
			ew.Go(func() { a, da = timedExchange(t, fast, c.chunks) })
			ew.Go(func() { b, db = timedExchange(t, ref, c.chunks) })
			ew.Wait()
			t.Logf("%s: closed after %v (net/http %v), %d bytes (net/http %d)", c.name,
				da.Round(time.Millisecond), db.Round(time.Millisecond), len(a), len(b))
			if !bytes.Equal(a, b) {
				t.Errorf("%s: front sent\n %q\nnet/http\n %q", c.name, a, b)
			}
			if da < db-slack || da > db+slack {
				t.Errorf("%s: front closed after %v, net/http after %v", c.name, da, db)
			}
		})
	}
	wg.Wait()
}
