package privateapi

// Batch checks against a private server: an operator's subscriber file
// checked against a remote private index without the numbers leaving the
// operator. The rows, their format and the summary are those of a local
// batch; only the lookup differs.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/batch"
	"github.com/phonecheck/phonecheck/checker/internal/ingest"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
)

// DefaultBucketCacheBytes bounds the buckets a private batch keeps when
// [Client].CacheBytes is 0. At 20-bit buckets it holds every
// bucket of a 10M-number index padded (~40 entries, ~500 bytes each) and
// about 80,000 of the 487M-number dump (~600 entries each).
const DefaultBucketCacheBytes = 512 << 20

// batchInFlight is how many requests a private batch keeps in
// flight when [Client].Workers is 0.
const batchInFlight = 4

// BatchSent says what left the device in a batch against a private
// server: the prefixes of the buckets fetched (bucket-only requests, no
// element) and the blinded elements evaluated (evaluation-only requests,
// no prefix). The server learns the set of prefixes and the number of
// elements, nothing else.
type BatchSent struct {
	Server    string `json:"server"`
	Evaluator string `json:"evaluator"` // where evaluations went
	Mode      string `json:"mode"`      // ModePrivate
	KeyID     string `json:"key_id"`    // every answer was verified against this key
	KeyPinned bool   `json:"key_pinned"`
	// PrefixBits is B, the length of each prefix sent.
	PrefixBits int `json:"prefix_bits"`
	// Prefixes counts the distinct prefixes sent; BucketRequests the
	// bucket requests, more than Prefixes when the bucket cache was too
	// small for the run and a bucket was fetched again (the server then
	// sees that prefix again).
	Prefixes       int64 `json:"prefixes"`
	BucketRequests int64 `json:"bucket_requests"`
	// BlindedElements counts the blinded elements sent, one per distinct
	// valid number of each chunk of rows, in EvalRequests requests of at
	// most the server's max_elements.
	BlindedElements int64 `json:"blinded_elements"`
	EvalRequests    int64 `json:"evaluation_requests"`
	// RateLimited counts the 429 answers waited out, RateLimitSeconds the
	// time spent waiting.
	RateLimited      int64   `json:"rate_limited"`
	RateLimitSeconds float64 `json:"rate_limit_seconds"`
	Bytes            int64   `json:"bytes"` // request and response bodies
}

// Batcher looks a batch's keys up against a private server: it is the
// lookup function of the batch engine, and counts what it sent.
type Batcher struct {
	c           *Client
	cfg         *Config
	pub         *oprf.PublicKey
	p           int
	bs          int
	sets        [][]int       // cfg.Sets, none nil
	slots       chan struct{} // requests in flight
	cache       *bucketCache
	rateLimited func(wait time.Duration, message string)

	elements, evalReqs, limited, limitNanos, bytes atomic.Int64
}

// NewBatcher fetches the server's key and parameters (a server without
// private mode, or another key than the pinned one, fails here, before
// anything about a number is sent) and returns a Batcher for a batch
// against it. rateLimited, if set, is called each time the batch waits
// out a 429 (from several goroutines).
//
// Each chunk of rows is looked up thus: its distinct keys are blinded and
// evaluated in evaluation-only requests of up to max_elements (BatchSize)
// elements, and the bucket of each prefix not already held is fetched
// with a bucket-only request (or from a static export), each distinct
// bucket once while the cache (CacheBytes) holds it; up to Workers
// requests are in flight. A 429 is waited out (all requests pause for its
// Retry-After, up to MaxWait, MaxRetries times per request).
func (c *Client) NewBatcher(ctx context.Context, rateLimited func(wait time.Duration, message string)) (*Batcher, error) {
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
	inFlight := c.Workers
	if inFlight <= 0 {
		inFlight = batchInFlight
	}
	cacheBytes := c.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = DefaultBucketCacheBytes
	}
	pb := &Batcher{c: c, cfg: cfg, pub: pub, p: p, bs: bs, slots: make(chan struct{}, inFlight),
		cache: newBucketCache(cacheBytes, p), rateLimited: rateLimited}
	for _, s := range cfg.Sets {
		pb.sets = append(pb.sets, append([]int{}, s...))
	}
	return pb, nil
}

// Batch returns the batch engine over in with pb as its lookup.
func (pb *Batcher) Batch(in *ingest.Input, opts batch.Options) (*batch.Batch, error) {
	if opts.Workers <= 0 {
		// Chunks in flight: enough that one normalizes while others
		// wait on the network.
		opts.Workers = cap(pb.slots)
	}
	ds := make([]batch.Dataset, len(pb.cfg.Datasets))
	for i, d := range pb.cfg.Datasets {
		ds[i] = batch.Dataset{Name: d.Name, Date: d.Date}
	}
	return batch.New(in, opts, ds, pb.lookup)
}

// Sent says what the batch sent so far.
func (pb *Batcher) Sent() *BatchSent {
	prefixes, requests := pb.cache.counts()
	return &BatchSent{
		Server: pb.c.BaseURL, Evaluator: pb.c.evalURL(pb.cfg), Mode: ModePrivate,
		KeyID: pb.pub.ID(), KeyPinned: pb.c.PublicKey != nil || pb.c.KeyID != "",
		PrefixBits: pb.p, Prefixes: prefixes, BucketRequests: requests,
		BlindedElements: pb.elements.Load(), EvalRequests: pb.evalReqs.Load(),
		RateLimited: pb.limited.Load(), RateLimitSeconds: time.Duration(pb.limitNanos.Load()).Seconds(),
		Bytes: pb.bytes.Load(),
	}
}

func (pb *Batcher) onLimit(wait time.Duration, msg string) {
	pb.limited.Add(1)
	pb.limitNanos.Add(int64(wait))
	if pb.rateLimited != nil {
		pb.rateLimited(wait, msg)
	}
}

// lookup is the batch engine's lookup of one chunk: evaluations of its distinct
// keys and the buckets of their prefixes, concurrently, then the match.
func (pb *Batcher) lookup(ctx context.Context, keys []uint64, sets [][]int) error {
	idx := make(map[uint64]int, len(keys))
	var uniq []uint64
	pidx := map[uint64]int{} // prefix -> index in buckets
	var plist []uint64
	shift := uint(64 - pb.p)
	for _, k := range keys {
		if _, ok := idx[k]; !ok {
			idx[k] = len(uniq)
			uniq = append(uniq, k)
			if _, ok := pidx[k>>shift]; !ok {
				pidx[k>>shift] = len(plist)
				plist = append(plist, k>>shift)
			}
		}
	}
	outs := make([]uint64, len(uniq))
	buckets := make([]*wire.Bucket, len(plist))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		if first == nil {
			first = err
		}
		mu.Unlock()
		cancel()
	}
	// run runs f on a slot, or not at all once the lookup failed.
	run := func(f func() error) {
		select {
		case pb.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-pb.slots }()
			if err := f(); err != nil {
				fail(err)
			}
		}()
	}
	for lo := 0; lo < len(uniq); lo += pb.bs {
		chunk := uniq[lo:min(lo+pb.bs, len(uniq))]
		run(func() error {
			o, n, err := pb.c.evaluateKeys(ctx, pb.cfg, pb.pub, chunk, pb.onLimit)
			if err != nil {
				return err
			}
			pb.elements.Add(int64(len(chunk)))
			pb.evalReqs.Add(1)
			pb.bytes.Add(int64(n))
			copy(outs[lo:], o)
			return nil
		})
	}
	for i, prefix := range plist {
		if bk := pb.cache.peek(prefix); bk != nil {
			buckets[i] = bk
			continue
		}
		run(func() error {
			bk, err := pb.cache.get(ctx, prefix, func(ctx context.Context) (*wire.Bucket, error) {
				bk, n, err := pb.c.fetchBucket(ctx, pb.cfg, pb.pub, prefix, pb.p, pb.onLimit)
				pb.bytes.Add(int64(n))
				return bk, err
			})
			if err != nil {
				return err
			}
			buckets[i] = bk
			return nil
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// Match on the device: the number's own private key among the
	// bucket's entries (ascending).
	mask := ^uint64(0) >> pb.p
	for i, k := range keys {
		bk := buckets[pidx[k>>shift]]
		want := wire.PrivateKey(k, outs[idx[k]], pb.cfg.BucketBits) & mask
		j, found := slices.BinarySearch(bk.Entries, want)
		if !found {
			sets[i] = nil
			continue
		}
		var id int
		if bk.Sets != nil {
			id = int(bk.Sets[j])
		}
		if id >= len(pb.sets) {
			return fmt.Errorf("%w: set id %d of %d sets", wire.ErrWire, id, len(pb.sets))
		}
		sets[i] = pb.sets[id]
	}
	return nil
}
