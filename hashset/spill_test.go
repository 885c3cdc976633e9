package hashset

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// spillInput adds n seeded keys to b: three datasets that overlap, keys
// repeated within a dataset, five groups, and top bytes skewed so that
// some partitions are empty and others large. It returns each key's
// datasets, the reference the index is checked against.
func spillInput(t *testing.T, b *Builder, n int) map[uint64][]int {
	t.Helper()
	for _, name := range []string{"a", "b", "c"} {
		if _, err := b.AddDataset(Dataset{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	groups := []uint16{b.Group("EG"), b.Group("US"), b.Group("MY"), b.Group("SG"), b.Group("HK")}
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[uint64][]int{}
	var keys []uint64
	for range n {
		var k uint64
		if len(keys) > 0 && rng.IntN(4) == 0 {
			k = keys[rng.IntN(len(keys))] // again, in this dataset or another
		} else {
			k = rng.Uint64()
			if rng.IntN(3) > 0 {
				k = k&^(0xff<<56) | uint64(rng.IntN(8))<<56 // a few crowded partitions
			} else if k>>56 >= 200 {
				k &^= 0x80 << 56 // partitions 200..255 left empty
			}
			keys = append(keys, k)
		}
		d := rng.IntN(3)
		b.Add(k, d, groups[int(k%5)])
		if !slices.Contains(want[k], d) {
			want[k] = append(want[k], d)
			slices.Sort(want[k])
		}
	}
	return want
}

// buildBytes builds spillInput's keys with Write, or with WriteFile,
// whose pass 3 writes the keys in place.
func buildBytes(t *testing.T, opts Options, n int, toFile bool) ([]byte, BuildStats) {
	t.Helper()
	b := NewBuilder(opts)
	spillInput(t, b, n)
	if toFile {
		path := filepath.Join(t.TempDir(), "x.idx")
		st, err := b.WriteFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data, st
	}
	var buf bytes.Buffer
	st, err := b.Write(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

// A bounded build spills, and writes the same bytes as one in memory,
// whatever the number of workers; its temporary files are gone after.
func TestSpillSameBytes(t *testing.T) {
	const n = 120_000
	want, wst := buildBytes(t, Options{KeyScheme: "test", Workers: 1}, n, false)
	if wst.DupWithin == 0 || wst.InSeveral == 0 {
		t.Fatalf("input has no repeats: %+v", wst)
	}
	var dirs []string
	testHookSpillDir = func(d string) { dirs = append(dirs, d) }
	defer func() { testHookSpillDir = nil }()
	for _, tc := range []struct {
		name   string
		opts   Options
		toFile bool
	}{
		{"memory, 3 workers", Options{Workers: 3}, false},
		{"memory, to a file", Options{Workers: 2}, true},
		{"spill, to a file", Options{Memory: 1 << 20, Workers: 2}, true},
		{"spill, 1 worker", Options{Memory: 1 << 20, Workers: 1}, false},
		{"spill, 4 workers", Options{Memory: 2 << 20, Workers: 4}, false},
		{"spill, no bloom", Options{Memory: 1 << 20, Workers: 2, BloomFPR: -1}, false},
	} {
		spillDir := t.TempDir()
		tc.opts.KeyScheme, tc.opts.SpillDir = "test", spillDir
		before := len(dirs)
		got, st := buildBytes(t, tc.opts, n, tc.toFile)
		if tc.opts.Memory > 0 && len(dirs) == before {
			t.Errorf("%s: did not spill", tc.name)
		}
		if tc.opts.BloomFPR < 0 {
			continue // another file; checked below
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, differ from the in-memory build's %d", tc.name, len(got), len(want))
		}
		if st.Unique != wst.Unique || st.DupWithin != wst.DupWithin || st.InSeveral != wst.InSeveral {
			t.Errorf("%s: stats %+v, want %+v", tc.name, st, wst)
		}
		if left, _ := os.ReadDir(spillDir); len(left) > 0 {
			t.Errorf("%s: %d temporary files left", tc.name, len(left))
		}
	}

	// The index holds every key with its datasets.
	b := NewBuilder(Options{KeyScheme: "test", Memory: 1 << 20, SpillDir: t.TempDir()})
	ref := spillInput(t, b, n)
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != int64(len(ref)) {
		t.Fatalf("index holds %d keys, want %d", r.Len(), len(ref))
	}
	bad := 0
	for k, ds := range ref {
		got, ok := r.Contains(k)
		if !ok || !slices.Equal(got, ds) {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d keys missing or with the wrong datasets", bad, len(ref))
	}
}

// A build stopped by its context leaves no spill files.
func TestSpillCancel(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder(Options{KeyScheme: "test", Memory: 1 << 20, SpillDir: dir})
	spillInput(t, b, 50_000)
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Fatalf("%d entries in the spill directory's parent, want the spill directory", len(left))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var buf bytes.Buffer
	if _, err := b.WriteContext(ctx, &buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("%d temporary files left", len(left))
	}

	// Close without Write removes them too.
	b = NewBuilder(Options{KeyScheme: "test", Memory: 1 << 20, SpillDir: dir})
	spillInput(t, b, 50_000)
	b.Close()
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("Close: %d temporary files left", len(left))
	}
}
