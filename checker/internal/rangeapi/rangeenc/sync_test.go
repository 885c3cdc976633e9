package rangeenc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/hashset"
)

// testIndexPlus is testIndex with extra keys in a third dataset: a new
// leak merged in, which changes some ranges and not others.
func testIndexPlus(t testing.TB, n, extra int) *hashset.Reader {
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
	if extra > 0 {
		d, _ := b.AddDataset(hashset.Dataset{Name: "leak-new"})
		for i := range extra {
			b.Add(keyscheme.Key(fmt.Sprintf("newleak--%d", i)), d, b.Group("ZZ"))
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

func readManifest(t *testing.T, dir string) ExportManifest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m ExportManifest
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshot maps each file under dir (but the manifest) to its content
// and modification time.
type fileState struct {
	data  string
	mtime time.Time
	ino   uint64
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "manifest.json" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		var ino uint64
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			ino = uint64(st.Ino)
		}
		out[filepath.ToSlash(rel)] = fileState{string(data), fi.ModTime(), ino}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkManifest: the manifest lists exactly the files on disk, each with
// its SHA-256 and size.
func checkManifest(t *testing.T, dir string, files map[string]fileState) ExportManifest {
	t.Helper()
	m := readManifest(t, dir)
	if len(m.Files) != len(files) {
		t.Errorf("manifest lists %d files, the export has %d", len(m.Files), len(files))
	}
	for rel, f := range files {
		sum := sha256.Sum256([]byte(f.data))
		if got, ok := m.Files[rel]; !ok || got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(f.data)) {
			t.Errorf("%s: manifest says %+v, file has %d bytes", rel, got, len(f.data))
			break
		}
	}
	return m
}

// TestExportSync: a re-export of the same index writes nothing; after a
// new leak, only the files whose content changed are written (new bytes,
// new time), the others keep their bytes and modification time; the
// manifest and the returned changes say so. Padded or not: the decoys of
// a range that gained nothing stay the same.
func TestExportSync(t *testing.T) {
	for _, pad := range []bool{false, true} {
		t.Run(fmt.Sprintf("padding=%v", pad), func(t *testing.T) { testExportSync(t, pad) })
	}
}

func testExportSync(t *testing.T, pad bool) {
	dir := t.TempDir()
	opts := ExportOptions{Bits: []int{12}, Padding: pad}
	old := testIndexPlus(t, 3000, 0)
	st, err := Export(context.Background(), old, dir, opts, noDocs)
	if err != nil {
		t.Fatal(err)
	}
	s1 := snapshot(t, dir)
	checkManifest(t, dir, s1)
	if st.Changes.Written != int64(len(s1)) || st.Changes.Unchanged != 0 {
		t.Errorf("first export: changes %+v, want %d written", st.Changes, len(s1))
	}
	time.Sleep(20 * time.Millisecond) // so that a rewrite shows in the time

	st, err = Export(context.Background(), old, dir, opts, noDocs)
	if err != nil {
		t.Fatal(err)
	}
	if st.Changes != (Changes{Unchanged: int64(len(s1))}) {
		t.Errorf("same index again: changes %+v, want all %d unchanged", st.Changes, len(s1))
	}
	for rel, f := range snapshot(t, dir) {
		if !f.mtime.Equal(s1[rel].mtime) {
			t.Errorf("%s rewritten by an export of the same index", rel)
			break
		}
	}

	st, err = Export(context.Background(), testIndexPlus(t, 3000, 40), dir, opts, noDocs)
	if err != nil {
		t.Fatal(err)
	}
	s2 := snapshot(t, dir)
	m := checkManifest(t, dir, s2)
	changed := 0
	for rel, f := range s2 {
		was := s1[rel]
		switch {
		case f.data != was.data:
			changed++
			if f.mtime.Equal(was.mtime) {
				t.Errorf("%s changed but kept its time", rel)
			}
		case !f.mtime.Equal(was.mtime):
			t.Errorf("%s unchanged but rewritten", rel)
		}
	}
	// 40 new keys touch at most 40 ranges, and v1/datasets.
	if changed == 0 || changed > 41 || st.Changes.Written != int64(changed) || st.Changes.Unchanged != int64(len(s2)-changed) {
		t.Errorf("%d files changed; changes reported %+v", changed, st.Changes)
	}
	if m.Changes == nil || *m.Changes != st.Changes {
		t.Errorf("manifest changes %+v, export returned %+v", m.Changes, st.Changes)
	}
}

// TestExportAtomic: DIR is a link swapped to a new directory per export;
// unchanged files are hard links to the previous export's; the previous
// export stays and the one before is removed; a failed export leaves DIR
// as it was; a real directory is refused.
func TestExportAtomic(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "export")
	opts := ExportOptions{Bits: []int{12}, Atomic: true}
	var targets []string
	for i, extra := range []int{0, 40, 80} {
		st, err := Export(context.Background(), testIndexPlus(t, 2000, extra), dir, opts, noDocs)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(dir)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("export %d: %s is not a link: %v", i, dir, err)
		}
		target, _ := filepath.EvalSymlinks(dir)
		targets = append(targets, target)
		snap := snapshot(t, target)
		checkManifest(t, dir, snap)
		if i > 0 {
			prev := snapshot(t, targets[i-1])
			linked := 0
			for rel, f := range snap {
				if p, ok := prev[rel]; ok && p.data == f.data {
					if p.ino != f.ino {
						t.Errorf("export %d: unchanged %s is a copy, not a link", i, rel)
						break
					}
					linked++
				}
			}
			if linked == 0 || st.Changes.Unchanged != int64(linked) {
				t.Errorf("export %d: %d files linked, changes %+v", i, linked, st.Changes)
			}
		}
	}
	if targets[0] == targets[1] || targets[1] == targets[2] {
		t.Fatalf("the link was not swapped: %v", targets)
	}
	if _, err := os.Stat(targets[0]); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the export before the previous one is still there")
	}
	if _, err := os.Stat(targets[1]); err != nil {
		t.Errorf("the previous export was removed: %v", err)
	}

	// A cancelled export leaves the link and its directory alone, and no
	// new directory.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Export(ctx, testIndexPlus(t, 2000, 120), dir, opts, noDocs); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled export: %v", err)
	}
	if target, _ := filepath.EvalSymlinks(dir); target != targets[2] {
		t.Errorf("a cancelled export moved the link to %s", target)
	}
	es, _ := os.ReadDir(parent)
	if len(es) != 3 { // the link, the current and the previous export
		var names []string
		for _, e := range es {
			names = append(names, e.Name())
		}
		t.Errorf("after a cancelled export: %v", names)
	}

	real := filepath.Join(parent, "plain-dir")
	os.Mkdir(real, 0o700)
	_, err := Export(context.Background(), testIndexPlus(t, 100, 0), real, opts, noDocs)
	if err == nil || !strings.Contains(err.Error(), "not a symbolic link") || !strings.Contains(err.Error(), "ln -s") {
		t.Errorf("atomic export into a directory: %v", err)
	}
}

// BenchmarkETag is the cost a served range pays for its ETag, by body
// size (a padded 20-bit range of a 10M-key index is a few hundred bytes).
func BenchmarkETag(b *testing.B) {
	for _, n := range []int{64, 512, 4096} {
		body := bytes.Repeat([]byte("0123456789ABCDE:1\n"), n/18+1)[:n]
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				_ = ETag(body)
			}
		})
	}
}
