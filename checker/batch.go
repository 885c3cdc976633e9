package checker

// Batch checks: an operator's file of subscriber numbers in, one result row
// per input row out, at millions of rows a second.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// BatchOptions configure a [Batch].
type BatchOptions struct {
	// Region is the default region for numbers written without a country
	// code ("" for none: only numbers with one are read).
	Region string
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

// Row statuses, as written in the output.
const (
	StatusExposed    = "exposed"
	StatusNotExposed = "not_exposed"
	StatusInvalid    = "invalid"
)

// BatchSummary is what a batch saw.
type BatchSummary struct {
	Input      string                   `json:"input"`
	Format     string                   `json:"format"` // detected input format
	Column     string                   `json:"column"` // column read
	Rows       int64                    `json:"rows"`
	Exposed    int64                    `json:"exposed"`
	NotExposed int64                    `json:"not_exposed"`
	Invalid    int64                    `json:"invalid"`
	Reasons    []ReasonCount            `json:"invalid_reasons"` // by reason, first lines in input order
	Countries  map[string]*CountryCount `json:"countries"`       // valid numbers per region
	Datasets   []DatasetCount           `json:"datasets"`        // exposed numbers per dataset, in index order
	Written    int64                    `json:"written"`         // output rows (fewer than Rows with OnlyExposed)
	Seconds    float64                  `json:"seconds"`
	FastPath   int64                    `json:"fast_path"` // rows the fast normalizer answered without the library
	// Sent says what left the device, for a batch against a private
	// server ([PrivateClient.OpenBatch]); nil for a local batch.
	Sent *PrivateBatchSent `json:"sent,omitempty"`
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
}

// A Batch checks every row of one input against a [Checker]'s index, or
// a private server's ([PrivateClient.OpenBatch]). Create it with
// [Checker.OpenBatch] or [Checker.NewBatch], which read the start of the
// input (so that an unreadable or unusable input fails before any
// output), then call [Batch.Run] once, then [Batch.Close].
type Batch struct {
	in     *Input
	opts   BatchOptions
	hasID  bool     // the input has an id column: the output carries it
	names  [][]byte // per dataset: name, CSV-escaped or JSON-quoted
	region string
	ran    bool
	// datasets are the index's datasets, in index order; lookup fills
	// sets[i] with the datasets holding keys[i] (nil: not exposed), from
	// a Checker's index or a private server.
	datasets []Dataset
	lookup   func(ctx context.Context, keys []uint64, sets [][]int) error
	// finish, if set, completes the summary at the end of Run.
	finish func(*BatchSummary)
}

// OpenBatch opens the input file at path ("-" is standard input) for a
// batch check. Compression, format, header and column are detected as by
// [OpenInput].
func (c *Checker) OpenBatch(path string, opts BatchOptions) (*Batch, error) {
	in, err := OpenInput(path, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return c.newBatch(in, opts)
}

// NewBatch is [Checker.OpenBatch] on a reader; name is used in messages.
func (c *Checker) NewBatch(r io.Reader, name string, opts BatchOptions) (*Batch, error) {
	in, err := NewInput(r, name, opts.inputOptions())
	if err != nil {
		return nil, err
	}
	return c.newBatch(in, opts)
}

func (o *BatchOptions) inputOptions() InputOptions {
	return InputOptions{Column: o.Column, Format: o.Format, Header: o.Header, IDColumn: o.ID}
}

func (c *Checker) newBatch(in *Input, opts BatchOptions) (*Batch, error) {
	if opts.Preload {
		if err := c.idx.Preload(); err != nil {
			in.Close()
			return nil, fmt.Errorf("checker: index: %w", err)
		}
	}
	return newBatchOf(in, opts, c.datasets, func(_ context.Context, keys []uint64, sets [][]int) error {
		c.idx.ContainsBatch(keys, sets)
		return nil
	})
}

// newBatchOf returns a batch over in that looks keys up with lookup.
func newBatchOf(in *Input, opts BatchOptions, datasets []Dataset, lookup func(context.Context, []uint64, [][]int) error) (*Batch, error) {
	b := &Batch{in: in, opts: opts, hasID: in.idCol >= 0, datasets: datasets, lookup: lookup}
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

// Input returns the input, for its detected format and column.
func (b *Batch) Input() *Input { return b.in }

// batchChunk is a run of consecutive input rows and their output.
type batchChunk struct {
	recs []Record
	out  []byte // output rows, ready to write
	err  error  // the lookup failed: the run stops here
	sum  chunkSummary
	done chan struct{}
}

// chunkSummary is one chunk's share of the summary, merged in order.
type chunkSummary struct {
	exposed, notExposed, invalid, written, fast int64
	reasons                                     map[phone.Reason]*ReasonCount
	countries                                   map[string]*CountryCount
	datasets                                    []int64
}

const batchChunkRows = 4096

// Run reads every row, writes one output row per input row (only the
// exposed ones with OnlyExposed) to w in input order, and returns the
// summary. Rows that cannot be read or normalized are written as invalid,
// never dropped. An error (reading the input, writing w, ctx done) stops
// the run; the summary then counts the rows written so far.
func (b *Batch) Run(ctx context.Context, w io.Writer) (*BatchSummary, error) {
	if b.ran {
		return nil, errors.New("checker: Batch.Run called twice")
	}
	b.ran = true
	start := time.Now()
	sum := &BatchSummary{Input: b.in.name, Format: b.in.Format(), Column: b.in.Column(),
		Countries: map[string]*CountryCount{}}
	for _, d := range b.datasets {
		sum.Datasets = append(sum.Datasets, DatasetCount{Name: d.Name, Date: d.Date})
	}
	reasons := map[phone.Reason]*ReasonCount{}

	if _, err := w.Write(b.header()); err != nil {
		return sum, err
	}
	workers := b.opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *batchChunk, workers*2)
	ordered := make(chan *batchChunk, workers*3)
	pool := sync.Pool{New: func() any { return new(batchChunk) }}
	var readErr error
	go func() { // reader
		defer close(work)
		defer close(ordered)
		for {
			ch := pool.Get().(*batchChunk)
			ch.recs, ch.done = ch.recs[:0], make(chan struct{})
			for len(ch.recs) < batchChunkRows {
				rec, err := b.in.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					readErr = err
					break
				}
				ch.recs = append(ch.recs, rec)
			}
			if len(ch.recs) == 0 {
				return
			}
			select {
			case work <- ch:
			case <-ctx.Done():
				return
			}
			select {
			case ordered <- ch:
			case <-ctx.Done():
				return
			}
			if readErr != nil || len(ch.recs) < batchChunkRows {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc batchScratch
			for ch := range work {
				b.process(ctx, ch, &sc)
				close(ch.done)
			}
		}()
	}
	var runErr, lookErr error
	for ch := range ordered {
		select {
		case <-ch.done:
		case <-ctx.Done():
		}
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		if lookErr = ch.err; lookErr != nil {
			break
		}
		if _, runErr = w.Write(ch.out); runErr != nil {
			break
		}
		s := &ch.sum
		sum.Rows += int64(len(ch.recs))
		sum.Exposed += s.exposed
		sum.NotExposed += s.notExposed
		sum.Invalid += s.invalid
		sum.Written += s.written
		sum.FastPath += s.fast
		for r, rc := range s.reasons {
			t := reasons[r]
			if t == nil {
				t = &ReasonCount{Reason: r}
				reasons[r] = t
			}
			t.Count += rc.Count
			for _, l := range rc.First {
				if len(t.First) < firstLines {
					t.First = append(t.First, l)
				}
			}
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
		}
		if b.opts.Progress != nil {
			b.opts.Progress(b.in.BytesRead(), b.in.Size())
		}
		pool.Put(ch)
	}
	cancel()
	for range ordered { // let the reader and workers finish
	}
	wg.Wait()
	sum.Reasons = sortedReasons(reasons)
	sum.Seconds = time.Since(start).Seconds()
	if b.finish != nil {
		b.finish(sum)
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
	if readErr != nil {
		return sum, readErr
	}
	return sum, nil
}

// header returns the output's first line (none for JSONL).
func (b *Batch) header() []byte {
	if b.opts.Output == "jsonl" {
		return nil
	}
	if b.hasID {
		return []byte("row,id,e164,region,status,reason,datasets\n")
	}
	return []byte("row,e164,region,status,reason,datasets\n")
}

// batchScratch is one worker's scratch space, reused from chunk to chunk.
type batchScratch struct {
	norm phone.Normalizer
	rows []batchRow
	e164 []byte   // the E.164 forms of a chunk's rows, end to end
	keys []uint64 // the keys of a chunk's valid rows, in row order
	sets [][]int  // their datasets (nil: not exposed), from ContainsBatch
}

// batchRow is what normalizing one row gave.
type batchRow struct {
	e164   [2]int32 // e164[0]:e164[1] in batchScratch.e164; invalid rows may have one
	region string
	reason phone.Reason // "" for a valid number
}

// process normalizes, hashes and looks up the rows of ch and writes their
// output rows. It normalizes and hashes the whole chunk first, then looks
// the keys up in one call: locally one [hashset.Reader.ContainsBatch],
// whose cache misses overlap (a lookup in a 10M-key index costs a few
// hundred ns alone, under 100 ns batched); against a private server, the
// chunk's blinded evaluations and buckets. Then it writes. A failed lookup
// sets ch.err and writes nothing.
func (b *Batch) process(ctx context.Context, ch *batchChunk, sc *batchScratch) {
	s := &ch.sum
	*s = chunkSummary{reasons: s.reasons, countries: s.countries, datasets: s.datasets}
	if s.reasons == nil {
		s.reasons, s.countries = map[phone.Reason]*ReasonCount{}, map[string]*CountryCount{}
	}
	clear(s.reasons)
	clear(s.countries)
	s.datasets = append(s.datasets[:0], make([]int64, len(b.datasets))...)
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
		row := batchRow{region: region, reason: reason}
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
			rc := s.reasons[reason]
			if rc == nil {
				rc = &ReasonCount{Reason: reason}
				s.reasons[reason] = rc
			}
			rc.Count++
			if len(rc.First) < firstLines {
				rc.First = append(rc.First, Location{File: rec.File, Line: rec.Line})
			}
		} else {
			set = sets[k]
			k++
			cc := s.countries[row.region]
			if cc == nil {
				cc = &CountryCount{}
				s.countries[row.region] = cc
			}
			cc.Checked++
			if set != nil {
				status = StatusExposed
				s.exposed++
				cc.Exposed++
				for _, d := range set {
					if d >= 0 && d < len(s.datasets) {
						s.datasets[d]++
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
			out = b.appendJSONL(out, rec.Line, id, e164, row.region, status, row.reason, set)
		} else {
			out = b.appendCSV(out, rec.Line, id, e164, row.region, status, row.reason, set)
		}
	}
	ch.out = out
}

func (b *Batch) appendCSV(out []byte, line int64, id string, e164 []byte, region, status string, reason phone.Reason, sets []int) []byte {
	out = strconv.AppendInt(out, line, 10)
	out = append(out, ',')
	if b.hasID {
		out = appendCSVField(out, id)
		out = append(out, ',')
	}
	out = append(out, e164...)
	out = append(out, ',')
	out = append(out, region...)
	out = append(out, ',')
	out = append(out, status...)
	out = append(out, ',')
	out = append(out, reason...)
	out = append(out, ',')
	if len(sets) > 0 {
		var names []byte
		for k, d := range sets {
			if d < 0 || d >= len(b.names) {
				continue
			}
			if k > 0 {
				names = append(names, ';')
			}
			names = append(names, b.names[d]...)
		}
		out = appendCSVField(out, string(names))
	}
	return append(out, '\n')
}

func (b *Batch) appendJSONL(out []byte, line int64, id string, e164 []byte, region, status string, reason phone.Reason, sets []int) []byte {
	out = append(out, `{"row":`...)
	out = strconv.AppendInt(out, line, 10)
	if b.hasID {
		out = append(out, `,"id":`...)
		out = appendJSONString(out, id)
	}
	out = append(out, `,"e164":"`...)
	out = append(out, e164...)
	out = append(out, `","region":"`...)
	out = append(out, region...)
	out = append(out, `","status":"`...)
	out = append(out, status...)
	out = append(out, '"')
	if reason != "" {
		out = append(out, `,"reason":"`...)
		out = append(out, reason...)
		out = append(out, '"')
	}
	out = append(out, `,"datasets":[`...)
	k := 0
	for _, d := range sets {
		if d < 0 || d >= len(b.names) {
			continue
		}
		if k > 0 {
			out = append(out, ',')
		}
		out = append(out, b.names[d]...)
		k++
	}
	return append(out, "]}\n"...)
}

// appendCSVField appends s as one CSV field, quoted when it must be.
func appendCSVField(out []byte, s string) []byte {
	quote := s != "" && (s[0] == ' ' || s[len(s)-1] == ' ')
	for i := 0; i < len(s) && !quote; i++ {
		switch s[i] {
		case ',', '"', '\n', '\r', ';':
			quote = true
		}
	}
	if !quote {
		return append(out, s...)
	}
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return append(out, '"')
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out = append(out, '\\', c)
			case c < 0x20:
				out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, `\ufffd`...)
		} else if r == 0x2028 || r == 0x2029 {
			out = append(out, '\\', 'u', '2', '0', '2', hex[r&15])
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return append(out, '"')
}

// SortedCountries returns the regions of s.Countries, most checked first.
func (s *BatchSummary) SortedCountries() []string {
	out := make([]string, 0, len(s.Countries))
	for r := range s.Countries {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := s.Countries[out[i]], s.Countries[out[j]]
		if a.Checked != b.Checked {
			return a.Checked > b.Checked
		}
		return out[i] < out[j]
	})
	return out
}
