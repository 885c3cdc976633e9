package checker

import (
	"context"
	"io/fs"

	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
	"github.com/phonecheck/phonecheck/checker/internal/server"
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
	// Atomic writes a fresh directory next to dir and, once it is
	// complete, swaps dir (a symbolic link, or absent) to it with one
	// rename: a web server serving dir sees the old export or the new one,
	// never a mix. The previous export stays next to it; older ones are
	// removed. Otherwise files are replaced in place, one by one.
	//
	// Either way a file the previous export (its manifest) had with the
	// same content is not written again, so that it keeps its
	// modification time and a sync tool skips it.
	Atomic bool
	// Extra, if set, writes more files (the web page: [WriteWebPage])
	// under root, the directory the export is being written to, before
	// the manifest lists them.
	Extra func(root string) error
}

// ExportStats says what [Export] and [ExportPrivate] wrote: Files range
// or bucket files, of Bytes bytes in all.
type ExportStats = rangeenc.ExportStats

// ExportManifest is DIR/manifest.json, written last: its presence says the
// export is complete. It records Format, IndexID, Bits, Padding and the
// [ExportStats]; a private export ([ExportPrivate]) adds KeyID, the key
// its buckets were sealed under, and EvaluateURL, the evaluation server.
// Files lists every other file of the export with its SHA-256 and size,
// and Changes how many were written anew, left unchanged and removed
// since the previous export.
type ExportManifest = rangeenc.ExportManifest

// ExportFile is an entry of [ExportManifest].Files.
type ExportFile = rangeenc.FileSum

// ExportChanges compares an export with the previous one.
type ExportChanges = rangeenc.Changes

// ExportFormat names the layout [Export] writes.
const ExportFormat = rangeenc.ExportFormat

// Export writes every range of the index of c as a static file, so any web
// server, object store or CDN serving dir answers the same URLs as a
// [Server] and a [Client] works against it unchanged:
//
//	dir/range/<PREFIX>   one file per prefix of each length, uppercase hex,
//	                     in the text form (empty file for an empty range)
//	dir/v1/datasets      the ServerInfo JSON, with the lengths written
//	dir/v1/stats         the GET /v1/stats JSON
//	dir/manifest.json    ExportManifest, written last
//
// The files hold plain-hash ranges: an export is as sensitive as the index
// (see the package documentation) and is for trusted clients only.
func Export(ctx context.Context, c *Checker, dir string, opts ExportOptions) (ExportStats, error) {
	return rangeenc.Export(ctx, c.Index(), dir, rangeenc.ExportOptions(opts), func(bits []int, padding bool) (any, any) {
		si := server.Info(c.idx, rangeDatasets(c.datasets), c.demo)
		si.PrefixBits, si.Padding, si.Static = bits, padding, true
		return si, server.Stats(c.idx)
	})
}

// # Private export

// PrivateExportFormat names the layout [ExportPrivate] writes.
const PrivateExportFormat = privateapi.ExportFormat

// PrivateExportOptions configures [ExportPrivate]: EvaluateURL (required)
// is the base URL of the evaluation server ('serve --private' with the
// key), absolute or relative to the export's base URL; Bits are the
// prefix lengths whose buckets are written, each in 1..B (nil means
// those of [PrefixLengths] below B, and B); MaxElements is the
// evaluation server's max_elements (0 means [DefaultMaxElements]);
// Workers, Progress and Mode are as in [ExportOptions].
type PrivateExportOptions = privateapi.ExportOptions

// ExportPrivate writes every bucket of a private index as a static file,
// so that a web server, object store or CDN serving dir answers the
// bucket half of the private mode, and a [PrivateClient] given its base
// URL fetches buckets there and sends only evaluation-only requests to the
// evaluation server. It needs no secret key:
//
//	dir/v1/private/bucket/<p>/<HEX>  the bucket of each prefix of each length
//	                                 p, HEX being ceil(p/4) uppercase hex
//	                                 digits: the bytes of a bucket-only
//	                                 response (see the wire format), always
//	                                 padded
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
	return privateapi.Export(ctx, p.p, dir, opts)
}
