package checker

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/redistest"
)

// TestRateStoreSharedByReplicas: two servers (replicas of one
// deployment: the same key, each its own index copy and its own
// connection) sharing a Redis give a client one allowance in total;
// another client has its own; with Redis gone, each limits alone and
// says so in /metrics.
func TestRateStoreSharedByReplicas(t *testing.T) {
	rs := redistest.Start(t)
	ixs := newPrivateIndexes(t)
	popts := PrivateHandlerOptions{Rate: 0.001, MaxElements: 1} // a burst of 1, then 1000 s
	var replicas []*Server
	for i := range 2 {
		ix := ixs.Private
		if i > 0 {
			ix, _ = testPrivateIndex(t, ixs.Key, 12, testDS{"leak-a", append(append([]string{}, testBoth...), testOnlyA...)},
				testDS{"leak-b", testBoth})
		}
		store, err := OpenRateStore(rs.URL(), ixs.Key, RateStoreOptions{Replicas: 2, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		s, err := NewServerOf(Indexes{Private: ix, Key: ixs.Key}, ServerOptions{Logger: quietLogger(), Private: popts, Limiter: store})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		replicas = append(replicas, s)
	}
	query := func(s *Server, client string) *httptest.ResponseRecorder {
		t.Helper()
		_, elems, err := blind(ixs.Key.Public(), [][]byte{oprfInput(7)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		body := wire.AppendRequest(nil, &wire.Request{Bits: 12, Prefix: 7 >> 52, Elements: elems})
		r := httptest.NewRequest("POST", PrivateQueryPath, bytes.NewReader(body))
		r.RemoteAddr = client + ":4242"
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := query(replicas[0], "192.0.2.1"); w.Code != 200 {
		t.Fatalf("first query on replica 0: %d %s", w.Code, w.Body)
	}
	w := query(replicas[1], "192.0.2.1")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1000" {
		t.Fatalf("second query, on replica 1: %d, Retry-After %q; want 429 and 1000: the replicas do not share the limit",
			w.Code, w.Header().Get("Retry-After"))
	}
	if w := query(replicas[1], "192.0.2.2"); w.Code != 200 {
		t.Fatalf("another client on replica 1: %d %s", w.Code, w.Body)
	}
	if m := metricsOf(t, replicas[0]); !strings.Contains(m, "phonecheck_ratestore_call_duration_seconds_count 1") ||
		!strings.Contains(m, "phonecheck_ratestore_errors_total 0") {
		t.Errorf("replica 0's metrics lack its one store call:\n%s", grepLines(m, "ratestore"))
	}

	rs.Kill()
	if w := query(replicas[0], "192.0.2.3"); w.Code != 200 {
		t.Fatalf("with Redis gone, a new client: %d %s", w.Code, w.Body)
	}
	if w := query(replicas[0], "192.0.2.3"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("with Redis gone, the fallback let a client past its burst: %d", w.Code)
	}
	m := metricsOf(t, replicas[0])
	if !strings.Contains(m, "phonecheck_ratestore_errors_total 1") || !strings.Contains(m, "phonecheck_ratestore_fallback_total 2") {
		t.Errorf("replica 0's metrics lack the failure and the fallbacks:\n%s", grepLines(m, "ratestore"))
	}
}

func metricsOf(t *testing.T, s *Server) string {
	t.Helper()
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
