package ingest

// Building an index from datasets: every row read, normalized and hashed,
// rejected rows counted by reason.

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/pipeline"
	"github.com/phonecheck/phonecheck/checker/phone"
	"github.com/phonecheck/phonecheck/hashset"
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

// Options configures [Read].
type Options struct {
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
	// Memory and SpillDir bound the builder's memory: see
	// hashset.Options.
	Memory   int64
	SpillDir string
}

// Build is an index being built: inputs read by [Read], not yet written.
type Build struct {
	b       *hashset.Builder
	report  *Report
	invalid []Reasons // per dataset
}

// Read reads, normalizes and hashes every dataset of opts, using all
// cores. Rows that fail go to the report (and to opts.Rejects); they never
// stop the build. An error is returned for what makes the build
// meaningless: a missing or unreadable file, a corrupt compressed stream.
// Call [Build.WriteFile] to write the index.
func Read(ctx context.Context, opts Options) (bd *Build, err error) {
	if len(opts.Datasets) == 0 {
		return nil, errors.New("checker: no dataset to build from")
	}
	info := map[string]string{"phonenumbers": phone.PhonenumbersVersion, "go": runtime.Version()}
	for k, v := range opts.Info {
		info[k] = v
	}
	hb := hashset.NewBuilder(hashset.Options{
		KeyScheme: keyscheme.Name, Info: info, Created: opts.Created, BloomFPR: opts.BloomFPR,
		Memory: opts.Memory, SpillDir: opts.SpillDir, Workers: opts.Workers,
	})
	defer func() {
		if err != nil {
			hb.Close() // its spill files
		}
	}()
	bd = &Build{b: hb, report: &Report{}}
	var rw *csv.Writer
	if opts.Rejects != nil {
		rw = csv.NewWriter(opts.Rejects)
		rw.Write([]string{"file", "line", "reason", "value"})
	}

	// Open every file first: a typo in the last file name should not cost
	// an hour of reading the first ones.
	type file struct {
		ds     int
		spec   *DatasetSpec
		in     *Input
		closer io.Closer
	}
	var files []file
	defer func() {
		for _, f := range files {
			f.in.Close()
			if f.closer != nil {
				f.closer.Close()
			}
		}
	}()
	var total int64
	for i := range opts.Datasets {
		spec := &opts.Datasets[i]
		if spec.Name == "" {
			return nil, fmt.Errorf("checker: dataset %d has no name", i+1)
		}
		if spec.Region != "" {
			if _, ok := phone.LookupRegion(spec.Region); !ok {
				return nil, fmt.Errorf("checker: dataset %s: unknown region %q", spec.Name, spec.Region)
			}
		}
		if len(spec.Files) == 0 {
			return nil, fmt.Errorf("checker: dataset %s has no files", spec.Name)
		}
		id, err := hb.AddDataset(hashset.Dataset{Name: spec.Name, Date: spec.Date, Source: spec.Source})
		if err != nil {
			return nil, fmt.Errorf("checker: dataset %s: %w", spec.Name, err)
		}
		bd.report.Datasets = append(bd.report.Datasets, DatasetReport{Name: spec.Name, Strict: spec.Strict})
		bd.invalid = append(bd.invalid, Reasons{})
		for _, name := range spec.Files {
			in, closer, err := openInput(opts.FS, name, InputOptions{Column: spec.Column, Format: spec.Format})
			if err != nil {
				return nil, err
			}
			files = append(files, file{ds: id, spec: spec, in: in, closer: closer})
			if total >= 0 && in.Size() >= 0 {
				total += in.Size()
			} else {
				total = -1
			}
		}
	}

	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var done int64
	var lastRegion string // and its group: rows come in runs of one country
	var lastGroup uint16
	haveLast := false
	for _, f := range files {
		dr := &bd.report.Datasets[f.ds]
		dr.Columns = append(dr.Columns, f.in.Column())
		base := done
		err := readFile(ctx, f.in, f.spec.Region, f.spec.Strict, workers, func(b *chunk) error {
			for i := range b.recs {
				r := &b.out[i]
				dr.Rows++
				if r.reason != "" {
					bd.invalid[f.ds].Add(r.reason, b.recs[i].File, b.recs[i].Line)
					if rw != nil {
						rw.Write([]string{b.recs[i].File, strconv.FormatInt(b.recs[i].Line, 10), string(r.reason), defuseFormula(b.recs[i].Raw)})
					}
					continue
				}
				dr.Valid++
				if r.retried {
					dr.Retried++
					if len(dr.RetriedFirst) < FirstLines {
						dr.RetriedFirst = append(dr.RetriedFirst, Location{File: b.recs[i].File, Line: b.recs[i].Line})
					}
					if rw != nil && opts.RejectsRetried {
						rw.Write([]string{b.recs[i].File, strconv.FormatInt(b.recs[i].Line, 10), RetriedNote(f.spec.Region), defuseFormula(b.recs[i].Raw)})
					}
				}
				if !haveLast || r.region != lastRegion {
					lastRegion, lastGroup, haveLast = r.region, hb.Group(r.region), true
				}
				hb.Add(r.key, f.ds, lastGroup)
			}
			if opts.Progress != nil {
				opts.Progress(base+f.in.BytesRead(), total)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		done = base + f.in.BytesRead()
	}
	if rw != nil {
		rw.Flush()
		if err := rw.Error(); err != nil {
			return nil, fmt.Errorf("checker: writing rejects: %w", err)
		}
	}
	return bd, nil
}

// WriteFile writes the index to path (owner-only permissions, written to a
// temporary file and renamed) and returns the final report.
func (bd *Build) WriteFile(path string) (*Report, error) {
	return bd.finish(func() (hashset.BuildStats, error) { return bd.b.WriteFile(path) })
}

// WriteFileContext is WriteFile stopped by ctx.
func (bd *Build) WriteFileContext(ctx context.Context, path string) (*Report, error) {
	return bd.finish(func() (hashset.BuildStats, error) { return bd.b.WriteFileContext(ctx, path) })
}

// Write writes the index to w and returns the final report.
func (bd *Build) Write(w io.Writer) (*Report, error) {
	return bd.finish(func() (hashset.BuildStats, error) { return bd.b.Write(w) })
}

// Close drops the build, removing its temporary files.
func (bd *Build) Close() error { return bd.b.Close() }

func (bd *Build) finish(write func() (hashset.BuildStats, error)) (*Report, error) {
	rep := bd.report
	for i := range rep.Datasets {
		d := bd.b.Dataset(i)
		dr := &rep.Datasets[i]
		dr.Invalid = bd.invalid[i].Sorted()
		d.Stats = map[string]int64{"rows": dr.Rows, "valid": dr.Valid, "invalid": dr.Rows - dr.Valid,
			StatRetried: dr.Retried, StatStrict: b2i(dr.Strict)}
		for _, rc := range dr.Invalid {
			d.Stats["invalid: "+string(rc.Reason)] = rc.Count
		}
	}
	st, err := write()
	if err != nil {
		return nil, err
	}
	total := Reasons{}
	rep.Rows, rep.Valid, rep.Retried = 0, 0, 0
	for i := range rep.Datasets {
		d := &st.Meta.Datasets[i]
		dr := &rep.Datasets[i]
		dr.Unique = d.Keys
		dr.Countries = d.Groups
		rep.Rows += dr.Rows
		rep.Valid += dr.Valid
		rep.Retried += dr.Retried
		for _, rc := range dr.Invalid {
			total.AddCount(&rc)
		}
		if i < len(st.PerDataset) {
			dr.DupWithin = st.PerDataset[i].DupWithin
		}
	}
	rep.Invalid = total.Sorted()
	rep.Unique, rep.DupWithin, rep.InSeveral, rep.Bytes = st.Unique, st.DupWithin, st.InSeveral, st.Bytes
	rep.Countries = st.Meta.Groups
	return rep, nil
}

// openInput opens a dataset file from fsys, or from the operating system
// if fsys is nil. The closer, if not nil, must be closed after the Input.
func openInput(fsys fs.FS, name string, opts InputOptions) (*Input, io.Closer, error) {
	if fsys == nil {
		in, err := OpenInput(name, opts)
		return in, nil, err
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("checker: %w", err)
	}
	in, err := NewInput(f, name, opts)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return in, f, nil
}

// chunk is a run of consecutive records of one file and their results.
type chunk struct {
	recs []Record
	out  []normalized
}

type normalized struct {
	key     uint64
	region  string
	reason  phone.Reason
	retried bool // read by the international retry
}

// The per-dataset facts of the mode a dataset was built in, in the index
// header (hashset.Dataset.Stats): StatStrict is 1 for a dataset read in
// strict mode (0, or absent in an index built before the mode existed,
// for the default), StatRetried the valid rows read by the international
// retry.
const (
	StatStrict  = "strict"
	StatRetried = "retried"
)

// RetriedNote is what reports and result rows say of a number read by the
// international retry, given the default region it was not valid in:
// "read as international: not valid in EG" ("...: no default region").
func RetriedNote(defaultRegion string) string {
	switch r := strings.ToUpper(defaultRegion); r {
	case "", "ZZ":
		return "read as international: no default region"
	default:
		return "read as international: not valid in " + r
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

const chunkRows = 2048

// readFile reads in, normalizes its records on workers goroutines and
// hands the chunks to emit in input order, from one goroutine.
func readFile(ctx context.Context, in *Input, region string, strict bool, workers int, emit func(*chunk) error) error {
	return pipeline.Run(ctx, pipeline.Stages[chunk]{
		Workers: workers,
		Ahead:   workers * 4,
		Read: func(c *chunk) (bool, error) {
			c.recs = c.recs[:0]
			if c.recs == nil {
				c.recs = make([]Record, 0, chunkRows)
			}
			for len(c.recs) < chunkRows {
				rec, err := in.Next()
				if err != nil {
					return len(c.recs) > 0, err
				}
				c.recs = append(c.recs, rec)
			}
			return true, nil
		},
		NewWorker: func() func(context.Context, *chunk) {
			z := phone.Normalizer{Strict: strict}
			var e164 []byte
			return func(_ context.Context, c *chunk) {
				c.out = slices.Grow(c.out[:0], len(c.recs))[:len(c.recs)]
				for i, rec := range c.recs {
					c.out[i] = normalizeRecord(rec, region, &z, &e164)
				}
			}
		},
		Emit: emit,
	})
}

// normalizeRecord normalizes and hashes one record, with e164 as scratch.
func normalizeRecord(rec Record, region string, z *phone.Normalizer, e164 *[]byte) normalized {
	if rec.Err != nil {
		return normalized{reason: phone.ReasonBadRow}
	}
	out, nregion, reason := z.AppendE164((*e164)[:0], rec.Raw, region)
	*e164 = out
	if reason != "" {
		return normalized{reason: reason}
	}
	return normalized{key: keyscheme.KeyBytes(out), region: nregion, retried: z.Retried}
}

// defuseFormula keeps a rejected value from running as a formula when the
// rejects file is opened in a spreadsheet: a value starting with "=", "@",
// a tab or CR, or "+"/"-" not followed by a digit or space, gets a leading
// apostrophe (a phone number such as "+1 415 ..." is left as it is).
func defuseFormula(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '@', '\t', '\r':
		return "'" + v
	case '+', '-':
		if len(v) == 1 || !(v[1] >= '0' && v[1] <= '9' || v[1] == ' ' || v[1] == '(') {
			return "'" + v
		}
	}
	return v
}
