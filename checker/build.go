package checker

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strconv"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
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
}

// BuildOptions configures [Ingest].
type BuildOptions struct {
	Datasets []DatasetSpec
	// FS, if set, is where dataset files are opened from; nil means the
	// operating system's files.
	FS fs.FS
	// Rejects, if set, receives one CSV row per rejected input row:
	// file, line, reason, value. It holds raw input: personal data.
	Rejects io.Writer
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
}

// firstLines is how many line numbers a report keeps per reason.
const firstLines = 5

// ReasonCount counts the rows rejected for one reason.
type ReasonCount struct {
	Reason phone.Reason `json:"reason"`
	Count  int64        `json:"count"`
	First  []Location   `json:"first"` // the first few, in input order
}

// Location is a row of an input file.
type Location struct {
	File string `json:"file"`
	Line int64  `json:"line"`
}

func (l Location) String() string { return l.File + ":" + strconv.FormatInt(l.Line, 10) }

// DatasetReport is what a build saw of one dataset.
type DatasetReport struct {
	Name      string           `json:"name"`
	Rows      int64            `json:"rows"`
	Valid     int64            `json:"valid"`
	Invalid   []ReasonCount    `json:"invalid"`
	Unique    int64            `json:"unique"`     // distinct numbers
	DupWithin int64            `json:"dup_within"` // valid rows repeating a number of the same dataset
	Countries map[string]int64 `json:"countries"`  // distinct numbers per region
	Columns   []string         `json:"columns"`    // column picked, per file
}

// BuildReport is what a build saw, in total and per dataset.
type BuildReport struct {
	Rows      int64            `json:"rows"`
	Valid     int64            `json:"valid"`
	Invalid   []ReasonCount    `json:"invalid"`
	Unique    int64            `json:"unique"`
	DupWithin int64            `json:"dup_within"`
	InSeveral int64            `json:"in_several"` // distinct numbers found in more than one dataset
	Countries map[string]int64 `json:"countries"`
	Datasets  []DatasetReport  `json:"datasets"`
	Bytes     int64            `json:"bytes"` // index file size
}

// Build is an index being built: inputs read by [Ingest], not yet written.
type Build struct {
	b       *hashset.Builder
	report  *BuildReport
	invalid []map[phone.Reason]*ReasonCount // per dataset
}

// Ingest reads, normalizes and hashes every dataset of opts, using all
// cores. Rows that fail go to the report (and to opts.Rejects); they never
// stop the build. An error is returned for what makes the build
// meaningless: a missing or unreadable file, a corrupt compressed stream.
// Call [Build.WriteFile] to write the index.
func Ingest(ctx context.Context, opts BuildOptions) (*Build, error) {
	if len(opts.Datasets) == 0 {
		return nil, errors.New("checker: no dataset to build from")
	}
	info := map[string]string{"phonenumbers": phone.PhonenumbersVersion, "go": runtime.Version()}
	for k, v := range opts.Info {
		info[k] = v
	}
	hb := hashset.NewBuilder(hashset.Options{
		KeyScheme: keyscheme.Name, Info: info, Created: opts.Created, BloomFPR: opts.BloomFPR,
	})
	bd := &Build{b: hb, report: &BuildReport{}}
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
		bd.report.Datasets = append(bd.report.Datasets, DatasetReport{Name: spec.Name})
		bd.invalid = append(bd.invalid, map[phone.Reason]*ReasonCount{})
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
	for _, f := range files {
		dr := &bd.report.Datasets[f.ds]
		dr.Columns = append(dr.Columns, f.in.Column())
		base := done
		err := ingestFile(ctx, f.in, f.spec.Region, workers, func(b *batch) error {
			for i := range b.recs {
				r := &b.out[i]
				dr.Rows++
				if r.reason != "" {
					bd.reject(f.ds, b.recs[i].File, b.recs[i].Line, r.reason)
					if rw != nil {
						rw.Write([]string{b.recs[i].File, strconv.FormatInt(b.recs[i].Line, 10), string(r.reason), defuseFormula(b.recs[i].Raw)})
					}
					continue
				}
				dr.Valid++
				hb.Add(r.key, f.ds, hb.Group(r.region))
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

func (bd *Build) reject(ds int, file string, line int64, r phone.Reason) {
	rc := bd.invalid[ds][r]
	if rc == nil {
		rc = &ReasonCount{Reason: r}
		bd.invalid[ds][r] = rc
	}
	rc.Count++
	if len(rc.First) < firstLines {
		rc.First = append(rc.First, Location{File: file, Line: line})
	}
}

// Builder returns the underlying hashset builder.
func (bd *Build) Builder() *hashset.Builder { return bd.b }

// WriteFile writes the index to path (owner-only permissions, written to a
// temporary file and renamed) and returns the final report.
func (bd *Build) WriteFile(path string) (*BuildReport, error) {
	return bd.finish(func() (hashset.BuildStats, error) { return bd.b.WriteFile(path) })
}

// Write writes the index to w and returns the final report.
func (bd *Build) Write(w io.Writer) (*BuildReport, error) {
	return bd.finish(func() (hashset.BuildStats, error) { return bd.b.Write(w) })
}

func (bd *Build) finish(write func() (hashset.BuildStats, error)) (*BuildReport, error) {
	rep := bd.report
	for i := range rep.Datasets {
		d := bd.b.Dataset(i)
		dr := &rep.Datasets[i]
		dr.Invalid = sortedReasons(bd.invalid[i])
		d.Stats = map[string]int64{"rows": dr.Rows, "valid": dr.Valid, "invalid": dr.Rows - dr.Valid}
		for _, rc := range dr.Invalid {
			d.Stats["invalid: "+string(rc.Reason)] = rc.Count
		}
	}
	st, err := write()
	if err != nil {
		return nil, err
	}
	total := map[phone.Reason]*ReasonCount{}
	rep.Rows, rep.Valid = 0, 0
	for i := range rep.Datasets {
		d := &st.Meta.Datasets[i]
		dr := &rep.Datasets[i]
		dr.Unique = d.Keys
		dr.Countries = d.Groups
		rep.Rows += dr.Rows
		rep.Valid += dr.Valid
		for _, rc := range dr.Invalid {
			t := total[rc.Reason]
			if t == nil {
				t = &ReasonCount{Reason: rc.Reason}
				total[rc.Reason] = t
			}
			t.Count += rc.Count
			for _, l := range rc.First {
				if len(t.First) < firstLines {
					t.First = append(t.First, l)
				}
			}
		}
		if i < len(st.PerDataset) {
			dr.DupWithin = st.PerDataset[i].DupWithin
		}
	}
	rep.Invalid = sortedReasons(total)
	rep.Unique, rep.DupWithin, rep.InSeveral, rep.Bytes = st.Unique, st.DupWithin, st.InSeveral, st.Bytes
	rep.Countries = st.Meta.Groups
	return rep, nil
}

func sortedReasons(m map[phone.Reason]*ReasonCount) []ReasonCount {
	var out []ReasonCount
	for _, r := range phone.Reasons {
		if rc := m[r]; rc != nil {
			out = append(out, *rc)
		}
	}
	return out
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

// batch is a run of consecutive records of one file and their results.
type batch struct {
	seq  int
	recs []Record
	out  []normalized
	done chan struct{}
}

type normalized struct {
	key    uint64
	region string
	reason phone.Reason
}

const batchSize = 2048

// ingestFile reads in, normalizes its records on workers goroutines and
// hands the batches to emit in input order, from one goroutine.
func ingestFile(ctx context.Context, in *Input, region string, workers int, emit func(*batch) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *batch, workers*2)
	ordered := make(chan *batch, workers*4)
	var readErr error
	go func() { // reader
		defer close(work)
		defer close(ordered)
		seq := 0
		for {
			b := &batch{seq: seq, recs: make([]Record, 0, batchSize), done: make(chan struct{})}
			seq++
			for len(b.recs) < batchSize {
				rec, err := in.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				b.recs = append(b.recs, rec)
			}
			if len(b.recs) == 0 {
				return
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return
			}
			select {
			case ordered <- b:
			case <-ctx.Done():
				return
			}
			if readErr != nil || len(b.recs) < batchSize {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var z phone.Normalizer
			var e164 []byte
			for b := range work {
				b.out = make([]normalized, len(b.recs))
				for i, rec := range b.recs {
					b.out[i] = normalizeRecord(rec, region, &z, &e164)
				}
				close(b.done)
			}
		}()
	}
	var emitErr error
	for b := range ordered {
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			emitErr = ctx.Err()
			break
		}
		if err := emit(b); err != nil {
			emitErr = err
			break
		}
	}
	cancel()
	// Drain so the reader and workers can exit.
	for range ordered {
	}
	wg.Wait()
	if emitErr != nil {
		return emitErr
	}
	return readErr
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
	return normalized{key: keyscheme.KeyBytes(out), region: nregion}
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
