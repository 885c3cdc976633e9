package hashset

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// writeSpec writes s to a file in a temporary directory and returns its
// path and contents.
func writeSpec(t *testing.T, s spec) (string, []byte) {
	t.Helper()
	data := s.bytes(t)
	path := filepath.Join(t.TempDir(), "x.idx")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// TestPreloadConcurrent: lookups from several goroutines (Contains and
// ContainsBatch) while another goroutine preloads the mapped file; every
// answer is right before, during and after. Run with -race.
func TestPreloadConcurrent(t *testing.T) {
	s := randomSpec(21, 50_000, 3)
	want := s.ref()
	path, _ := writeSpec(t, s)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	keys := make([]uint64, 0, 2*len(want))
	for k := range want {
		keys = append(keys, k, k^1)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			sets := make([][]int, 64)
			for round := 0; round < 200; round++ {
				off := rng.IntN(len(keys) - 64)
				batch := keys[off : off+64]
				r.ContainsBatch(batch, sets)
				for i, k := range batch {
					ds, in := want[k]
					got, ok := r.Contains(k)
					if ok != in || !slices.Equal(got, ds) || !slices.Equal(sets[i], ds) {
						errs <- errors.New("wrong answer during Preload")
						return
					}
				}
			}
		}()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.Preload(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if r.mem.Load() == nil || !r.preloaded {
		t.Fatal("not preloaded")
	}
}

// TestPreloadChecksum: a flipped bit in KEYS goes unnoticed by Open (which
// is O(1)) but not by Preload, which leaves lookups reading the file.
func TestPreloadChecksum(t *testing.T) {
	s := randomSpec(22, 1000, 2)
	path, data := writeSpec(t, s)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	sec, _ := r.h.section(secKeys)
	r.Close()
	data[sec.Offset+sec.Length/2] ^= 0x10
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := r.mem.Load()
	if err := r.Preload(); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Preload = %v, want ErrChecksum", err)
	}
	if r.mem.Load() != before || r.freePre != nil {
		t.Fatal("a failed Preload changed where lookups read")
	}
}

// TestPreloadClose: lookups after Close report not found, preloaded or not.
func TestPreloadClose(t *testing.T) {
	s := randomSpec(23, 1000, 1)
	want := s.ref()
	path, _ := writeSpec(t, s)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Preload(); err != nil {
		t.Fatal(err)
	}
	if err := r.Preload(); err != nil { // a second call does nothing
		t.Fatal(err)
	}
	var k uint64
	for k = range want {
		break
	}
	if _, ok := r.Contains(k); !ok {
		t.Fatal("present key not found after Preload")
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	sets := make([][]int, 1)
	if _, ok := r.Contains(k); ok || r.ContainsBatch([]uint64{k}, sets) != 0 || sets[0] != nil {
		t.Fatal("found after Close")
	}
}
