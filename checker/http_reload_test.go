package checker

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
)

// TestReloadUnderLoad swaps indexes under concurrent keep-alive load,
// through net/http and through the Front (lanes on Linux) that serve
// uses: no request fails, and every body is wholly of one index (its
// ETag, the body's hash, is one the index gives that range).
func TestReloadUnderLoad(t *testing.T) {
	t.Run("net/http", func(t *testing.T) {
		testReloadUnderLoad(t, func(s *Server) string {
			ts := httptest.NewServer(s)
			t.Cleanup(ts.Close)
			return ts.URL
		})
	})
	t.Run("front", func(t *testing.T) {
		testReloadUnderLoad(t, func(s *Server) string {
			addr, _ := startFront(t, s, nil)
			return "http://" + addr
		})
	})
}

func testReloadUnderLoad(t *testing.T, serve func(*Server) string) {
	a, b := testIndex(t, 3000, "a"), testIndex(t, 3000, "b")
	idA, idB := rangeenc.IndexID(a.Index()), rangeenc.IndexID(b.Index())
	if idA == idB {
		t.Fatal("test indexes are the same")
	}
	// Expected bodies per index, computed before serving.
	prefixes := []string{"ABC", "1234", "FEDCB", keyscheme.Prefix(Key(testBoth[0]), 20)}
	want := map[string]string{}
	owner := map[string]string{} // ETag -> index id
	for _, c := range []*Checker{a, b} {
		s0, _ := NewServer(c, ServerOptions{Logger: quietLogger()})
		for _, p := range prefixes {
			w := do(t, s0, "GET", "/range/"+p, "Add-Padding", "true")
			want[w.Header().Get("ETag")+p] = w.Body.String()
			owner[w.Header().Get("ETag")] = rangeenc.IndexID(c.Index())
		}
		_ = s0 // dropped, not closed: c stays open
	}
	s, _ := NewServer(testIndex(t, 3000, "a"), ServerOptions{Logger: quietLogger()})
	defer s.Close()
	base := serve(s)

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	var requests, failures atomic.Int64
	seen := sync.Map{}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for i := 0; ctx.Err() == nil; i++ {
				p := prefixes[(g+i)%len(prefixes)]
				req, _ := http.NewRequest("GET", base+"/range/"+p, nil)
				req.Header.Set("Add-Padding", "true")
				resp, err := client.Do(req)
				if err != nil {
					failures.Add(1)
					t.Errorf("request failed: %v", err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				requests.Add(1)
				etag := resp.Header.Get("ETag")
				seen.Store(owner[etag], true)
				if err != nil || resp.StatusCode != 200 || want[etag+p] != string(body) {
					failures.Add(1)
					t.Errorf("GET /range/%s: status %d, body from another index than its ETag %s", p, resp.StatusCode, etag)
					return
				}
			}
		}()
	}
	swaps := 0
	for ctx.Err() == nil {
		next := testIndex(t, 3000, []string{"b", "a"}[swaps%2])
		if err := s.Swap(next); err != nil {
			t.Fatal(err)
		}
		swaps++
		time.Sleep(20 * time.Millisecond)
	}
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed", failures.Load(), requests.Load())
	}
	_, sawA := seen.Load(idA)
	_, sawB := seen.Load(idB)
	if !sawA || !sawB || swaps < 5 {
		t.Errorf("%d swaps, %d requests: saw index a %v, b %v", swaps, requests.Load(), sawA, sawB)
	}
	t.Logf("%d swaps, %d requests, no failure", swaps, requests.Load())
}

func TestMetrics(t *testing.T) {
	s := newTestServer(t, 3000)
	secret := keyscheme.Prefix(Key(testBoth[0]), 32)
	for _, p := range []string{secret, secret[:5], "ZZZZ", "abc"} {
		do(t, s, "GET", "/range/"+p)
		do(t, s, "GET", "/range/"+p, "Add-Padding", "true")
	}
	do(t, s, "GET", "/nope/"+secret)
	do(t, s, "POST", "/range/ABC")
	w := do(t, s, "GET", "/metrics")
	body := w.Body.String()
	for _, want := range []string{
		`phonecheck_http_requests_total{code="200",route="/range/{prefix}"} 6`,
		`phonecheck_http_requests_total{code="400",route="/range/{prefix}"} 2`,
		`phonecheck_http_requests_total{code="404",route="other"} 1`,
		`phonecheck_http_requests_total{code="405",route="/range/{prefix}"} 1`,
		`phonecheck_http_request_duration_seconds_bucket{code="200",route="/range/{prefix}",le="+Inf"} 6`,
		`phonecheck_http_request_duration_seconds_bucket{code="400",route="/range/{prefix}",le="+Inf"} 2`,
		`phonecheck_http_request_duration_seconds_bucket{code="405",route="/range/{prefix}",le="+Inf"} 1`,
		`phonecheck_http_request_duration_seconds_count{code="404",route="other"} 1`,
		`phonecheck_range_requests_total{bits="32",padded="true"} 1`,
		`phonecheck_range_requests_total{bits="20",padded="false"} 1`,
		`phonecheck_index_keys 3004`,
		`phonecheck_index_size_bytes `,
		`phonecheck_index_build_timestamp_seconds 1.7955648e+09`,
		`phonecheck_index_loads_total 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// No prefix, key or suffix in any metric.
	for _, bad := range []string{secret, strings.ToLower(secret), secret[:5], fmt.Sprintf("%016X", Key(testBoth[0]))[5:], "ZZZZ", "nope"} {
		if strings.Contains(body, bad) {
			t.Errorf("metrics hold %q", bad)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "phonecheck_") && regexp.MustCompile(`"[0-9A-Fa-f]{5,}"`).MatchString(line) {
			t.Errorf("metric label looks like a prefix: %s", line)
		}
	}
}
