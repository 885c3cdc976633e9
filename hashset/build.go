package hashset

// The build, on all cores: the keys are partitioned by their top byte as
// they are added, so each partition is sorted, deduplicated and encoded on
// its own, by whichever worker takes it, and the partitions in order are
// the sorted keys. Three passes:
//
//  1. sort and deduplicate each partition; number its dataset sets in the
//     order they first appear in it (sortPart);
//  2. number the sets over the whole index, partition after partition,
//     which gives the same ids as one pass over all the keys would, and
//     size the file (build);
//  3. encode each partition's suffixes and set ids, count its directory
//     buckets, add its keys to the bloom filter, which the workers share
//     (encodePart).
//
// A bounded Builder keeps what each pass makes in spill files, so that
// its memory holds a few partitions and the bloom filter at a time.

import (
	"context"
	"fmt"
	"hash/crc32"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// partOut is what the passes make of one partition.
type partOut struct {
	n      int        // distinct keys
	keys   []uint64   // sorted, distinct (pass 1, in memory)
	ids    []uint32   // their set ids: local in pass 1, global in pass 3
	sets   [][]uint16 // local sets, in the order they first appear
	remap  []uint32   // local set id -> global set id
	kb, ib []byte     // encoded suffixes and set ids (pass 3, in memory)
	kcrc   uint32     // CRC-32C of kb
	icrc   uint32     // CRC-32C of ib
	onDisk bool       // keys and ids, then kb and ib, are in spill files
	start  int64      // index of the partition's first key in the file
}

// counts are one worker's per-dataset and per-group counts, summed over
// the workers at the end.
type counts struct {
	nd, ng    int
	dense     []int64 // dataset*ng + group, when small
	sparse    map[uint32]int64
	dsKeys    []int64
	dsDup     []int64
	groupKeys []int64
	dupWithin int64
	inSeveral int64
	// scratch of sortPart
	seen    []int
	stamp   int
	scratch []uint16
	skey    []byte
	tk      []uint64
	tv      []uint32
}

func newCounts(nd, ng int) *counts {
	c := &counts{nd: nd, ng: ng, sparse: map[uint32]int64{},
		dsKeys: make([]int64, nd), dsDup: make([]int64, nd), groupKeys: make([]int64, ng),
		seen: make([]int, nd)}
	if nd*ng <= 1<<20 {
		c.dense = make([]int64, nd*ng)
	}
	return c
}

func (c *counts) count(d, g uint32) {
	if c.dense != nil {
		c.dense[int(d)*c.ng+int(g)]++
	} else {
		c.sparse[d<<16|g]++
	}
}

func (c *counts) get(d, g int) int64 {
	if c.dense != nil {
		return c.dense[d*c.ng+g]
	}
	return c.sparse[uint32(d)<<16|uint32(g)]
}

// workers returns the number of goroutines the build uses.
func (b *Builder) workers() int {
	if b.opts.Workers > 0 {
		return b.opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// parallel calls f(w, i) for every i in [0, n) on workers goroutines (w is
// the goroutine's number), taking the i in increasing order. The first
// error, or ctx's, stops it and is returned.
func parallel(ctx context.Context, n, workers int, f func(w, i int) error) error {
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for w := range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				err := ctx.Err()
				if err == nil {
					err = f(w, i)
				}
				if err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// sortPart is pass 1 on partition i: its keys read back (from its run
// file, then its chunks), sorted, deduplicated, their sets numbered.
func (b *Builder) sortPart(i int, c *counts, out *partOut) error {
	p := b.parts[i]
	b.parts[i] = part{}
	n := int(p.spilled) + p.n
	if n == 0 {
		return nil
	}
	keys, vals := make([]uint64, n), make([]uint32, n)
	off := int(p.spilled)
	if off > 0 {
		if err := readRecords(b.spill.path("run", i), keys[:off], vals[:off]); err != nil {
			return err
		}
	}
	for ci, k := range p.kc {
		copy(keys[off:], k)
		copy(vals[off:], p.vc[ci])
		off += len(k)
	}
	p.kc, p.vc = nil, nil
	if len(c.tk) < n {
		c.tk, c.tv = make([]uint64, n), make([]uint32, n)
	}
	if !lsdSort(keys, vals, c.tk[:n], c.tv[:n], 7) {
		keys, c.tk = c.tk[:n], keys
		vals, c.tv = c.tv[:n], vals
	}

	single := make([]int32, c.nd) // local id of the set {d}, or -1
	for d := range single {
		single[d] = -1
	}
	multi := map[string]uint32{}
	local := func(s []uint16) uint32 {
		if len(s) == 1 {
			d := s[0]
			if single[d] < 0 {
				single[d] = int32(len(out.sets))
				out.sets = append(out.sets, []uint16{d})
			}
			return uint32(single[d])
		}
		c.skey = c.skey[:0]
		for _, d := range s {
			c.skey = append(c.skey, byte(d), byte(d>>8))
		}
		id, ok := multi[string(c.skey)]
		if !ok {
			id = uint32(len(out.sets))
			multi[string(c.skey)] = id
			out.sets = append(out.sets, slices.Clone(s))
		}
		return id
	}
	u := 0
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j] == keys[i] {
			j++
		}
		var id uint32
		g0 := vals[i] & 0xffff
		c.groupKeys[g0]++
		if j-i == 1 {
			d := vals[i] >> 16
			c.dsKeys[d]++
			c.count(d, g0)
			if single[d] < 0 {
				single[d] = int32(len(out.sets))
				out.sets = append(out.sets, []uint16{uint16(d)})
			}
			id = uint32(single[d])
		} else {
			c.stamp++
			c.scratch = c.scratch[:0]
			for x := i; x < j; x++ {
				d := vals[x] >> 16
				if c.seen[d] == c.stamp {
					c.dupWithin++
					c.dsDup[d]++
					continue
				}
				c.seen[d] = c.stamp
				c.scratch = append(c.scratch, uint16(d))
				c.dsKeys[d]++
				c.count(d, vals[x]&0xffff)
			}
			if len(c.scratch) > 1 {
				c.inSeveral++
				slices.Sort(c.scratch)
			}
			id = local(c.scratch)
		}
		keys[u], vals[u] = keys[i], id
		u++
		i = j
	}
	out.n = u
	if b.spill != nil {
		out.onDisk = true
		return writeRecords(b.spill.path("sorted", i), keys[:u], vals[:u])
	}
	out.keys, out.ids = keys[:u:u], vals[:u:u]
	return nil
}

// build runs the three passes and returns the content to encode. With
// dst, pass 3 writes the KEYS and IDS sections into it, at their place.
func (b *Builder) build(ctx context.Context, dst *os.File) (*built, BuildStats, error) {
	nd, ng := len(b.datasets), len(b.groups)
	if ng == 0 {
		ng = 1
	}
	st := BuildStats{Added: int64(b.n)}
	workers := b.workers()
	cs := make([]*counts, workers)
	for w := range cs {
		cs[w] = newCounts(nd, ng)
	}
	outs := make([]partOut, numParts)
	b.mem = 0
	if err := parallel(ctx, numParts, workers, func(w, i int) error {
		return b.sortPart(i, cs[w], &outs[i])
	}); err != nil {
		return nil, st, err
	}

	// Pass 2: the sets over the whole index, and the counts.
	var sets [][]uint16
	ids := map[string]uint32{}
	var key []byte
	u := 0
	for i := range outs {
		o := &outs[i]
		u += o.n
		o.remap = make([]uint32, len(o.sets))
		for j, s := range o.sets {
			key = key[:0]
			for _, d := range s {
				key = append(key, byte(d), byte(d>>8))
			}
			id, ok := ids[string(key)]
			if !ok {
				id = uint32(len(sets))
				ids[string(key)] = id
				sets = append(sets, s)
			}
			o.remap[j] = id
		}
		o.sets = nil
	}
	st.Unique = int64(u)
	if u > maxKeys {
		return nil, st, fmt.Errorf("hashset: %d keys, more than the %d an index holds", u, int64(maxKeys))
	}
	dsKeys := make([]int64, nd)
	dsDup := make([]int64, nd)
	groupKeys := make([]int64, ng)
	for _, c := range cs {
		st.DupWithin += c.dupWithin
		st.InSeveral += c.inSeveral
		for d := range nd {
			dsKeys[d] += c.dsKeys[d]
			dsDup[d] += c.dsDup[d]
		}
		for g := range ng {
			groupKeys[g] += c.groupKeys[g]
		}
	}

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
	for g, n := range groupKeys {
		if n > 0 && g < len(b.groups) {
			if meta.Groups == nil {
				meta.Groups = map[string]int64{}
			}
			meta.Groups[b.groups[g]] = n
		}
	}
	for d := range meta.Datasets {
		ds := &meta.Datasets[d]
		ds.Keys = dsKeys[d]
		for g := 0; g < len(b.groups); g++ {
			var n int64
			for _, c := range cs {
				n += c.get(d, g)
			}
			if n > 0 {
				if ds.Groups == nil {
					ds.Groups = map[string]int64{}
				}
				ds.Groups[b.groups[g]] = n
			}
		}
		st.PerDataset = append(st.PerDataset, DatasetStats{
			Name: ds.Name, Added: b.added[d], Keys: ds.Keys, DupWithin: dsDup[d],
		})
	}
	st.Meta = meta

	bt := &built{parts: outs, sets: sets, meta: meta, spill: b.spill}
	bt.b = chooseDirBits(uint64(u))
	bt.w = suffixBytes(bt.b)
	bt.idw = idBytes(len(sets))
	bt.dir = make([]uint32, 1<<bt.b+1)
	fpr := b.opts.BloomFPR
	if fpr == 0 {
		fpr = DefaultBloomFPR
	}
	if fpr > 0 {
		if fpr >= 1 {
			fpr = 0.5
		}
		bt.m, bt.k = bloomSize(int64(u), fpr)
		// Outside the Go heap, on huge pages where the system has them:
		// a filter larger than the caches costs a miss a bit set, and
		// with 4 KiB pages a TLB miss too.
		nw := int(bloomWords(bt.m))
		if p, free, err := allocLarge(nw * 8); err == nil {
			bt.words, bt.freeWords = unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(p))), nw), free
		} else {
			bt.words = make([]uint64, nw)
		}
		bt.fill = newBloomFill(bt.words, bt.m, bt.k, workers)
		meta.BloomFPR, meta.BloomBits, meta.BloomHashes = fpr, bt.m, int(bt.k)
	}
	meta.DirBits, meta.SuffixBytes, meta.SetIDBytes, meta.Sets = bt.b, bt.w, bt.idw, len(sets)
	if err := bt.plan(ctx); err != nil {
		return bt, st, err
	}
	bt.dst = dst

	// Pass 3.
	if err := parallel(ctx, numParts, workers, func(w, i int) error {
		return bt.encodePart(i)
	}); err != nil {
		return bt, st, err // for its release
	}
	for i := 1; i < len(bt.dir); i++ {
		bt.dir[i] += bt.dir[i-1]
	}
	return bt, st, nil
}

// encodePart is pass 3 on partition i.
func (bt *built) encodePart(i int) error {
	o := &bt.parts[i]
	if o.n == 0 {
		return nil
	}
	keys, ids := o.keys, o.ids
	if o.onDisk {
		keys, ids = make([]uint64, o.n), make([]uint32, o.n)
		if err := readRecords(bt.spill.path("sorted", i), keys, ids); err != nil {
			return err
		}
	}
	o.keys, o.ids = nil, nil
	shift := 64 - bt.b
	for _, k := range keys {
		bt.dir[(k>>shift)+1]++ // the partition's own stretch of the directory
	}
	if bt.fill != nil {
		bt.fill.Add(keys)
	}
	kb := make([]byte, o.n*bt.w+8)
	mask := uint64(1)<<shift - 1
	p := 0
	for _, k := range keys {
		le.PutUint64(kb[p:], k&mask)
		p += bt.w
	}
	kb = kb[:p]
	o.kcrc = crc32.Checksum(kb, castagnoli)
	var ib []byte
	if bt.idw > 0 {
		ib = make([]byte, o.n*bt.idw+4)
		p := 0
		for _, id := range ids {
			le.PutUint32(ib[p:], o.remap[id])
			p += bt.idw
		}
		ib = ib[:p]
		o.icrc = crc32.Checksum(ib, castagnoli)
	}
	switch {
	case bt.dst != nil:
		if _, err := bt.dst.WriteAt(kb, bt.sectionOffset(secKeys)+o.start*int64(bt.w)); err != nil {
			return fmt.Errorf("hashset: %w", err)
		}
		if _, err := bt.dst.WriteAt(ib, bt.sectionOffset(secIDs)+o.start*int64(bt.idw)); err != nil {
			return fmt.Errorf("hashset: %w", err)
		}
		return nil
	case !o.onDisk:
		o.kb, o.ib = kb, ib
		return nil
	}
	return writeEncoded(bt.spill.path("enc", i), kb, ib)
}

// writeEncoded writes a partition's encoded suffixes and ids to path.
func writeEncoded(path string, kb, ib []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("hashset: spill: %w", err)
	}
	_, err = f.Write(kb)
	if err == nil {
		_, err = f.Write(ib)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("hashset: spill: %w", err)
	}
	return nil
}
