package checker

import (
	"context"
	"io"

	"github.com/phonecheck/phonecheck/checker/internal/synth"
)

// GenOptions say what [Generate] writes.
type GenOptions struct {
	Seed int64
	N    int                // rows to write
	Mix  map[string]float64 // region -> weight; nil means the 2022 dump's mix
	// Format is "csv" (header id,phone,country,source) or "txt" (one
	// number a line); "" means "csv".
	Format string
	// Clean makes every row E.164. By default rows are messy, as leak
	// dumps are: many formats, labels, extensions, foreign digits,
	// spreadsheet artefacts, and a fraction Junk of junk rows.
	Clean bool
	// Junk is the fraction of junk rows (empty, "N/A", too short, ...)
	// in messy mode: 0 means 0.01, a negative value means none.
	Junk float64
	// Region is the dataset's default region: national formats are only
	// written for numbers of this region, so that Normalize(raw, Region)
	// reads them back. "" means none.
	Region string
	// MixShapes says in what measure messy rows take each shape of mess
	// (vanity letters, two numbers in a cell, Unicode separators, labels,
	// extensions, tel: URIs, foreign digits, carrier codes): "realistic"
	// (or "") for the proportions dumps have, most rows plain; "uniform"
	// for every shape a number can take in equal measure, the worst case
	// for a normalizer.
	MixShapes string
}

// GenStats counts what [Generate] wrote.
type GenStats struct {
	Rows    int            // rows written, junk included, header excluded
	Junk    int            // junk rows
	Regions map[string]int // non-junk rows per region
}

// Generate writes a seeded synthetic leak dataset of opts.N rows to w, for
// tests, benchmarks and demos: the same options give the same bytes, every
// number is valid per libphonenumber and drawn from whole valid ranges,
// none from a real leak.
func Generate(w io.Writer, opts GenOptions) (GenStats, error) {
	st, err := synth.Generate(w, synth.Options(opts))
	return GenStats(st), err
}

// DistinctOptions say what [GenerateDistinct] writes.
type DistinctOptions struct {
	Seed    int64
	N       int                // distinct numbers to write
	Mix     map[string]float64 // region -> weight; nil means the 2022 dump's mix
	Workers int                // goroutines drawing and checking numbers; 0 means GOMAXPROCS
}

// GenerateDistinct writes opts.N distinct valid numbers to w, in E.164, one
// a line: a dump the size of a whole leak for scale benchmarks. The numbers
// come from whole valid ranges of each region of the mix (scaled to N), are
// seeded (the same options give the same bytes), and come from no leak; a
// real person may hold any of them.
func GenerateDistinct(ctx context.Context, w io.Writer, opts DistinctOptions) (GenStats, error) {
	st, err := synth.GenerateDistinct(ctx, w, synth.DistinctOptions(opts))
	return GenStats(st), err
}
