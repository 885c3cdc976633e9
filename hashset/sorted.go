package hashset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// SortedWriter writes an index from keys given in ascending order, in
// memory independent of their number: each distinct key goes with the id
// of its dataset set to a spill file next to the output (12 bytes a key,
// owner-only), and [SortedWriter.WriteFile] writes the index from it once
// the count is known, as [MergeFile] writes. The index's bytes are those
// a [Builder] with the same options writes when given the same keys and
// datasets (and no groups: a SortedWriter has none).
//
// Close must be called (after WriteFile too): it removes the spill file.
// A SortedWriter is not safe for concurrent use.
type SortedWriter struct {
	opts     Options
	path     string
	datasets []Dataset
	names    map[string]bool
	spill    *os.File
	bw       *bufio.Writer
	sets     [][]uint16
	setIDs   map[string]uint32
	setKeys  []int64
	n        int64
	added    bool
	last     uint64
	pending  []uint16 // datasets of key last, sorted
	scratch  []byte
	err      error
}

// NewSortedWriter returns a SortedWriter for the index at path; its spill
// file is created in path's directory.
func NewSortedWriter(path string, opts Options) (*SortedWriter, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".spill*")
	if err != nil {
		return nil, fmt.Errorf("hashset: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("hashset: %w", err)
	}
	return &SortedWriter{opts: opts, path: path, names: map[string]bool{}, spill: f,
		bw: bufio.NewWriterSize(f, 1<<20), setIDs: map[string]uint32{}}, nil
}

// AddDataset registers a dataset, as [Builder.AddDataset] does.
func (w *SortedWriter) AddDataset(d Dataset) (int, error) {
	if len(w.datasets) >= MaxDatasets {
		return 0, fmt.Errorf("hashset: more than %d datasets", MaxDatasets)
	}
	if w.names[d.Name] {
		return 0, fmt.Errorf("hashset: duplicate dataset name %q", d.Name)
	}
	d.Keys, d.Groups = 0, nil
	w.names[d.Name] = true
	w.datasets = append(w.datasets, d)
	return len(w.datasets) - 1, nil
}

// errOrder is the error of a key added below the one before it.
var errOrder = errors.New("hashset: keys added out of order")

// Add adds key, held by the datasets given. Keys must come in ascending
// order; a key equal to the one before merges its datasets with it.
func (w *SortedWriter) Add(key uint64, datasets ...int) error {
	if w.err != nil {
		return w.err
	}
	for _, d := range datasets {
		if uint(d) >= uint(len(w.datasets)) {
			w.err = fmt.Errorf("hashset: add: dataset %d not registered", d)
			return w.err
		}
	}
	if w.added && key == w.last {
		for _, d := range datasets {
			if !slices.Contains(w.pending, uint16(d)) {
				w.pending = append(w.pending, uint16(d))
			}
		}
		slices.Sort(w.pending)
		return nil
	}
	if w.added && key < w.last {
		w.err = errOrder
		return w.err
	}
	if err := w.flush(); err != nil {
		return err
	}
	w.added, w.last = true, key
	w.pending = w.pending[:0]
	for _, d := range datasets {
		if !slices.Contains(w.pending, uint16(d)) {
			w.pending = append(w.pending, uint16(d))
		}
	}
	slices.Sort(w.pending)
	return nil
}

// flush writes the pending key with its set, numbering a new set.
func (w *SortedWriter) flush() error {
	if !w.added || len(w.pending) == 0 {
		return nil
	}
	w.scratch = w.scratch[:0]
	for _, d := range w.pending {
		w.scratch = strconv.AppendUint(w.scratch, uint64(d), 10)
		w.scratch = append(w.scratch, ',')
	}
	id, ok := w.setIDs[string(w.scratch)]
	if !ok {
		id = uint32(len(w.sets))
		w.setIDs[string(w.scratch)] = id
		w.sets = append(w.sets, slices.Clone(w.pending))
		w.setKeys = append(w.setKeys, 0)
	}
	w.setKeys[id]++
	w.n++
	var rec [12]byte
	le.PutUint64(rec[:], w.last)
	le.PutUint32(rec[8:], id)
	if _, err := w.bw.Write(rec[:]); err != nil {
		w.err = fmt.Errorf("hashset: spill: %w", err)
		return w.err
	}
	return nil
}

// Len returns the number of distinct keys added so far.
func (w *SortedWriter) Len() int64 {
	if w.added && len(w.pending) > 0 {
		return w.n + 1
	}
	return w.n
}

// WriteFile writes the index to the path given to [NewSortedWriter],
// atomically (see [Builder.WriteFile]). It may be called once.
func (w *SortedWriter) WriteFile(ctx context.Context) (BuildStats, error) {
	var st BuildStats
	if w.err != nil {
		return st, w.err
	}
	if err := w.flush(); err != nil {
		return st, err
	}
	w.added = false
	if err := w.bw.Flush(); err != nil {
		return st, fmt.Errorf("hashset: spill: %w", err)
	}
	if w.n > maxKeys {
		return st, fmt.Errorf("hashset: %d keys, more than the %d an index holds", w.n, int64(maxKeys))
	}
	meta := &Meta{
		FormatVersion: FormatVersion,
		KeyScheme:     w.opts.KeyScheme,
		Keys:          w.n,
		Created:       w.opts.Created,
		Info:          w.opts.Info,
		Datasets:      slices.Clone(w.datasets),
	}
	if meta.Datasets == nil {
		meta.Datasets = []Dataset{}
	}
	for id, s := range w.sets {
		for _, d := range s {
			meta.Datasets[d].Keys += w.setKeys[id]
		}
	}
	m := &merger{sets: w.sets, meta: meta}
	m.stats.Unique, m.stats.SetKeys = w.n, w.setKeys
	fpr := w.opts.BloomFPR
	if fpr == 0 {
		fpr = DefaultBloomFPR
	}
	if err := m.layout(fpr); err != nil {
		return st, err
	}
	err := writeIndexFile(w.path, func(f *os.File) error {
		return m.write(ctx, f, w.replay(ctx))
	})
	if err != nil {
		return st, err
	}
	st = BuildStats{Added: w.n, Unique: w.n, Bytes: m.stats.Bytes, Meta: meta}
	for id, s := range w.sets {
		if len(s) > 1 {
			st.InSeveral += w.setKeys[id]
		}
	}
	for _, d := range meta.Datasets {
		st.PerDataset = append(st.PerDataset, DatasetStats{Name: d.Name, Added: d.Keys, Keys: d.Keys})
	}
	return st, nil
}

// replay reads the spill file back, front to back.
func (w *SortedWriter) replay(ctx context.Context) func(fn func(key uint64, id uint32) error) error {
	return func(fn func(key uint64, id uint32) error) error {
		if _, err := w.spill.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("hashset: spill: %w", err)
		}
		br := bufio.NewReaderSize(w.spill, 1<<20)
		var rec [12]byte
		for i := int64(0); i < w.n; i++ {
			if i%mergeCheckEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if _, err := io.ReadFull(br, rec[:]); err != nil {
				return fmt.Errorf("hashset: spill: %w", err)
			}
			if err := fn(le.Uint64(rec[:]), le.Uint32(rec[8:])); err != nil {
				return err
			}
		}
		return nil
	}
}

// Close removes the spill file. The index, if written, stays.
func (w *SortedWriter) Close() error {
	if w.spill == nil {
		return nil
	}
	w.spill.Close()
	err := os.Remove(w.spill.Name())
	w.spill = nil
	if w.err == nil {
		w.err = errors.New("hashset: SortedWriter closed")
	}
	return err
}
