// Package batch checks every row of an input file against a lookup
// function.
//
// It writes one result row per input row, in input order, as CSV or JSON
// lines, at millions of rows a second, and a summary of the run.
//
// The lookup says which datasets hold each key: a local index, or
// anything else the caller plugs in; this package knows no more of it.
// Its error messages start with "checker:": they reach users of the
// checker package and its command unchanged.
package batch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/ingest"
	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/pipeline"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// Options configure a [Batch]. How the input is read is the business of
// the [ingest.Input] given to [New].
type Options struct {
	// Region is the default region for numbers written without a country
	// code ("" for none: only numbers with one are read).
	Region string
	// Strict reads numbers as Google's libphonenumber does
	// (phone.NormalizeStrict): no international retry.
	Strict bool
	// Output is "csv" (the default) or "jsonl".
	Output string
	// OnlyExposed writes only the rows of exposed numbers; the summary
	// still counts every row.
	OnlyExposed bool
	// Workers is the number of goroutines that normalize, hash and look
	// up; 0 means GOMAXPROCS.
	Workers int
	// Progress, if set, is called from time to time with the input bytes
	// read so far and the input's size (-1 if unknown).
	Progress func(done, total int64)
}

// Row statuses, as written in the output.
const (
	StatusExposed    = "exposed"
	StatusNotExposed = "not_exposed"
	StatusInvalid    = "invalid"
)

// Summary is what a batch saw.
type Summary struct {
	Input      string `json:"input"`
	Format     string `json:"format"` // detected input format
	Column     string `json:"column"` // column read
	Rows       int64  `json:"rows"`
	Exposed    int64  `json:"exposed"`
	NotExposed int64  `json:"not_exposed"`
	Invalid    int64  `json:"invalid"`
	// Retried counts the valid rows read by the international retry (not
	// valid in the default region, read as if they began with "+"), and
	// RetriedExposed those of them found exposed: each such row's note
	// says "read as international: not valid in REGION". Zero with Strict.
	Retried        int64                    `json:"retried"`
	RetriedExposed int64                    `json:"retried_exposed"`
	Strict         bool                     `json:"strict"`
	Reasons        []ingest.ReasonCount     `json:"invalid_reasons"` // by reason, first lines in input order
	Countries      map[string]*CountryCount `json:"countries"`       // valid numbers per region
	Datasets       []DatasetCount           `json:"datasets"`        // exposed numbers per dataset, in index order
	Written        int64                    `json:"written"`         // output rows (fewer than Rows with OnlyExposed)
	Seconds        float64                  `json:"seconds"`
	FastPath       int64                    `json:"fast_path"` // rows the fast normalizer answered without the library
}

// CountryCount counts the valid numbers of one region.
type CountryCount struct {
	Checked int64 `json:"checked"`
	Exposed int64 `json:"exposed"`
}

// DatasetCount counts the exposed numbers found in one dataset.
type DatasetCount struct {
	Name    string `json:"name"`
	Date    string `json:"date,omitempty"`
	Exposed int64  `json:"exposed"`
	// ExposedRetried counts the exposed numbers of this dataset that were
	// read by the international retry: the ones to review before telling
	// anyone they are exposed.
	ExposedRetried int64 `json:"exposed_retried"`
}

// Dataset is what a batch knows of one dataset of the index it checks
// against: what it writes and counts the dataset under.
type Dataset struct {
	Name, Date string
}

// Lookup fills sets[i] with the ids of the datasets holding keys[i], in
// index order (nil: not exposed). It is called from several goroutines at
// once, each with keys of its own; an error stops the run.
type Lookup func(ctx context.Context, keys []uint64, sets [][]int) error

// A Batch checks every row of one input with a [Lookup]. Create it with
// [New], then call [Batch.Run] once, then [Batch.Close].
type Batch struct {
	in     *ingest.Input
	opts   Options
	hasID  bool     // the input has an id column: the output carries it
	names  [][]byte // per dataset: name, CSV-escaped or JSON-quoted
	region string
	note   string // of a number read by the international retry
	ran    bool
	// datasets are the index's datasets, in index order; lookup fills
	// sets[i] with the datasets holding keys[i] (nil: not exposed).
	datasets []Dataset
	lookup   Lookup
}

// New returns a batch over in that looks keys up with lookup, in an index
// holding datasets. It takes in over: in is closed if New fails, and by
// [Batch.Close] otherwise.
func New(in *ingest.Input, opts Options, datasets []Dataset, lookup Lookup) (*Batch, error) {
	b := &Batch{in: in, opts: opts, hasID: in.HasID(), datasets: datasets, lookup: lookup}
	bad := func(err error) (*Batch, error) {
		in.Close()
		return nil, err
	}
	switch opts.Output {
	case "", "csv":
		b.opts.Output = "csv"
	case "jsonl":
	default:
		return bad(fmt.Errorf("checker: unknown output format %q (want csv or jsonl)", opts.Output))
	}
	if opts.Region != "" {
		if _, ok := phone.LookupRegion(opts.Region); !ok {
			return bad(fmt.Errorf("checker: unknown region %q", opts.Region))
		}
	}
	b.region = opts.Region
	b.note = ingest.RetriedNote(opts.Region)
	for _, d := range datasets {
		if b.opts.Output == "jsonl" {
			b.names = append(b.names, appendJSONString(nil, d.Name))
		} else {
			b.names = append(b.names, []byte(d.Name))
		}
	}
	return b, nil
}

// Close releases the input.
func (b *Batch) Close() error { return b.in.Close() }

// chunk is a run of consecutive input rows and their output.
type chunk struct {
	recs []ingest.Record
	out  []byte // output rows, ready to write
	err  error  // the lookup failed: the run stops here
	sum  chunkSummary
}

// chunkSummary is one chunk's share of the summary, merged in order.
type chunkSummary struct {
	exposed, notExposed, invalid, written, fast int64
	retried, retriedExposed                     int64
	reasons                                     ingest.Reasons
	countries                                   map[string]*CountryCount
	datasets, datasetsRetried                   []int64
}

const chunkRows = 4096

// Run reads every row, writes one output row per input row (only the
// exposed ones with OnlyExposed) to w in input order, and returns the
// summary. Rows that cannot be read or normalized are written as invalid,
// never dropped. An error (reading the input, writing w, ctx done) stops
// the run; the summary then counts the rows written so far.
func (b *Batch) Run(ctx context.Context, w io.Writer) (*Summary, error) {
	if b.ran {
		return nil, errors.New("checker: Batch.Run called twice")
	}
	b.ran = true
	start := time.Now()
	sum := &Summary{Input: b.in.Name(), Format: b.in.Format(), Column: b.in.Column(),
		Countries: map[string]*CountryCount{}, Strict: b.opts.Strict}
	for _, d := range b.datasets {
		sum.Datasets = append(sum.Datasets, DatasetCount{Name: d.Name, Date: d.Date})
	}
	reasons := ingest.Reasons{}

	if _, err := w.Write(b.header()); err != nil {
		return sum, err
	}
	var writeErr, lookErr error
	err := pipeline.Run(ctx, pipeline.Stages[chunk]{
		Workers: b.opts.Workers,
		Read: func(ch *chunk) (bool, error) {
			ch.recs = ch.recs[:0]
			for len(ch.recs) < chunkRows {
				rec, err := b.in.Next()
				if err != nil {
					return len(ch.recs) > 0, err
				}
				ch.recs = append(ch.recs, rec)
			}
			return true, nil
		},
		NewWorker: func() func(context.Context, *chunk) {
			var sc scratch
			return func(ctx context.Context, ch *chunk) { b.process(ctx, ch, &sc) }
		},
		Emit: func(ch *chunk) error {
			if lookErr = ch.err; lookErr != nil {
				return lookErr
			}
			if _, writeErr = w.Write(ch.out); writeErr != nil {
				return writeErr
			}
			s := &ch.sum
			sum.Rows += int64(len(ch.recs))
			sum.Exposed += s.exposed
			sum.NotExposed += s.notExposed
			sum.Invalid += s.invalid
			sum.Written += s.written
			sum.FastPath += s.fast
			sum.Retried += s.retried
			sum.RetriedExposed += s.retriedExposed
			for _, rc := range s.reasons {
				reasons.AddCount(rc)
			}
			for r, cc := range s.countries {
				t := sum.Countries[r]
				if t == nil {
					t = &CountryCount{}
					sum.Countries[r] = t
				}
				t.Checked += cc.Checked
				t.Exposed += cc.Exposed
			}
			for i, n := range s.datasets {
				sum.Datasets[i].Exposed += n
				sum.Datasets[i].ExposedRetried += s.datasetsRetried[i]
			}
			if b.opts.Progress != nil {
				b.opts.Progress(b.in.BytesRead(), b.in.Size())
			}
			return nil
		},
	})
	sum.Reasons = reasons.Sorted()
	sum.Seconds = time.Since(start).Seconds()
	runErr := writeErr // writing w, or ctx done
	if err != nil && lookErr == nil && runErr == nil && err == ctx.Err() {
		runErr = err
	}
	if lookErr != nil {
		return sum, fmt.Errorf("checker: stopped after %d rows: %w", sum.Rows, lookErr)
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) || errors.Is(runErr, context.DeadlineExceeded) {
			return sum, fmt.Errorf("checker: stopped after %d rows: %w", sum.Rows, runErr)
		}
		return sum, fmt.Errorf("checker: writing results: %w", runErr)
	}
	return sum, err // nil, or reading the input failed
}

// scratch is one worker's scratch space, reused from chunk to chunk.
type scratch struct {
	norm phone.Normalizer
	rows []normalized
	e164 []byte   // the E.164 forms of a chunk's rows, end to end
	keys []uint64 // the keys of a chunk's valid rows, in row order
	sets [][]int  // their datasets (nil: not exposed), from ContainsBatch
}

// normalized is what normalizing one row gave.
type normalized struct {
	e164    [2]int32 // e164[0]:e164[1] in scratch.e164; invalid rows may have one
	region  string
	reason  phone.Reason // "" for a valid number
	retried bool         // read by the international retry
}

// process normalizes, hashes and looks up the rows of ch and writes their
// output rows. It normalizes and hashes the whole chunk first, then looks
// the keys up in one call of the [Lookup], which can then batch: a local
// index's hashset.Reader.ContainsBatch overlaps its cache misses (a
// lookup in a 10M-key index costs a few hundred ns alone, under 100 ns
// batched), a remote lookup sends few requests for many keys. Then it
// writes. A failed lookup sets ch.err and writes nothing.
func (b *Batch) process(ctx context.Context, ch *chunk, sc *scratch) {
	s := &ch.sum
	*s = chunkSummary{reasons: s.reasons, countries: s.countries, datasets: s.datasets, datasetsRetried: s.datasetsRetried}
	if s.reasons == nil {
		s.reasons, s.countries = ingest.Reasons{}, map[string]*CountryCount{}
	}
	clear(s.reasons)
	clear(s.countries)
	s.datasets = append(s.datasets[:0], make([]int64, len(b.datasets))...)
	s.datasetsRetried = append(s.datasetsRetried[:0], make([]int64, len(b.datasets))...)
	sc.norm.Strict = b.opts.Strict
	ch.err = nil

	// Normalize and hash.
	rows, e164s, keys := sc.rows[:0], sc.e164[:0], sc.keys[:0]
	fastBefore := sc.norm.Fast
	for i := range ch.recs {
		rec := &ch.recs[i]
		var (
			region string
			reason phone.Reason
		)
		start := len(e164s)
		if rec.Err != nil {
			reason = phone.ReasonBadRow
		} else {
			e164s, region, reason = sc.norm.AppendE164(e164s, rec.Raw, b.region)
		}
		row := normalized{region: region, reason: reason, retried: reason == "" && sc.norm.Retried}
		row.e164 = [2]int32{int32(start), int32(len(e164s))}
		if reason == "" {
			keys = append(keys, keyscheme.KeyBytes(e164s[start:]))
		}
		rows = append(rows, row)
	}
	sc.rows, sc.e164, sc.keys = rows, e164s, keys
	s.fast = sc.norm.Fast - fastBefore

	// Look up.
	if cap(sc.sets) < len(keys) {
		sc.sets = make([][]int, len(keys))
	}
	sets := sc.sets[:len(keys)]
	if err := b.lookup(ctx, keys, sets); err != nil {
		ch.err = err
		return
	}

	// Count and write.
	out := ch.out[:0]
	jsonl := b.opts.Output == "jsonl"
	k := 0 // next key
	for i := range rows {
		rec, row := &ch.recs[i], &rows[i]
		id := rec.ID
		e164 := e164s[row.e164[0]:row.e164[1]]
		var set []int
		status := StatusInvalid
		if reason := row.reason; reason != "" {
			s.invalid++
			s.reasons.Add(reason, rec.File, rec.Line)
		} else {
			set = sets[k]
			k++
			cc := s.countries[row.region]
			if cc == nil {
				cc = &CountryCount{}
				s.countries[row.region] = cc
			}
			cc.Checked++
			if row.retried {
				s.retried++
			}
			if set != nil {
				status = StatusExposed
				s.exposed++
				cc.Exposed++
				if row.retried {
					s.retriedExposed++
				}
				for _, d := range set {
					if d >= 0 && d < len(s.datasets) {
						s.datasets[d]++
						if row.retried {
							s.datasetsRetried[d]++
						}
					}
				}
			} else {
				status = StatusNotExposed
				s.notExposed++
			}
		}
		if b.opts.OnlyExposed && status != StatusExposed {
			continue
		}
		s.written++
		if jsonl {
			out = b.appendJSONL(out, rec.Line, id, e164, row, status, set)
		} else {
			out = b.appendCSV(out, rec.Line, id, e164, row, status, set)
		}
	}
	ch.out = out
}

// SortedCountries returns the regions of s.Countries, most checked first.
func (s *Summary) SortedCountries() []string { return SortedCountries(s.Countries) }

// SortedCountries returns the regions of countries, most checked first.
func SortedCountries(countries map[string]*CountryCount) []string {
	out := make([]string, 0, len(countries))
	for r := range countries {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := countries[out[i]], countries[out[j]]
		if a.Checked != b.Checked {
			return a.Checked > b.Checked
		}
		return out[i] < out[j]
	})
	return out
}
