package hashset

import (
	"fmt"
	"slices"
	"sync"
)

// Entry is one key of a [Reader.Range] answer.
type Entry struct {
	Key      uint64
	Datasets []int // shared, read-only
}

// Range returns every key whose top bits bits equal prefix, in ascending
// order. bits must be in 1..64 and prefix < 1<<bits.
func (r *Reader) Range(prefix uint64, bits int) ([]Entry, error) {
	return r.AppendRange(nil, prefix, bits)
}

// AppendRange is like [Reader.Range] but appends to dst.
func (r *Reader) AppendRange(dst []Entry, prefix uint64, nbits int) ([]Entry, error) {
	sp, err := r.span(prefix, nbits)
	if err != nil || sp.empty {
		return dst, err
	}
	w, idw := uint64(r.w), uint64(r.idw)
	for bk := sp.bLo; bk <= sp.bHi; bk++ {
		s, e, top, ok := r.spanBucket(&sp, bk)
		if !ok {
			continue
		}
		for p := s; p < e; p++ {
			k := top | getUint(sp.keys[(p-sp.first)*w:], r.w)&r.mask
			if k < sp.lo || k > sp.hi {
				continue
			}
			var set []int
			if idw == 0 {
				set = r.sets[0]
			} else {
				id := getUint(sp.ids[(p-sp.first)*idw:], r.idw)
				if id >= uint64(len(r.sets)) {
					continue
				}
				set = r.sets[id]
			}
			dst = append(dst, Entry{Key: k, Datasets: set})
		}
	}
	r.release(&sp)
	return dst, nil
}

// AppendRangeIDs is [Reader.AppendRange] without the entries: it appends
// the keys of the range to keys and, for each, the index of its datasets
// in [Reader.Sets] to ids. It reads the same keys as AppendRange (on a
// corrupt file too) and allocates nothing but the growth of keys and ids
// (through ReadAt, it reads into recycled buffers).
func (r *Reader) AppendRangeIDs(keys []uint64, ids []uint32, prefix uint64, nbits int) ([]uint64, []uint32, error) {
	sp, err := r.span(prefix, nbits)
	if err != nil || sp.empty {
		return keys, ids, err
	}
	w, idw, nsets := uint64(r.w), r.idw, uint64(len(r.sets))
	keys = slices.Grow(keys, int(sp.last-sp.first))
	ids = slices.Grow(ids, int(sp.last-sp.first))
	kb, ib := sp.keys, sp.ids
	for bk := sp.bLo; bk <= sp.bHi; bk++ {
		s, e, top, ok := r.spanBucket(&sp, bk)
		if !ok {
			continue
		}
		for p := s - sp.first; p < e-sp.first; p++ {
			// A suffix is the low w bytes of the 8 at its offset, but
			// for the last few of the span.
			var k uint64
			if o := p * w; o+8 <= uint64(len(kb)) {
				k = le.Uint64(kb[o:])
			} else {
				k = getUint(kb[o:], r.w)
			}
			k = top | k&r.mask
			var id uint64
			switch idw {
			case 0:
			case 1:
				id = uint64(ib[p])
			case 2:
				id = uint64(le.Uint16(ib[2*p:]))
			default:
				id = getUint(ib[p*uint64(idw):], idw)
			}
			if k < sp.lo || k > sp.hi || id >= nsets {
				continue
			}
			keys = append(keys, k)
			ids = append(ids, uint32(id))
		}
	}
	r.release(&sp)
	return keys, ids, nil
}

// Sets returns the distinct dataset sets of the index: the Datasets of an
// [Entry] are one of these slices, and [Reader.AppendRangeIDs] gives
// indexes into them. The slices are shared and must not be modified.
func (r *Reader) Sets() [][]int { return r.sets }

// rangeSpan is where a range's keys are: directory buckets bLo..bHi,
// whose positions first.. are in keys and ids.
type rangeSpan struct {
	lo, hi      uint64 // the range's keys
	bLo, bHi    int64  // its directory buckets
	dirp        []byte // their directory entries, and the next one
	first, last uint64 // the positions of keys: [first, last)
	keys, ids   []byte
	empty       bool
	buf         *[]byte // what keys, ids and dirp are read into, through ReadAt
}

// span checks a range's arguments and reads its directory entries, keys
// and set ids.
func (r *Reader) span(prefix uint64, nbits int) (rangeSpan, error) {
	var sp rangeSpan
	if nbits < 1 || nbits > 64 {
		return sp, fmt.Errorf("hashset: range: bits %d not in 1..64", nbits)
	}
	if nbits < 64 && prefix>>uint(nbits) != 0 {
		return sp, fmt.Errorf("hashset: range: prefix does not fit in %d bits", nbits)
	}
	sp.empty = true
	if r.n == 0 {
		return sp, nil
	}
	sp.lo = prefix << uint(64-nbits)
	sp.hi = sp.lo | (^uint64(0) >> uint(nbits))
	sp.bLo, sp.bHi = int64(sp.lo>>r.sh), int64(sp.hi>>r.sh)
	var err error
	sp.dirp, err = r.spanView(&sp, r.dirOff+sp.bLo*4, (sp.bHi-sp.bLo+2)*4)
	if err != nil {
		r.release(&sp)
		return sp, err
	}
	// The run of positions is contiguous: read keys and ids in one go.
	first, last := uint64(le.Uint32(sp.dirp)), uint64(le.Uint32(sp.dirp[len(sp.dirp)-4:]))
	if first >= last || last > r.n {
		r.release(&sp)
		return sp, nil
	}
	w, idw := uint64(r.w), uint64(r.idw)
	if sp.keys, err = r.spanView(&sp, r.keysOff+int64(first*w), int64((last-first)*w)); err != nil {
		r.release(&sp)
		return sp, err
	}
	if sp.ids, err = r.spanView(&sp, r.idsOff+int64(first*idw), int64((last-first)*idw)); err != nil {
		r.release(&sp)
		return sp, err
	}
	sp.first, sp.last, sp.empty = first, last, false
	return sp, nil
}

// rangeBufs recycles what ranges read through ReadAt into (*[]byte).
var rangeBufs sync.Pool

// spanView is view for span: on a file read through ReadAt it reads into
// sp.buf, a buffer recycled by release, not a new one.
func (r *Reader) spanView(sp *rangeSpan, off, n int64) ([]byte, error) {
	if r.data != nil || n < 0 || n > r.size {
		return r.view(off, n)
	}
	if sp.buf == nil {
		sp.buf, _ = rangeBufs.Get().(*[]byte)
		if sp.buf == nil {
			sp.buf = new([]byte)
		}
	}
	// Growing may move the buffer: what was read before stays valid,
	// in the old one.
	b := *sp.buf
	start := len(b)
	b = slices.Grow(b, int(n))[:start+int(n)]
	*sp.buf = b
	p := b[start : start+int(n) : start+int(n)]
	if err := r.readAt(p, off); err != nil {
		return nil, err
	}
	return p, nil
}

// release recycles sp's buffer: its keys, ids and dirp are then invalid.
func (r *Reader) release(sp *rangeSpan) {
	if sp.buf == nil {
		return
	}
	if cap(*sp.buf) <= 1<<20 {
		*sp.buf = (*sp.buf)[:0]
		rangeBufs.Put(sp.buf)
	}
	sp.buf, sp.keys, sp.ids, sp.dirp = nil, nil, nil, nil
}

// spanBucket returns the positions [s, e) of directory bucket bk that
// may hold keys of the range, and the bucket's top bits; false if it
// holds none, or its directory entries are corrupt.
func (r *Reader) spanBucket(sp *rangeSpan, bk int64) (s, e, top uint64, ok bool) {
	i := (bk - sp.bLo) * 4
	s, e = uint64(le.Uint32(sp.dirp[i:])), uint64(le.Uint32(sp.dirp[i+4:]))
	if s < sp.first || e > sp.last || s >= e {
		return 0, 0, 0, false // empty, or corrupt: skip
	}
	top = uint64(bk) << r.sh
	// Keys are sorted within a directory bucket: when the range starts
	// or ends inside this one, search for its ends, from where uniform
	// keys should put them.
	s0, cnt := s, int(e-s)
	if bk == sp.bLo && sp.lo&r.mask != 0 {
		low := sp.lo & r.mask
		s = r.lowerBound(sp.keys, sp.first, s, e, low, s0+uint64(bucketGuess(low, cnt, r.b)))
	}
	if bk == sp.bHi && sp.hi&r.mask != r.mask {
		low := sp.hi&r.mask + 1
		e = r.lowerBound(sp.keys, sp.first, s, e, low, max(s, s0+uint64(bucketGuess(low, cnt, r.b))))
	}
	return s, e, top, true
}

// binaryRangeSearch makes lowerBound ignore its guess: the baseline of
// BenchmarkRangeLarge.
var binaryRangeSearch = false

// lowerBound returns the first position p in [s, e) whose stored low
// bits are >= low, or e; keys holds the positions from first on. It
// probes guess first and gallops from there (as searchBucket does): in
// a bucket of ~150 uniform keys the answer is a few keys from the
// guess, where a binary search takes 7-8 probes, most of them cache
// misses. On unsorted (corrupt) keys it returns some position in [s, e].
// Its gallop repeats searchBucket's on purpose: one helper for both, with
// the probe passed as a func value, made Range 10-20% slower and batched
// Contains 5-20% slower (the calls through it are not inlined).
func (r *Reader) lowerBound(keys []byte, first, s, e, low, guess uint64) uint64 {
	w := uint64(r.w)
	at := func(p uint64) uint64 { return getUint(keys[(p-first)*w:], r.w) & r.mask }
	if s < e && !binaryRangeSearch {
		g := min(max(guess, s), e-1)
		if at(g) < low {
			s = g + 1
			for step := uint64(1); g+step < e; step *= 2 {
				if at(g+step) >= low {
					e = g + step
					break
				}
				s = g + step + 1
			}
		} else {
			e = g
			for step := uint64(1); step <= g-s; step *= 2 {
				if at(g-step) < low {
					s = g - step + 1
					break
				}
				e = g - step
			}
		}
	}
	for s < e {
		m := s + (e-s)/2
		if at(m) < low {
			s = m + 1
		} else {
			e = m
		}
	}
	return s
}
