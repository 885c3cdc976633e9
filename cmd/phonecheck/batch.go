package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdBatch = &Command{
	Name: "batch",
	UsageLine: "batch --index INDEX --region R [--strict] [--column COL] [--id COL] [--in FILE|-] [--out FILE|-] [--format csv|jsonl] [--only-exposed] [--summary-json FILE]\n" +
		"       phonecheck batch --server URL [--server-key KEY] --region R [same input and output flags]",
	Short: "check every number of a file (an operator's subscribers) against an index or a private server",
	Long: `
Batch checks every row of a file of phone numbers, such as an operator's
subscriber list, against an index, and writes one result row per input row,
in input order, as it goes:

	row,e164,region,status,reason,datasets,note
	2,+14155550132,US,exposed,,whatsapp-2022;forum-2024,
	3,+14155550199,US,not_exposed,,,
	4,,,invalid,too short,,
	5,+442079460123,GB,exposed,,whatsapp-2022,read as international: not valid in US

row is the line of the input where the row starts (the header is line 1);
with --id COL, an id column of the input (header name or 1-based index)
comes next. status is exposed, not_exposed or invalid; reason says why a
row is invalid (the reasons of 'phonecheck normalize', or "unreadable row");
datasets lists, separated by ';', the datasets holding an exposed number.
note marks a number read by the international retry: digits only, not
valid in the --region, read again as if they began with "+". Most such
numbers are foreign numbers written without their plus; a few are junk
that happens to be somebody else's number: review them before telling
anyone they are exposed (the summary counts them per dataset). --strict
reads every row exactly as Google's libphonenumber does: no such retry,
none of phonecheck's clean-ups. With --format jsonl each row is an object with the same fields ("datasets"
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

With --server URL instead of --index, the rows are checked against a
server's private index ('phonecheck serve --private', or a static export
with its evaluation server) without the numbers leaving this machine:
the same input, the same result rows, the same summary and exit status.
Each number is hashed here; the server gets the B-bit prefixes of the
buckets fetched (bucket-only requests, each bucket once while a 512 MiB
cache holds it) and blinded elements (evaluation-only requests of up to
the server's max_elements, which say nothing about the numbers), and
every answer is verified against the server's key; --server-key pins it,
as for 'check --server'. The summary says how many prefixes and elements
were sent. A server without private mode is refused before anything is
sent: plain prefixes of millions of numbers are not sent to a server.
The server rate-limits evaluations per client: batch waits out each 429
(saying so on standard error) and goes on; an operator checking millions
of numbers needs a server configured for it (serve --private --rate).

Exit status: 0 when every row was checked (whatever the statuses), 1 for
an error (an unreadable index or input, or a server without private mode
or with another key, reported before any output; a read or write error,
a server error or an interruption during the run, after which the results
are incomplete and --out is not written), 2 for a usage error.
`,
}

var batchFlags struct {
	index, region, column, id, in, out, format, summaryJSON string
	server, serverKey                                       string
	onlyExposed, quiet, strict                              bool
	workers                                                 int
}

func init() {
	cmdBatch.SetFlags = func(fs *flag.FlagSet) {
		f := &batchFlags
		fs.StringVar(&f.index, "index", "", "index file to check against (this or --server)")
		fs.StringVar(&f.server, "server", "", "check against the private index of the server at `URL` instead (numbers do not leave this machine)")
		fs.StringVar(&f.serverKey, "server-key", "", "with --server: pin the server's key (`KEY`: key id, public key, or a file holding one)")
		fs.StringVar(&f.region, "region", "", "default region for numbers without country code, e.g. EG")
		fs.StringVar(&f.column, "column", "", "column holding the numbers: header name or 1-based index (default: detect)")
		fs.StringVar(&f.id, "id", "", "column copied to each result row as its id: header name or 1-based index")
		fs.StringVar(&f.in, "in", "-", "input file, - for standard input")
		fs.StringVar(&f.out, "out", "-", "results file, - for standard output")
		fs.StringVar(&f.format, "format", "csv", "results format: csv or jsonl")
		fs.BoolVar(&f.onlyExposed, "only-exposed", false, "write only the rows of exposed numbers")
		fs.BoolVar(&f.strict, "strict", false, "read numbers exactly as Google's libphonenumber does: no retry as international, none of phonecheck's clean-ups")
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
	case f.index == "" && f.server == "":
		return usagef("--index or --server is required").hint("phonecheck batch --index leak.idx --region EG --in subscribers.csv --out results.csv")
	case f.index != "" && f.server != "":
		return usagef("--index and --server exclude each other: check against a local index or a private server")
	case f.serverKey != "" && f.server == "":
		return usagef("--server-key only goes with --server")
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
	var bar *progress
	opts := checker.BatchOptions{Region: region, Strict: f.strict, Column: f.column, ID: f.id, Output: f.format,
		OnlyExposed: f.onlyExposed, Workers: f.workers,
		Progress: func(done, total int64) { bar.set(done, total) }}
	var b *checker.Batch
	var err error
	if f.server != "" {
		b, err = openRemoteBatch(ctx, opts)
	} else {
		var c *checker.Checker
		c, b, err = openLocalBatch(opts)
		if c != nil {
			defer c.Close()
		}
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
		var se *checker.ServerError
		if errors.As(err, &se) && se.Status == http.StatusTooManyRequests {
			if se.RetryAfter > batchMaxWait {
				return withHint(err, "the server asked to wait %s, longer than batch waits (%s): a batch of many numbers needs a server configured for it (serve --private --rate)",
					se.RetryAfter, batchMaxWait)
			}
			return withHint(err, "the server kept rate limiting after %d waits: a batch of many numbers needs a server configured for it (serve --private --rate)", batchMaxRetries)
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

// openLocalBatch opens the index of --index and a batch over it; the
// caller closes both.
func openLocalBatch(opts checker.BatchOptions) (*checker.Checker, *checker.Batch, error) {
	f := &batchFlags
	c, err := checker.Open(f.index)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, withHint(err, "build an index first: phonecheck build --out %s ...", f.index)
		}
		return nil, nil, withHint(err, "run 'phonecheck verify %s' for details; rebuild the index if it is corrupt", f.index)
	}
	var b *checker.Batch
	if f.in == "-" {
		b, err = c.NewBatch(stdin, "-", opts)
	} else {
		b, err = c.OpenBatch(f.in, opts)
	}
	return c, b, err
}

// batchMaxWait is the longest Retry-After a batch waits out; a server
// asking for more is refusing this client in practice.
const batchMaxWait = 10 * time.Minute

// batchMaxRetries is how many 429s one request of a batch waits out, and
// batchTransientRetries how many network errors or 502/503/504 answers it
// retries (backoff 0.5 s to 30 s: about 4 minutes in all), so that a
// run of hours survives a server restart or a proxy's hiccup.
const (
	batchMaxRetries       = 100
	batchTransientRetries = 12
)

// openRemoteBatch opens the batch of --server: private mode only, with
// the key checked (and pinned with --server-key) before anything is sent.
func openRemoteBatch(ctx context.Context, opts checker.BatchOptions) (*checker.Batch, error) {
	f := &batchFlags
	pc := &checker.PrivateClient{BaseURL: f.server, HTTP: remoteHTTP, MaxWait: batchMaxWait, MaxRetries: batchMaxRetries,
		TransientRetries: batchTransientRetries}
	if f.serverKey != "" {
		var err error
		if pc.PublicKey, pc.KeyID, err = parseServerKey(f.serverKey); err != nil {
			return nil, err
		}
	}
	_, _, err := pc.Config(ctx)
	var se *checker.ServerError
	switch {
	case err == nil:
	case errors.As(err, &se) && se.Status == http.StatusNotFound:
		return nil, withHint(fmt.Errorf("%s offers no private mode (%s answers 404): nothing sent", f.server, checker.PrivateKeyPath),
			"batch --server sends no plain prefixes of subscribers' numbers; ask for a private server (serve --private), or check against a local index with --index")
	case errors.Is(err, checker.ErrKeyMismatch):
		detail := strings.TrimPrefix(err.Error(), checker.ErrKeyMismatch.Error()+": ")
		return nil, withHint(fmt.Errorf("%s: refusing the server's key (%s): nothing sent", f.server, detail),
			"the key is not the pinned one: a key rotation, or not the server you trust; get its key from a source you trust")
	default:
		return nil, withHint(fmt.Errorf("%s: %w", f.server, err), "is the server up? 'phonecheck serve --private ...' serves private queries")
	}
	var mu sync.Mutex
	var last time.Time
	popts := checker.PrivateBatchOptions{BatchOptions: opts,
		RateLimited: func(wait time.Duration, msg string) {
			mu.Lock()
			defer mu.Unlock()
			if time.Since(last) < 30*time.Second {
				return
			}
			first := last.IsZero()
			last = time.Now()
			warningf("%s is rate limiting this client (%s): waiting %s, then going on", f.server, msg, wait)
			if first {
				hintf("a batch of many numbers needs a server configured for it: ask its operator for a higher --rate for your address (phonecheck serve --private --rate), or a server of your own")
			}
		}}
	if f.in == "-" {
		return pc.NewBatch(ctx, stdin, "-", popts)
	}
	return pc.OpenBatch(ctx, f.in, popts)
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
	switch {
	case s.Strict:
		fmt.Fprintf(w, "strict: numbers read as Google's libphonenumber reads them, none as international after failing in the region\n")
	case s.Retried > 0:
		fmt.Fprintf(w, "%d valid rows were read as international, not being valid in the region (note column), %d of them exposed: review them\n",
			s.Retried, s.RetriedExposed)
	}
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
		fmt.Fprintf(w, "\nexposed numbers per dataset (of them read as international):\n")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range s.Datasets {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t(%d)\n", d.Name, d.Date, d.Exposed, d.ExposedRetried)
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
	if t := s.Sent; t != nil {
		pinned := "fetched from the server"
		if t.KeyPinned {
			pinned = "pinned"
		}
		fmt.Fprintf(w, "\nPrivate mode: sent %s of %d bits (%s) and %s (%s) to %s; no number left this machine. Every answer was verified against the server's key %s (%s).\n",
			plural(t.Prefixes, "prefix", "prefixes"), t.PrefixBits, plural(t.BucketRequests, "bucket request", "bucket requests"),
			plural(t.BlindedElements, "blinded element", "blinded elements"), plural(t.EvalRequests, "evaluation request", "evaluation requests"),
			t.Server, t.KeyID, pinned)
		if !strings.HasPrefix(t.Evaluator, strings.TrimRight(t.Server, "/")+"/") {
			fmt.Fprintf(w, "Evaluations went to %s, which saw the blinded elements only, not the prefixes.\n", t.Evaluator)
		}
		if t.RateLimited > 0 {
			fmt.Fprintf(w, "The server rate-limited this client %d times (%s waited).\n", t.RateLimited,
				time.Duration(t.RateLimitSeconds*float64(time.Second)).Round(time.Second))
		}
	}
}

// plural returns "1 one" or "n many".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
