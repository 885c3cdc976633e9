package private

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/hashset"
)

// TestSealFileStreams: SealFile, which streams the sealed keys through a
// spill file, writes Seal's bytes (which sorts them all in memory), for
// bucket widths below, at and above the width of the ranges it reads;
// its spill file is gone afterwards, and after a cancelled seal.
func TestSealFileStreams(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	nums := fictionalSpace()
	plain := testPlainIndex(t, testDS{"leak-a", nums[:20000]}, testDS{"leak-b", nums[15000:30000]})
	for _, bits := range []int{8, 12, 20} {
		dir := t.TempDir()
		opts := SealOptions{Key: k, BucketBits: bits, Workers: 2, Created: "2026-01-01"}
		var buf bytes.Buffer
		if _, err := Seal(context.Background(), plain, &buf, opts); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "p.idx")
		rep, err := SealFile(context.Background(), plain, p, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("bits %d: SealFile's %d bytes differ from Seal's %d", bits, len(got), buf.Len())
		}
		if rep.Keys != 30000-rep.Collisions || rep.PlainKeys != 30000 {
			t.Errorf("bits %d: report %+v", bits, rep)
		}
		if es, _ := os.ReadDir(dir); len(es) != 1 {
			t.Errorf("bits %d: %d files in the directory, want the index alone", bits, len(es))
		}
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err = SealFile(ctx, plain, filepath.Join(dir, "c.idx"), SealOptions{Key: k, Workers: 2,
		Progress: func(done, total int64) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("a cancelled SealFile left %d files", len(es))
	}
}

// TestMergeSealed: two leaks sealed apart under one key and merged answer
// as the union sealed at once (same keys and provenance); another key is
// refused.
func TestMergeSealed(t *testing.T) {
	k, _ := oprf.GenerateKey()
	k2, _ := oprf.GenerateKey()
	nums := fictionalSpace()
	a, b := testDS{"leak-a", nums[:3000]}, testDS{"leak-b", nums[2000:5000]}
	dir := t.TempDir()
	seal := func(name string, key *oprf.Key, ds ...testDS) *hashset.Reader {
		p := filepath.Join(dir, name)
		if _, err := SealFile(context.Background(), testPlainIndex(t, ds...), p, SealOptions{Key: key, BucketBits: 16}); err != nil {
			t.Fatal(err)
		}
		r, err := hashset.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	ra, rb, rab, rb2 := seal("a", k, a), seal("b", k, b), seal("ab", k, a, b), seal("b2", k2, b)
	in := []hashset.MergeInput{{Name: "a", Reader: ra}, {Name: "b", Reader: rb}}
	info, err := MergeInfo(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged")
	if _, err := hashset.MergeFile(context.Background(), out, in, hashset.MergeOptions{InfoFunc: info}); err != nil {
		t.Fatal(err)
	}
	merged, err := Open(out, k)
	if err != nil {
		t.Fatal(err)
	}
	defer merged.Close()
	if merged.Reader().Len() != rab.Len() || merged.Reader().Meta().Info[InfoPlainKeys] != "5000" {
		t.Errorf("merged: %d keys, %s plain; sealed at once: %d", merged.Reader().Len(), merged.Reader().Meta().Info[InfoPlainKeys], rab.Len())
	}
	for c := uint64(0); c < 16; c++ {
		want, _ := rab.Range(c, 4)
		got, _ := merged.Reader().Range(c, 4)
		if len(got) != len(want) {
			t.Fatalf("range %x: %d keys merged, %d sealed at once", c, len(got), len(want))
		}
		for i := range got {
			if got[i].Key != want[i].Key || len(got[i].Datasets) != len(want[i].Datasets) {
				t.Fatalf("range %x, key %d: merged and sealed at once differ", c, i)
			}
		}
	}
	if _, err := MergeInfo([]hashset.MergeInput{{Name: "a", Reader: ra}, {Name: "b2", Reader: rb2}}); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("another key: %v", err)
	}
}
