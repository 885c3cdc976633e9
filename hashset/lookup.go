package hashset

import (
	"math/bits"
	"sync"
	"unsafe"
)

// bufPool holds scratch buffers for lookups through io.ReaderAt.
var bufPool = sync.Pool{New: func() any { p := make([]byte, 4096); return &p }}

// Contains reports whether key is in the index and, if so, the datasets it
// came from, as indexes into Meta().Datasets. The slice is shared and must
// not be modified. On a memory-mapped or preloaded file Contains does not
// allocate. To look up many keys at once, [Reader.ContainsBatch] is faster.
func (r *Reader) Contains(key uint64) (datasets []int, ok bool) {
	var pos uint64
	m := r.mem.Load()
	if m != nil {
		pos, ok = r.findMem(m, key)
	} else {
		pos, ok = r.findRA(key)
	}
	if !ok {
		return nil, false
	}
	if m != nil {
		return r.setMem(m, pos)
	}
	return r.setAt(pos)
}

// findMem finds key in memory: one directory read, then a search of the
// key's bucket.
func (r *Reader) findMem(m *lookupMem, key uint64) (uint64, bool) {
	lo, hi, ok := r.bucket(m, key)
	if !ok {
		return 0, false
	}
	w := uint64(r.w)
	i, ok := searchBucket(m.keys[lo*w:hi*w], r.w, int(hi-lo), key&r.mask, r.b)
	return lo + uint64(i), ok
}

// bucket returns the positions [lo, hi) of key's bucket, or false if it is
// empty or the directory is corrupt.
func (r *Reader) bucket(m *lookupMem, key uint64) (lo, hi uint64, ok bool) {
	d := m.dir[(key>>r.sh)*4:] // key>>sh < 1<<b: the DIR has (1<<b)+1 entries
	lo, hi = uint64(le.Uint32(d)), uint64(le.Uint32(d[4:]))
	return lo, hi, lo < hi && hi <= r.n
}

// setMem is setAt in memory.
func (r *Reader) setMem(m *lookupMem, pos uint64) ([]int, bool) {
	if r.idw == 0 {
		if len(r.sets) == 0 {
			return nil, false
		}
		return r.sets[0], true
	}
	off := pos * uint64(r.idw)
	if off+uint64(r.idw) > uint64(len(m.ids)) {
		return nil, false
	}
	id := getUint(m.ids[off:], r.idw)
	if id >= uint64(len(r.sets)) {
		return nil, false
	}
	return r.sets[id], true
}

// batchGroup is how many keys ContainsBatch takes through each pass: enough
// cache misses in flight to keep the memory system busy, few enough that
// the lines they bring in are still in L1 for the next pass. (16 to 64
// measured alike; prefetching a whole group further ahead measured no
// faster.)
const batchGroup = 32

// prefetchSpan is how many entries on each side of its interpolated guess
// ContainsBatch prefetches for a search. In a bucket of c uniform keys the
// guess is off by about sqrt(c/6) entries (5 at c = 150, the mean bucket at
// 10M keys), so +-8 holds nearly every search; 17 entries of 5 or 6 bytes
// span the guess's cache line and at most one line on either side.
const prefetchSpan = 8

// ContainsBatch looks up every key of keys, as [Reader.Contains] would, and
// sets datasets[i] to the datasets of keys[i], or to nil if keys[i] is
// absent. It returns how many keys were found. It panics if datasets is
// shorter than keys.
//
// On an index larger than the CPU caches it is several times faster than
// Contains in a loop: for a group of keys it prefetches their directory
// entries, then the bucket entries their searches will read first, then
// searches (prefetching the provenance ids of the keys found), so that the
// cache misses of a group overlap instead of following one another. Its
// results are those of Contains, even on a corrupt file (the searches are
// the same).
func (r *Reader) ContainsBatch(keys []uint64, datasets [][]int) int {
	datasets = datasets[:len(keys)]
	m := r.mem.Load()
	found := 0
	if m == nil {
		for i, k := range keys {
			s, ok := r.Contains(k)
			datasets[i] = s
			if ok {
				found++
			}
		}
		return found
	}
	var (
		lo, cnt [batchGroup]uint64
		pos     [batchGroup]uint64
		ok      [batchGroup]bool
	)
	w := uint64(r.w)
	for len(keys) > 0 {
		g := min(len(keys), batchGroup)
		ks, out := keys[:g], datasets[:g]
		keys, datasets = keys[g:], datasets[g:]
		// Pass 1: prefetch the directory entries.
		for _, k := range ks {
			prefetch(uintptr(unsafe.Pointer(&m.dir[(k>>r.sh)*4])))
		}
		// Pass 2: read them; prefetch the entries around each key's
		// interpolated guess, where its search starts.
		for i, k := range ks {
			l, h, in := r.bucket(m, k)
			if !in {
				lo[i], cnt[i] = 0, 0
				continue
			}
			lo[i], cnt[i] = l, h-l
			c := int(h - l)
			g := bucketGuess(k&r.mask, c, r.b)
			bk := m.keys[l*w : h*w]
			prefetch(uintptr(unsafe.Pointer(&bk[max(g-prefetchSpan, 0)*r.w])))
			prefetch(uintptr(unsafe.Pointer(&bk[g*r.w])))
			prefetch(uintptr(unsafe.Pointer(&bk[min(g+prefetchSpan, c-1)*r.w+r.w-1])))
		}
		// Pass 3: search; prefetch the provenance ids of the keys found.
		for i, k := range ks {
			pos[i], ok[i] = 0, false
			if cnt[i] == 0 {
				continue
			}
			l := lo[i]
			j, f := searchBucket(m.keys[l*w:(l+cnt[i])*w], r.w, int(cnt[i]), k&r.mask, r.b)
			pos[i], ok[i] = l+uint64(j), f
			if f && r.idw > 0 {
				if o := pos[i] * uint64(r.idw); o < uint64(len(m.ids)) {
					prefetch(uintptr(unsafe.Pointer(&m.ids[o])))
				}
			}
		}
		// Pass 4: the provenance.
		for i := range ks {
			out[i] = nil
			if ok[i] {
				if s, in := r.setMem(m, pos[i]); in {
					out[i] = s
					found++
				}
			}
		}
	}
	return found
}

// findRA finds key through io.ReaderAt: one read of two directory entries,
// then one read of the bucket (narrowed first by single-entry reads if the
// bucket is larger than a scratch buffer).
func (r *Reader) findRA(key uint64) (uint64, bool) {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	bk := key >> r.sh
	if r.readAt(buf[:8], r.dirOff+int64(bk)*4) != nil {
		return 0, false
	}
	lo, hi := uint64(le.Uint32(buf)), uint64(le.Uint32(buf[4:]))
	if lo >= hi || hi > r.n {
		return 0, false
	}
	target, w := key&r.mask, uint64(r.w)
	// Lower bound is in [a, z]; narrow until entries a..z fit in buf.
	a, z := lo, hi
	for (z-a+1)*w > uint64(len(buf)) {
		mid := a + (z-a)/2
		if r.readAt(buf[:w], r.keysOff+int64(mid*w)) != nil {
			return 0, false
		}
		if getUint(buf, r.w) < target {
			a = mid + 1
		} else {
			z = mid
		}
	}
	z = min(z+1, hi)
	win := buf[:(z-a)*w]
	if r.readAt(win, r.keysOff+int64(a*w)) != nil {
		return 0, false
	}
	i, ok := searchBucket(win, r.w, int(z-a), target, r.b)
	return a + uint64(i), ok
}

// setAt returns the provenance of the key at position pos, through
// ReadAt.
func (r *Reader) setAt(pos uint64) ([]int, bool) {
	if r.idw == 0 {
		if len(r.sets) == 0 {
			return nil, false
		}
		return r.sets[0], true
	}
	bp := bufPool.Get().(*[]byte)
	err := r.readAt((*bp)[:r.idw], r.idsOff+int64(pos)*int64(r.idw))
	id := getUint(*bp, r.idw)
	bufPool.Put(bp)
	if err != nil {
		return nil, false
	}
	if id >= uint64(len(r.sets)) {
		return nil, false
	}
	return r.sets[id], true
}

// searchBucket returns the position of the first suffix >= target among the
// cnt suffixes of w bytes in keys, and whether it equals target. It starts at
// an interpolated guess (hashed keys are uniform within a bucket) and gallops
// from there, so it needs a handful of probes even in buckets of hundreds of
// keys. On unsorted (corrupt) input it returns some position; it never
// indexes outside keys.
func searchBucket(keys []byte, w, cnt int, target uint64, b int) (int, bool) {
	if cnt <= 0 || len(keys) < cnt*w {
		return 0, false
	}
	at := func(i int) uint64 { return getUint(keys[i*w:], w) }
	g := bucketGuess(target, cnt, b)
	lo, hi := 0, cnt // the answer is in [lo, hi]
	if at(g) < target {
		lo = g + 1
		for step := 1; ; step *= 2 {
			j := g + step
			if j >= cnt {
				break
			}
			if at(j) >= target {
				hi = j
				break
			}
			lo = j + 1
		}
	} else {
		hi = g
		for step := 1; ; step *= 2 {
			j := g - step
			if j < 0 {
				break
			}
			if at(j) < target {
				lo = j + 1
				break
			}
			hi = j
		}
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if at(m) < target {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < cnt && at(lo) == target
}

// bucketGuess is where target should sit among cnt > 0 suffixes of 64-b
// bits spread uniformly: target / 2^(64-b) of the way into the bucket.
func bucketGuess(target uint64, cnt, b int) int {
	g64, _ := bits.Mul64(target<<uint(b), uint64(cnt))
	return min(int(g64), cnt-1)
}
