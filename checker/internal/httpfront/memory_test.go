package httpfront

import (
	"bytes"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestFrontPipelineMemory: clients that pipeline requests for a big
// answer and never read make the server hold a bounded amount of memory
// each (about one answer and a buffer, as net/http, which writes as it
// goes), not the answers to every request they sent (issue 19: 200 such
// clients took the event loops from 17 to 273 MiB, held until the write
// timeout).
func TestFrontPipelineMemory(t *testing.T) { forFrontModes(t, testFrontPipelineMemory) }

func testFrontPipelineMemory(t *testing.T, tune func(*Server)) {
	if testing.Short() {
		t.Skip("200 connections")
	}
	addr, f := startFront(t, nil, tune)
	const (
		conns = 200
		// The most a client may make the server hold: an answer, a
		// request, buffers and a goroutine come to 80-160 KiB as
		// measured (with the answers to every request of a 4 KiB read
		// held, it was 560 KiB).
		perConn = 256 << 10
	)
	answer := len(f.th.openAPI)
	// ~100 requests in each 4 KiB read of the server's, 20000 in all:
	// far more answers than the socket buffers take.
	raw := bytes.Repeat([]byte("GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"), 20000)
	heap := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapInuse)
	}
	before := heap()
	cs := make([]net.Conn, 0, conns)
	var wg sync.WaitGroup
	defer func() {
		for _, c := range cs {
			c.Close()
		}
		wg.Wait()
	}()
	for range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
		// A small receive window, as a slow or hostile client keeps:
		// the server's socket stops taking answers sooner.
		c.(*net.TCPConn).SetReadBuffer(8 << 10)
		wg.Go(func() {
			// The write blocks once the server stops reading.
			c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			c.Write(raw)
		})
	}
	// What the server holds once it has stalled on every connection:
	// no answer for 300 ms.
	served := func() int {
		f.th.mu.Lock()
		defer f.th.mu.Unlock()
		return f.th.served
	}
	var grown int64
	for last, still, deadline := -1, 0, time.Now().Add(20*time.Second); still < 3 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		grown = max(grown, heap()-before)
		if n := served(); n != last {
			last, still = n, 0
		} else {
			still++
		}
	}
	t.Logf("%d connections pipelining %d-byte answers, never reading: heap in use grew %.1f MiB (%.0f KiB a connection)",
		conns, answer, float64(grown)/(1<<20), float64(grown)/conns/1024)
	if grown > conns*perConn {
		t.Errorf("heap in use grew %.1f MiB, want at most %.1f MiB (%d KiB a connection)",
			float64(grown)/(1<<20), float64(conns*perConn)/(1<<20), perConn>>10)
	}
}
