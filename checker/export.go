package checker

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
)

// ExportOptions configures [Export].
type ExportOptions struct {
	// Bits are the prefix lengths to write, each a multiple of 4 in
	// 12..24; nil means 12, 16 and 20.
	Bits []int
	// Padding pads every range file (see http_range.go): a static server
	// cannot honour Add-Padding per request, so an export is padded or not.
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
}

// ExportStats says what [Export] wrote.
type ExportStats struct {
	Files int64 `json:"files"` // range files
	Bytes int64 `json:"bytes"` // of range files
}

// ExportManifest is DIR/manifest.json, written last: its presence says the
// export is complete.
type ExportManifest struct {
	Format  string `json:"format"` // "phonecheck-range-export-v1"
	IndexID string `json:"index_id"`
	Bits    []int  `json:"bits"`
	Padding bool   `json:"padding"`
	ExportStats
	// A private export ([ExportPrivate]) names the key its buckets were
	// sealed under and the evaluation server.
	KeyID       string `json:"key_id,omitempty"`
	EvaluateURL string `json:"evaluate_url,omitempty"`
}

// ExportFormat names the layout [Export] writes.
const ExportFormat = "phonecheck-range-export-v1"

// Export writes every range of the index of c as a static file, so any web
// server, object store or CDN serving dir answers the same URLs as a
// [Server] and a [Client] works against it unchanged:
//
//	dir/range/<PREFIX>   one file per prefix of each length, uppercase hex,
//	                     in the text form (empty file for an empty range)
//	dir/v1/datasets      the ServerInfo JSON, with the lengths written
//	dir/v1/stats         the ServerStats JSON
//	dir/manifest.json    ExportManifest, written last
//
// The files hold plain-hash ranges: an export is as sensitive as the index
// (see the package documentation) and is for trusted clients only.
func Export(ctx context.Context, c *Checker, dir string, opts ExportOptions) (ExportStats, error) {
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
	if err := os.MkdirAll(filepath.Join(dir, "range"), dirMode); err != nil {
		return ExportStats{}, fmt.Errorf("checker: export: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "v1"), dirMode); err != nil {
		return ExportStats{}, fmt.Errorf("checker: export: %w", err)
	}
	os.Remove(filepath.Join(dir, "manifest.json")) // incomplete until rewritten
	id := indexID(c.Index())
	enc := newRangeEncoder(c.Index(), id)
	st, err := writePrefixFiles(ctx, bits, opts.Workers, fileMode, opts.Progress, func() prefixFileFunc {
		sc := new(rangeScratch)
		path := []byte(filepath.Join(dir, "range") + string(filepath.Separator))
		base := len(path)
		return func(prefix uint64, bits int) (string, []byte, error) {
			if err := enc.load(sc, prefix, bits, opts.Padding); err != nil {
				return "", nil, err
			}
			sc.body = sc.appendText(sc.body[:0], bits, enc.countWidth(opts.Padding))
			path = appendPrefixHex(path[:base], prefix, bits)
			return string(path), sc.body, nil
		}
	})
	if err != nil {
		return st, err
	}
	si := Info(c)
	si.PrefixBits, si.Padding, si.Static = bits, opts.Padding, true
	stats := Stats(c)
	man := ExportManifest{Format: ExportFormat, IndexID: id, Bits: bits, Padding: opts.Padding, ExportStats: st}
	return st, writeJSONFiles(dir, fileMode, []jsonFile{{"v1/datasets", si}, {"v1/stats", stats}, {"manifest.json", man}})
}

// jsonFile is a file of an export written from a value as indented JSON.
type jsonFile struct {
	name string // slash-separated, under the export directory
	v    any
}

// writeJSONFiles writes the files in order (the manifest last, by the
// callers' lists), each atomically.
func writeJSONFiles(dir string, mode fs.FileMode, files []jsonFile) error {
	for _, f := range files {
		data, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return err
		}
		if err := writeFileAtomic(filepath.Join(dir, filepath.FromSlash(f.name)), append(data, '\n'), mode); err != nil {
			return fmt.Errorf("checker: export: %w", err)
		}
	}
	return nil
}

// prefixFileFunc returns the path and contents of the file of prefix
// (bits long); the contents may be reused by its next call.
type prefixFileFunc func(prefix uint64, bits int) (path string, body []byte, err error)

// writePrefixFiles writes one file for every prefix of every length in
// bits, on workers goroutines (0 means GOMAXPROCS), each with its own
// prefixFileFunc from newFile, reporting progress as files are written.
// The first error stops every worker.
func writePrefixFiles(ctx context.Context, bits []int, workers int, mode fs.FileMode, progress func(done, total int64), newFile func() prefixFileFunc) (ExportStats, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var total int64
	for _, b := range bits {
		total += 1 << b
	}
	type job struct {
		bits     int
		first, n uint64
	}
	jobs := make(chan job)
	var (
		st       ExportStats
		done     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			file := newFile()
			for j := range jobs {
				for prefix := j.first; prefix < j.first+j.n; prefix++ {
					path, body, err := file(prefix, j.bits)
					if err == nil {
						err = replaceFile(path, body, mode)
					}
					if err != nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("checker: export: %w", err) })
						cancel()
						return
					}
					atomic.AddInt64(&st.Bytes, int64(len(body)))
				}
				d := done.Add(int64(j.n))
				if progress != nil {
					progress(d, total)
				}
			}
		}()
	}
send:
	for _, b := range bits {
		const chunk = 1024
		for prefix := uint64(0); prefix < 1<<b; prefix += chunk {
			select {
			case jobs <- job{bits: b, first: prefix, n: min(chunk, 1<<b-prefix)}:
			case <-ctx.Done():
				break send
			}
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	if err := ctx.Err(); err != nil {
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

func writeFileAtomic(path string, data []byte, mode fs.FileMode) error {
	return replaceFile(path, data, mode)
}

// appendPrefixHex appends prefix, bits long, as bits/4 uppercase hex digits.
func appendPrefixHex(dst []byte, prefix uint64, bits int) []byte {
	for sh := bits - 4; sh >= 0; sh -= 4 {
		dst = append(dst, hexUpper[prefix>>uint(sh)&0xF])
	}
	return dst
}

// # Private export

// PrivateExportFormat names the layout [ExportPrivate] writes.
const PrivateExportFormat = "phonecheck-private-export-v1"

// PrivateExportOptions configures [ExportPrivate].
type PrivateExportOptions struct {
	// EvaluateURL is the base URL of the evaluation server ('serve
	// --private' with the key), written into the key document as
	// "evaluate_url": absolute, or relative to the export's base URL.
	// Required.
	EvaluateURL string
	// Bits are the prefix lengths whose buckets are written, each in
	// 1..B; nil means those of [PrefixLengths] below B, and B.
	Bits []int
	// MaxElements is the evaluation server's max_elements, written into
	// the key document: 0 means DefaultMaxElements.
	MaxElements int
	// Workers, Progress and Mode are as in [ExportOptions]; Mode 0 means
	// 0600.
	Workers  int
	Progress func(done, total int64)
	Mode     fs.FileMode
}

// ExportPrivate writes every bucket of a private index as a static file,
// so that a web server, object store or CDN serving dir answers the
// bucket half of the private mode, and a [PrivateClient] given its base
// URL fetches buckets there and sends only evaluation-only requests to the
// evaluation server. It needs no secret key:
//
//	dir/v1/private/bucket/<p>/<HEX>  the bucket of each prefix of each length
//	                                 p, HEX being ceil(p/4) uppercase hex
//	                                 digits ([PrivateBucketPath]): the bytes
//	                                 of a bucket-only response (see the
//	                                 wire format), always padded
//	dir/v1/private/key               the key document ([PrivateConfig]) with
//	                                 evaluate_url and static_bucket_bits
//	dir/v1/datasets, dir/v1/stats    as the private server answers them
//	dir/manifest.json                ExportManifest, written last
//
// The buckets are padded with the decoys a server pads them with (a
// deterministic function of the index and the prefix), so the export and
// the server answer a bucket with the same bytes. An index sealed before
// padding was deterministic is refused: seal it again.
func ExportPrivate(ctx context.Context, p *PrivateIndex, dir string, opts PrivateExportOptions) (ExportStats, error) {
	if !p.DeterministicPadding() {
		return ExportStats{}, fmt.Errorf("checker: export: the private index has no padding seed (sealed by an older phonecheck): seal it again, or its buckets' decoys would differ from a server's")
	}
	if opts.EvaluateURL == "" {
		return ExportStats{}, fmt.Errorf("checker: export: a private export needs the evaluation server's URL")
	}
	pubRaw, err := hex.DecodeString(p.Index().Meta().Info[InfoPublicKey])
	if err != nil {
		return ExportStats{}, fmt.Errorf("%w: public key in header", ErrNotPrivate)
	}
	pub, err := ParseOPRFPublicKey(pubRaw)
	if err != nil {
		return ExportStats{}, err
	}
	if pub.ID() != p.KeyID() {
		return ExportStats{}, fmt.Errorf("%w: header's public key %s and key id %s differ", ErrNotPrivate, pub.ID(), p.KeyID())
	}
	bits := slices.Clone(opts.Bits)
	if len(bits) == 0 {
		for _, b := range keyscheme.PrefixLengths {
			if b < p.BucketBits() {
				bits = append(bits, b)
			}
		}
		bits = append(bits, p.BucketBits())
	}
	slices.Sort(bits)
	bits = slices.Compact(bits)
	for _, b := range bits {
		if b < 1 || b > p.BucketBits() {
			return ExportStats{}, fmt.Errorf("checker: export: prefix length %d bits: this index takes 1..%d", b, p.BucketBits())
		}
	}
	fileMode := opts.Mode.Perm()
	if fileMode == 0 {
		fileMode = 0o600
	}
	dirMode := fileMode | (fileMode&0o444)>>2 | 0o700
	for _, b := range bits {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(privateBucketDir[1:]), strconv.Itoa(b)), dirMode); err != nil {
			return ExportStats{}, fmt.Errorf("checker: export: %w", err)
		}
	}
	os.Remove(filepath.Join(dir, "manifest.json")) // incomplete until rewritten
	// Check every length before writing a file: a length too short for
	// the index fails here.
	for _, b := range bits {
		if _, err := p.p.AppendBucket(nil, 0, b, true); err != nil {
			return ExportStats{}, fmt.Errorf("checker: export: %w", err)
		}
	}
	st, err := writePrefixFiles(ctx, bits, opts.Workers, fileMode, opts.Progress, func() prefixFileFunc {
		var body []byte
		return func(prefix uint64, bits int) (string, []byte, error) {
			body = wire.AppendResponseHead(body[:0], &wire.Response{Bits: bits, Padded: true, KeyID: pub.idBytes()})
			var err error
			body, err = p.p.AppendBucket(body, prefix, bits, true)
			if err != nil {
				return "", nil, err
			}
			return filepath.Join(dir, filepath.FromSlash(PrivateBucketPath(prefix, bits))), body, nil
		}
	})
	if err != nil {
		return st, err
	}
	maxElements := opts.MaxElements
	if maxElements <= 0 {
		maxElements = DefaultMaxElements
	}
	cfg := privateConfig(p, pub, maxElements)
	cfg.EvaluateURL, cfg.StaticBucketBits = opts.EvaluateURL, bits
	man := ExportManifest{Format: PrivateExportFormat, IndexID: indexID(p.Index()), Bits: bits, Padding: true, ExportStats: st,
		KeyID: p.KeyID(), EvaluateURL: opts.EvaluateURL}
	return st, writeJSONFiles(dir, fileMode, []jsonFile{{"v1/private/key", cfg}, {"v1/datasets", PrivateInfo(p)}, {"v1/stats", PrivateStats(p)}, {"manifest.json", man}})
}
