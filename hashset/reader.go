package hashset

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
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

// MayContain consults the bloom filter only: false means key is certainly
// absent; true means it may be present. It returns true if the index has no
// bloom section. On a memory-mapped file the filter is used in place; over a
// plain io.ReaderAt the section is read (and its checksum checked) on the
// first call, and kept in memory. A bloom section with a bad checksum is
// ignored (MayContain then returns true).
func (r *Reader) MayContain(key uint64) bool {
	if !r.hasBloom {
		return true
	}
	r.bloomOnce.Do(r.loadBloom)
	f := r.bloom
	if f == nil {
		return true
	}
	return f.test(key)
}

func (r *Reader) loadBloom() {
	p, err := r.readSection(secBloom)
	if err != nil {
		return
	}
	r.bloom = bloomFromBytes(p, r.h.bloomM, uint64(r.h.bloomK))
}

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

// Preload copies the sections that lookups read (DIR, KEYS and IDS: about
// w+idw bytes per key, 6 at 10M keys) into memory of the Reader's own,
// checking their checksums on the way; lookups then read the copy. On
// Linux the copy asks for transparent huge pages (MADV_HUGEPAGE), so that
// lookups spread over an index larger than the TLB's reach take no TLB
// misses, where a file mapping takes one per lookup on 4 KiB pages.
// Measured on the 2-core VM at 10M keys: Contains 10-15% faster,
// ContainsBatch a few percent (see BenchmarkContainsLarge); a host that
// backs the VM with huge pages should gain more.
//
// Preload is for long jobs (a batch check, a server) on large indexes: it
// reads the three sections once (0.1 to 0.2 s at 10M keys here) and holds
// a second copy in memory, next to the file's page cache. [Open] stays
// O(1) without it. On a checksum mismatch Preload returns an error
// wrapping [ErrChecksum] and lookups keep reading the file. Calling
// Preload again does nothing. Preload may run concurrently with lookups
// (they read the file or the copy); not with Close, which frees the copy.
func (r *Reader) Preload() error {
	r.preMu.Lock()
	defer r.preMu.Unlock()
	if r.preloaded {
		return nil
	}
	secs := []uint32{secKeys, secDir, secIDs} // KEYS first: huge-page aligned
	var offs [3]int
	total := 0
	for i, id := range secs {
		s, _ := r.h.section(id)
		total = (total + 63) &^ 63 // cache-line aligned
		offs[i] = total
		total += int(s.Length)
	}
	if int64(total) > r.size+3*64 {
		return fmt.Errorf("%w: sections larger than the file", ErrCorrupt)
	}
	buf, free, err := allocLarge(max(total, 1))
	if err != nil {
		return fmt.Errorf("hashset: preload: %w", err)
	}
	var parts [3][]byte
	for i, id := range secs {
		s, _ := r.h.section(id)
		p := buf[offs[i] : offs[i]+int(s.Length) : offs[i]+int(s.Length)]
		if err := r.copySection(p, s); err != nil {
			free()
			return err
		}
		parts[i] = p
	}
	r.preloaded, r.freePre = true, free
	r.mem.Store(&lookupMem{keys: parts[0], dir: parts[1], ids: parts[2]})
	return nil
}

// copySection reads section s into p (len(p) == s.Length) and checks its
// CRC, piece by piece, each piece checked while it is still in cache.
func (r *Reader) copySection(p []byte, s SectionInfo) error {
	const piece = 256 << 10
	var c uint32
	for off := 0; off < len(p); off += piece {
		q := p[off:min(off+piece, len(p))]
		if err := r.readAt(q, s.Offset+int64(off)); err != nil {
			return err
		}
		c = crc32.Update(c, castagnoli, q)
	}
	if c != s.CRC {
		return fmt.Errorf("%w: section %s", ErrChecksum, s.Name)
	}
	return nil
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
