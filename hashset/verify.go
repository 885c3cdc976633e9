package hashset

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime"
	"sync"
	"sync/atomic"
)

// Verify is [Reader.VerifyContext] on every core, without a deadline.
func (r *Reader) Verify() error { return r.VerifyContext(context.Background(), 0) }

// verifyParts is how many runs of directory buckets VerifyContext's
// workers take in turn (a variable for tests).
var verifyParts = 256

// VerifyContext checks every section checksum and the structural
// invariants the lookups rely on: the directory starts at 0, never
// decreases and ends at the key count; keys strictly increase; every
// provenance id is in range; per-dataset key counts match META; every
// key passes the bloom filter. It reads the whole file, with up to
// workers goroutines (0 or less: GOMAXPROCS), each walking runs of
// directory buckets; the error is the one at the lowest position, as a
// walk on one core would find it. It returns ctx's error if ctx ends
// first.
func (r *Reader) VerifyContext(ctx context.Context, workers int) error {
	if err := r.VerifyChecksums(ctx, workers); err != nil {
		return err
	}
	var bf *bloomFilter
	if r.hasBloom {
		r.bloomOnce.Do(r.loadBloom)
		if bf = r.bloom; bf == nil {
			return fmt.Errorf("%w: section BLOOM", ErrChecksum)
		}
	}
	nb := uint64(1) << r.b
	parts := min(uint64(verifyParts), nb)
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, int(parts))
	perSet := make([][]int64, workers)
	errs := make([]error, parts)
	var next atomic.Int64
	// Parts are taken in order, so when one fails every part below it
	// has been taken and runs to its end: workers stop taking parts, and
	// the lowest error in errs is the one a walk on one core finds.
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		perSet[w] = make([]int64, len(r.sets))
		wg.Go(func() {
			for {
				i := uint64(next.Add(1) - 1)
				if i >= parts || failed.Load() {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = noFault(func() error { return r.verifyBuckets(nb*i/parts, nb*(i+1)/parts, bf, perSet[w]) })
				}
				if err != nil {
					errs[i] = err
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	perDataset := make([]int64, len(r.meta.Datasets))
	for _, ps := range perSet {
		for id, c := range ps {
			for _, d := range r.sets[id] {
				perDataset[d] += c
			}
		}
	}
	for d, c := range perDataset {
		if r.meta.Datasets[d].Keys != c {
			return fmt.Errorf("%w: dataset %d has %d keys, META says %d", ErrCorrupt, d, c, r.meta.Datasets[d].Keys)
		}
	}
	return nil
}

// verifyBuckets checks directory buckets lo..hi-1 and their keys, adding
// each key's provenance set to perSet: the walk of [Reader.VerifyContext]
// over one run. The directory's first entry must be 0 and its last the key
// count; the entry between two runs is the end of one and the start of the
// next, checked by both.
func (r *Reader) verifyBuckets(lo, hi uint64, bf *bloomFilter, perSet []int64) error {
	dir := r.seq(r.dirOff+int64(lo)*4, int64(hi-lo+1)*4)
	p, err := dir.next(4)
	if err != nil {
		return err
	}
	prev := uint64(le.Uint32(p))
	if lo == 0 && prev != 0 {
		return fmt.Errorf("%w: directory does not start at 0", ErrCorrupt)
	}
	if prev > r.n {
		return fmt.Errorf("%w: directory not monotonic at bucket %d", ErrCorrupt, lo)
	}
	keys := r.seq(r.keysOff+int64(prev)*int64(r.w), int64(r.n-prev)*int64(r.w))
	ids := r.seq(r.idsOff+int64(prev)*int64(r.idw), int64(r.n-prev)*int64(r.idw))
	for bk := lo; bk < hi; bk++ {
		p, err := dir.next(4)
		if err != nil {
			return err
		}
		end := uint64(le.Uint32(p))
		if end < prev || end > r.n {
			return fmt.Errorf("%w: directory not monotonic at bucket %d", ErrCorrupt, bk)
		}
		var last uint64
		for pos := prev; pos < end; pos++ {
			kp, err := keys.next(r.w)
			if err != nil {
				return err
			}
			s := getUint(kp, r.w)
			if s > r.mask || (pos > prev && s <= last) {
				return fmt.Errorf("%w: keys not strictly increasing at position %d", ErrCorrupt, pos)
			}
			last = s
			var id uint64
			if r.idw > 0 {
				ip, err := ids.next(r.idw)
				if err != nil {
					return err
				}
				id = getUint(ip, r.idw)
			}
			if id >= uint64(len(r.sets)) {
				return fmt.Errorf("%w: provenance id out of range at position %d", ErrCorrupt, pos)
			}
			perSet[id]++
			if bf != nil && !bf.test(bk<<r.sh|s) {
				return fmt.Errorf("%w: bloom filter misses the key at position %d", ErrCorrupt, pos)
			}
		}
		prev = end
	}
	if hi == 1<<r.b && prev != r.n {
		return fmt.Errorf("%w: directory ends at %d, want %d keys", ErrCorrupt, prev, r.n)
	}
	return nil
}

func (r *Reader) crcRange(off, n int64) (uint32, error) {
	if r.data != nil {
		if off < 0 || n < 0 || off+n > int64(len(r.data)) {
			return 0, fmt.Errorf("%w: read out of bounds", ErrCorrupt)
		}
		return crc(r.data[off : off+n]), nil
	}
	buf := make([]byte, min(n, 1<<20))
	var c uint32
	for n > 0 {
		p := buf[:min(n, int64(len(buf)))]
		if err := r.readAt(p, off); err != nil {
			return 0, err
		}
		c = crc32.Update(c, castagnoli, p)
		off += int64(len(p))
		n -= int64(len(p))
	}
	return c, nil
}

// seqReader reads a section front to back in small pieces.
type seqReader struct {
	r        *Reader
	off, end int64
	p        []byte // unread bytes at hand
	buf      []byte
}

func (r *Reader) seq(off, n int64) *seqReader {
	s := &seqReader{r: r, off: off, end: off + n}
	if r.data != nil {
		s.p = r.data[off : off+n]
		s.off = s.end
	}
	return s
}

var errShort = errors.New("section shorter than its entries")

func (s *seqReader) next(n int) ([]byte, error) {
	if len(s.p) < n {
		if s.off >= s.end {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, errShort)
		}
		if s.buf == nil {
			s.buf = make([]byte, min(s.end-s.off+int64(n), 1<<20))
		}
		k := copy(s.buf, s.p)
		m := min(int64(len(s.buf)-k), s.end-s.off)
		if err := s.r.readAt(s.buf[k:k+int(m)], s.off); err != nil {
			return nil, err
		}
		s.off += m
		s.p = s.buf[:k+int(m)]
		if len(s.p) < n {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, errShort)
		}
	}
	out := s.p[:n]
	s.p = s.p[n:]
	return out, nil
}

// checkPadding checks that the bytes between sections, which no checksum
// covers, are zero.
func (r *Reader) checkPadding() error {
	end := int64(r.h.tableEnd)
	var zero [align]byte
	for _, s := range r.h.sections {
		if gap := s.Offset - end; gap > 0 {
			if gap >= align {
				return fmt.Errorf("%w: gap of %d bytes before section %s", ErrCorrupt, gap, s.Name)
			}
			var p [align]byte
			if err := r.readAt(p[:gap], end); err != nil {
				return err
			}
			if p != zero {
				return fmt.Errorf("%w: nonzero padding before section %s", ErrCorrupt, s.Name)
			}
		}
		end = s.Offset + s.Length
	}
	if end != r.size {
		return fmt.Errorf("%w: %d bytes after the last section", ErrCorrupt, r.size-end)
	}
	return nil
}
