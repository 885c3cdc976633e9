package ratestore

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/checker/internal/redistest"
)

var testSecret = []byte("a test secret of thirty-two byte")

type countingMetrics struct{ calls, errors, fallbacks atomic.Int64 }

func (m *countingMetrics) StoreCall(d time.Duration, err error) {
	m.calls.Add(1)
	if err != nil {
		m.errors.Add(1)
	}
}
func (m *countingMetrics) Fallback() { m.fallbacks.Add(1) }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

func open(t testing.TB, url string, opts Options) *Store {
	t.Helper()
	if opts.Secret == nil {
		opts.Secret = testSecret
	}
	s, err := Open(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func retryAfter(wait time.Duration) int { return int(math.Ceil(wait.Seconds())) }

// TestSameSemantics: the Redis limiter charges as the in-memory one
// does, and two replicas sharing a Redis give a client one allowance.
func TestSameSemantics(t *testing.T) {
	rs := redistest.Start(t)
	ctx := t.Context()
	replicaA, replicaB := open(t, rs.URL(), Options{}), open(t, rs.URL(), Options{})
	for _, tc := range []struct {
		name string
		a, b privateapi.Limiter
	}{
		{"memory", privateapi.NewLimits(), nil},
		{"redis", replicaA, replicaB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			if b == nil {
				b = tc.a // one server
			}
			l := privateapi.Limit{Rate: 0.5, Burst: 4, MaxClients: 100}
			p := tc.name + "-" // the Redis keys of the two runs apart
			if _, ok := tc.a.Allow(ctx, p+"192.0.2.1", 3, l); !ok {
				t.Fatal("3 of a burst of 4 refused")
			}
			if _, ok := b.Allow(ctx, p+"192.0.2.1", 1, l); !ok {
				t.Fatal("the 4th of a burst of 4 refused")
			}
			// The bucket is empty, whichever replica asks.
			for i, r := range []privateapi.Limiter{tc.a, b} {
				wait, ok := r.Allow(ctx, p+"192.0.2.1", 1, l)
				if ok {
					t.Fatalf("replica %d: a 5th evaluation allowed: the replicas do not share the bucket", i)
				}
				if got := retryAfter(wait); got != 2 {
					t.Errorf("replica %d: Retry-After %d (wait %v), want 2 (one evaluation at 0.5/s)", i, got, wait)
				}
			}
			// Another client has its own bucket.
			if _, ok := b.Allow(ctx, p+"2001:db8:1:2::/64", 4, l); !ok {
				t.Error("another client was charged for the first one's evaluations")
			}
			// Refused requests spend nothing: 3 of 4, then 2 refused, then 1 passes.
			if _, ok := tc.a.Allow(ctx, p+"192.0.2.3", 3, l); !ok {
				t.Fatal("3 of a burst of 4 refused")
			}
			for range 3 {
				if wait, ok := b.Allow(ctx, p+"192.0.2.3", 2, l); ok || retryAfter(wait) != 2 {
					t.Fatalf("2 more of a bucket of 1: ok %v, wait %v; want refused, Retry-After 2", ok, wait)
				}
			}
			if _, ok := tc.a.Allow(ctx, p+"192.0.2.3", 1, l); !ok {
				t.Error("a refused request spent tokens")
			}
			// Over the burst: never passes, an hour.
			if wait, ok := b.Allow(ctx, p+"192.0.2.4", 5, l); ok || wait != time.Hour {
				t.Errorf("more than the burst: ok %v, wait %v; want refused for an hour", ok, wait)
			}
		})
	}
}

// TestNoAddressInRedis: Redis holds keyed hashes of client ids, under
// the namespace, each expiring once its bucket is full again.
func TestNoAddressInRedis(t *testing.T) {
	rs := redistest.Start(t)
	s := open(t, rs.URL(), Options{})
	l := privateapi.Limit{Rate: 2, Burst: 10}
	if _, ok := s.Allow(t.Context(), "198.51.100.23", 10, l); !ok {
		t.Fatal("a full burst refused")
	}
	keys := rs.Command("KEYS *")
	if strings.Contains(keys, "198.51") || strings.Contains(keys, "100.23") {
		t.Errorf("Redis holds the address: %q", keys)
	}
	want := "rate:" + s.Key("198.51.100.23")
	if !strings.Contains(keys, want) || !strings.HasPrefix(want, "rate:"+KeyPrefix) || len(want) != len("rate:"+KeyPrefix)+32 {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if ttl := rs.Command("TTL " + want); ttl != ":5\r\n" {
		t.Errorf("TTL %q, want :5 (10 evaluations at 2/s)", ttl)
	}
	other := open(t, rs.URL(), Options{Secret: []byte("another deployment's secret....")})
	if other.Key("198.51.100.23") == s.Key("198.51.100.23") {
		t.Error("two secrets give the same key")
	}
}

// TestFallbackAndRecovery: with Redis killed, each replica limits
// locally at rate/replicas, counts it and logs it (without the client);
// once Redis is back, the limit is shared again.
func TestFallbackAndRecovery(t *testing.T) {
	rs := redistest.Start(t)
	var logs syncBuffer
	m := new(countingMetrics)
	opts := Options{Replicas: 2, Recheck: 20 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	a, b := open(t, rs.URL(), opts), open(t, rs.URL(), opts)
	a.SetMetrics(m)
	ctx := t.Context()
	l := privateapi.Limit{Rate: 1, Burst: 3, MaxClients: 100}
	const client = "203.0.113.9"
	if _, ok := a.Allow(ctx, client, 3, l); !ok {
		t.Fatal("a full burst refused")
	}
	if m.calls.Load() != 1 || m.errors.Load() != 0 {
		t.Errorf("metrics after one call: %d calls, %d errors", m.calls.Load(), m.errors.Load())
	}

	rs.Kill()
	// The local fallback starts full, at half the rate (2 replicas).
	start := time.Now()
	if _, ok := a.Allow(ctx, client, 3, l); !ok {
		t.Fatal("the fallback refused a full burst")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the failed call took %v", d)
	}
	wait, ok := a.Allow(ctx, client, 1, l)
	if ok || retryAfter(wait) != 2 {
		t.Errorf("fallback: ok %v, wait %v; want refused with Retry-After 2 (rate 1/2 replicas)", ok, wait)
	}
	if m.errors.Load() != 1 || m.fallbacks.Load() != 2 {
		t.Errorf("after the kill: %d errors, %d fallbacks; want 1 and 2 (one call tried, then left alone)", m.errors.Load(), m.fallbacks.Load())
	}
	out := logs.String()
	if !strings.Contains(out, "rate store failed") || !strings.Contains(out, "replicas=2") {
		t.Errorf("no failure logged: %q", out)
	}
	if strings.Contains(out, "203.0.113") {
		t.Errorf("the log holds the client's address: %q", out)
	}
	if strings.Count(out, "rate store failed") != 1 {
		t.Errorf("more than one line logged within 10 s: %q", out)
	}

	rs.Restart() // empty: the client has a full bucket in Redis again
	time.Sleep(2 * opts.Recheck)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, ok := a.Allow(ctx, client, 2, l)
		if ok && !a.down.Load() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the store did not come back within 5 s")
		}
		time.Sleep(opts.Recheck)
	}
	// Shared again: replica b sees what a spent.
	if _, ok := b.Allow(ctx, client, 1, l); !ok {
		t.Fatal("the last evaluation of the burst refused")
	}
	if _, ok := b.Allow(ctx, client, 1, l); ok {
		t.Error("after the recovery, replica b does not see what a spent")
	}
	if !strings.Contains(logs.String(), "answers again") {
		t.Errorf("no recovery logged: %q", logs.String())
	}
}

func TestOpenRefuses(t *testing.T) {
	if _, err := Open("redis://127.0.0.1:1/0", Options{Secret: []byte("short")}); err == nil {
		t.Error("a short secret accepted")
	}
	if _, err := Open("http://127.0.0.1/", Options{Secret: testSecret}); err == nil {
		t.Error("an http URL accepted")
	}
}

// BenchmarkAllow: the limiter's cost per request, in memory and in a
// Redis on loopback (one client id per 1000 requests, never refused).
func BenchmarkAllow(b *testing.B) {
	rs := redistest.Start(b)
	l := privateapi.Limit{Rate: 1e9, Burst: 1 << 20, MaxClients: 100_000}
	for _, bc := range []struct {
		name string
		lim  privateapi.Limiter
	}{
		{"memory", privateapi.NewLimits()},
		{"redis", open(b, rs.URL(), Options{Timeout: time.Second})},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			ids := make([]string, 1000)
			for i := range ids {
				ids[i] = "192.0.2." + string(rune('0'+i%10)) + string(rune('0'+i/10%10)) + string(rune('0'+i/100))
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := bc.lim.Allow(ctx, ids[i%len(ids)], 1, l); !ok {
					b.Fatal("refused")
				}
				i++
			}
		})
		// Many requests at once, as a loaded server makes them: Redis
		// pipelines nothing, but the connection pool overlaps the trips.
		b.Run(bc.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(16)
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				id := "198.51.100." + strconv.Itoa(int(next.Add(1)))
				for pb.Next() {
					if _, ok := bc.lim.Allow(context.Background(), id, 1, l); !ok {
						b.Error("refused")
						return
					}
				}
			})
		})
	}
}

var _ privateapi.MeasuredLimiter = (*Store)(nil)
