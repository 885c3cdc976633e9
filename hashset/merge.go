package hashset

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// MergeInput is one index to merge, with the name errors give it (its
// path, say).
type MergeInput struct {
	Name   string
	Reader *Reader
}

// MergeOptions configure [MergeFile].
type MergeOptions struct {
	// Info and Created go into the result's META as they are (the caller
	// decides what the inputs' own Info becomes). InfoFunc, if set, makes
	// Info instead, from what the first pass found (the result's sets and
	// their key counts, say); its argument's Bytes is still 0.
	Info     map[string]string
	InfoFunc func(*MergeStats) (map[string]string, error)
	Created  string
	// BloomFPR is as in [Options]; 0 takes the first input's rate, or no
	// bloom filter if the first input has none.
	BloomFPR float64
}

// MergeStats reports what [MergeFile] did.
type MergeStats struct {
	Inputs    []int64 // distinct keys of each input
	Unique    int64   // distinct keys written
	InSeveral int64   // keys present in more than one input
	Bytes     int64   // file size
	// SetKeys[i] is the number of keys whose datasets are Meta's set i, in
	// the order of the result's SETS section.
	Sets    [][]int
	SetKeys []int64
	// GroupsUnknown counts keys in several inputs whose group the
	// datasets holding them do not determine (each of those datasets has
	// several groups, or none in common). When it is not 0 the index-wide
	// Meta.Groups of the result is left out: per-dataset groups stay exact.
	GroupsUnknown int64
	Meta          *Meta
}

// ErrMerge is wrapped by every error [MergeFile] returns about its inputs
// disagreeing (key scheme, datasets).
var ErrMerge = errors.New("hashset: cannot merge")

// MergeFile merges sorted indexes into one index file at path, written as
// [Builder.WriteFile] writes (a temporary file, 0600, renamed into place;
// on error or cancellation nothing is left behind and path is untouched).
//
// The result holds every key of every input, with the union of its
// provenance; its datasets are the inputs' datasets, in input order,
// their names unique (a name in two inputs is refused: the same name in
// two indexes cannot be told to be the same dataset), and their Keys and
// Groups carried over. The index-wide Groups are the inputs' summed, less
// the keys counted twice (see [MergeStats].GroupsUnknown). The inputs
// must share one KeyScheme.
//
// It streams: one pass over the inputs (a k-way merge of their sorted
// keys) checks and counts, a second writes; memory is the directory and
// bloom filter of the result plus the provenance tables, whatever the
// inputs' size. Every input's checksums are verified first: a corrupt
// input is an error naming it, and nothing is written. The bytes equal
// those a [Builder] writes when given the same keys, datasets, groups and
// options.
func MergeFile(ctx context.Context, path string, inputs []MergeInput, opts MergeOptions) (MergeStats, error) {
	var st MergeStats
	m, err := planMerge(ctx, inputs, opts)
	if err != nil {
		return st, err
	}
	err = writeIndexFile(path, func(f *os.File) error {
		return m.write(ctx, f, func(fn func(key uint64, id uint32) error) error {
			return m.scan(ctx, func(key uint64, from []int, ids []uint32) error {
				return fn(key, m.setID(from, ids))
			})
		})
	})
	if err != nil {
		return st, err
	}
	return m.stats, nil
}

// writeIndexFile writes an index to path as [Builder.WriteFile] does: a
// temporary file in the same directory, 0600, that write fills, synced
// and renamed over path. On error the temporary file is removed and path
// is untouched.
func writeIndexFile(path string, write func(f *os.File) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	if err = write(f); err != nil {
		return err
	}
	if testHookBeforeRename != nil {
		if err = testHookBeforeRename(); err != nil {
			return err
		}
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return nil
}

// merger is a merge planned by its first pass, ready to write.
type merger struct {
	in       []MergeInput
	dsOff    []int // input i's dataset d is the result's dsOff[i]+d
	single   [][]int32
	multi    map[string]uint32
	sets     [][]uint16
	meta     *Meta
	metaJSON []byte
	b, w     int
	idw      int
	fpr      float64
	m, k     uint64
	stats    MergeStats
	pass     int // scans started
}

// testHookMergeScan, if set, is called in every scan now and then, with the
// scan's number (1 counts, 2 writes).
var testHookMergeScan func(pass int)

// mergeCheckEvery is how many keys go by between two looks at the context.
const mergeCheckEvery = 1 << 16

func planMerge(ctx context.Context, inputs []MergeInput, opts MergeOptions) (*merger, error) {
	if len(inputs) == 0 {
		return nil, fmt.Errorf("%w: no inputs", ErrMerge)
	}
	m := &merger{in: inputs, multi: map[string]uint32{}}
	scheme := inputs[0].Reader.Meta().KeyScheme
	names := map[string]string{}
	var datasets []Dataset
	for _, in := range inputs {
		meta := in.Reader.Meta()
		if meta.KeyScheme != scheme {
			return nil, fmt.Errorf("%w: %s has key scheme %q, %s has %q", ErrMerge, in.Name, meta.KeyScheme, inputs[0].Name, scheme)
		}
		m.dsOff = append(m.dsOff, len(datasets))
		for _, d := range meta.Datasets {
			if other, dup := names[d.Name]; dup {
				return nil, fmt.Errorf("%w: dataset %q is in %s and in %s", ErrMerge, d.Name, other, in.Name)
			}
			names[d.Name] = in.Name
			datasets = append(datasets, d)
		}
		if len(datasets) > MaxDatasets {
			return nil, fmt.Errorf("%w: more than %d datasets", ErrMerge, MaxDatasets)
		}
		m.single = append(m.single, slices.Repeat([]int32{-1}, len(in.Reader.sets)))
		m.stats.Inputs = append(m.stats.Inputs, in.Reader.Len())
	}
	// Every byte of every input is checked before anything is written.
	for _, in := range inputs {
		if err := in.Reader.VerifyChecksums(ctx, 0); err != nil {
			return nil, fmt.Errorf("%s: %w", in.Name, err)
		}
	}

	// Pass 1: count the distinct keys and number the result's provenance
	// sets in order of first appearance, as a Builder does.
	var setKeys []int64
	inputsOf := map[uint32]int{} // multi-input set -> number of inputs
	n := int64(0)
	err := m.scan(ctx, func(key uint64, from []int, ids []uint32) error {
		id := m.setID(from, ids)
		if int(id) == len(setKeys) {
			setKeys = append(setKeys, 0)
		}
		setKeys[id]++
		if len(from) > 1 {
			m.stats.InSeveral++
			inputsOf[id] = len(from)
		}
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if n > maxKeys {
		return nil, fmt.Errorf("hashset: %d keys, more than the %d an index holds", n, int64(maxKeys))
	}

	// Datasets carry over; the index-wide groups are summed, less every
	// key counted by more than one input, where its group is known.
	meta := &Meta{
		FormatVersion: FormatVersion,
		KeyScheme:     scheme,
		Keys:          n,
		Created:       opts.Created,
		Info:          opts.Info,
		Datasets:      datasets,
	}
	if meta.Datasets == nil {
		meta.Datasets = []Dataset{}
	}
	groups := map[string]int64{}
	for _, in := range inputs {
		for g, c := range in.Reader.Meta().Groups {
			groups[g] += c
		}
	}
	for id, c := range inputsOf {
		if len(groups) == 0 {
			break
		}
		g, ok := commonGroup(datasets, m.sets[id])
		if !ok {
			m.stats.GroupsUnknown += setKeys[id]
			continue
		}
		groups[g] -= int64(c-1) * setKeys[id]
	}
	maps.DeleteFunc(groups, func(_ string, c int64) bool { return c <= 0 })
	if len(groups) > 0 && m.stats.GroupsUnknown == 0 {
		meta.Groups = groups
	}

	fpr := opts.BloomFPR
	if fpr == 0 {
		if fpr = inputs[0].Reader.Meta().BloomFPR; fpr == 0 {
			fpr = -1
		}
	}
	m.meta = meta
	m.stats.Unique = n
	m.stats.SetKeys = setKeys
	m.stats.Meta = meta
	for _, s := range m.sets {
		m.stats.Sets = append(m.stats.Sets, intsOf(s))
	}
	if opts.InfoFunc != nil {
		info, err := opts.InfoFunc(&m.stats)
		if err != nil {
			return nil, err
		}
		meta.Info = info
	}
	if err := m.layout(fpr); err != nil {
		return nil, err
	}
	return m, nil
}

// layout fixes what m.meta, m.sets and the key count decide: the bloom
// filter (fpr as in [Options], 0 excepted), the directory, the widths,
// and META's bytes.
func (m *merger) layout(fpr float64) error {
	n, meta := m.stats.Unique, m.meta
	if fpr >= 1 {
		fpr = 0.5
	}
	m.fpr = fpr
	if fpr > 0 {
		m.m, m.k = bloomSize(n, fpr)
		meta.BloomFPR, meta.BloomBits, meta.BloomHashes = fpr, m.m, int(m.k)
	}
	m.b = chooseDirBits(uint64(n))
	m.w = suffixBytes(m.b)
	m.idw = idBytes(len(m.sets))
	meta.DirBits, meta.SuffixBytes, meta.SetIDBytes, meta.Sets = m.b, m.w, m.idw, len(m.sets)
	var err error
	if m.metaJSON, err = json.Marshal(meta); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	return nil
}

func intsOf(s []uint16) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = int(d)
	}
	return out
}

// commonGroup returns the one group every dataset of set has, if there is
// exactly one.
func commonGroup(datasets []Dataset, set []uint16) (string, bool) {
	var common []string
	for i, d := range set {
		var gs []string
		for g := range datasets[d].Groups {
			if i == 0 || slices.Contains(common, g) {
				gs = append(gs, g)
			}
		}
		common = gs
	}
	if len(common) != 1 {
		return "", false
	}
	return common[0], true
}

// setID returns the result's provenance set of a key found in inputs from
// with their set ids, numbering new sets as they appear.
func (m *merger) setID(from []int, ids []uint32) uint32 {
	if len(from) == 1 {
		i, s := from[0], ids[0]
		if id := m.single[i][s]; id >= 0 {
			return uint32(id)
		}
		id := m.newSet(from, ids)
		m.single[i][s] = int32(id)
		return id
	}
	var kb [64]byte
	key := kb[:0]
	for x, i := range from {
		key = strconv.AppendInt(key, int64(i), 10)
		key = append(key, ':')
		key = strconv.AppendUint(key, uint64(ids[x]), 10)
		key = append(key, ',')
	}
	if id, ok := m.multi[string(key)]; ok {
		return id
	}
	id := m.newSet(from, ids)
	m.multi[string(key)] = id
	return id
}

func (m *merger) newSet(from []int, ids []uint32) uint32 {
	var set []uint16
	for x, i := range from {
		for _, d := range m.in[i].Reader.sets[ids[x]] {
			set = append(set, uint16(m.dsOff[i]+d))
		}
	}
	slices.Sort(set) // inputs are in order, so this is already sorted
	m.sets = append(m.sets, set)
	return uint32(len(m.sets) - 1)
}

// scan runs a k-way merge of the inputs' keys, calling fn once per
// distinct key with the inputs holding it (ascending) and its set id in
// each. It checks the structure Verify checks: a directory that never
// decreases and spans the keys, strictly increasing keys, set ids in range.
func (m *merger) scan(ctx context.Context, fn func(key uint64, from []int, ids []uint32) error) error {
	cs := make([]*mergeCursor, len(m.in))
	for i, in := range m.in {
		c := newMergeCursor(in.Reader)
		if err := c.next(); err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
		cs[i] = c
	}
	from := make([]int, 0, len(cs))
	ids := make([]uint32, 0, len(cs))
	m.pass++
	for count := 0; ; count++ {
		if count%mergeCheckEvery == 0 {
			if testHookMergeScan != nil && count > 0 {
				testHookMergeScan(m.pass)
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var low uint64
		from = from[:0]
		for i, c := range cs {
			if c.done {
				continue
			}
			if len(from) == 0 || c.key < low {
				low = c.key
				from = from[:0]
			}
			if c.key == low {
				from = append(from, i)
			}
		}
		if len(from) == 0 {
			return nil
		}
		ids = ids[:0]
		for _, i := range from {
			ids = append(ids, cs[i].id)
		}
		if err := fn(low, from, ids); err != nil {
			return err
		}
		for _, i := range from {
			if err := cs[i].next(); err != nil {
				return fmt.Errorf("%s: %w", m.in[i].Name, err)
			}
		}
	}
}

// mergeCursor walks one input's keys in order.
type mergeCursor struct {
	r              *Reader
	dir, keys, ids *seqReader
	bk             uint64 // current bucket
	end            uint64 // position where the current bucket ends
	pos            uint64 // position of the next key
	key            uint64
	id             uint32
	done           bool
}

func newMergeCursor(r *Reader) *mergeCursor {
	c := &mergeCursor{
		r:    r,
		dir:  r.seq(r.dirOff, (int64(1)<<r.b+1)*4),
		keys: r.seq(r.keysOff, int64(r.n)*int64(r.w)),
		ids:  r.seq(r.idsOff, int64(r.n)*int64(r.idw)),
	}
	c.bk = ^uint64(0) // before bucket 0
	return c
}

// next moves to the next key, or sets done.
func (c *mergeCursor) next() error {
	r := c.r
	if c.pos == r.n {
		c.done = true
		return nil
	}
	for c.pos == c.end || c.bk == ^uint64(0) {
		if c.bk == ^uint64(0) {
			p, err := c.dir.next(4)
			if err != nil {
				return err
			}
			if le.Uint32(p) != 0 {
				return fmt.Errorf("%w: directory does not start at 0", ErrCorrupt)
			}
		}
		c.bk++
		if c.bk >= 1<<r.b {
			return fmt.Errorf("%w: directory ends before the keys", ErrCorrupt)
		}
		p, err := c.dir.next(4)
		if err != nil {
			return err
		}
		end := uint64(le.Uint32(p))
		if end < c.end || end > r.n {
			return fmt.Errorf("%w: directory not monotonic at bucket %d", ErrCorrupt, c.bk)
		}
		c.end = end
	}
	kp, err := c.keys.next(r.w)
	if err != nil {
		return err
	}
	s := getUint(kp, r.w)
	key := c.bk<<r.sh | s
	if s > r.mask || (c.pos > 0 && key <= c.key) {
		return fmt.Errorf("%w: keys not strictly increasing at position %d", ErrCorrupt, c.pos)
	}
	c.key = key
	c.id = 0
	if r.idw > 0 {
		ip, err := c.ids.next(r.idw)
		if err != nil {
			return err
		}
		c.id = uint32(getUint(ip, r.idw))
	}
	if int(c.id) >= len(r.sets) {
		return fmt.Errorf("%w: provenance id out of range at position %d", ErrCorrupt, c.pos)
	}
	c.pos++
	return nil
}

// sectionWriter writes one section at its offset, checksumming it.
type sectionWriter struct {
	*bufio.Writer
	crc hash.Hash32
	n   int64
}

func newSectionWriter(f io.WriterAt, off int64) *sectionWriter {
	s := &sectionWriter{crc: crc32.New(castagnoli)}
	s.Writer = bufio.NewWriterSize(io.MultiWriter(io.NewOffsetWriter(f, off), s.crc, (*countTo)(&s.n)), 1<<20)
	return s
}

// countTo counts the bytes written to it.
type countTo int64

func (c *countTo) Write(p []byte) (int, error) { *c += countTo(len(p)); return len(p), nil }

// write is the second pass: the sections at the offsets the first pass
// fixed, then the header. src calls fn with every key, ascending, and the
// id of its set in m.sets.
func (m *merger) write(ctx context.Context, f *os.File, src func(fn func(key uint64, id uint32) error) error) error {
	var setsBytes []byte
	for _, s := range m.sets {
		setsBytes = le.AppendUint16(setsBytes, uint16(len(s)))
		for _, d := range s {
			setsBytes = le.AppendUint16(setsBytes, d)
		}
	}
	n := m.stats.Unique
	type plan struct {
		id  uint32
		len int64
	}
	plans := []plan{
		{secMeta, int64(len(m.metaJSON))},
		{secSets, int64(len(setsBytes))},
		{secDir, (int64(1)<<m.b + 1) * 4},
		{secKeys, n * int64(m.w)},
		{secIDs, n * int64(m.idw)},
	}
	if m.fpr > 0 {
		plans = append(plans, plan{secBloom, int64(bloomWords(m.m)) * 8})
	}
	h := &header{
		version:  FormatVersion,
		keys:     uint64(n),
		dirBits:  uint8(m.b),
		suffixW:  uint8(m.w),
		idW:      uint8(m.idw),
		bloomM:   m.m,
		bloomK:   uint32(m.k),
		sets:     uint32(len(m.sets)),
		datasets: uint32(len(m.meta.Datasets)),
	}
	off := int64(headerSize + tableEntrySize*len(plans))
	offs := map[uint32]int64{}
	for _, p := range plans {
		off = alignUp(off)
		offs[p.id] = off
		h.sections = append(h.sections, SectionInfo{Name: sectionName(p.id), ID: p.id, Offset: off, Length: p.len})
		off += p.len
	}
	h.fileSize = uint64(off)
	if err := f.Truncate(off); err != nil { // padding reads as zeros
		return fmt.Errorf("hashset: %w", err)
	}

	keysW := newSectionWriter(f, offs[secKeys])
	idsW := newSectionWriter(f, offs[secIDs])
	dir := make([]uint32, 1<<m.b+1)
	// The bloom filter is filled on the other cores while the scan goes
	// on, a batch of keys at a time.
	var (
		fill    *bloomFill
		batches chan []uint64
		free    chan []uint64
		filled  sync.WaitGroup
		batch   []uint64
	)
	if m.fpr > 0 {
		fill = newBloomFill(nil, m.m, m.k, 0)
		batches, free = make(chan []uint64, 1), make(chan []uint64, 2)
		free <- make([]uint64, 0, bloomBatch)
		free <- make([]uint64, 0, bloomBatch)
		filled.Go(func() {
			for b := range batches {
				fill.Add(b)
				free <- b[:0]
			}
		})
		batch = <-free
	}
	shift := 64 - m.b
	mask := uint64(1)<<shift - 1
	// Keys and ids are encoded into buffers of their own, written a
	// megabyte at a time (a bufio.Writer.Write a key cost a fifth of the
	// scan, profiled).
	const bufSize = 1 << 20
	kbuf, ibuf := make([]byte, 0, bufSize+8), make([]byte, 0, bufSize+8)
	err := src(func(key uint64, id uint32) error {
		n := len(kbuf)
		kbuf = le.AppendUint64(kbuf, key&mask)[:n+m.w]
		if len(kbuf) >= bufSize {
			keysW.Write(kbuf)
			kbuf = kbuf[:0]
		}
		if m.idw > 0 {
			n := len(ibuf)
			ibuf = le.AppendUint32(ibuf, id)[:n+m.idw]
			if len(ibuf) >= bufSize {
				idsW.Write(ibuf)
				ibuf = ibuf[:0]
			}
		}
		dir[(key>>shift)+1]++
		if fill != nil {
			if batch = append(batch, key); len(batch) == cap(batch) {
				batches <- batch
				batch = <-free
			}
		}
		return nil
	})
	if fill != nil {
		batches <- batch
		close(batches)
		filled.Wait()
	}
	if err != nil {
		return err
	}
	keysW.Write(kbuf)
	idsW.Write(ibuf)
	if len(m.sets) != len(m.stats.SetKeys) {
		return fmt.Errorf("%w: an input changed during the merge", ErrMerge)
	}
	for i := 1; i < len(dir); i++ {
		dir[i] += dir[i-1]
	}
	sws := map[uint32]*sectionWriter{secKeys: keysW, secIDs: idsW}
	put := func(id uint32, fill func(w io.Writer) error) error {
		sw := newSectionWriter(f, offs[id])
		sws[id] = sw
		return fill(sw)
	}
	bt := &built{dir: dir}
	if err := put(secMeta, func(w io.Writer) error { _, err := w.Write(m.metaJSON); return err }); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	if err := put(secSets, func(w io.Writer) error { _, err := w.Write(setsBytes); return err }); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	if err := put(secDir, bt.encodeDir); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	if fill != nil {
		bt.words = fill.Words()
		if err := put(secBloom, bt.encodeBloom); err != nil {
			return fmt.Errorf("hashset: %w", err)
		}
	}
	for i, s := range h.sections {
		sw := sws[s.ID]
		if err := sw.Flush(); err != nil {
			return fmt.Errorf("hashset: %w", err)
		}
		if sw.n != s.Length {
			return fmt.Errorf("hashset: internal error: section %s is %d bytes, planned %d", s.Name, sw.n, s.Length)
		}
		h.sections[i].CRC = sw.crc.Sum32()
	}
	if _, err := f.WriteAt(h.marshal(), 0); err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	m.stats.Bytes = off
	return nil
}
