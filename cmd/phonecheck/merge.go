package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdMerge = &Command{
	Name:      "merge",
	UsageLine: "merge --out NEW INDEX INDEX...",
	Short:     "merge indexes into one (a new leak into an old index)",
	Long: `
Merge writes one index holding every number of the given indexes: the
datasets of all of them, each number with every dataset that holds it, and
the per-country counts recomputed. Adding a new leak is a build of the new
leak alone and a merge, not a rebuild from every raw file:

	phonecheck build --out new-leak.idx --dataset leak-2027 --region EG new.csv
	phonecheck merge --out all-2.idx all.idx new-leak.idx

It streams through the sorted keys of the inputs, so it takes little more
than the time to read them and write the result, and memory for the bloom
filter and the directory of the result only.

The indexes must all be plain (from 'phonecheck build') or all private,
sealed under one key (from 'phonecheck seal'): merging sealed indexes
evaluates nothing again. Dataset names must differ across the inputs: two
datasets of one name in two indexes cannot be told to be the same, so
merge refuses them (rebuild one under another --dataset name). Every
input's checksums are verified first; a corrupt input is an error and
nothing is written. The output is written owner-only to a temporary file
renamed into place; an interrupted merge leaves nothing behind.

When a number is in several inputs and every dataset holding it has
numbers of several countries, its country is not recorded anywhere: the
merged index then keeps the per-dataset country counts, exact, and
drops the index-wide ones (merge says how many numbers that concerns).
`,
}

var mergeFlags struct {
	out      string
	bloomFPR float64
}

func init() {
	cmdMerge.SetFlags = func(fs *flag.FlagSet) {
		f := &mergeFlags
		fs.StringVar(&f.out, "out", "", "index file to write (required)")
		fs.Float64Var(&f.bloomFPR, "bloom-fpr", 0, "bloom filter false positive rate (default: the first input's; negative: none)")
	}
	cmdMerge.Run = runMerge
}

func runMerge(ctx context.Context, cmd *Command, args []string) error {
	f := &mergeFlags
	switch {
	case f.out == "":
		return usagef("--out is required")
	case len(args) < 2:
		return usagef("merge takes at least two indexes")
	case slices.Contains(args, f.out):
		return usagef("--out must differ from the inputs (the result replaces it by rename)")
	}
	rep, err := checker.Merge(ctx, f.out, args, checker.MergeOptions{
		Created:  time.Now().UTC().Format("2006-01-02"),
		BloomFPR: f.bloomFPR,
	})
	if err != nil {
		return mergeError(err)
	}
	printMerge(stdout, f.out, rep)
	return nil
}

// mergeError is the error of a failed merge, with a hint.
func mergeError(err error) error {
	switch {
	case errors.Is(err, checker.ErrKeyMismatch):
		return withHint(err, "seal the plain index of one of them again with the other's key")
	case errors.Is(err, checker.ErrMerge) || errors.Is(err, checker.ErrScheme):
		return withHint(err, "merge takes indexes of one hash scheme, all plain or all sealed under one key, with distinct dataset names")
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted: nothing written")
	}
	return withHint(err, "run 'phonecheck verify' on the inputs for details")
}

// printMerge reports a merge that wrote out.
func printMerge(w io.Writer, out string, rep *checker.MergeReport) {
	kind := "plain"
	if rep.Private {
		kind = "private"
	}
	var sum int64
	for _, n := range rep.Inputs {
		sum += n
	}
	fmt.Fprintf(w, "wrote %s: %d keys from %d %s indexes (%d keys in all, %d in several), %d datasets, %s (%.2f bytes/key) in %s\n",
		out, rep.Keys, len(rep.Inputs), kind, sum, rep.InSeveral, rep.Datasets, humanBytes(rep.Bytes),
		float64(rep.Bytes)/float64(max(rep.Keys, 1)), rep.Elapsed.Round(time.Millisecond))
	if rep.CountriesUnknown > 0 {
		warningf("%d numbers are in several inputs whose datasets each hold several countries: their country is unknown, so the merged index has per-dataset country counts only", rep.CountriesUnknown)
	}
}
