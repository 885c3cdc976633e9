package rangeenc

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// An export that syncs. Every file an export writes is listed in its
// manifest with its SHA-256 and size; a re-export compares each file with
// the previous manifest and leaves an unchanged file alone (neither its
// bytes nor its modification time change), so a sync tool that compares
// sizes and times (aws s3 sync, rclone sync) or checksums (rclone
// --checksum) uploads only what changed, and a web server serving the
// directory never reads a file while it is rewritten for nothing.
//
// An atomic export writes a fresh directory next to DIR, hard-linking
// the previous export's unchanged files into it, and then swaps DIR, a
// symbolic link, to it with one rename: a server sees the old export or
// the new one whole, never a mix. A symlink and rename(2), rather than
// exchanging two directories, because it works on every Unix file system
// and any web server follows it; the previous export stays (requests under
// way finish on it, and it can be swapped back), older ones are removed.

// FileSum is a file of an export: its SHA-256, hex, and size.
type FileSum struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// ETag returns the strong entity tag of a file's content: its SHA-256 in
// hex, quoted. A server answering with the bytes of an exported file gives
// the ETag the manifest lists for it.
func ETag(body []byte) string { return ETagHeader(body)[0] }

// ETagHeader is [ETag] as a header value, made in one allocation (the
// value and the bytes of its string together).
func ETagHeader(body []byte) []string {
	type box struct {
		v [1]string
		b [2 + 2*sha256.Size]byte
	}
	s := sha256.Sum256(body)
	x := new(box)
	x.b[0], x.b[len(x.b)-1] = '"', '"'
	hex.Encode(x.b[1:], s[:])
	x.v[0] = unsafe.String(&x.b[0], len(x.b))
	return x.v[:]
}

func sumOf(body []byte) FileSum {
	s := sha256.Sum256(body)
	return FileSum{SHA256: hex.EncodeToString(s[:]), Size: int64(len(body))}
}

// Target is where an export writes: DIR itself, or a fresh directory that
// Finish swaps DIR to. Its methods are safe for concurrent use.
type Target struct {
	dir     string // DIR as given
	root    string // where files go now
	prev    string // the export being replaced ("" if none)
	atomic  bool
	old     map[string]FileSum
	mu      sync.Mutex
	files   map[string]FileSum
	written atomic.Int64 // files written anew
	kept    atomic.Int64 // files the previous export had the same
}

// manifestName is the export's manifest, written last.
const manifestName = "manifest.json"

// Begin starts an export into dir. In place (atomic false) files are
// written under dir, each replacing its path whole. Atomic, dir must be a
// symbolic link or not exist: files go to a new sibling directory, which
// Finish makes dir point to. Either way the previous manifest, if any,
// says which files are unchanged.
func Begin(dir string, atomicSwap bool, dirMode fs.FileMode) (*Target, error) {
	t := &Target{dir: filepath.Clean(dir), root: filepath.Clean(dir), atomic: atomicSwap, files: map[string]FileSum{}}
	fi, err := os.Lstat(t.dir)
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, err
	case err == nil && atomicSwap && fi.Mode()&fs.ModeSymlink == 0:
		return nil, fmt.Errorf("checker: export: %s is not a symbolic link: an atomic export swaps a link to its newest version (make it one: mv %[1]s %[1]s.0 && ln -s %s.0 %[1]s)", t.dir, filepath.Base(t.dir))
	case err == nil && atomicSwap:
		prev, err := filepath.EvalSymlinks(t.dir)
		if err != nil {
			return nil, err
		}
		t.prev = prev
	case err == nil:
		t.prev = t.dir
	}
	if t.prev != "" {
		t.old = readManifestFiles(filepath.Join(t.prev, manifestName))
	}
	if atomicSwap {
		parent := filepath.Dir(t.dir)
		if err := os.MkdirAll(parent, dirMode); err != nil {
			return nil, err
		}
		var rb [4]byte
		rand.Read(rb[:])
		root := filepath.Join(parent, fmt.Sprintf("%s.%s-%x", filepath.Base(t.dir), time.Now().UTC().Format("20060102T150405"), rb))
		if err := os.Mkdir(root, dirMode); err != nil {
			return nil, err
		}
		if err := os.Chmod(root, dirMode); err != nil { // past the umask
			os.RemoveAll(root)
			return nil, err
		}
		t.root = root
	} else {
		os.Remove(filepath.Join(t.root, manifestName)) // incomplete until rewritten
	}
	return t, nil
}

// readManifestFiles returns the files of the manifest at path, or nil if
// there is none or it does not parse (then every file counts as changed).
func readManifestFiles(path string) map[string]FileSum {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var m struct {
		Files map[string]FileSum `json:"files"`
	}
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return m.Files
}

// Root returns the directory files go to now.
func (t *Target) Root() string { return t.root }

// Path returns the file system path of rel, a slash-separated name under
// the export.
func (t *Target) Path(rel string) string { return filepath.Join(t.root, filepath.FromSlash(rel)) }

// Put writes the file rel unless the previous export had it with the same
// content: in place, it is left as it is (its mode set to mode); atomic,
// it is hard-linked from the previous export (copied if that fails).
func (t *Target) Put(rel string, body []byte, mode fs.FileMode) error {
	sum := sumOf(body)
	t.mu.Lock()
	t.files[rel] = sum
	t.mu.Unlock()
	if o, ok := t.old[rel]; ok && o == sum && t.keep(rel, sum, mode) {
		t.kept.Add(1)
		return nil
	}
	t.written.Add(1)
	return replaceFile(t.Path(rel), body, mode)
}

// keep reports whether the previous export's file rel, listed with sum,
// is in place in the new one.
func (t *Target) keep(rel string, sum FileSum, mode fs.FileMode) bool {
	old := filepath.Join(t.prev, filepath.FromSlash(rel))
	fi, err := os.Stat(old)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != sum.Size {
		return false
	}
	if fi.Mode().Perm() != mode {
		if os.Chmod(old, mode) != nil {
			return false
		}
	}
	if !t.atomic {
		return true
	}
	return os.Link(old, t.Path(rel)) == nil
}

// Changes says how an export differs from the one it replaced.
type Changes struct {
	Written   int64 `json:"written"`   // files written anew (new or changed)
	Unchanged int64 `json:"unchanged"` // files the previous export had the same
	Removed   int64 `json:"removed"`   // files of the previous export no longer written
}

// Finish lists every file under the export's root in the manifest
// (hashing those not written through Put, such as the web page), writes
// man with the files and changes as the manifest, and, atomic, swaps
// DIR to the new directory. man must be a pointer to a struct with
// exported Files and Changes fields, as [ExportManifest].
func (t *Target) Finish(man *ExportManifest, mode fs.FileMode) (Changes, error) {
	err := filepath.WalkDir(t.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(t.root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == manifestName || strings.HasSuffix(rel, ".tmp") {
			return nil
		}
		t.mu.Lock()
		_, ok := t.files[rel]
		t.mu.Unlock()
		if ok || !d.Type().IsRegular() {
			return nil
		}
		sum, err := hashFile(path)
		if err != nil {
			return err
		}
		t.files[rel] = sum
		if o, ok := t.old[rel]; ok && o == sum {
			t.kept.Add(1)
		} else {
			t.written.Add(1)
		}
		return nil
	})
	if err != nil {
		t.Abort()
		return Changes{}, err
	}
	ch := Changes{Written: t.written.Load(), Unchanged: t.kept.Load()}
	for rel := range t.old {
		if _, ok := t.files[rel]; !ok {
			ch.Removed++
		}
	}
	man.Files, man.Changes = t.files, &ch
	data, err := json.MarshalIndent(man, "", "  ")
	if err == nil {
		err = replaceFile(t.Path(manifestName), append(data, '\n'), mode)
	}
	if err == nil && t.atomic {
		err = t.swap()
	}
	if err != nil {
		t.Abort()
		return Changes{}, err
	}
	return ch, nil
}

func hashFile(path string) (FileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileSum{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return FileSum{}, err
	}
	return FileSum{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// swap points DIR to the new root with one rename of a new link over it,
// then removes the versions before the previous one.
func (t *Target) swap() error {
	parent := filepath.Dir(t.dir)
	link := filepath.Join(parent, "."+filepath.Base(t.dir)+".link-"+filepath.Base(t.root))
	if err := os.Symlink(filepath.Base(t.root), link); err != nil {
		return err
	}
	if err := os.Rename(link, t.dir); err != nil {
		os.Remove(link)
		return err
	}
	if d, err := os.Open(parent); err == nil { // make the swap durable; best effort
		d.Sync()
		d.Close()
	}
	es, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	prefix := filepath.Base(t.dir) + "."
	for _, e := range es {
		p := filepath.Join(parent, e.Name())
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) && isVersion(e.Name()[len(prefix):]) && p != t.root && p != t.prev {
			os.RemoveAll(p)
		}
	}
	return nil
}

// isVersion reports whether s is the suffix Begin gives a new directory.
func isVersion(s string) bool {
	ts, rnd, ok := strings.Cut(s, "-")
	if !ok || len(rnd) != 8 {
		return false
	}
	_, err := time.Parse("20060102T150405", ts)
	return err == nil
}

// Abort removes an atomic export's new directory, leaving DIR as it was.
// In place, the files written stay (each whole) and the manifest is left
// out, which says the export is incomplete.
func (t *Target) Abort() {
	if t.atomic && t.root != t.dir {
		os.RemoveAll(t.root)
	}
}
