package checker

import (
	"flag"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMatchedServer is not a test but the capacity-matched server of
// bench/range/run.sh, which builds it with go test -c: the range server
// over an index, through the same Front as serve, each answer taking
// PHONECHECK_BENCH_DELAY longer (a busy wait, as slower request handling
// would), so that it serves about nginx's req/s and the two servers'
// full-load p99 compare at the same rate. It serves until killed, and is
// skipped unless PHONECHECK_MATCHED_INDEX names an index.
//
// PHONECHECK_MATCHED_ADDR is the address to listen on, and
// PHONECHECK_MATCHED_FLAGS the flags serve was given (--lanes only).
func TestMatchedServer(t *testing.T) {
	index := os.Getenv("PHONECHECK_MATCHED_INDEX")
	if index == "" {
		t.Skip("bench/range/run.sh's capacity-matched server; set PHONECHECK_MATCHED_INDEX to run it")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	lanes := fs.Int("lanes", 0, "event loops, as serve's flag")
	if err := fs.Parse(strings.Fields(os.Getenv("PHONECHECK_MATCHED_FLAGS"))); err != nil {
		t.Fatal(err)
	}
	var delay time.Duration
	if v := os.Getenv("PHONECHECK_BENCH_DELAY"); v != "" {
		var err error
		if delay, err = time.ParseDuration(v); err != nil {
			t.Fatal(err)
		}
	}
	c, err := Open(index)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(c, ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer("")
	hs.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.ServeHTTP(w, r)
		spin(delay)
	})
	f := s.front(hs)
	f.EventLoops = *lanes
	ln, err := net.Listen("tcp", os.Getenv("PHONECHECK_MATCHED_ADDR"))
	if err != nil {
		t.Fatal(err)
	}
	t.Fatal(f.Serve(ln))
}

// spin keeps the thread busy for d, as slower request handling would.
func spin(d time.Duration) {
	for t0 := time.Now(); time.Since(t0) < d; {
	}
}

// TestSpin: spin waits at least as long as asked.
func TestSpin(t *testing.T) {
	start := time.Now()
	spin(200 * time.Microsecond)
	if d := time.Since(start); d < 200*time.Microsecond {
		t.Fatalf("spin(200us) returned after %v", d)
	}
}
