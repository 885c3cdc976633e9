package checker

import (
	"errors"
	"log/slog"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/checker/internal/ratestore"
)

// RateStore keeps the private mode's per-client rate limits in Redis,
// shared by the replicas of a deployment: give it to each replica's
// [ServerOptions].Limiter. Redis holds no address, only keyed hashes of
// the client ids (the key derived from the OPRF key), each expiring once
// its bucket has refilled. While Redis fails or is slow, each replica
// limits on its own at the rate divided by [RateStoreOptions].Replicas,
// counts it in /metrics and logs it, and goes back to Redis once it
// answers.
type RateStore = ratestore.Store

// RateStoreOptions configure [OpenRateStore]: Replicas is the number of
// servers sharing the store (the fallback divides the rate by it; 0
// means 1), Timeout bounds each call to Redis (0 means 50 ms), Logger
// receives its failures (nil means slog.Default()).
type RateStoreOptions struct {
	Replicas int
	Timeout  time.Duration
	Logger   *slog.Logger
}

// OpenRateStore returns the rate store at url (redis://HOST:PORT/DB),
// hashing client ids under a secret derived from key: the replicas of a
// deployment serve the same key, so they hash alike. It does not wait
// for Redis.
func OpenRateStore(url string, key *OPRFKey, opts RateStoreOptions) (*RateStore, error) {
	if key == nil {
		return nil, errors.New("checker: a rate store needs the OPRF key its client ids are hashed under")
	}
	secret := oprfKey(key).SecretHash("ratelimit")
	return ratestore.Open(url, ratestore.Options{Secret: secret[:], Replicas: opts.Replicas, Timeout: opts.Timeout, Logger: opts.Logger})
}

// PrivateLimiter keeps the private mode's per-client limits: the field
// [ServerOptions].Limiter; a [RateStore] is one.
type PrivateLimiter = privateapi.Limiter
