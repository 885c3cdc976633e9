package checker

// Batch checks: an operator's file of subscriber numbers in, one result row
// per input row out, at millions of rows a second.

import (
	"context"
	"fmt"
	"io"

	"github.com/phonecheck/phonecheck/checker/internal/batch"
	"github.com/phonecheck/phonecheck/checker/internal/ingest"
)

// BatchOptions configure a [Batch].
type BatchOptions struct {
	// Region is the default region for numbers written without a country
	// code ("" for none: only numbers with one are read).
	Region string
	// Strict reads numbers as Google's libphonenumber does
	// ([phone.NormalizeStrict]): no international retry. By default a
	// number read by the retry is checked, and its row's note says
	// "read as international: not valid in REGION".
	Strict bool
	// Column, Format and Header say how to read the input, as in
	// [InputOptions].
	Column, Format, Header string
	// ID, if set, names a column (header name or 1-based index) whose
	// value is copied to each output row as "id", next to the row number.
	// The input must then be CSV or TSV.
	ID string
	// Output is "csv" (the default) or "jsonl".
	Output string
	// OnlyExposed writes only the rows of exposed numbers; the summary
	// still counts every row.
	OnlyExposed bool
	// Workers is the number of goroutines that normalize, hash and look
	// up; 0 means GOMAXPROCS.
	Workers int
	// Preload copies the index's lookup sections into memory of their own
	// (huge pages where the system offers them) and checks their checksums
	// before the run, with hashset.Reader.Preload; the Checker's index
	// keeps the copy until it is closed. It costs 0.1 to 0.2 s at 10M keys;
	// on the 2-core VM it made a 10M x 10M batch 0 to 4% faster (within
	// the noise of a shared machine: see BenchmarkBatch, preload-numbers/s),
	// so it is off by default. A checksum mismatch fails OpenBatch or
	// NewBatch, before any output.
	Preload bool
	// Progress, if set, is called from time to time with the input bytes
	// read so far and the input's size (-1 if unknown).
	Progress func(done, total int64)
}

func (o *BatchOptions) inputOptions() ingest.InputOptions {
	return ingest.InputOptions{Column: o.Column, Format: o.Format, Header: o.Header, IDColumn: o.ID}
}

func (o *BatchOptions) engineOptions() batch.Options {
	return batch.Options{Region: o.Region, Strict: o.Strict, Output: o.Output, OnlyExposed: o.OnlyExposed, Workers: o.Workers, Progress: o.Progress}
}

// BatchSummary is what a batch saw.
type BatchSummary struct {
	Input      string `json:"input"`
	Format     string `json:"format"` // detected input format
	Column     string `json:"column"` // column read
	Rows       int64  `json:"rows"`
	Exposed    int64  `json:"exposed"`
	NotExposed int64  `json:"not_exposed"`
	Invalid    int64  `json:"invalid"`
	// Retried counts the valid rows read by the international retry (not
	// valid in the default region, read as if they began with "+"), and
	// RetriedExposed those found exposed; DatasetCount.ExposedRetried
	// counts them per dataset. Zero with Strict.
	Retried        int64                    `json:"retried"`
	RetriedExposed int64                    `json:"retried_exposed"`
	Strict         bool                     `json:"strict"`
	Reasons        []ReasonCount            `json:"invalid_reasons"` // by reason, first lines in input order
	Countries      map[string]*CountryCount `json:"countries"`       // valid numbers per region
	Datasets       []DatasetCount           `json:"datasets"`        // exposed numbers per dataset, in index order
	Written        int64                    `json:"written"`         // output rows (fewer than Rows with OnlyExposed)
	Seconds        float64                  `json:"seconds"`
	FastPath       int64                    `json:"fast_path"` // rows the fast normalizer answered without the library
	// Sent says what left the device, for a batch against a private
	// server ([PrivateClient.OpenBatch]); nil for a local batch.
	Sent *PrivateBatchSent `json:"sent,omitempty"`
}

// The counts of a batch summary are the engine's own types, shared by the
// maps and slices of every summary.
type (
	// CountryCount counts the valid numbers of one region.
	CountryCount = batch.CountryCount
	// DatasetCount counts the exposed numbers found in one dataset.
	DatasetCount = batch.DatasetCount
)

// SortedCountries returns the regions of s.Countries, most checked first.
func (s *BatchSummary) SortedCountries() []string { return batch.SortedCountries(s.Countries) }

// A Batch checks every row of one input against a [Checker]'s index, or
// a private server's ([PrivateClient.OpenBatch]). Create it with
// [Checker.OpenBatch] or [Checker.NewBatch], which read the start of the
// input (so that an unreadable or unusable input fails before any
// output), then call [Batch.Run] once, then [Batch.Close].
type Batch struct {
	b *batch.Batch
	// sent, if set, says what a batch against a private server sent; Run
	// adds it to the summary. The engine knows only a lookup function.
	sent func() *PrivateBatchSent
}

// OpenBatch opens the input file at path ("-" is standard input) for a
// batch check. Compression, format, header and column are detected as by
// [OpenInput].
func (c *Checker) OpenBatch(path string, opts BatchOptions) (*Batch, error) {
	in, err := ingest.OpenInput(path, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return c.newBatch(in, opts)
}

// NewBatch is [Checker.OpenBatch] on a reader; name is used in messages.
func (c *Checker) NewBatch(r io.Reader, name string, opts BatchOptions) (*Batch, error) {
	in, err := ingest.NewInput(r, name, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return c.newBatch(in, opts)
}

func (c *Checker) newBatch(in *ingest.Input, opts BatchOptions) (*Batch, error) {
	if opts.Preload {
		if err := c.idx.Preload(); err != nil {
			in.Close()
			return nil, fmt.Errorf("checker: index: %w", err)
		}
	}
	b, err := batch.New(in, opts.engineOptions(), batchDatasets(c.datasets), func(_ context.Context, keys []uint64, sets [][]int) error {
		c.idx.ContainsBatch(keys, sets)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &Batch{b: b}, nil
}

// batchDatasets is what the batch engine knows of datasets.
func batchDatasets(ds []Dataset) []batch.Dataset {
	out := make([]batch.Dataset, len(ds))
	for i, d := range ds {
		out[i] = batch.Dataset{Name: d.Name, Date: d.Date}
	}
	return out
}

// Close releases the input.
func (b *Batch) Close() error { return b.b.Close() }

// Run reads every row, writes one output row per input row (only the
// exposed ones with OnlyExposed) to w in input order, and returns the
// summary. Rows that cannot be read or normalized are written as invalid,
// never dropped. An error (reading the input, writing w, ctx done) stops
// the run; the summary then counts the rows written so far.
func (b *Batch) Run(ctx context.Context, w io.Writer) (*BatchSummary, error) {
	s, err := b.b.Run(ctx, w)
	if s == nil {
		return nil, err
	}
	sum := &BatchSummary{Input: s.Input, Format: s.Format, Column: s.Column, Rows: s.Rows,
		Exposed: s.Exposed, NotExposed: s.NotExposed, Invalid: s.Invalid, Reasons: s.Reasons,
		Retried: s.Retried, RetriedExposed: s.RetriedExposed, Strict: s.Strict,
		Countries: s.Countries, Datasets: s.Datasets, Written: s.Written, Seconds: s.Seconds, FastPath: s.FastPath}
	if b.sent != nil {
		sum.Sent = b.sent()
	}
	return sum, err
}
