package hashset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// DefaultBloomFPR is the bloom filter false positive rate used when
// [Options].BloomFPR is 0. At 4% the filter costs 0.84 bytes a key and 5
// hash functions (at 1%: 1.2 bytes and 7), which keeps an index of 487M
// keys under 6 bytes a key (5.97; 6.34 at 1%); absent keys that pass it,
// 4% of them instead of 1%, go on to search the keys, and measured cold
// and warm the smaller filter answers the rest no slower.
const DefaultBloomFPR = 0.04

// Options configure a [Builder].
type Options struct {
	KeyScheme string            // opaque name of how keys were made, e.g. "sha256-e164-v1"
	Info      map[string]string // opaque: library versions etc.
	Created   string            // optional creation time, stored as is
	// BloomFPR is the bloom filter's target false positive rate: 0 means
	// DefaultBloomFPR, a negative value means no bloom section, values >= 1
	// are taken as 0.5. At 4% the filter costs 0.84 bytes per key, at 1%
	// 1.2.
	BloomFPR float64
	// Memory bounds the bytes the Builder holds for its keys, their sort
	// and the bloom filter; 0 means no bound. Past a share of it, added
	// keys are spilled to files under SpillDir and read back by Write, one
	// 256th of the keys at a time, so that memory stays bounded whatever
	// the number of keys. The file written is the same, byte for byte.
	Memory int64
	// SpillDir is the directory where a bounded Builder makes its own
	// owner-only temporary directory, removed by Write and by Close; ""
	// means os.TempDir. Put it on the disk of the output.
	SpillDir string
	// Workers is the number of goroutines sorting, deduplicating and
	// encoding in Write; 0 means GOMAXPROCS.
	Workers int
}

// Builder collects keys with their provenance and writes an index file.
//
// A Builder is not safe for concurrent use: Add and the other methods must be
// called from one goroutine at a time. Write consumes the Builder: it sorts
// in place, and may be called only once; Write or Close must be called, or
// a bounded Builder's temporary files stay on disk.
//
// Memory: 12 bytes per added key, kept in chunks by the key's top byte
// (adding never copies what was added before), unless Options.Memory
// bounds it. Write sorts and deduplicates each top byte's keys on its own,
// on all cores, and the result takes 5 to 10 bytes per distinct key until
// it is written, plus the bloom filter.
type Builder struct {
	opts     Options
	datasets []Dataset
	names    map[string]int
	groups   []string
	groupIDs map[string]uint16
	parts    [numParts]part // keys as added, by top byte
	n        int            // keys added
	added    []int64        // per dataset
	mem      int64          // bytes of the chunks in parts
	spill    *spill         // nil until the first spill
	// spillFailed stops spilling after an error (a full disk, say).
	spillFailed bool
	err         error
	written     bool
}

// numParts is the number of partitions of the keys, by their top byte:
// each is sorted, deduplicated and encoded on its own.
const numParts = 256

// part holds the keys added with one top byte, in the order added: first
// those spilled to a run file (spilled of them), then the chunks.
type part struct {
	kc      [][]uint64
	vc      [][]uint32 // dataset<<16 | group, alongside
	n       int        // keys in kc
	spilled int64
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
	p := &b.parts[key>>56]
	last := len(p.kc) - 1
	if last < 0 || len(p.kc[last]) == cap(p.kc[last]) {
		// Chunks grow from 64 keys to maxChunk, then stay there.
		c := min(maxChunk, max(64, p.n))
		p.kc = append(p.kc, make([]uint64, 0, c))
		p.vc = append(p.vc, make([]uint32, 0, c))
		b.mem += int64(c) * 12
		last++
	}
	p.kc[last] = append(p.kc[last], key)
	p.vc[last] = append(p.vc[last], uint32(dataset)<<16|uint32(group))
	p.n++
	b.n++
	b.added[dataset]++
	if b.opts.Memory > 0 && b.mem > b.bufferLimit() && !b.spillFailed {
		if err := b.spillParts(); err != nil {
			// Write fails with err; until then, no more attempts, each
			// as slow as the first to fail.
			b.setErr(err)
			b.spillFailed = true
		}
	}
}

// maxChunk is the largest chunk of keys a partition allocates.
const maxChunk = 1 << 16

// Len returns the number of keys added so far, duplicates included.
func (b *Builder) Len() int { return b.n }

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
func (b *Builder) WriteFile(path string) (BuildStats, error) {
	return b.WriteFileContext(context.Background(), path)
}

// WriteFileContext is WriteFile stopped by ctx: once ctx is done it
// returns ctx's error, having removed its temporary files.
func (b *Builder) WriteFileContext(ctx context.Context, path string) (st BuildStats, err error) {
	defer b.Close()
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
	if st, err = b.write(ctx, nil, f); err != nil {
		return st, err
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
	return b.WriteContext(context.Background(), w)
}

// WriteContext is Write stopped by ctx: once ctx is done it returns ctx's
// error, having removed its temporary files (what it wrote to w is then
// not an index).
func (b *Builder) WriteContext(ctx context.Context, w io.Writer) (BuildStats, error) {
	return b.write(ctx, w, nil)
}

// write writes the index to w, or to f, a new empty file, with pass 3
// writing its largest sections in place, on all cores.
func (b *Builder) write(ctx context.Context, w io.Writer, f *os.File) (BuildStats, error) {
	defer b.Close()
	var st BuildStats
	if b.err != nil {
		return st, b.err
	}
	if b.written {
		return st, errors.New("hashset: Write called twice")
	}
	b.written = true
	bt, st, err := b.build(ctx, f)
	if bt != nil {
		defer bt.release()
	}
	if err != nil {
		return st, err
	}
	var n int64
	if f != nil {
		n, err = bt.encodeAt(f)
	} else {
		n, err = bt.encode(w)
	}
	st.Bytes = n
	return st, err
}

// Close drops what the Builder holds and removes its temporary files. It
// may be called more than once, and after Write.
func (b *Builder) Close() error {
	if !b.written {
		b.written = true
		b.setErr(errors.New("hashset: Builder closed"))
	}
	for i := range b.parts {
		b.parts[i] = part{}
	}
	b.mem = 0
	if b.spill != nil {
		err := b.spill.remove()
		b.spill = nil
		return err
	}
	return nil
}
