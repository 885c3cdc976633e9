package checker

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rawhttptest"
)

// TestFrontTrustedProxy: the proxy's X-Forwarded-For reaches the client
// id on the lean path as on net/http, in each front mode, over several
// header lines too: two clients behind a trusted proxy get an allowance
// each, and without TrustedProxies they share the proxy's.
func TestFrontTrustedProxy(t *testing.T) {
	forFrontModes(t, testFrontTrustedProxy)
}

func testFrontTrustedProxy(t *testing.T, tune func(*EventServer)) {
	for _, trusted := range []bool{true, false} {
		opts := PrivateHandlerOptions{Rate: 1e-6, Burst: 1, MaxElements: 1}
		if trusted {
			opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		for _, via := range []string{"lean path", "net/http"} {
			// A server each (the peer, 127.0.0.1, is the same), over its
			// own indexes (a Server closes what it serves).
			ixs := newPrivateIndexes(t)
			_, elems, err := blind(ixs.Key.Public(), [][]byte{oprfInput(Key(testBoth[0]))}, nil)
			if err != nil {
				t.Fatal(err)
			}
			body := wire.AppendRequest(nil, &wire.Request{Elements: elems})
			post := func(hdr ...string) string {
				return "POST " + PrivateQueryPath + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n" +
					fmt.Sprintf("Content-Length: %d\r\n", len(body)) + strings.Join(hdr, "") + "\r\n" + string(body)
			}
			s, err := NewServerOf(ixs, ServerOptions{Logger: quietLogger(), Private: opts})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			addr, front := startFront(t, s, tune)
			a, b := "192.0.2.1", "192.0.2.2"
			if via == "net/http" {
				addr, front = startNetHTTP(t, s), nil
				a, b = "2001:db8:1:1::1", "[2001:db8:1:2::1]:443" // other /64s
			}
			status := func(raw string) int {
				t.Helper()
				var before int64
				if front != nil {
					before = front.handOffs.Load()
				}
				out, _ := rawhttptest.Exchange(t, addr, raw, "POST")
				if front != nil && front.handOffs.Load() != before {
					t.Errorf("%s: the query was handed off to net/http", via)
				}
				return out[0].Status
			}
			name := fmt.Sprintf("trusted %v, %s", trusted, via)
			if st := status(post("X-Forwarded-For: " + a + "\r\n")); st != 200 {
				t.Fatalf("%s: first client's first query: %d", name, st)
			}
			// A spoofed entry, then the proxy's own line: still a.
			if st := status(post("X-Forwarded-For: 203.0.113.50\r\n", "X-Forwarded-For: "+a+"\r\n")); st != 429 {
				t.Errorf("%s: first client's second query (spoofed first line): %d, want 429", name, st)
			}
			want := 200
			if !trusted {
				want = 429 // the peer's allowance, spent by a
			}
			if st := status(post("X-Forwarded-For: 203.0.113.50, " + b + "\r\n")); st != want {
				t.Errorf("%s: second client: %d, want %d", name, st, want)
			}
		}
	}
}
