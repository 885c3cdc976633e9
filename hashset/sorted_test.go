package hashset

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSortedWriterEqualsBuilder: keys given in order, some several times
// with datasets to merge, give the bytes a Builder gives for them, with
// and without bloom filter; the spill file goes with Close.
func TestSortedWriterEqualsBuilder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	type entry struct {
		key uint64
		ds  []int
	}
	var entries []entry
	for range 50000 {
		var ds []int
		for d := range 3 {
			if rng.IntN(3) == 0 {
				ds = append(ds, d)
			}
		}
		if len(ds) == 0 {
			ds = []int{rng.IntN(3)}
		}
		entries = append(entries, entry{rng.Uint64(), ds})
	}
	// Repeats: the same key again, with another dataset.
	for i := range 500 {
		entries = append(entries, entry{entries[i*7].key, []int{(entries[i*7].ds[0] + 1) % 3}})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	for _, fpr := range []float64{0, -1} {
		dir := t.TempDir()
		opts := Options{KeyScheme: "test-v1", Info: map[string]string{"x": "y"}, Created: "2026-12-06", BloomFPR: fpr}
		b := NewBuilder(opts)
		sp := filepath.Join(dir, "sorted.idx")
		w, err := NewSortedWriter(sp, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"a", "b", "c"} {
			b.AddDataset(Dataset{Name: name, Source: "s"})
			if _, err := w.AddDataset(Dataset{Name: name, Source: "s"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range entries {
			for _, d := range e.ds {
				b.Add(e.key, d, 0)
			}
			if err := w.Add(e.key, e.ds...); err != nil {
				t.Fatal(err)
			}
		}
		bp := filepath.Join(dir, "built.idx")
		bst, err := b.WriteFile(bp)
		if err != nil {
			t.Fatal(err)
		}
		st, err := w.WriteFile(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st.Unique != bst.Unique || st.InSeveral != bst.InSeveral || st.Bytes != bst.Bytes {
			t.Errorf("fpr %v: stats %d keys, %d in several, %d bytes; Builder %d, %d, %d", fpr, st.Unique, st.InSeveral, st.Bytes, bst.Unique, bst.InSeveral, bst.Bytes)
		}
		sameFile(t, sp, bp)
		if err := w.Close(); err != nil {
			t.Error(err)
		}
		noTemp(t, dir)
		es, _ := os.ReadDir(dir)
		if len(es) != 2 {
			t.Errorf("%d files left, want the two indexes", len(es))
		}
	}
}

// TestSortedWriterRefuses: a key below the one before, or an unknown
// dataset, is an error; nothing is written and Close leaves nothing.
func TestSortedWriterRefuses(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.idx")
	w, err := NewSortedWriter(p, Options{KeyScheme: "test-v1"})
	if err != nil {
		t.Fatal(err)
	}
	w.AddDataset(Dataset{Name: "a"})
	if err := w.Add(10, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(9, 0); !errors.Is(err, errOrder) {
		t.Errorf("key out of order: %v", err)
	}
	if _, err := w.WriteFile(context.Background()); !errors.Is(err, errOrder) {
		t.Errorf("WriteFile after a bad Add: %v", err)
	}
	w.Close()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Error("index written after a bad Add")
	}
	noTemp(t, dir)
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("%d files left", len(es))
	}
	w2, _ := NewSortedWriter(p, Options{KeyScheme: "test-v1"})
	defer w2.Close()
	if err := w2.Add(1, 3); err == nil {
		t.Error("unknown dataset accepted")
	}
}
