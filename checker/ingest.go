package checker

import (
	"context"
	"io"
	"io/fs"

	"github.com/phonecheck/phonecheck/checker/internal/ingest"
)

// DatasetSpec says where one leak dataset is and how to read it. It is
// also the shape of one entry of a build manifest.
type DatasetSpec struct {
	Name   string   `json:"name" toml:"name"`
	Date   string   `json:"date,omitempty" toml:"date"`     // e.g. "2022-11"
	Source string   `json:"source,omitempty" toml:"source"` // free text: where it was found
	Region string   `json:"region,omitempty" toml:"region"` // default region for numbers without a country code
	Column string   `json:"column,omitempty" toml:"column"` // header name or 1-based index; "" = auto
	Format string   `json:"format,omitempty" toml:"format"` // "", "txt", "csv", "tsv"
	Files  []string `json:"files" toml:"files"`
	// Strict reads the dataset's numbers as Google's libphonenumber does
	// (phone.NormalizeStrict): no international retry, no clean-ups of
	// phonecheck's own. The index header records it per dataset.
	Strict bool `json:"strict,omitempty" toml:"strict"`
}

// Manifest lists the datasets of one build. It is read from JSON or TOML:
//
//	[[dataset]]
//	name   = "whatsapp-2022"
//	date   = "2022-11"
//	source = "forum post, 2022-11-16"
//	region = "EG"          # default region for numbers without a country code
//	column = "phone"       # header name or 1-based index; omit to detect
//	files  = ["eg.csv.zst", "eg-part2.csv.gz"]
//
// File names are relative to the manifest's own directory.
type Manifest struct {
	Datasets []DatasetSpec `json:"datasets" toml:"dataset"`
}

// ReadManifest reads a manifest from the file at name, in fsys if not nil,
// choosing JSON or TOML by the file's extension (JSON when the content
// starts with "{").
func ReadManifest(fsys fs.FS, name string) (*Manifest, error) {
	m, err := ingest.ReadManifest(fsys, name)
	if err != nil {
		return nil, err
	}
	out := &Manifest{Datasets: make([]DatasetSpec, len(m.Datasets))}
	for i, d := range m.Datasets {
		out.Datasets[i] = DatasetSpec(d)
	}
	return out, nil
}

// ValidDate reports whether s is a dataset date: YYYY, YYYY-MM or YYYY-MM-DD.
func ValidDate(s string) bool { return ingest.ValidDate(s) }

// BuildOptions configures [Ingest].
type BuildOptions struct {
	Datasets []DatasetSpec
	// FS, if set, is where dataset files are opened from; nil means the
	// operating system's files.
	FS fs.FS
	// Rejects, if set, receives one CSV row per rejected input row:
	// file, line, reason, value. It holds raw input: personal data.
	Rejects io.Writer
	// RejectsRetried also writes to Rejects, for review, every valid row
	// read by the international retry (phone.Number.Retried), with the
	// reason "read as international: not valid in REGION"; such rows
	// still go into the index.
	RejectsRetried bool
	// Progress, if set, is called from time to time with bytes read so far
	// and the total size of the inputs (-1 if unknown).
	Progress func(done, total int64)
	// Workers is the number of normalizing goroutines; 0 means GOMAXPROCS.
	Workers int
	// Created, if set, is recorded in the index header (e.g. "2026-11-25").
	Created string
	// BloomFPR is the bloom filter's false-positive rate; 0 means the
	// hashset default, negative means no bloom filter.
	BloomFPR float64
	// Info is recorded in the index header next to the library versions.
	Info map[string]string
	// Memory bounds the memory the build holds for its keys, their sort
	// and the bloom filter (0: no bound): past a share of it, keys are
	// spilled to an owner-only temporary directory in SpillDir, removed
	// by WriteFile, Write and Close. The index is the same, byte for byte.
	Memory int64
	// SpillDir is where a bounded build spills; "" means the system's
	// temporary directory. Put it next to the output.
	SpillDir string
}

// The reports of a build are the internal package's own types: they are
// nested (datasets, reasons, locations), and a copy of each at the
// package boundary would buy nothing but code to keep in step.
type (
	// BuildReport is what a build saw, in total and per dataset.
	BuildReport = ingest.Report
	// DatasetReport is what a build saw of one dataset.
	DatasetReport = ingest.DatasetReport
	// ReasonCount counts the rows rejected for one reason, with the
	// locations of the first few.
	ReasonCount = ingest.ReasonCount
	// Location is a row of an input file.
	Location = ingest.Location
)

// Build is an index being built: inputs read by [Ingest], not yet written.
type Build struct {
	b *ingest.Build
}

// Ingest reads, normalizes and hashes every dataset of opts, using all
// cores. Rows that fail go to the report (and to opts.Rejects); they never
// stop the build. An error is returned for what makes the build
// meaningless: a missing or unreadable file, a corrupt compressed stream.
// Call [Build.WriteFile] to write the index.
func Ingest(ctx context.Context, opts BuildOptions) (*Build, error) {
	o := ingest.Options{FS: opts.FS, Rejects: opts.Rejects, RejectsRetried: opts.RejectsRetried, Progress: opts.Progress, Workers: opts.Workers,
		Created: opts.Created, BloomFPR: opts.BloomFPR, Info: opts.Info, Memory: opts.Memory, SpillDir: opts.SpillDir}
	for _, d := range opts.Datasets {
		o.Datasets = append(o.Datasets, ingest.DatasetSpec(d))
	}
	b, err := ingest.Read(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Build{b: b}, nil
}

// WriteFile writes the index to path (owner-only permissions, written to a
// temporary file and renamed) and returns the final report.
func (bd *Build) WriteFile(path string) (*BuildReport, error) { return bd.b.WriteFile(path) }

// WriteFileContext is WriteFile stopped by ctx: once ctx is done it returns
// ctx's error, and leaves neither the output nor temporary files behind.
func (bd *Build) WriteFileContext(ctx context.Context, path string) (*BuildReport, error) {
	return bd.b.WriteFileContext(ctx, path)
}

// Write writes the index to w and returns the final report.
func (bd *Build) Write(w io.Writer) (*BuildReport, error) { return bd.b.Write(w) }

// Close drops the build without writing it, removing its temporary files.
// It may be called after WriteFile or Write.
func (bd *Build) Close() error { return bd.b.Close() }

// InputOptions say how to read a dataset file. The zero value detects
// everything.
type InputOptions struct {
	// Column is a header name (case-insensitive) or a 1-based index.
	// "" picks automatically: plain text uses the whole line; CSV and TSV
	// take the first column whose header looks like a phone column
	// ("phone", "phone_number", "mobile", "msisdn", "tel", ...), else the
	// column whose first values look most like phone numbers, else column 1.
	Column string
	// Format is "txt", "csv", "tsv" or "" to detect from the first lines
	// (the file name's extension is only a hint). CSV separators ',' ';'
	// '|' and tab are detected.
	Format string
	// Header is "yes", "no" or "" to detect: a first row is a header when
	// its value in the picked column has no digit and the next rows' values
	// do. A plain-text file has a header only if its first line is a phone
	// column name.
	Header string
	// IDColumn, if set, is a second column (header name or 1-based index)
	// whose value each record carries in ID, such as a customer id. Only
	// CSV and TSV inputs have one; a name needs a header.
	IDColumn string
}

// A Record is one row of a dataset: where it came from and the raw value
// of the picked column. It is the internal package's own type: an
// [Input] returns one per row, and a copy of each would cost the hot loop.
type Record = ingest.Record

// An Input reads the records of one dataset file. It is not safe for
// concurrent use, except BytesRead and Size, which may be called from any
// goroutine (for progress bars).
type Input struct {
	in *ingest.Input
}

// OpenInput opens the dataset file at path ("-" is standard input) and
// detects its compression (gzip, zstd, bzip2, by their magic bytes,
// whatever the extension), format, header and column.
func OpenInput(path string, opts InputOptions) (*Input, error) {
	in, err := ingest.OpenInput(path, ingest.InputOptions(opts))
	if err != nil {
		return nil, err
	}
	return &Input{in: in}, nil
}

// NewInput reads a dataset from r, named name in records and errors. It
// does not close r. If r has a Stat method (an *os.File, an fs.File),
// Size reports the file's size.
func NewInput(r io.Reader, name string, opts InputOptions) (*Input, error) {
	in, err := ingest.NewInput(r, name, ingest.InputOptions(opts))
	if err != nil {
		return nil, err
	}
	return &Input{in: in}, nil
}

// Next returns the next record. It returns io.EOF at the end of the file;
// any other error is fatal for this file (an I/O error, corrupt compressed
// data) and names the file and line. Problems with one row are reported in
// [Record].Err instead.
func (in *Input) Next() (Record, error) { return in.in.Next() }

// Column says which column is read, for reports: `"phone" (column 3)`,
// `column 1` or `whole line`.
func (in *Input) Column() string { return in.in.Column() }

// Format returns the detected format: "txt", "tsv", "csv", or "csv (;)"
// (and "csv (|)") for another separator.
func (in *Input) Format() string { return in.in.Format() }

// BytesRead returns the number of bytes consumed from the underlying file
// (compressed, if it is), for progress bars. Reads are buffered, so it runs
// ahead of the records returned by up to a few megabytes.
func (in *Input) BytesRead() int64 { return in.in.BytesRead() }

// Size returns the size of the underlying file, or -1 if it is not known
// (standard input, a pipe).
func (in *Input) Size() int64 { return in.in.Size() }

// Close releases the decompressor and closes the file OpenInput opened.
func (in *Input) Close() error { return in.in.Close() }

// The per-dataset facts of the normalization mode, in the index header
// (hashset.Dataset.Stats): DatasetStatStrict is 1 for a dataset read in
// strict mode (0, or absent in an index built before the mode existed, for
// the default mode), DatasetStatRetried the valid rows read by the
// international retry.
const (
	DatasetStatStrict  = ingest.StatStrict
	DatasetStatRetried = ingest.StatRetried
)

// RetriedNote is what reports and result rows say of a number read by the
// international retry, given the default region it was not valid in:
// "read as international: not valid in EG" ("...: no default region").
func RetriedNote(defaultRegion string) string { return ingest.RetriedNote(defaultRegion) }
