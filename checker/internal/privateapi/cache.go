package privateapi

import (
	"container/list"
	"context"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
)

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
