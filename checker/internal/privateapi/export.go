package privateapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
)

// BucketPath returns the path of a static bucket file: see [wire.BucketPath].
func BucketPath(prefix uint64, p int) string { return wire.BucketPath(prefix, p) }

// BucketDir is the path, under the base URL of a static export, of the
// bucket files.
const BucketDir = wire.BucketDir

// ExportFormat names the layout [Export] writes.
const ExportFormat = "phonecheck-private-export-v1"

// ExportOptions configures [Export].
type ExportOptions struct {
	// EvaluateURL is the base URL of the evaluation server ('serve
	// --private' with the key), written into the key document as
	// "evaluate_url": absolute, or relative to the export's base URL.
	// Required.
	EvaluateURL string
	// Bits are the prefix lengths whose buckets are written, each in
	// 1..B; nil means those of the range prefix lengths below B, and B.
	Bits []int
	// MaxElements is the evaluation server's max_elements, written into
	// the key document: 0 means DefaultMaxElements.
	MaxElements int
	// Workers, Progress and Mode are as for a range export; Mode 0 means
	// 0600.
	Workers  int
	Progress func(done, total int64)
	Mode     fs.FileMode
	// NoCountryStats writes v1/stats with the key count only, without
	// the per-dataset, per-country counts (see [Stats]).
	NoCountryStats bool
	// Atomic and Extra are as for a range export.
	Atomic bool
	Extra  func(root string) error
}

// Export writes every bucket of a private index as a static file, so
// that a web server, object store or CDN serving dir answers the bucket
// half of the private mode, and a [Client] given its base URL fetches
// buckets there and sends only evaluation-only requests to the
// evaluation server. It needs no secret key:
//
//	dir/v1/private/bucket/<p>/<HEX>  the bucket of each prefix of each length
//	                                 p, HEX being ceil(p/4) uppercase hex
//	                                 digits ([BucketPath]): the bytes
//	                                 of a bucket-only response (see the
//	                                 wire format), always padded
//	dir/v1/private/key               the key document ([Config]) with
//	                                 evaluate_url and static_bucket_bits
//	dir/v1/datasets, dir/v1/stats    as the private server answers them,
//	                                 but prefix_bits lists the lengths
//	                                 written, and static is true
//	dir/manifest.json                the export manifest, written last
//
// The buckets are padded with the decoys a server pads them with (a
// deterministic function of the index and the prefix), so the export and
// the server answer a bucket with the same bytes. An index sealed before
// padding was deterministic is refused: seal it again.
func Export(ctx context.Context, p *private.Index, dir string, opts ExportOptions) (rangeenc.ExportStats, error) {
	if !p.DeterministicPadding() {
		return rangeenc.ExportStats{}, fmt.Errorf("checker: export: the private index has no padding seed (sealed by an older phonecheck): seal it again, or its buckets' decoys would differ from a server's")
	}
	if opts.EvaluateURL == "" {
		return rangeenc.ExportStats{}, fmt.Errorf("checker: export: a private export needs the evaluation server's URL")
	}
	pubRaw, err := hex.DecodeString(p.Reader().Meta().Info[private.InfoPublicKey])
	if err != nil {
		return rangeenc.ExportStats{}, fmt.Errorf("%w: public key in header", private.ErrNotPrivate)
	}
	pub, err := oprf.ParsePublicKey(pubRaw)
	if err != nil {
		return rangeenc.ExportStats{}, err
	}
	if pub.ID() != p.KeyID() {
		return rangeenc.ExportStats{}, fmt.Errorf("%w: header's public key %s and key id %s differ", private.ErrNotPrivate, pub.ID(), p.KeyID())
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
			return rangeenc.ExportStats{}, fmt.Errorf("checker: export: prefix length %d bits: this index takes 1..%d", b, p.BucketBits())
		}
	}
	fileMode := opts.Mode.Perm()
	if fileMode == 0 {
		fileMode = 0o600
	}
	dirMode := fileMode | (fileMode&0o444)>>2 | 0o700
	// Check every length before writing a file: a length too short for
	// the index fails here.
	for _, b := range bits {
		if _, err := p.AppendBucket(nil, 0, b, true); err != nil {
			return rangeenc.ExportStats{}, fmt.Errorf("checker: export: %w", err)
		}
	}
	t, err := rangeenc.Begin(dir, opts.Atomic, dirMode)
	if err != nil {
		return rangeenc.ExportStats{}, fmt.Errorf("checker: export: %w", err)
	}
	for _, b := range bits {
		if err := os.MkdirAll(t.Path(path.Join(BucketDir[1:], strconv.Itoa(b))), dirMode); err != nil {
			t.Abort()
			return rangeenc.ExportStats{}, fmt.Errorf("checker: export: %w", err)
		}
	}
	st, err := rangeenc.WriteFiles(ctx, t, bits, opts.Workers, fileMode, opts.Progress, func() rangeenc.FileFunc {
		var body []byte
		return func(prefix uint64, bits int) (string, []byte, error) {
			body = wire.AppendResponseHead(body[:0], &wire.Response{Bits: bits, Padded: true, KeyID: pub.IDBytes()})
			var err error
			body, err = p.AppendBucket(body, prefix, bits, true)
			if err != nil {
				return "", nil, err
			}
			return BucketPath(prefix, bits)[1:], body, nil
		}
	})
	if err != nil {
		t.Abort()
		return st, err
	}
	maxElements := opts.MaxElements
	if maxElements <= 0 {
		maxElements = DefaultMaxElements
	}
	cfg := NewConfig(p, pub, maxElements)
	cfg.EvaluateURL, cfg.StaticBucketBits = opts.EvaluateURL, bits
	man := rangeenc.ExportManifest{Format: ExportFormat, IndexID: rangeenc.IndexID(p.Reader()), Bits: bits, Padding: true, ExportStats: st,
		KeyID: p.KeyID(), EvaluateURL: opts.EvaluateURL}
	si := Info(p, bits, true)
	si.Static = true
	stats := Stats(p)
	if opts.NoCountryStats {
		stats = rangeapi.Stats{Keys: stats.Keys}
	}
	err = rangeenc.WriteJSONFiles(t, fileMode, []rangeenc.JSONFile{
		{Name: "v1/private/key", V: cfg}, {Name: "v1/datasets", V: si}, {Name: "v1/stats", V: stats}})
	if err == nil && opts.Extra != nil {
		err = opts.Extra(t.Root())
	}
	if err != nil {
		t.Abort()
		return st, err
	}
	st.Changes, err = t.Finish(&man, fileMode)
	if err != nil {
		return st, fmt.Errorf("checker: export: %w", err)
	}
	return st, nil
}

// ServerBits returns the prefix lengths a one-number lookup sends to a
// private server of p (the lengths its datasets document lists): 8 bits
// unless the index is too large for it, the range lengths below B, and B
// ([Config.Offer]).
func ServerBits(p *private.Index) []int {
	cfg := wire.Config{BucketBits: p.BucketBits()}
	return cfg.Offer(p.Reader().Len(), true).Bits
}

// Info returns the /v1/datasets document of a private index: the private
// scheme, bits as the prefix lengths a client chooses from (a server's
// [ServerBits], an export's lengths written) and padded saying whether
// every bucket answer is padded (by default a server's, always an
// export's).
func Info(p *private.Index, bits []int, padded bool) rangeapi.Info {
	m := p.Reader().Meta()
	si := rangeapi.Info{
		Index: rangeapi.IndexInfo{ID: rangeenc.IndexID(p.Reader()), Keys: p.Reader().Len(), HashScheme: m.KeyScheme,
			Created: m.Created, Demo: m.Info[private.InfoDemo] == "true"},
		PrefixBits: slices.Clone(bits),
		Padding:    padded,
		Datasets:   []rangeapi.DatasetInfo{},
		Private:    true,
	}
	if si.PrefixBits == nil {
		si.PrefixBits = []int{}
	}
	ds := Datasets(p)
	for i, d := range m.Datasets {
		si.Datasets = append(si.Datasets, rangeapi.DatasetInfo{Dataset: ds[i], Keys: d.Keys})
	}
	return si
}

// Stats returns the /v1/stats document of a private index: per dataset
// and country, as sealing kept them. Countries, the index-wide count of
// distinct numbers per country, is left out: sealing does not keep it,
// and adding up the datasets' counts would count twice every number in
// two datasets.
func Stats(p *private.Index) rangeapi.Stats {
	m := p.Reader().Meta()
	st := rangeapi.Stats{Keys: p.Reader().Len()}
	for _, d := range m.Datasets {
		for k, v := range d.Stats {
			cc, ok := strings.CutPrefix(k, "country:")
			if !ok {
				continue
			}
			if st.Datasets == nil {
				st.Datasets = map[string]map[string]int64{}
			}
			if st.Datasets[d.Name] == nil {
				st.Datasets[d.Name] = map[string]int64{}
			}
			st.Datasets[d.Name][cc] = v
		}
	}
	return st
}
