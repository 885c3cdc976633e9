package rangeenc

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

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
