package hashset

import (
	"errors"
	"fmt"
	"hash/crc32"
)

// Verify checks every section checksum and the structural invariants the
// lookups rely on: the directory starts at 0, never decreases and ends at
// the key count; keys strictly increase; every provenance id is in range;
// per-dataset key counts match META; every key passes the bloom filter. It
// reads the whole file.
func (r *Reader) Verify() error {
	for _, s := range r.h.sections {
		c, err := r.crcRange(s.Offset, s.Length)
		if err != nil {
			return err
		}
		if c != s.CRC {
			return fmt.Errorf("%w: section %s", ErrChecksum, s.Name)
		}
	}
	if err := r.checkPadding(); err != nil {
		return err
	}
	dir := r.seq(r.dirOff, (int64(1)<<r.b+1)*4)
	keys := r.seq(r.keysOff, int64(r.n)*int64(r.w))
	ids := r.seq(r.idsOff, int64(r.n)*int64(r.idw))
	perSet := make([]int64, len(r.sets))
	var bf *bloomFilter
	if r.hasBloom {
		r.bloomOnce.Do(r.loadBloom)
		if bf = r.bloom; bf == nil {
			return fmt.Errorf("%w: section BLOOM", ErrChecksum)
		}
	}
	p, err := dir.next(4)
	if err != nil {
		return err
	}
	prev := uint64(le.Uint32(p))
	if prev != 0 {
		return fmt.Errorf("%w: directory does not start at 0", ErrCorrupt)
	}
	for bk := uint64(0); bk < 1<<r.b; bk++ {
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
	if prev != r.n {
		return fmt.Errorf("%w: directory ends at %d, want %d keys", ErrCorrupt, prev, r.n)
	}
	perDataset := make([]int64, len(r.meta.Datasets))
	for id, c := range perSet {
		for _, d := range r.sets[id] {
			perDataset[d] += c
		}
	}
	for d, c := range perDataset {
		if r.meta.Datasets[d].Keys != c {
			return fmt.Errorf("%w: dataset %d has %d keys, META says %d", ErrCorrupt, d, c, r.meta.Datasets[d].Keys)
		}
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
