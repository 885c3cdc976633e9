package hashset

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Reader answers lookups on an index file. A Reader is safe for concurrent
// use by multiple goroutines, except Close, which must not run concurrently
// with other calls.
//
// A memory-mapped file must not be truncated or rewritten in place while
// open (replace it by rename, as [Builder.WriteFile] does): the process
// would get SIGBUS.
//
// Lookups never fail loudly: on a corrupt file (one that opened but fails
// [Reader.Verify]) or a read error they report "not found", and never panic.
type Reader struct {
	ra    io.ReaderAt
	data  []byte // the whole file when memory-mapped, else nil
	size  int64
	unmap func() error
	file  *os.File

	h    *header
	meta *Meta
	n    uint64
	b    int
	sh   uint   // 64 - b: bits of the stored suffix
	mask uint64 // 1<<sh - 1
	w    int    // suffix bytes
	idw  int    // set id bytes

	dirOff, keysOff, idsOff int64
	sets                    [][]int

	bloomSec  SectionInfo
	hasBloom  bool
	bloomOnce sync.Once
	bloom     *bloomFilter

	// mem is where lookups read DIR, KEYS and IDS: subslices of the file
	// mapping, or of the copy made by Preload; nil when lookups go through
	// ReadAt (or after Close).
	mem       atomic.Pointer[lookupMem]
	preMu     sync.Mutex // serializes Preload
	preloaded bool
	freePre   func() error // releases Preload's copy
}

// lookupMem holds the sections that lookups read, at their exact lengths
// (checked at open): DIR (1<<b)+1 uint32, KEYS n*w bytes, IDS n*idw bytes.
type lookupMem struct {
	dir, keys, ids []byte
}

// Open opens the index file at path. It maps the file into memory when it
// can, and falls back to reading it with ReadAt otherwise. Open checks the
// header, the section table and the small sections (META, SETS); it takes
// the same time whatever the number of keys. [Reader.Verify] checks the rest.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("hashset: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("hashset: %w", err)
	}
	size := fi.Size()
	data, unmap, merr := mmapFile(f, size)
	if merr != nil {
		data, unmap = nil, nil
	}
	r, err := newReader(f, data, size)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		f.Close()
		return nil, err
	}
	r.file, r.unmap = f, unmap
	return r, nil
}

// NewReader returns a Reader over the size bytes of ra. Lookups go through
// ra.ReadAt (a few small reads each).
func NewReader(ra io.ReaderAt, size int64) (*Reader, error) {
	return newReader(ra, nil, size)
}

// Close releases the file and its mapping. Lookups after Close report not
// found.
func (r *Reader) Close() error {
	var err error
	r.mem.Store(nil)
	if r.freePre != nil {
		err = r.freePre()
		r.freePre = nil
	}
	if r.unmap != nil {
		r.data = nil
		r.bloom = nil
		if uerr := r.unmap(); err == nil {
			err = uerr
		}
		r.unmap = nil
	}
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
		r.file = nil
	}
	return err
}

// readAt reads len(p) bytes at off; short reads are errors.
func (r *Reader) readAt(p []byte, off int64) error {
	if off < 0 || off > r.size || int64(len(p)) > r.size-off {
		return fmt.Errorf("%w: read out of bounds", ErrCorrupt)
	}
	if r.data != nil {
		copy(p, r.data[off:])
		return nil
	}
	n, err := r.ra.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("hashset: %w", err)
}

// view returns n bytes at off: a subslice of the mapping, or a new buffer.
func (r *Reader) view(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > r.size || n > r.size-off {
		return nil, fmt.Errorf("%w: read out of bounds", ErrCorrupt)
	}
	if r.data != nil {
		return r.data[off : off+n : off+n], nil
	}
	p := make([]byte, n)
	if err := r.readAt(p, off); err != nil {
		return nil, err
	}
	return p, nil
}

func newReader(ra io.ReaderAt, data []byte, size int64) (*Reader, error) {
	r := &Reader{ra: ra, data: data, size: size}
	if size < headerSize {
		var p [len(magic)]byte
		m := min(int(max(size, 0)), len(p))
		if m > 0 && r.readAt(p[:m], 0) == nil && string(p[:m]) == magic[:m] && m == len(magic) {
			return nil, fmt.Errorf("%w: truncated header (%d bytes)", ErrCorrupt, size)
		}
		if size <= 0 {
			return nil, fmt.Errorf("%w: empty file", ErrFormat)
		}
		return nil, fmt.Errorf("%w: too short (%d bytes)", ErrFormat, size)
	}
	var fixed [headerSize]byte
	if err := r.readAt(fixed[:], 0); err != nil {
		return nil, err
	}
	h, err := parseFixed(fixed[:])
	if err != nil {
		return nil, err
	}
	if int64(h.tableEnd) > size {
		return nil, fmt.Errorf("%w: truncated section table", ErrCorrupt)
	}
	table := make([]byte, h.tableEnd) // at most headerSize + maxSections*tableEntrySize
	if err := r.readAt(table, 0); err != nil {
		return nil, err
	}
	if err := h.parseTable(table, size); err != nil {
		return nil, err
	}
	r.h = h
	if err := r.checkLayout(); err != nil {
		return nil, err
	}
	if err := r.loadMeta(); err != nil {
		return nil, err
	}
	if err := r.loadSets(); err != nil {
		return nil, err
	}
	// Two directory reads catch gross corruption at O(1) cost.
	var d0, dn [4]byte
	if err := r.readAt(d0[:], r.dirOff); err != nil {
		return nil, err
	}
	if err := r.readAt(dn[:], r.dirOff+4*(int64(1)<<r.b)); err != nil {
		return nil, err
	}
	if le.Uint32(d0[:]) != 0 || uint64(le.Uint32(dn[:])) != r.n {
		return nil, fmt.Errorf("%w: directory does not span the keys", ErrCorrupt)
	}
	if r.data != nil {
		r.mem.Store(&lookupMem{
			dir:  sectionOf(r.data, r.dirOff, (int64(1)<<r.b+1)*4),
			keys: sectionOf(r.data, r.keysOff, int64(r.n)*int64(r.w)),
			ids:  sectionOf(r.data, r.idsOff, int64(r.n)*int64(r.idw)),
		})
	}
	if r.hasBloom && r.data != nil {
		sec := r.bloomSec
		r.bloom = bloomFromBytes(r.data[sec.Offset:sec.Offset+sec.Length], h.bloomM, uint64(h.bloomK))
		r.bloomOnce.Do(func() {})
	}
	return r, nil
}

// sectionOf returns p[off:off+n], whose bounds checkLayout and parseTable
// have checked against the file size.
func sectionOf(p []byte, off, n int64) []byte {
	return p[off : off+n : off+n]
}

// checkLayout checks the header fields against each other and the section
// lengths they imply. Every check is O(1).
func (r *Reader) checkLayout() error {
	h := r.h
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
	}
	if h.keys > maxKeys {
		return bad("%d keys", h.keys)
	}
	if h.dirBits < minDirBits || h.dirBits > maxDirBits {
		return bad("directory bits %d", h.dirBits)
	}
	if int(h.suffixW) != suffixBytes(int(h.dirBits)) {
		return bad("suffix width %d", h.suffixW)
	}
	if h.datasets > MaxDatasets {
		return bad("%d datasets", h.datasets)
	}
	if uint64(h.sets) > h.keys || (h.keys > 0 && h.sets == 0) {
		return bad("%d provenance sets for %d keys", h.sets, h.keys)
	}
	if int(h.idW) != idBytes(int(h.sets)) {
		return bad("set id width %d", h.idW)
	}
	r.n, r.b, r.w, r.idw = h.keys, int(h.dirBits), int(h.suffixW), int(h.idW)
	r.sh = uint(64 - r.b)
	r.mask = uint64(1)<<r.sh - 1
	want := map[uint32]int64{
		secDir:  (int64(1)<<r.b + 1) * 4,
		secKeys: int64(r.n) * int64(r.w),
		secIDs:  int64(r.n) * int64(r.idw),
	}
	if h.bloomM > 0 {
		if h.bloomK < 1 || h.bloomK > maxBloomK {
			return bad("bloom k %d", h.bloomK)
		}
		want[secBloom] = int64(bloomWords(h.bloomM)) * 8 // m <= 2^64-1: words*8 may wrap; compared below
		if bloomWords(h.bloomM) > uint64(r.size)/8 {
			return bad("bloom section larger than the file")
		}
	} else if h.bloomK != 0 {
		return bad("bloom k %d without bloom", h.bloomK)
	}
	for id, n := range want {
		s, ok := h.section(id)
		if !ok {
			return bad("missing section %s", sectionName(id))
		}
		if s.Length != n {
			return bad("section %s is %d bytes, want %d", s.Name, s.Length, n)
		}
	}
	if s, ok := h.section(secBloom); ok && h.bloomM == 0 {
		return bad("section %s without bloom parameters", s.Name)
	}
	for _, id := range []uint32{secMeta, secSets} {
		if _, ok := h.section(id); !ok {
			return bad("missing section %s", sectionName(id))
		}
	}
	s, _ := h.section(secDir)
	r.dirOff = s.Offset
	s, _ = h.section(secKeys)
	r.keysOff = s.Offset
	s, _ = h.section(secIDs)
	r.idsOff = s.Offset
	r.bloomSec, r.hasBloom = h.section(secBloom)
	return nil
}

// readSection reads a whole section and checks its CRC.
func (r *Reader) readSection(id uint32) ([]byte, error) {
	s, _ := r.h.section(id)
	p, err := r.view(s.Offset, s.Length)
	if err != nil {
		return nil, err
	}
	if crc(p) != s.CRC {
		return nil, fmt.Errorf("%w: section %s", ErrChecksum, s.Name)
	}
	return p, nil
}

func (r *Reader) loadMeta() error {
	p, err := r.readSection(secMeta)
	if err != nil {
		return err
	}
	m := new(Meta)
	if err := json.Unmarshal(p, m); err != nil {
		return fmt.Errorf("%w: META: %v", ErrCorrupt, err)
	}
	h := r.h
	if m.FormatVersion != FormatVersion || uint64(m.Keys) != h.keys ||
		len(m.Datasets) != int(h.datasets) || m.DirBits != int(h.dirBits) ||
		m.SuffixBytes != int(h.suffixW) || m.SetIDBytes != int(h.idW) ||
		m.Sets != int(h.sets) || m.BloomBits != h.bloomM || m.BloomHashes != int(h.bloomK) {
		return fmt.Errorf("%w: META does not match the header", ErrCorrupt)
	}
	r.meta = m
	return nil
}

// loadSets parses the provenance set table into shared read-only slices.
func (r *Reader) loadSets() error {
	p, err := r.readSection(secSets)
	if err != nil {
		return err
	}
	nd := int(r.h.datasets)
	all := make([]int, 0, len(p)/2) // bounded by the section length
	r.sets = make([][]int, 0, min(int(r.h.sets), len(p)/4))
	for len(p) > 0 {
		if len(p) < 2 {
			return fmt.Errorf("%w: SETS: trailing byte", ErrCorrupt)
		}
		c := int(le.Uint16(p))
		p = p[2:]
		if c == 0 || len(p) < 2*c {
			return fmt.Errorf("%w: SETS: bad set length", ErrCorrupt)
		}
		start := len(all)
		for i := 0; i < c; i++ {
			d := int(le.Uint16(p[2*i:]))
			if d >= nd || (i > 0 && d <= all[len(all)-1]) {
				return fmt.Errorf("%w: SETS: bad dataset index", ErrCorrupt)
			}
			all = append(all, d)
		}
		p = p[2*c:]
		r.sets = append(r.sets, all[start:len(all):len(all)])
	}
	if len(r.sets) != int(r.h.sets) {
		return fmt.Errorf("%w: SETS: %d sets, header says %d", ErrCorrupt, len(r.sets), r.h.sets)
	}
	return nil
}

// Meta returns the index's metadata. The caller must not modify it.
func (r *Reader) Meta() *Meta { return r.meta }

// Len returns the number of distinct keys.
func (r *Reader) Len() int64 { return int64(r.n) }

// Size returns the file size in bytes.
func (r *Reader) Size() int64 { return r.size }

// Sections describes the file's sections, in file order.
func (r *Reader) Sections() []SectionInfo {
	return append([]SectionInfo(nil), r.h.sections...)
}
