package checker

import (
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
)

// ExportOptions configures [Export].
type ExportOptions struct {
	// Bits are the prefix lengths to write, each a multiple of 4 in
	// 12..24; nil means 12, 16 and 20.
	Bits []int
	// Padding pads every range file with decoys up to a size tier, as a
	// [Server] pads for Add-Padding: true: a static server cannot honour
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
}

// ExportStats says what [Export] and [ExportPrivate] wrote: Files range
// or bucket files, of Bytes bytes in all.
type ExportStats = rangeenc.ExportStats

// ExportManifest is DIR/manifest.json, written last: its presence says the
// export is complete. It records Format, IndexID, Bits, Padding and the
// [ExportStats]; a private export ([ExportPrivate]) adds KeyID, the key
// its buckets were sealed under, and EvaluateURL, the evaluation server.
type ExportManifest = rangeenc.ExportManifest

// ExportFormat names the layout [Export] writes.
const ExportFormat = rangeenc.ExportFormat

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
	return rangeenc.Export(ctx, c.Index(), dir, rangeenc.ExportOptions(opts), func(bits []int, padding bool) (any, any) {
		si := Info(c)
		si.PrefixBits, si.Padding, si.Static = bits, padding, true
		return si, Stats(c)
	})
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
	st, err := rangeenc.WriteFiles(ctx, bits, opts.Workers, fileMode, opts.Progress, func() rangeenc.FileFunc {
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
	man := ExportManifest{Format: PrivateExportFormat, IndexID: rangeenc.IndexID(p.Index()), Bits: bits, Padding: true, ExportStats: st,
		KeyID: p.KeyID(), EvaluateURL: opts.EvaluateURL}
	return st, rangeenc.WriteJSONFiles(dir, fileMode, []rangeenc.JSONFile{
		{Name: "v1/private/key", V: cfg}, {Name: "v1/datasets", V: PrivateInfo(p)}, {Name: "v1/stats", V: PrivateStats(p)}, {Name: "manifest.json", V: man}})
}
