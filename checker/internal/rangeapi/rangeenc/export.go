package rangeenc

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/phonecheck/phonecheck/checker/internal/pipeline"
	"github.com/phonecheck/phonecheck/hashset"
)

// ExportOptions configures [Export].
type ExportOptions struct {
	// Bits are the prefix lengths to write, each a multiple of 4 in
	// 12..24; nil means 12, 16 and 20.
	Bits []int
	// Padding pads every range file: a static server cannot honour
	// Add-Padding per request, so an export is padded or not.
	Padding bool
	// Workers writing files; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called now and then with files written so far
	// and the total.
	Progress func(done, total int64)
	// Mode is the permission of the files written; 0 means 0600, owner
	// only: plain-hash ranges are as sensitive as the index. A web server
	// running as another user needs more (0640 with a shared group, or
	// 0644 on a machine whose users are all trusted). Directories get an x
	// bit for each r bit.
	Mode fs.FileMode
	// Atomic writes a new directory and swaps dir, a symbolic link, to
	// it once complete (see [Begin]); otherwise files are replaced in
	// place, one by one.
	Atomic bool
	// Extra, if set, writes more files (the web page) under root, the
	// directory the export is being written to, before the manifest.
	Extra func(root string) error
}

// ExportStats says what an export wrote.
type ExportStats struct {
	Files int64 `json:"files"` // range (or bucket) files
	Bytes int64 `json:"bytes"` // of range (or bucket) files
	// Changes compares every file with the previous export's manifest.
	Changes Changes `json:"-"`
}

// ExportManifest is DIR/manifest.json, written last: its presence says the
// export is complete. A range export and a private export write it alike.
type ExportManifest struct {
	Format  string `json:"format"` // "phonecheck-range-export-v1"
	IndexID string `json:"index_id"`
	Bits    []int  `json:"bits"`
	Padding bool   `json:"padding"`
	ExportStats
	// A private export names the key its buckets were sealed under and
	// the evaluation server.
	KeyID       string `json:"key_id,omitempty"`
	EvaluateURL string `json:"evaluate_url,omitempty"`
	// Changes compares this export with the one it replaced; Files lists
	// every file but the manifest, by slash-separated path under the
	// export, with its SHA-256 (the ETag a server gives its content) and
	// size.
	Changes *Changes           `json:"changes,omitempty"`
	Files   map[string]FileSum `json:"files"`
}

// ExportFormat names the layout [Export] writes.
const ExportFormat = "phonecheck-range-export-v1"

// Documents returns the /v1/datasets and /v1/stats documents of an
// export holding the prefix lengths bits, padded or not; each is written
// as indented JSON.
type Documents func(bits []int, padding bool) (datasets, stats any)

// Export writes every range of idx as a static file, so any web server,
// object store or CDN serving dir answers the same URLs as a server and a
// client works against it unchanged:
//
//	dir/range/<PREFIX>   one file per prefix of each length, uppercase hex,
//	                     in the text form (empty file for an empty range)
//	dir/v1/datasets      the datasets document, with the lengths written
//	dir/v1/stats         the stats document
//	dir/manifest.json    ExportManifest, written last
//
// docs gives the two documents. The files hold plain-hash ranges: an
// export is as sensitive as the index, and is for trusted clients only.
func Export(ctx context.Context, idx *hashset.Reader, dir string, opts ExportOptions, docs Documents) (ExportStats, error) {
	bits := slices.Clone(opts.Bits)
	if len(bits) == 0 {
		bits = []int{12, 16, 20}
	}
	slices.Sort(bits)
	bits = slices.Compact(bits)
	for _, b := range bits {
		if b%4 != 0 || b < 12 || b > 24 {
			return ExportStats{}, fmt.Errorf("checker: export: prefix length %d bits: want a multiple of 4 in 12..24", b)
		}
	}
	fileMode := opts.Mode.Perm()
	if fileMode == 0 {
		fileMode = 0o600
	}
	dirMode := fileMode | (fileMode&0o444)>>2 | 0o700
	t, err := Begin(dir, opts.Atomic, dirMode)
	if err != nil {
		return ExportStats{}, fmt.Errorf("checker: export: %w", err)
	}
	for _, sub := range []string{"range", "v1"} {
		if err := os.MkdirAll(t.Path(sub), dirMode); err != nil {
			t.Abort()
			return ExportStats{}, fmt.Errorf("checker: export: %w", err)
		}
	}
	id := IndexID(idx)
	enc := NewEncoder(idx, PadID(idx), "")
	st, err := WriteFiles(ctx, t, bits, opts.Workers, fileMode, opts.Progress, func() FileFunc {
		sc := new(Scratch)
		path := []byte("range/")
		base := len(path)
		return func(prefix uint64, bits int) (string, []byte, error) {
			if err := enc.Load(sc, prefix, bits, opts.Padding); err != nil {
				return "", nil, err
			}
			body := enc.Text(sc, bits, opts.Padding)
			path = appendPrefixHex(path[:base], prefix, bits)
			return string(path), body, nil
		}
	})
	if err == nil {
		si, stats := docs(bits, opts.Padding)
		err = WriteJSONFiles(t, fileMode, []JSONFile{{"v1/datasets", si}, {"v1/stats", stats}})
	}
	if err == nil && opts.Extra != nil {
		err = opts.Extra(t.Root())
	}
	if err != nil {
		t.Abort()
		return st, err
	}
	man := ExportManifest{Format: ExportFormat, IndexID: id, Bits: bits, Padding: opts.Padding, ExportStats: st}
	st.Changes, err = t.Finish(&man, fileMode)
	if err != nil {
		return st, fmt.Errorf("checker: export: %w", err)
	}
	return st, nil
}

// JSONFile is a file of an export written from a value as indented JSON.
type JSONFile struct {
	Name string // slash-separated, under the export directory
	V    any
}

// WriteJSONFiles writes the files to t in order, each atomically (the
// manifest is [Target.Finish]'s).
func WriteJSONFiles(t *Target, mode fs.FileMode, files []JSONFile) error {
	for _, f := range files {
		data, err := json.MarshalIndent(f.V, "", "  ")
		if err != nil {
			return err
		}
		if err := t.Put(f.Name, append(data, '\n'), mode); err != nil {
			return fmt.Errorf("checker: export: %w", err)
		}
	}
	return nil
}

// FileFunc returns the slash-separated path under the export and the
// contents of the file of prefix (bits long); the contents may be reused
// by its next call.
type FileFunc func(prefix uint64, bits int) (path string, body []byte, err error)

// WriteFiles writes one file for every prefix of every length in bits,
// on workers goroutines (0 means GOMAXPROCS), each with its own FileFunc
// from newFile, reporting progress as files are written. Each file goes
// to t ([Target.Put]). The first error stops every worker.
func WriteFiles(ctx context.Context, t *Target, bits []int, workers int, mode fs.FileMode, progress func(done, total int64), newFile func() FileFunc) (ExportStats, error) {
	// The files are numbered in one run, the lengths in the order of bits:
	// file i, for starts[j] <= i < starts[j+1], is prefix i-starts[j] of
	// length bits[j].
	starts := make([]int, len(bits)+1)
	for j, b := range bits {
		starts[j+1] = starts[j] + 1<<b
	}
	total := starts[len(bits)]
	var written, done atomic.Int64
	err := pipeline.For(ctx, total, 1024, workers, func() func(lo, hi int) error {
		file := newFile()
		return func(lo, hi int) error {
			for j, b := range bits {
				for i := max(lo, starts[j]); i < min(hi, starts[j+1]); i++ {
					path, body, err := file(uint64(i-starts[j]), b)
					if err == nil {
						err = t.Put(path, body, mode)
					}
					if err != nil {
						return fmt.Errorf("checker: export: %w", err)
					}
					written.Add(int64(len(body)))
				}
			}
			d := done.Add(int64(hi - lo))
			if progress != nil {
				progress(d, int64(total))
			}
			return nil
		}
	})
	st := ExportStats{Bytes: written.Load()}
	if err != nil {
		return st, err
	}
	st.Files = done.Load()
	return st, nil
}

// replaceFile writes data to path through a temporary file renamed over
// it: a web server reading an export being redone sees the old file or the
// new one, never a truncated one; an interrupted export leaves no partial
// file under a served name; and a file written again takes the mode asked
// for now (os.WriteFile keeps an existing file's mode). The temporary name
// is unique to the writer, so concurrent writers never share one.
func replaceFile(path string, data []byte, mode fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".export-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
