package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdBuild = &Command{
	Name:      "build",
	UsageLine: "build --out INDEX [--base OLD] (--dataset NAME --region R [--column COL] [--date YYYY-MM] FILE... | --manifest FILE) [--strict] [--rejects FILE [--rejects-include-retried]]",
	Short:     "build an index from leak datasets",
	Long: `
Build reads leak datasets, normalizes every row to E.164, hashes it and
writes one index file: sorted keys, which datasets hold each key, a bloom
filter, and a header recording the datasets, per-country counts and the
library versions used.

One dataset comes from flags: --dataset names it, --region says how to
read numbers written without a country code, FILE... are its files. Several
datasets come from a manifest (JSON or TOML):

	[[dataset]]
	name   = "whatsapp-2022"
	date   = "2022-11"
	source = "forum post, 2022-11-16"
	region = "EG"
	column = "phone"
	files  = ["eg.csv.zst", "eg-2.csv.gz"]
	strict = true          # optional: read as Google's library does

Files are plain text (one number a line) or CSV/TSV (the column is picked
by --column, a header name or 1-based index, or detected), each optionally
gzip- or zstd-compressed. A row that does not normalize is counted and
reported with its file and line, never fatal; --rejects FILE writes every
rejected row (file, line, reason, value) as CSV.

A row of digits only that is not valid in the dataset's region is read
again as international, as if it began with "+" (dumps hold foreign
numbers without their plus). Such a row goes into the index, and the
report counts them per dataset with their first lines ("retried");
--rejects-include-retried also writes them to the rejects file, with the
reason "read as international: not valid in EG", for review: a few are
junk that happens to be somebody else's valid number. --strict (or
strict = true for one dataset of a manifest) reads numbers exactly as
Google's libphonenumber does: no such retry, none of phonecheck's
clean-ups. The index header records each dataset's mode ('phonecheck
info' shows it).

The index is as sensitive as the datasets it came from: a plain hash of a
phone number is easy to reverse. It is written with owner-only permissions,
to a temporary file renamed into place, so a crash never leaves a
half-written index.

--memory SIZE (say 2GiB; default: half the machine's RAM) bounds the
memory the build holds for its keys (12 bytes a row), their sort and the
bloom filter (0.84 bytes a number). Past half of it, keys are spilled
to an owner-only temporary directory next to the output and read back a
256th at a time; the index is the same, byte for byte. The directory is
removed on every exit, Ctrl-C included. The build checks before it starts
that the disk can hold the index and what it may spill, and reports its
peak RSS against SIZE.

--base OLD adds the new datasets to an earlier index instead of building
from every raw file again: the new datasets are built alone, to a
temporary file next to the output, then merged with OLD as 'phonecheck
merge' does (OLD's datasets and the new ones; a number in both keeps
both). OLD must be a plain index whose dataset names differ from the new
ones, which build checks before it reads anything; --out must differ
from OLD.
`,
}

var buildFlags struct {
	out, base, manifest, dataset, region, column, date, source, format, rejects, reportJSON, memory string
	workers                                                                                         int
	quiet, strict, rejectsRetried                                                                   bool
}

func init() {
	cmdBuild.SetFlags = func(fs *flag.FlagSet) {
		f := &buildFlags
		fs.StringVar(&f.out, "out", "", "index file to write (required)")
		fs.StringVar(&f.base, "base", "", "an earlier index to merge the new datasets into (the result goes to --out)")
		fs.StringVar(&f.manifest, "manifest", "", "manifest file listing the datasets (JSON or TOML)")
		fs.StringVar(&f.dataset, "dataset", "", "name of the dataset made of FILE...")
		fs.StringVar(&f.region, "region", "", "default region of the dataset, e.g. EG")
		fs.StringVar(&f.column, "column", "", "column holding the numbers: header name or 1-based index (default: detect)")
		fs.StringVar(&f.date, "date", "", "date of the dataset, YYYY-MM")
		fs.StringVar(&f.source, "source", "", "where the dataset comes from, free text")
		fs.StringVar(&f.format, "format", "", "input format: txt, csv or tsv (default: detect)")
		fs.StringVar(&f.rejects, "rejects", "", "write every rejected row to this CSV file (owner-only)")
		fs.BoolVar(&f.rejectsRetried, "rejects-include-retried", false, "with --rejects: also write the rows read as international after failing in the dataset's region, for review")
		fs.BoolVar(&f.strict, "strict", false, "read every dataset exactly as Google's libphonenumber does: no retry as international, none of phonecheck's clean-ups")
		fs.StringVar(&f.reportJSON, "report-json", "", "also write the build report as JSON to this file")
		fs.IntVar(&f.workers, "workers", 0, "goroutines normalizing, sorting, encoding (default: one per core)")
		fs.StringVar(&f.memory, "memory", "", "bound on the memory for keys, sort and bloom filter, e.g. 2GiB (default: half the RAM)")
		fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	}
	cmdBuild.Run = runBuild
}

func runBuild(ctx context.Context, cmd *Command, args []string) error {
	f := &buildFlags
	if f.out == "" {
		return usagef("--out is required")
	}
	var specs []checker.DatasetSpec
	switch {
	case f.manifest != "" && (f.dataset != "" || len(args) > 0):
		return usagef("--manifest and --dataset/FILE... do not mix").
			hint("list every dataset in the manifest, or build one dataset from flags")
	case f.manifest != "":
		m, err := checker.ReadManifest(nil, f.manifest)
		if err != nil {
			return err
		}
		specs = m.Datasets
	default:
		if f.dataset == "" {
			return usagef("--dataset NAME (or --manifest FILE) is required")
		}
		if len(args) == 0 {
			return usagef("no input FILE for dataset %q", f.dataset)
		}
		if f.date != "" && !checker.ValidDate(f.date) {
			return usagef("--date %q is not YYYY, YYYY-MM or YYYY-MM-DD", f.date)
		}
		specs = []checker.DatasetSpec{{Name: f.dataset, Date: f.date, Source: f.source,
			Region: strings.ToUpper(f.region), Column: f.column, Format: f.format, Files: args}}
	}
	if f.rejectsRetried && f.rejects == "" {
		return usagef("--rejects-include-retried goes with --rejects FILE")
	}
	if f.strict {
		for i := range specs {
			specs[i].Strict = true
		}
	}
	// Fail before an hour of reading, not after it.
	if fi, err := os.Stat(filepath.Dir(f.out)); err != nil || !fi.IsDir() {
		return fmt.Errorf("cannot write %s: directory %s does not exist", f.out, filepath.Dir(f.out))
	}
	for _, s := range specs {
		if s.Region == "" {
			warningf("dataset %s has no --region: only numbers with a country code will be read", s.Name)
		}
	}
	var baseSize int64
	if f.base != "" {
		var err error
		if baseSize, err = checkBase(f.base, f.out, specs); err != nil {
			return err
		}
	}
	memory := defaultMemory()
	if f.memory != "" {
		m, err := parseSize(f.memory)
		if err != nil {
			return usagef("--memory: %v", err)
		}
		memory = m
	}
	if memory < minBuildMemory {
		return usagef("--memory %s is below the %s a build needs", humanBytes(memory), humanBytes(minBuildMemory))
	}
	keyBytes, err := checkDisk(f.out, specs, memory, baseSize)
	if err != nil {
		return err
	}

	opts := checker.BuildOptions{Datasets: specs, Workers: f.workers,
		Created: time.Now().UTC().Format("2006-01-02"),
		Memory:  memory, SpillDir: filepath.Dir(f.out)}
	var rejects *privateFile
	if f.rejects != "" {
		rf, err := createPrivate(f.rejects)
		if err != nil {
			return err
		}
		defer rf.abort()
		opts.Rejects = rf
		opts.RejectsRetried = f.rejectsRetried
		rejects = rf
	}
	// The builder's keys are most of the live heap, and they are
	// pointer-free, so collecting often is cheap; the default GOGC=100
	// would let garbage from parsing grow as large as all the keys. A
	// build whose keys are over twice what it may hold in memory (by the
	// disk check's estimate) spills often and holds a small share of them
	// at a time: collecting at 20% of that ran the collector 5x as often
	// (10% of the CPU at 10M keys with --memory 200MiB, 3% in memory),
	// so there the bound alone says when to collect. The limit leaves a
	// margin: RSS runs ahead of what the runtime counts (memory it has
	// returned stays resident a while, in huge pages), and at 90% of 2GiB
	// a 487M build peaked at 2.16 GiB. A build that fits keeps GOGC=20:
	// with the collector off until the bound, the default 487M build
	// peaked at 10.9 GiB instead of 8.55, no faster.
	gcPercent, limit := 20, memory
	if keyBytes > memory {
		gcPercent, limit = -1, max(memory/2, memory/10*7-32<<20)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(gcPercent))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
	bar := newProgress(f.quiet, "reading")
	opts.Progress = bar.set
	start := time.Now()
	b, err := checker.Ingest(ctx, opts)
	bar.finish()
	if err != nil {
		return err
	}
	defer b.Close()
	target := f.out
	if f.base != "" {
		// The new datasets alone, in a temporary file removed on every
		// exit, then merged with the base into --out.
		tf, err := createPrivate(f.out)
		if err != nil {
			return err
		}
		tf.Close()
		target = tf.Name()
		defer os.Remove(target)
	}
	rep, err := b.WriteFileContext(ctx, target)
	if err != nil {
		return err
	}
	if f.base != "" {
		b.Close() // the merge needs none of the build's memory
		mrep, err := checker.Merge(ctx, f.out, []string{f.base, target}, checker.MergeOptions{Created: opts.Created})
		if err != nil {
			return mergeError(err)
		}
		printReport(stdout, "the new datasets", rep, time.Since(start)-mrep.Elapsed)
		printMerge(stdout, f.out, mrep)
	} else {
		printReport(stdout, f.out, rep, time.Since(start))
	}
	if rejects != nil {
		if err := rejects.commit(); err != nil {
			return err
		}
	}
	if rss := peakRSS(); rss > 0 {
		fmt.Fprintf(stdout, "peak RSS %s, --memory %s\n", humanBytes(rss), humanBytes(memory))
	}
	if f.reportJSON != "" {
		data, _ := json.MarshalIndent(rep, "", "  ")
		if err := writePrivate(f.reportJSON, append(data, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// checkBase says, before a build with --base reads anything, whether base
// can take the new datasets: a plain index, other than out, with none of
// their names. It returns base's size.
func checkBase(base, out string, specs []checker.DatasetSpec) (int64, error) {
	if abs(base) == abs(out) {
		return 0, usagef("--out must differ from --base (the result replaces --out by rename)")
	}
	c, err := openChecker(base)
	if err != nil {
		if errors.Is(err, checker.ErrScheme) {
			return 0, withHint(fmt.Errorf("--base %s: %w", base, err), "--base takes a plain index from 'phonecheck build'; merge private indexes with 'phonecheck merge'")
		}
		return 0, fmt.Errorf("--base %s: %w", base, err)
	}
	defer c.Close()
	for _, d := range c.Index().Meta().Datasets {
		for _, s := range specs {
			if s.Name == d.Name {
				return 0, withHint(fmt.Errorf("--base %s already has a dataset %q", base, d.Name),
					"name the new dataset otherwise (--dataset); two datasets of one name cannot be told apart")
			}
		}
	}
	return c.Index().Size(), nil
}

// abs is path made absolute, or path where that fails.
func abs(path string) string {
	if a, err := filepath.Abs(path); err == nil {
		return a
	}
	return path
}

// minBuildMemory is the least --memory takes. Below a few tens of MiB the
// bound is a request the runtime cannot keep, but the build still spills
// as often as it says, which tests use.
const minBuildMemory = 1 << 20

// checkDisk says, before a build starts, whether the disk of out can hold
// the index and, if the inputs will not fit in memory, the spill files.
// The rows are estimated from the input sizes (a compressed file counted
// five times its size), at 12 bytes a row, the shortest E.164 lines:
// an overestimate for most inputs, so that a refusal is never wrong by
// much. It also returns, by the same estimate, the bytes of keys the
// build will hold or spill.
func checkDisk(out string, specs []checker.DatasetSpec, memory, base int64) (keyBytes int64, err error) {
	var in int64
	for _, s := range specs {
		for _, name := range s.Files {
			fi, err := os.Stat(name)
			if err != nil {
				continue // the build will say so
			}
			n := fi.Size()
			if ext := strings.ToLower(filepath.Ext(name)); ext == ".gz" || ext == ".zst" || ext == ".zstd" {
				n *= 5
			}
			in += n
		}
	}
	rows := in / 12
	need := rows * 8 // the index: about 7 bytes a number, bloom filter included
	if base > 0 {
		need += base + rows*8 // --base: the new datasets' index, then the merged one
	}
	spill := rows*12 > memory/2
	if spill {
		need += rows * 12 // runs of 12-byte records, rewritten sorted, read back as the index is written
	}
	dir := filepath.Dir(out)
	free := diskFree(dir)
	if free < 0 || free >= need {
		return rows * 12, nil
	}
	what := "the index"
	if spill {
		what = "the index and the keys it spills past --memory"
	}
	return rows * 12, withHint(fmt.Errorf("not enough disk space: %s has %s free, the build needs about %s for %s (about %d rows)",
		dir, humanBytes(free), humanBytes(need), what, rows),
		"free some space, or write --out to another disk")
}

func printReport(w io.Writer, out string, rep *checker.BuildReport, elapsed time.Duration) {
	rate := float64(rep.Rows) / elapsed.Seconds()
	fmt.Fprintf(w, "wrote %s: %d numbers, %s (%.2f bytes/number) in %s (%.0f rows/s)\n",
		out, rep.Unique, humanBytes(rep.Bytes), float64(rep.Bytes)/float64(max(rep.Unique, 1)), elapsed.Round(time.Millisecond), rate)
	fmt.Fprintf(w, "rows read %d, valid %d (%d read as international), invalid %d; duplicates within a dataset %d; numbers in several datasets %d\n",
		rep.Rows, rep.Valid, rep.Retried, rep.Rows-rep.Valid, rep.DupWithin, rep.InSeveral)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\ndataset\tmode\trows\tvalid\tretried\tunique\tinvalid\tcolumn\n")
	for _, d := range rep.Datasets {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", d.Name, modeName(d.Strict), d.Rows, d.Valid, d.Retried, d.Unique, d.Rows-d.Valid, strings.Join(dedup(d.Columns), ", "))
	}
	tw.Flush()
	if rep.Retried > 0 {
		fmt.Fprintf(w, "\nvalid rows read as international, not valid in the dataset's region (first lines; --rejects-include-retried lists them all; --strict rejects them):\n")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range rep.Datasets {
			if d.Retried == 0 {
				continue
			}
			var locs []string
			for _, l := range d.RetriedFirst {
				locs = append(locs, filepath.Base(l.File)+":"+fmt.Sprint(l.Line))
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", d.Name, d.Retried, strings.Join(locs, " "))
		}
		tw.Flush()
	}
	if len(rep.Invalid) > 0 {
		fmt.Fprintf(w, "\ninvalid rows by reason (first lines):\n")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, rc := range rep.Invalid {
			var locs []string
			for _, l := range rc.First {
				locs = append(locs, filepath.Base(l.File)+":"+fmt.Sprint(l.Line))
			}
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", rc.Reason, rc.Count, strings.Join(locs, " "))
		}
		tw.Flush()
	}
	if len(rep.Countries) > 0 {
		fmt.Fprintf(w, "\nnumbers per country: %s\n", countsLine(rep.Countries))
	}
}

// modeName names a dataset's normalization mode in reports.
func modeName(strict bool) string {
	if strict {
		return "strict"
	}
	return "default"
}

func dedup(ss []string) []string {
	var out []string
	for _, s := range ss {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// A privateFile is a file only its owner can read (rejects, reports,
// generated datasets hold personal data), written under a temporary name
// in the same directory and renamed into place by commit: a failed run or
// a crash leaves the previous file, if any, as it was.
type privateFile struct {
	*os.File
	path string
	done bool
}

func createPrivate(path string) (*privateFile, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &privateFile{File: f, path: path}, nil
}

// commit syncs, closes and renames the file into place.
func (p *privateFile) commit() error {
	if p.done {
		return nil
	}
	p.done = true
	err := p.Sync()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.Name(), p.path)
	}
	if err != nil {
		os.Remove(p.Name())
		return fmt.Errorf("writing %s: %w", p.path, err)
	}
	return nil
}

// abort removes the temporary file unless commit ran; safe to defer.
func (p *privateFile) abort() {
	if !p.done {
		p.done = true
		p.Close()
		os.Remove(p.Name())
	}
}

// writePrivate writes data to path through a privateFile.
func writePrivate(path string, data []byte) error {
	f, err := createPrivate(path)
	if err != nil {
		return err
	}
	defer f.abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.commit()
}
