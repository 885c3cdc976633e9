// Package ratestore keeps the private mode's per-client rate limits in
// Redis, so that the replicas of a deployment share one allowance per
// client instead of giving each client N times the limit, and a restart
// forgets no one. It is the only importer of go-redis and redis_rate.
//
// The limiter is GCRA (the generic cell rate algorithm, a token bucket
// kept as one timestamp per client), run atomically inside Redis by the
// Lua script of github.com/go-redis/redis_rate (EVALSHA, EVAL after a
// restart flushed the script cache). It charges the same as the
// in-memory limiter: Rate evaluations per second, bursts of Burst, n per
// request, Retry-After rounded up to whole seconds, and a refused
// request spends nothing (the script only writes when it allows).
//
// # What Redis holds
//
// No address: a client id (an IPv4 address, an IPv6 /64) is stored as
// the keyed hash HMAC-SHA-256(secret, id), truncated to 128 bits, under
// "rate:phonecheck:eval:"; the secret is derived from the deployment's
// OPRF key (oprf.Key.SecretHash("ratelimit")), which Redis never sees, so
// Redis's contents cannot be tested against guessed addresses. Each key
// expires when its bucket would be full again (at most Burst/Rate
// seconds after the client's last evaluation): nothing outlives the
// limit it enforces.
//
// # When Redis fails
//
// Each call has a deadline (Timeout, 50 ms by default; no retries). A
// failed or slow call is counted ([privateapi.LimiterMetrics]) and logged
// (at most one line every 10 s, with the error, never a client id), and
// the request is decided by a local in-memory limiter at Rate/Replicas
// with the same burst: N replicas falling back together still allow
// about the shared rate in total. For Recheck (1 s) after a failure the
// store is not tried, so a dead Redis costs no latency; then the next
// request tries it again, and the store is used again as soon as it
// answers. Buckets spent in the fallback are not carried into Redis.
package ratestore

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
)

// KeyPrefix namespaces the keys of this package; redis_rate adds "rate:"
// in front.
const KeyPrefix = "phonecheck:eval:"

// Defaults of [Options].
const (
	DefaultTimeout = 50 * time.Millisecond
	DefaultRecheck = time.Second
	logEvery       = 10 * time.Second
)

// Options configure a [Store].
type Options struct {
	// Secret keys the hash client ids are stored under: the same on every
	// replica (derive it from the OPRF key they share), at least 16 bytes.
	Secret []byte
	// Replicas is the number of servers sharing the store: while it
	// fails, each limits at Rate/Replicas. 0 means 1.
	Replicas int
	// Timeout bounds each call to Redis; 0 means DefaultTimeout.
	Timeout time.Duration
	// Recheck is how long the store is left alone after a failure; 0
	// means DefaultRecheck.
	Recheck time.Duration
	// Logger receives the store's failures and recoveries; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Store is a [privateapi.Limiter] over Redis, with a local fallback. It
// is safe for concurrent use.
type Store struct {
	rdb   *redis.Client
	lim   *redis_rate.Limiter
	local *privateapi.Limits
	opts  Options
	log   *slog.Logger
	hmacs sync.Pool

	metrics   atomic.Pointer[metricsBox]
	downUntil atomic.Int64 // UnixNano before which Redis is not tried
	down      atomic.Bool  // in fallback (for the recovery log line)
	lastLog   atomic.Int64 // UnixNano of the last failure logged
	failures  atomic.Int64 // failures since the last line logged
}

type metricsBox struct{ m privateapi.LimiterMetrics }

// Open returns a Store over the Redis of url (redis://[:password@]host:port/db,
// or rediss:// for TLS). It does not wait for Redis: a store that is
// down at start is the fallback until it answers.
func Open(url string, opts Options) (*Store, error) {
	if len(opts.Secret) < 16 {
		return nil, errors.New("ratestore: a secret of at least 16 bytes is needed to hash client ids")
	}
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratestore: %w", err)
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Recheck <= 0 {
		opts.Recheck = DefaultRecheck
	}
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout, ro.PoolTimeout = opts.Timeout, opts.Timeout, opts.Timeout, opts.Timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1 // a retry would spend another deadline: the fallback answers instead
	ro.DisableIdentity = true
	s := &Store{rdb: redis.NewClient(ro), local: privateapi.NewLimits(), opts: opts, log: opts.Logger}
	s.lim = redis_rate.NewLimiter(s.rdb)
	if s.log == nil {
		s.log = slog.Default()
	}
	secret := append([]byte(nil), opts.Secret...)
	s.hmacs.New = func() any { return hmac.New(sha256.New, secret) }
	return s, nil
}

// Close closes the connections to Redis.
func (s *Store) Close() error { return s.rdb.Close() }

// SetMetrics makes the store report to m (a server's metrics).
func (s *Store) SetMetrics(m privateapi.LimiterMetrics) { s.metrics.Store(&metricsBox{m}) }

// Ping checks that Redis answers, within the store's timeout.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	return s.rdb.Ping(ctx).Err()
}

// Key is the Redis key (after redis_rate's "rate:") of a client id.
func (s *Store) Key(id string) string {
	h := s.hmacs.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(id))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	s.hmacs.Put(h)
	return KeyPrefix + hex.EncodeToString(sum[:16])
}

// Allow implements [privateapi.Limiter]: in Redis, or in the local
// fallback while Redis fails.
func (s *Store) Allow(ctx context.Context, id string, n int, l privateapi.Limit) (time.Duration, bool) {
	if n > l.Burst {
		return time.Hour, false // as the in-memory limiter: never passes
	}
	if time.Now().UnixNano() < s.downUntil.Load() {
		return s.fallback(ctx, id, n, l)
	}
	interval := time.Duration(float64(time.Second) / l.Rate)
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	start := time.Now()
	res, err := s.lim.AllowN(cctx, s.Key(id), redis_rate.Limit{Rate: 1, Period: interval, Burst: l.Burst}, n)
	d := time.Since(start)
	cancel()
	if ctx.Err() != nil {
		// The request is gone (its client hung up): no fault of Redis,
		// and no one reads the answer.
		return time.Second, false
	}
	if m := s.metrics.Load(); m != nil {
		m.m.StoreCall(d, err)
	}
	if err != nil {
		s.failed(err)
		return s.fallback(ctx, id, n, l)
	}
	if s.down.Swap(false) {
		s.log.Info("rate store answers again: limits are shared again", "failures", s.failures.Swap(0))
	}
	if res.Allowed > 0 {
		return 0, true
	}
	return max(res.RetryAfter, time.Second), false
}

// fallback decides locally, at Rate/Replicas.
func (s *Store) fallback(ctx context.Context, id string, n int, l privateapi.Limit) (time.Duration, bool) {
	if m := s.metrics.Load(); m != nil {
		m.m.Fallback()
	}
	l.Rate /= float64(s.opts.Replicas)
	return s.local.Allow(ctx, id, n, l)
}

// failed leaves Redis alone for Recheck, and logs at most one line every
// logEvery: the error (the store's address, a timeout), never a client.
func (s *Store) failed(err error) {
	now := time.Now()
	s.downUntil.Store(now.Add(s.opts.Recheck).UnixNano())
	s.down.Store(true)
	n := s.failures.Add(1)
	last := s.lastLog.Load()
	if now.UnixNano()-last < int64(logEvery) || !s.lastLog.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.log.Error("rate store failed: limiting locally, each replica at rate/replicas",
		"err", err, "replicas", s.opts.Replicas, "failures", n)
}
