package rangeenc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/hashset"
)

// testIndex builds an in-memory index of n keys in two datasets.
func testIndex(t testing.TB, n int) *hashset.Reader {
	t.Helper()
	b := hashset.NewBuilder(hashset.Options{KeyScheme: keyscheme.Name, Created: "2026-11-25", BloomFPR: -1})
	a, _ := b.AddDataset(hashset.Dataset{Name: "leak-a", Date: "2022-11", Source: "test"})
	c, _ := b.AddDataset(hashset.Dataset{Name: "leak-b", Date: "2024-03"})
	for i := range n {
		k := keyscheme.Key(fmt.Sprintf("filler--%d", i))
		b.Add(k, a, b.Group("ZZ"))
		if i%3 == 0 {
			b.Add(k, c, b.Group("ZZ"))
		}
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	idx, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func noDocs([]int, bool) (any, any) { return map[string]any{}, map[string]any{} }

// TestReExport: exporting again into the same directory replaces every
// file whole, with the mode asked for this time, and leaves no temporary
// file behind.
func TestReExport(t *testing.T) {
	idx := testIndex(t, 500)
	dir := t.TempDir()
	if _, err := Export(context.Background(), idx, dir, ExportOptions{Bits: []int{12}, Padding: true, Mode: 0o644}, noDocs); err != nil {
		t.Fatal(err)
	}
	if _, err := Export(context.Background(), idx, dir, ExportOptions{Bits: []int{12}, Padding: true, Mode: 0o600}, noDocs); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		if strings.HasSuffix(path, ".tmp") {
			t.Errorf("left behind: %s", path)
		}
		if fi, err := d.Info(); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v after a re-export with 0600", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil || n != 1<<12+3 {
		t.Errorf("%d files, %v", n, err)
	}
}

// checkDrained fails t unless the goroutines started since before have
// exited.
func checkDrained(t *testing.T, before int) {
	t.Helper()
	for range 200 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("%d goroutines, %d before", runtime.NumGoroutine(), before)
}

// TestWriteFilesEveryPrefix: every prefix of every length is written
// once, lengths whose files do not fill a chunk of work included.
func TestWriteFilesEveryPrefix(t *testing.T) {
	dir := t.TempDir()
	bits := []int{1, 3, 11, 2, 12}
	var mu sync.Mutex
	seen := map[[2]uint64]int{}
	var last int64
	tg, err := Begin(dir, false, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	st, err := WriteFiles(context.Background(), tg, bits, 3, 0o600, func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		last = max(last, done)
		if total != 2+8+2048+4+4096 {
			t.Errorf("total %d", total)
		}
	}, func() FileFunc {
		return func(prefix uint64, bits int) (string, []byte, error) {
			mu.Lock()
			seen[[2]uint64{prefix, uint64(bits)}]++
			mu.Unlock()
			return "f", []byte("ab"), nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := int64(2 + 8 + 2048 + 4 + 4096)
	if st.Files != want || st.Bytes != 2*want || last != want || len(seen) != int(want) {
		t.Errorf("stats %+v, progress %d, %d distinct files; want %d files", st, last, len(seen), want)
	}
	for _, b := range bits {
		for p := range uint64(1) << b {
			if n := seen[[2]uint64{p, uint64(b)}]; n != 1 {
				t.Fatalf("prefix %x of %d bits: written %d times", p, b, n)
			}
		}
	}
}

// TestWriteFilesFirstError: the first failing file stops every worker;
// its error is returned, and no goroutine is left behind.
func TestWriteFilesFirstError(t *testing.T) {
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	bad := errors.New("disk on fire")
	var mu sync.Mutex
	calls := 0
	tg, err := Begin(dir, false, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	_, err = WriteFiles(context.Background(), tg, []int{16}, 4, 0o600, nil, func() FileFunc {
		return func(prefix uint64, bits int) (string, []byte, error) {
			mu.Lock()
			calls++
			mu.Unlock()
			if prefix == 3000 {
				return "", nil, bad
			}
			return "f", nil, nil
		}
	})
	if !errors.Is(err, bad) || !strings.HasPrefix(err.Error(), "checker: export: ") {
		t.Errorf("err %v, want %v wrapped", err, bad)
	}
	if calls > 10000 {
		t.Errorf("%d files tried after the error at file 3000", calls)
	}
	checkDrained(t, before)
}

// TestExportCancel: an export cancelled midway returns the context's
// error, leaves no temporary file and no manifest, and no goroutine.
func TestExportCancel(t *testing.T) {
	idx := testIndex(t, 500)
	before := runtime.NumGoroutine()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	var final int64
	opts := ExportOptions{Bits: []int{12, 16}, Workers: 3, Progress: func(done, total int64) {
		once.Do(cancel)
		if done == total {
			final = done
		}
	}}
	_, err := Export(ctx, idx, dir, opts, noDocs)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if final != 0 {
		t.Errorf("every file written (%d) despite the cancel", final)
	}
	checkDrained(t, before)
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("manifest written by a cancelled export: %v", err)
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if strings.HasSuffix(path, ".tmp") {
			t.Errorf("left behind: %s", path)
		}
		return err
	})
}
