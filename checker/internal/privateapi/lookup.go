package privateapi

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/pipeline"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// Check normalizes raw (see [phone.Normalize]) and looks it up.
func (c *Client) Check(ctx context.Context, raw, defaultRegion string) (Result, error) {
	n, err := phone.Normalize(raw, defaultRegion)
	if err != nil {
		return Result{}, err
	}
	return c.Lookup(ctx, n)
}

func (c *Client) prefixBits(cfg *Config) (int, error) {
	p := c.PrefixBits
	if cfg.StaticOnly() {
		// A static export answers no bucket query: only its lengths.
		if p == 0 {
			p = slices.Max(cfg.StaticBucketBits)
		}
		if !cfg.Static(p) {
			return 0, fmt.Errorf("checker: prefix of %d bits: the export holds buckets of %v bits", p, cfg.StaticBucketBits)
		}
		return p, nil
	}
	if p == 0 {
		p = cfg.BucketBits
	}
	if p < 1 || p > cfg.BucketBits {
		return 0, fmt.Errorf("checker: prefix of %d bits: the server takes 1..%d", p, cfg.BucketBits)
	}
	return p, nil
}

// Lookup checks a normalized number in one round trip: the bucket prefix
// and one blinded element go out; the evaluation, its proof and the bucket
// come back. The prefix length is PrefixBits, or the one MinAnonymity
// chooses; the result's Choice says what it gives.
func (c *Client) Lookup(ctx context.Context, n phone.Number) (Result, error) {
	cfg, pub, err := c.Config(ctx)
	if err != nil {
		return Result{}, err
	}
	ch, err := c.choose(ctx, cfg, n)
	if err != nil {
		return Result{Number: n, PrefixBits: ch.Bits, Choice: ch}, err
	}
	r, err := c.lookup(ctx, cfg, pub, n, ch.Bits)
	r.Choice = ch
	return r, err
}

// lookup checks n with a prefix of p bits.
func (c *Client) lookup(ctx context.Context, cfg *Config, pub *oprf.PublicKey, n phone.Number, p int) (Result, error) {
	key := keyscheme.Key(n.E164)
	prefix := key >> (64 - p)
	if cfg.Split() {
		// Two requests: the bucket (from the export, or the server), and
		// an evaluation-only request, which tells the evaluator nothing
		// but a blinded element, not even the prefix.
		bk, _, err := c.fetchBucket(ctx, cfg, pub, prefix, p, nil)
		if err != nil {
			return Result{}, err
		}
		outs, _, err := c.evaluateKeys(ctx, cfg, pub, []uint64{key}, nil)
		if err != nil {
			return Result{}, err
		}
		return c.Match(cfg, pub, n, key, outs[0], bk)
	}
	q, err := wire.NewQuery(pub, p, prefix, []uint64{key})
	if err != nil {
		return Result{}, err
	}
	if cfg.DecodeHints {
		q.AddDecodeHints()
	}
	resp, _, err := c.query(ctx, &q.Request)
	if err != nil {
		return Result{}, err
	}
	outs, err := q.Outputs(resp)
	if err != nil {
		return Result{}, err
	}
	return c.Match(cfg, pub, n, key, outs[0], resp.Bucket)
}

// Match compares the number's private key with a bucket answer.
func (c *Client) Match(cfg *Config, pub *oprf.PublicKey, n phone.Number, key, out uint64, bk *wire.Bucket) (Result, error) {
	p := bk.Bits
	r := Result{Number: n, Mode: ModePrivate, Prefix: key >> (64 - p), PrefixBits: p,
		KeyID: pub.ID(), Entries: len(bk.Entries), Padded: bk.Padded}
	exposed, set, err := wire.Match(bk, key, out, cfg.BucketBits, cfg.Sets)
	r.Exposed = exposed
	if err != nil {
		return r, err
	}
	r.Datasets = cfg.DatasetsOf(set)
	return r, nil
}

// LookupBatch checks many numbers, as an operator checks its subscribers:
// their blinded elements go in batches of BatchSize (evaluation-only
// requests, no prefix), and the bucket of each distinct prefix is fetched
// once (bucket-only requests, no element). The server learns the set of
// prefixes and the number of elements, nothing else. Results are in the
// order of ns.
func (c *Client) LookupBatch(ctx context.Context, ns []phone.Number) ([]Result, error) {
	cfg, pub, err := c.Config(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.prefixBits(cfg)
	if err != nil {
		return nil, err
	}
	bs := c.BatchSize
	if bs <= 0 || bs > cfg.MaxElements {
		bs = cfg.MaxElements
	}
	keys := make([]uint64, len(ns))
	distinct := map[uint64]int{} // key -> index in uniq
	var uniq []uint64
	buckets := map[uint64]*wire.Bucket{}
	for i, n := range ns {
		keys[i] = keyscheme.Key(n.E164)
		if _, ok := distinct[keys[i]]; !ok {
			distinct[keys[i]] = len(uniq)
			uniq = append(uniq, keys[i])
		}
		buckets[keys[i]>>(64-p)] = nil
	}
	outs := make([]uint64, len(uniq))

	type job func(context.Context) error
	var jobs []job
	for lo := 0; lo < len(uniq); lo += bs {
		chunk := uniq[lo:min(lo+bs, len(uniq))]
		jobs = append(jobs, func(ctx context.Context) error {
			o, _, err := c.evaluateKeys(ctx, cfg, pub, chunk, nil)
			if err != nil {
				return err
			}
			copy(outs[lo:], o)
			return nil
		})
	}
	var bmu sync.Mutex
	for prefix := range buckets {
		jobs = append(jobs, func(ctx context.Context) error {
			bk, _, err := c.fetchBucket(ctx, cfg, pub, prefix, p, nil)
			if err != nil {
				return err
			}
			bmu.Lock()
			buckets[prefix] = bk
			bmu.Unlock()
			return nil
		})
	}
	if err := runJobs(ctx, jobs, c.Workers); err != nil {
		return nil, err
	}
	res := make([]Result, len(ns))
	for i, n := range ns {
		res[i], err = c.Match(cfg, pub, n, keys[i], outs[distinct[keys[i]]], buckets[keys[i]>>(64-p)])
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// runJobs runs jobs on workers goroutines (0 means 4: they wait on the
// network, not the CPU) and returns the first error, cancelling the
// context the others run under.
func runJobs[J ~func(context.Context) error](ctx context.Context, jobs []J, workers int) error {
	if workers <= 0 {
		workers = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		once  sync.Once
		first error
	)
	err := pipeline.For(ctx, len(jobs), 1, workers, func() func(lo, hi int) error {
		return func(lo, _ int) error {
			err := jobs[lo](ctx)
			if err != nil {
				once.Do(func() { first = err; cancel() })
			}
			return err
		}
	})
	if first != nil {
		return first
	}
	return err
}
