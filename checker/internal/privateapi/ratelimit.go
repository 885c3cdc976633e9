package privateapi

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the per-client token buckets of the private mode, shared by
// the handlers a server swaps in, so that a reload forgives no one.
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
func (h *Handler) allow(id string, n int) (time.Duration, bool) {
	now := time.Now()
	l := h.lim
	l.mu.Lock()
	cl := l.limiters[id]
	if cl == nil {
		if len(l.limiters) >= h.opts.MaxClients {
			h.sweep(now)
		}
		cl = &clientLimiter{lim: rate.NewLimiter(rate.Limit(h.opts.Rate), h.opts.Burst)}
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
// nothing), then, if still full, arbitrary ones. h.lim.mu is held.
func (h *Handler) sweep(now time.Time) {
	full := time.Duration(float64(h.opts.Burst) / h.opts.Rate * float64(time.Second))
	m := h.lim.limiters
	for id, cl := range m {
		if now.Sub(cl.last) > full {
			delete(m, id)
		}
	}
	for id := range m {
		if len(m) < h.opts.MaxClients*9/10 {
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
