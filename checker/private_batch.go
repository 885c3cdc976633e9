package checker

// Batch checks against a private server: an operator's subscriber file
// checked against a remote private index without the numbers leaving the
// operator. The rows, their format and the summary are those of a local
// [Batch]; only the lookup differs.

import (
	"container/list"
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/batch"
	"github.com/phonecheck/phonecheck/checker/internal/ingest"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
)

// DefaultBucketCacheBytes bounds the buckets a private batch keeps when
// [PrivateClient].CacheBytes is 0. At 20-bit buckets it holds every
// bucket of a 10M-number index padded (~40 entries, ~500 bytes each) and
// about 80,000 of the 487M-number dump (~600 entries each).
const DefaultBucketCacheBytes = 512 << 20

// privateBatchInFlight is how many requests a private batch keeps in
// flight when [PrivateClient].Workers is 0.
const privateBatchInFlight = 4

// PrivateBatchSent says what left the device in a batch against a private
// server: the prefixes of the buckets fetched (bucket-only requests, no
// element) and the blinded elements evaluated (evaluation-only requests,
// no prefix). The server learns the set of prefixes and the number of
// elements, nothing else.
type PrivateBatchSent struct {
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

// PrivateBatchOptions add to [BatchOptions] what a batch against a
// private server needs.
type PrivateBatchOptions struct {
	BatchOptions
	// RateLimited, if set, is called each time the batch waits out a 429
	// (from several goroutines): the server limits the evaluations of
	// this client.
	RateLimited func(wait time.Duration, message string)
}

// OpenBatch opens the input file at path ("-" is standard input) for a
// batch check against the private server. It fetches the server's key
// and parameters first: a server without private mode, or another key
// than the pinned one, fails here, before anything about a number is
// sent and before any output.
//
// Each chunk of rows is normalized and hashed here; its distinct keys are
// blinded and evaluated in evaluation-only requests of up to max_elements
// (BatchSize) elements, and the bucket of each prefix not already held is
// fetched with a bucket-only request (or from a static export), each
// distinct bucket once while the cache (CacheBytes) holds it; up to
// Workers requests are in flight. A 429 is waited out (all requests
// pause for its Retry-After, up to MaxWait, MaxRetries times per request).
func (c *PrivateClient) OpenBatch(ctx context.Context, path string, opts PrivateBatchOptions) (*Batch, error) {
	pb, err := c.newPrivateBatcher(ctx, opts)
	if err != nil {
		return nil, err
	}
	in, err := ingest.OpenInput(path, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return pb.batch(in, opts.BatchOptions)
}

// NewBatch is [PrivateClient.OpenBatch] on a reader; name is used in
// messages.
func (c *PrivateClient) NewBatch(ctx context.Context, r io.Reader, name string, opts PrivateBatchOptions) (*Batch, error) {
	pb, err := c.newPrivateBatcher(ctx, opts)
	if err != nil {
		return nil, err
	}
	in, err := ingest.NewInput(r, name, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return pb.batch(in, opts.BatchOptions)
}

// privateBatcher looks a batch's keys up against a private server.
type privateBatcher struct {
	c     *PrivateClient
	cfg   *PrivateConfig
	pub   *OPRFPublicKey
	p     int
	bs    int
	sets  [][]int       // cfg.Sets, none nil
	slots chan struct{} // requests in flight
	cache *bucketCache
	opts  PrivateBatchOptions

	elements, evalReqs, limited, limitNanos, bytes atomic.Int64
}

func (c *PrivateClient) newPrivateBatcher(ctx context.Context, opts PrivateBatchOptions) (*privateBatcher, error) {
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
		inFlight = privateBatchInFlight
	}
	cacheBytes := c.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = DefaultBucketCacheBytes
	}
	pb := &privateBatcher{c: c, cfg: cfg, pub: pub, p: p, bs: bs, slots: make(chan struct{}, inFlight),
		cache: newBucketCache(cacheBytes, p), opts: opts}
	for _, s := range cfg.Sets {
		pb.sets = append(pb.sets, append([]int{}, s...))
	}
	return pb, nil
}

// batch returns the batch engine over in with pb as its lookup; the
// summary says what was sent.
func (pb *privateBatcher) batch(in *ingest.Input, opts BatchOptions) (*Batch, error) {
	if opts.Workers <= 0 {
		// Chunks in flight: enough that one normalizes while others
		// wait on the network.
		opts.Workers = cap(pb.slots)
	}
	b, err := batch.New(in, opts.engineOptions(), batchDatasets(pb.cfg.Datasets), pb.lookup)
	if err != nil {
		return nil, err
	}
	return &Batch{b: b, sent: pb.sent}, nil
}

// sent says what the batch sent so far.
func (pb *privateBatcher) sent() *PrivateBatchSent {
	prefixes, requests := pb.cache.counts()
	return &PrivateBatchSent{
		Server: pb.c.BaseURL, Evaluator: pb.c.evalURL(pb.cfg), Mode: ModePrivate,
		KeyID: pb.pub.ID(), KeyPinned: pb.c.PublicKey != nil || pb.c.KeyID != "",
		PrefixBits: pb.p, Prefixes: prefixes, BucketRequests: requests,
		BlindedElements: pb.elements.Load(), EvalRequests: pb.evalReqs.Load(),
		RateLimited: pb.limited.Load(), RateLimitSeconds: time.Duration(pb.limitNanos.Load()).Seconds(),
		Bytes: pb.bytes.Load(),
	}
}

func (pb *privateBatcher) onLimit(wait time.Duration, msg string) {
	pb.limited.Add(1)
	pb.limitNanos.Add(int64(wait))
	if pb.opts.RateLimited != nil {
		pb.opts.RateLimited(wait, msg)
	}
}

// lookup is the batch engine's lookup of one chunk: evaluations of its distinct
// keys and the buckets of their prefixes, concurrently, then the match.
func (pb *privateBatcher) lookup(ctx context.Context, keys []uint64, sets [][]int) error {
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
			return fmt.Errorf("%w: set id %d of %d sets", ErrWire, id, len(pb.sets))
		}
		sets[i] = pb.sets[id]
	}
	return nil
}

// # Bucket cache

// bucketCache keeps the buckets a batch fetched, least recently used
// first out past maxBytes, and fetches each missing one once however
// many chunks ask for it at the same time.
type bucketCache struct {
	mu       sync.Mutex
	maxBytes int64
	bytes    int64
	m        map[uint64]*cacheEntry
	lru      list.List // of *cacheEntry, most recent first
	seen     prefixSet // prefixes ever fetched
	prefixes int64     // distinct prefixes fetched
	requests int64     // bucket fetches
}

type cacheEntry struct {
	prefix uint64
	b      *wire.Bucket
	err    error
	ready  chan struct{}
	elem   *list.Element // nil while fetching
	size   int64
}

func newBucketCache(maxBytes int64, bits int) *bucketCache {
	return &bucketCache{maxBytes: maxBytes, m: map[uint64]*cacheEntry{}, seen: newPrefixSet(bits)}
}

// peek returns the bucket of prefix if the cache holds it.
func (bc *bucketCache) peek(prefix uint64) *wire.Bucket {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if e := bc.m[prefix]; e != nil && e.elem != nil {
		bc.lru.MoveToFront(e.elem)
		return e.b
	}
	return nil
}

// get returns the bucket of prefix, from the cache, from a fetch under
// way, or from fetch.
func (bc *bucketCache) get(ctx context.Context, prefix uint64, fetch func(context.Context) (*wire.Bucket, error)) (*wire.Bucket, error) {
	bc.mu.Lock()
	if e := bc.m[prefix]; e != nil {
		if e.elem != nil {
			bc.lru.MoveToFront(e.elem)
		}
		bc.mu.Unlock()
		select {
		case <-e.ready:
			return e.b, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e := &cacheEntry{prefix: prefix, ready: make(chan struct{})}
	bc.m[prefix] = e
	bc.requests++
	if bc.seen.add(prefix) {
		bc.prefixes++
	}
	bc.mu.Unlock()

	b, err := fetch(ctx)

	bc.mu.Lock()
	defer bc.mu.Unlock()
	e.b, e.err = b, err
	close(e.ready)
	if err != nil {
		delete(bc.m, prefix)
		return nil, err
	}
	e.size = int64(8*len(b.Entries)+2*len(b.Sets)) + 128
	e.elem = bc.lru.PushFront(e)
	bc.bytes += e.size
	for bc.bytes > bc.maxBytes && bc.lru.Len() > 1 {
		old := bc.lru.Remove(bc.lru.Back()).(*cacheEntry)
		delete(bc.m, old.prefix)
		bc.bytes -= old.size
	}
	return b, nil
}

func (bc *bucketCache) counts() (prefixes, requests int64) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	return bc.prefixes, bc.requests
}

// prefixSet is a set of prefixes: a bitmap up to 26 bits (8 MiB), a map
// beyond.
type prefixSet struct {
	bits []uint64
	m    map[uint64]struct{}
}

func newPrefixSet(bits int) prefixSet {
	if bits <= 26 {
		return prefixSet{bits: make([]uint64, (1<<bits+63)/64)}
	}
	return prefixSet{m: map[uint64]struct{}{}}
}

// add adds p and reports whether it was new.
func (s *prefixSet) add(p uint64) bool {
	if s.m != nil {
		if _, ok := s.m[p]; ok {
			return false
		}
		s.m[p] = struct{}{}
		return true
	}
	w, b := p/64, uint64(1)<<(p%64)
	if s.bits[w]&b != 0 {
		return false
	}
	s.bits[w] |= b
	return true
}
