package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdBatch = &Command{
	Name:      "batch",
	UsageLine: "batch --index INDEX --region R [--column COL] [--id COL] [--in FILE|-] [--out FILE|-] [--format csv|jsonl] [--only-exposed] [--summary-json FILE]",
	Short:     "check every number of a file (an operator's subscribers) against an index",
	Long: `
Batch checks every row of a file of phone numbers, such as an operator's
subscriber list, against an index, and writes one result row per input row,
in input order, as it goes:

	row,e164,region,status,reason,datasets
	2,+201001234567,EG,exposed,,whatsapp-2022;forum-2024
	3,+201001234568,EG,not_exposed,,
	4,,,invalid,too short,

row is the line of the input where the row starts (the header is line 1);
with --id COL, an id column of the input (header name or 1-based index)
comes next. status is exposed, not_exposed or invalid; reason says why a
row is invalid (the reasons of 'phonecheck normalize', or "unreadable row");
datasets lists, separated by ';', the datasets holding an exposed number.
With --format jsonl each row is an object with the same fields ("datasets"
an array of names). Bad rows are reported as invalid, never dropped: the
output has exactly one row per input row, or with --only-exposed, one per
exposed number.

The input (--in, default standard input) is plain text (one number a
line) or CSV/TSV with a header; the column is picked by --column or
detected, as in build; gzip and zstd are detected. --region says how to
read numbers written without a country code. Memory stays bounded
whatever the input size; all cores normalize, hash and look up.

A summary (rows per status, invalid rows per reason, numbers per country,
exposed numbers per dataset) goes to standard output when the results go to
a file, to standard error when they go to standard output; --summary-json
FILE also writes it as JSON. The results hold personal data: --out and
--summary-json files are written readable by their owner only, --out
through a temporary file renamed when the run completes.

Exit status: 0 when every row was checked (whatever the statuses), 1 for
an error (an unreadable index or input, reported before any output; a read
or write error or an interruption during the run, after which the results
are incomplete and --out is not written), 2 for a usage error.
`,
}

var batchFlags struct {
	index, region, column, id, in, out, format, summaryJSON string
	onlyExposed, quiet                                      bool
	workers                                                 int
}

func init() {
	cmdBatch.SetFlags = func(fs *flag.FlagSet) {
		f := &batchFlags
		fs.StringVar(&f.index, "index", "", "index file to check against (required)")
		fs.StringVar(&f.region, "region", "", "default region for numbers without country code, e.g. EG")
		fs.StringVar(&f.column, "column", "", "column holding the numbers: header name or 1-based index (default: detect)")
		fs.StringVar(&f.id, "id", "", "column copied to each result row as its id: header name or 1-based index")
		fs.StringVar(&f.in, "in", "-", "input file, - for standard input")
		fs.StringVar(&f.out, "out", "-", "results file, - for standard output")
		fs.StringVar(&f.format, "format", "csv", "results format: csv or jsonl")
		fs.BoolVar(&f.onlyExposed, "only-exposed", false, "write only the rows of exposed numbers")
		fs.StringVar(&f.summaryJSON, "summary-json", "", "also write the summary as JSON to this file (owner-only)")
		fs.IntVar(&f.workers, "workers", 0, "checking goroutines (default: one per core)")
		fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	}
	cmdBatch.Run = runBatch
}

func runBatch(ctx context.Context, cmd *Command, args []string) error {
	f := &batchFlags
	switch {
	case len(args) > 0:
		return usagef("batch takes no arguments").hint("give the input with --in FILE (or on standard input)")
	case f.index == "":
		return usagef("--index is required").hint("phonecheck batch --index leak.idx --region EG --in subscribers.csv --out results.csv")
	case f.format != "csv" && f.format != "jsonl":
		return usagef("--format %q: want csv or jsonl", f.format)
	case f.out != "-" && f.out == f.in:
		return usagef("--out and --in are the same file")
	}
	region := strings.ToUpper(f.region)
	if region == "" {
		warningf("no --region: only numbers written with their country code will be read")
	}

	// Everything that can fail before the run fails before any output.
	c, err := checker.Open(f.index)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return withHint(err, "build an index first: phonecheck build --out %s ...", f.index)
		}
		return withHint(err, "run 'phonecheck verify %s' for details; rebuild the index if it is corrupt", f.index)
	}
	defer c.Close()
	var bar *progress
	opts := checker.BatchOptions{Region: region, Column: f.column, ID: f.id, Output: f.format,
		OnlyExposed: f.onlyExposed, Workers: f.workers,
		Progress: func(done, total int64) { bar.set(done, total) }}
	var b *checker.Batch
	if f.in == "-" {
		b, err = c.NewBatch(stdin, "-", opts)
	} else {
		b, err = c.OpenBatch(f.in, opts)
	}
	if err != nil {
		return err
	}
	defer b.Close()

	var w io.Writer = stdout
	var tmp *os.File
	if f.out != "-" {
		dir, base := filepath.Split(f.out)
		if dir == "" {
			dir = "."
		}
		tmp, err = os.CreateTemp(dir, "."+base+".tmp*")
		if err != nil {
			return err
		}
		defer func() {
			if tmp != nil {
				tmp.Close()
				os.Remove(tmp.Name())
			}
		}()
		if err := tmp.Chmod(0o600); err != nil {
			return err
		}
		w = tmp
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bar = newProgress(f.quiet, "checking")
	sum, err := b.Run(ctx, bw)
	bar.finish()
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		if sum != nil && f.out != "-" {
			err = fmt.Errorf("%w (after %d rows; %s not written)", err, sum.Rows, f.out)
		}
		return err
	}
	// The summary first: a run whose summary cannot be written fails
	// before its results appear.
	if f.summaryJSON != "" {
		data, _ := json.MarshalIndent(sum, "", "  ")
		if err := writePrivate(f.summaryJSON, append(data, '\n')); err != nil {
			return err
		}
	}
	if tmp != nil {
		err := tmp.Sync()
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), f.out)
		}
		if err != nil {
			return fmt.Errorf("writing %s: %w", f.out, err)
		}
		tmp = nil
	}
	report := stdout
	if f.out == "-" {
		report = stderr
	}
	printBatchSummary(report, sum, f.out)
	return nil
}

func printBatchSummary(w io.Writer, s *checker.BatchSummary, out string) {
	rate := float64(s.Rows) / max(s.Seconds, 1e-9)
	dest := out
	if out == "-" {
		dest = "standard output"
	}
	fmt.Fprintf(w, "checked %d rows in %s (%.0f rows/s): %d exposed, %d not exposed, %d invalid; %d result rows written to %s\n",
		s.Rows, time.Duration(s.Seconds*float64(time.Second)).Round(time.Millisecond), rate,
		s.Exposed, s.NotExposed, s.Invalid, s.Written, dest)
	if len(s.Reasons) > 0 {
		fmt.Fprintf(w, "\ninvalid rows by reason (first lines):\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, rc := range s.Reasons {
			var locs []string
			for _, l := range rc.First {
				locs = append(locs, fmt.Sprint(l.Line))
			}
			fmt.Fprintf(tw, "  %s\t%d\tline %s\n", rc.Reason, rc.Count, strings.Join(locs, " "))
		}
		tw.Flush()
	}
	if len(s.Datasets) > 0 {
		fmt.Fprintf(w, "\nexposed numbers per dataset:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range s.Datasets {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", d.Name, d.Date, d.Exposed)
		}
		tw.Flush()
	}
	if len(s.Countries) > 0 {
		fmt.Fprintf(w, "\nnumbers per country (exposed/checked):")
		for i, r := range s.SortedCountries() {
			if i == 20 {
				fmt.Fprintf(w, " ... (%d more; see --summary-json)", len(s.Countries)-20)
				break
			}
			cc := s.Countries[r]
			fmt.Fprintf(w, " %s %d/%d", r, cc.Exposed, cc.Checked)
		}
		fmt.Fprintln(w)
	}
}
