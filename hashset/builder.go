package hashset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
)

// DefaultBloomFPR is the bloom filter false positive rate used when
// [Options].BloomFPR is 0.
const DefaultBloomFPR = 0.01

// Options configure a [Builder].
type Options struct {
	KeyScheme string            // opaque name of how keys were made, e.g. "sha256-e164-v1"
	Info      map[string]string // opaque: library versions etc.
	Created   string            // optional creation time, stored as is
	// BloomFPR is the bloom filter's target false positive rate: 0 means
	// DefaultBloomFPR, a negative value means no bloom section, values >= 1
	// are taken as 0.5. At 1% the filter costs 1.2 bytes per key.
	BloomFPR float64
}

// Builder collects keys with their provenance and writes an index file.
//
// A Builder is not safe for concurrent use: Add and the other methods must be
// called from one goroutine at a time. Write consumes the Builder: it sorts
// in place, and may be called only once.
//
// Memory: 12 bytes per added key, kept in chunks (adding never copies
// what was added before), and as much again while Write sorts them.
type Builder struct {
	opts     Options
	datasets []Dataset
	names    map[string]int
	groups   []string
	groupIDs map[string]uint16
	kchunks  [][]uint64 // keys as added
	vchunks  [][]uint32 // dataset<<16 | group, alongside
	n        int        // keys added
	added    []int64    // per dataset
	err      error
	written  bool
}

// NewBuilder returns an empty Builder.
func NewBuilder(opts Options) *Builder {
	return &Builder{
		opts:     opts,
		names:    map[string]int{},
		groupIDs: map[string]uint16{},
	}
}

// AddDataset registers a dataset and returns its index, which [Builder.Add]
// takes and [Reader.Contains] returns. Names must be unique; at most
// [MaxDatasets] datasets. Keys and Groups of d are ignored: Write sets them.
func (b *Builder) AddDataset(d Dataset) (int, error) {
	if len(b.datasets) >= MaxDatasets {
		return 0, fmt.Errorf("hashset: more than %d datasets", MaxDatasets)
	}
	if _, dup := b.names[d.Name]; dup {
		return 0, fmt.Errorf("hashset: duplicate dataset name %q", d.Name)
	}
	d.Keys, d.Groups = 0, nil
	b.names[d.Name] = len(b.datasets)
	b.datasets = append(b.datasets, d)
	b.added = append(b.added, 0)
	return len(b.datasets) - 1, nil
}

// Dataset returns dataset i for the caller to fill in (Stats, say) before
// Write. It returns nil if i is out of range.
func (b *Builder) Dataset(i int) *Dataset {
	if i < 0 || i >= len(b.datasets) {
		return nil
	}
	return &b.datasets[i]
}

// Group returns the id of an opaque group name (the caller uses country
// codes), registering it on first use. Past [MaxGroups] names it returns 0
// and Write fails.
func (b *Builder) Group(name string) uint16 {
	if id, ok := b.groupIDs[name]; ok {
		return id
	}
	if len(b.groups) >= MaxGroups {
		b.setErr(fmt.Errorf("hashset: more than %d groups", MaxGroups))
		return 0
	}
	id := uint16(len(b.groups))
	b.groupIDs[name] = id
	b.groups = append(b.groups, name)
	return id
}

func (b *Builder) setErr(err error) {
	if b.err == nil {
		b.err = err
	}
}

// Add adds a key seen in dataset with group. Adding the same key again is
// fine: Write deduplicates and merges provenance. An invalid dataset or group
// makes Write fail. Add is not goroutine-safe.
func (b *Builder) Add(key uint64, dataset int, group uint16) {
	if uint(dataset) >= uint(len(b.datasets)) || int(group) >= len(b.groups) && group != 0 {
		b.setErr(fmt.Errorf("hashset: add: dataset %d or group %d not registered", dataset, group))
		return
	}
	last := len(b.kchunks) - 1
	if last < 0 || len(b.kchunks[last]) == cap(b.kchunks[last]) {
		// Chunks grow from 4096 keys to maxChunk, then stay there.
		c := maxChunk
		if b.n < maxChunk {
			c = max(4096, b.n)
		}
		b.kchunks = append(b.kchunks, make([]uint64, 0, c))
		b.vchunks = append(b.vchunks, make([]uint32, 0, c))
		last++
	}
	b.kchunks[last] = append(b.kchunks[last], key)
	b.vchunks[last] = append(b.vchunks[last], uint32(dataset)<<16|uint32(group))
	b.n++
	b.added[dataset]++
}

// maxChunk is the largest chunk of keys the Builder allocates.
const maxChunk = 1 << 20

// Len returns the number of keys added so far, duplicates included.
func (b *Builder) Len() int { return b.n }

// sorted returns the added keys sorted, with their values, stably, and
// drops the chunks. Large inputs are scattered by their top byte straight
// from the chunks (each freed once scattered), then each of the 256
// buckets is sorted with scratch the size of the largest bucket: the peak
// is twice the keys, never three times.
func (b *Builder) sorted() ([]uint64, []uint32) {
	n := b.n
	if n >= 1<<22 {
		// What the caller allocated while adding is garbage by now, and
		// the heap may hold as much of it as the chunks: collect it before
		// the largest allocation of the build, so that the peak is the
		// chunks and the sorted copy, not that plus garbage.
		runtime.GC()
	}
	keys, vals := make([]uint64, n), make([]uint32, n)
	if n < 1<<16 {
		off := 0
		for i, c := range b.kchunks {
			copy(keys[off:], c)
			copy(vals[off:], b.vchunks[i])
			off += len(c)
		}
		b.kchunks, b.vchunks = nil, nil
		radixSort(keys, vals, make([]uint64, n), make([]uint32, n))
		return keys, vals
	}
	var counts [256]int
	for _, c := range b.kchunks {
		for _, k := range c {
			counts[k>>56]++
		}
	}
	var offs [257]int
	largest := 0
	for i, c := range counts {
		offs[i+1] = offs[i] + c
		largest = max(largest, c)
	}
	next := offs
	for ci, c := range b.kchunks {
		vc := b.vchunks[ci]
		for i, k := range c {
			o := next[k>>56]
			keys[o], vals[o] = k, vc[i]
			next[k>>56] = o + 1
		}
		b.kchunks[ci], b.vchunks[ci] = nil, nil
	}
	b.kchunks, b.vchunks = nil, nil
	tk, tv := make([]uint64, largest), make([]uint32, largest)
	for bk := 0; bk < 256; bk++ {
		s, e := offs[bk], offs[bk+1]
		if !lsdSort(keys[s:e], vals[s:e], tk[:e-s], tv[:e-s], 7) {
			copy(keys[s:e], tk[:e-s])
			copy(vals[s:e], tv[:e-s])
		}
	}
	return keys, vals
}

// BuildStats reports what Write did.
type BuildStats struct {
	Added      int64 // keys added, duplicates included
	Unique     int64 // distinct keys written
	DupWithin  int64 // a key added again in a dataset that already had it
	InSeveral  int64 // distinct keys present in more than one dataset
	Bytes      int64 // file size
	PerDataset []DatasetStats
	Meta       *Meta // the header written: datasets with their Keys and Groups, Groups
}

// DatasetStats are the per-dataset figures of [BuildStats].
type DatasetStats struct {
	Name      string
	Added     int64 // keys added to this dataset
	Keys      int64 // distinct keys of this dataset
	DupWithin int64 // repeated keys within this dataset
}

// WriteFile writes the index to path atomically: it writes a temporary file
// in the same directory with permissions 0600 (an index is as sensitive as
// its datasets), syncs it, and renames it over path. On error the temporary
// file is removed and path is untouched.
func (b *Builder) WriteFile(path string) (st BuildStats, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return st, fmt.Errorf("hashset: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return st, fmt.Errorf("hashset: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if st, err = b.Write(bw); err != nil {
		return st, err
	}
	if err = bw.Flush(); err != nil {
		return st, fmt.Errorf("hashset: %w", err)
	}
	if testHookBeforeRename != nil {
		if err = testHookBeforeRename(); err != nil {
			return st, err
		}
	}
	if err = f.Sync(); err != nil {
		return st, fmt.Errorf("hashset: %w", err)
	}
	if err = f.Close(); err != nil {
		return st, fmt.Errorf("hashset: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return st, fmt.Errorf("hashset: %w", err)
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable; best effort
		d.Sync()
		d.Close()
	}
	return st, nil
}

// testHookBeforeRename lets tests make WriteFile fail after writing.
var testHookBeforeRename func() error

// Write sorts and deduplicates the keys, merges their provenance, and writes
// the index to w. It may be called once.
func (b *Builder) Write(w io.Writer) (BuildStats, error) {
	var st BuildStats
	if b.err != nil {
		return st, b.err
	}
	if b.written {
		return st, errors.New("hashset: Write called twice")
	}
	b.written = true
	bt, st := b.build()
	if bt.meta.Keys > maxKeys {
		return st, fmt.Errorf("hashset: %d keys, more than the %d an index holds", bt.meta.Keys, int64(maxKeys))
	}
	n, err := bt.encode(w)
	st.Bytes = n
	return st, err
}

func (b *Builder) build() (*built, BuildStats) {
	nd, ng := len(b.datasets), len(b.groups)
	if ng == 0 {
		ng = 1
	}
	st := BuildStats{Added: int64(b.n)}
	keys, vals := b.sorted()

	// Per-dataset, per-group counts: dense when small, a map otherwise.
	var dense []int64
	sparse := map[uint32]int64{}
	if nd*ng <= 1<<22 {
		dense = make([]int64, nd*ng)
	}
	count := func(d, g uint32) {
		if dense != nil {
			dense[int(d)*ng+int(g)]++
		} else {
			sparse[d<<16|g]++
		}
	}
	dsKeys := make([]int64, nd)
	dsDup := make([]int64, nd)
	groupKeys := make([]int64, ng)

	single := make([]int32, nd) // set id of {d}, or -1
	for i := range single {
		single[i] = -1
	}
	var sets [][]uint16
	multi := map[string]uint32{}
	seen := make([]int, nd) // run stamp per dataset
	var scratch []uint16
	var skey []byte

	u := 0
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		var id uint32
		g0 := vals[i] & 0xffff
		groupKeys[g0]++
		if j-i == 1 {
			d := vals[i] >> 16
			if single[d] < 0 {
				single[d] = int32(len(sets))
				sets = append(sets, []uint16{uint16(d)})
			}
			id = uint32(single[d])
			dsKeys[d]++
			count(d, g0)
		} else {
			stamp := i + 1
			scratch = scratch[:0]
			for x := i; x < j; x++ {
				d := vals[x] >> 16
				if seen[d] == stamp {
					st.DupWithin++
					dsDup[d]++
					continue
				}
				seen[d] = stamp
				scratch = append(scratch, uint16(d))
				dsKeys[d]++
				count(d, vals[x]&0xffff)
			}
			if len(scratch) == 1 {
				d := scratch[0]
				if single[d] < 0 {
					single[d] = int32(len(sets))
					sets = append(sets, []uint16{d})
				}
				id = uint32(single[d])
			} else {
				st.InSeveral++
				slices.Sort(scratch)
				skey = skey[:0]
				for _, d := range scratch {
					skey = append(skey, byte(d), byte(d>>8))
				}
				var ok bool
				if id, ok = multi[string(skey)]; !ok {
					id = uint32(len(sets))
					multi[string(skey)] = id
					sets = append(sets, slices.Clone(scratch))
				}
			}
		}
		keys[u], vals[u] = keys[i], id
		u++
		i = j
	}
	keys, vals = keys[:u:u], vals[:u:u]
	st.Unique = int64(u)

	meta := &Meta{
		FormatVersion: FormatVersion,
		KeyScheme:     b.opts.KeyScheme,
		Keys:          int64(u),
		Created:       b.opts.Created,
		Info:          b.opts.Info,
		Datasets:      slices.Clone(b.datasets),
	}
	if meta.Datasets == nil {
		meta.Datasets = []Dataset{}
	}
	groupName := func(g int) string {
		if g < len(b.groups) {
			return b.groups[g]
		}
		return ""
	}
	for g, c := range groupKeys {
		if c > 0 && g < len(b.groups) {
			if meta.Groups == nil {
				meta.Groups = map[string]int64{}
			}
			meta.Groups[groupName(g)] = c
		}
	}
	for d := range meta.Datasets {
		ds := &meta.Datasets[d]
		ds.Keys = dsKeys[d]
		for g := 0; g < len(b.groups); g++ {
			var c int64
			if dense != nil {
				c = dense[d*ng+g]
			} else {
				c = sparse[uint32(d)<<16|uint32(g)]
			}
			if c > 0 {
				if ds.Groups == nil {
					ds.Groups = map[string]int64{}
				}
				ds.Groups[b.groups[g]] = c
			}
		}
		st.PerDataset = append(st.PerDataset, DatasetStats{
			Name: ds.Name, Added: b.added[d], Keys: ds.Keys, DupWithin: dsDup[d],
		})
	}

	st.Meta = meta
	bt := &built{keys: keys, ids: vals, sets: sets, meta: meta}
	bt.b = chooseDirBits(uint64(u))
	bt.w = suffixBytes(bt.b)
	bt.idw = idBytes(len(sets))
	bt.dir = make([]uint32, 1<<bt.b+1)
	shift := 64 - bt.b
	for _, k := range keys {
		bt.dir[(k>>shift)+1]++
	}
	for i := 1; i < len(bt.dir); i++ {
		bt.dir[i] += bt.dir[i-1]
	}
	fpr := b.opts.BloomFPR
	if fpr == 0 {
		fpr = DefaultBloomFPR
	}
	if fpr > 0 {
		if fpr >= 1 {
			fpr = 0.5
		}
		bt.words, bt.m, bt.k = buildBloom(keys, fpr)
		meta.BloomFPR, meta.BloomBits, meta.BloomHashes = fpr, bt.m, int(bt.k)
	}
	meta.DirBits, meta.SuffixBytes, meta.SetIDBytes, meta.Sets = bt.b, bt.w, bt.idw, len(sets)
	return bt, st
}
