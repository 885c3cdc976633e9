package privateapi

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is the token bucket of one client: Rate evaluations per second,
// at most Burst at once. MaxClients bounds the buckets an in-memory
// limiter keeps (a shared store keeps each for as long as it takes to
// refill, and ignores it).
type Limit struct {
	Rate       float64
	Burst      int
	MaxClients int
}

// A Limiter decides whether the client id may spend n evaluations now
// under l; if not, it says how long to wait (at least a second; an hour
// when n is over the burst, which never passes). A refused request
// spends nothing. [Limits] keeps the buckets in this process's memory
// (one server); the ratestore package keeps them in Redis, shared by the
// replicas of a deployment. A Limiter is safe for concurrent use.
type Limiter interface {
	Allow(ctx context.Context, id string, n int, l Limit) (wait time.Duration, ok bool)
}

// LimiterMetrics receive what a limiter backed by a store does: each
// call to the store, its latency and error, and each decision taken by
// the local fallback because the store failed. The server implements
// them with its Prometheus metrics.
type LimiterMetrics interface {
	StoreCall(d time.Duration, err error)
	Fallback()
}

// MeasuredLimiter is a [Limiter] that reports to [LimiterMetrics]: a
// server hands it its metrics before serving.
type MeasuredLimiter interface {
	Limiter
	SetMetrics(LimiterMetrics)
}

// Limits are the per-client token buckets of the private mode kept in
// memory, shared by the handlers a server swaps in, so that a reload
// forgives no one. It is the default [Limiter].
type Limits struct {
	mu       sync.Mutex
	limiters map[string]*clientLimiter
}

// NewLimits returns an empty set of per-client limits.
func NewLimits() *Limits { return &Limits{limiters: map[string]*clientLimiter{}} }

type clientLimiter struct {
	lim  *rate.Limiter
	last time.Time
}

// bucketCost is how many bucket entries cost one rate-limit token: a
// 20-bit bucket of the 487M-number dump (~460 entries) is free, a 12-bit
// one (~119k entries, ~700 KB) costs 29 evaluations' worth.
const bucketCost = 4096

// allow takes n evaluations from the client's bucket, or says how long to
// wait before n are available.
func (h *Handler) allow(ctx context.Context, id string, n int) (time.Duration, bool) {
	return h.lim.Allow(ctx, id, n, Limit{Rate: h.opts.Rate, Burst: h.opts.Burst, MaxClients: h.opts.MaxClients})
}

// Allow takes n evaluations from the client's bucket, or says how long to
// wait before n are available.
func (l *Limits) Allow(_ context.Context, id string, n int, lim Limit) (time.Duration, bool) {
	now := time.Now()
	l.mu.Lock()
	cl := l.limiters[id]
	if cl == nil {
		if len(l.limiters) >= max(lim.MaxClients, 1) {
			l.sweep(now, lim)
		}
		cl = &clientLimiter{lim: rate.NewLimiter(rate.Limit(lim.Rate), lim.Burst)}
		l.limiters[id] = cl
	}
	cl.last = now
	res := cl.lim.ReserveN(now, n)
	l.mu.Unlock()
	if !res.OK() {
		return time.Hour, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return max(d, time.Second), false
	}
	return 0, true
}

// sweep forgets clients whose bucket has refilled (forgetting them changes
// nothing), then, if still full, arbitrary ones. l.mu is held.
func (l *Limits) sweep(now time.Time, lim Limit) {
	full := time.Duration(float64(lim.Burst) / lim.Rate * float64(time.Second))
	m := l.limiters
	for id, cl := range m {
		if now.Sub(cl.last) > full {
			delete(m, id)
		}
	}
	for id := range m {
		if len(m) < lim.MaxClients*9/10 {
			break
		}
		delete(m, id)
	}
}

// RemoteClientID is the default [Options].ClientID: the IPv4 address of
// the connection, or the /64 network of an IPv6 one.
func RemoteClientID(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	return addrID(a)
}
