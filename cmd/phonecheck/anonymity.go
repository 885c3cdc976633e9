package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdAnonymity = &Command{
	Name:      "anonymity",
	UsageLine: "anonymity [--compute] [--go [--out FILE]] [REGION ...]",
	Short:     "print how many valid numbers of each country share a prefix",
	Long: `
Anonymity prints, per region, how many valid phone numbers it has and how
many of them share one hash prefix of each length a remote check may send
(12, 16, 20 and 24 bits). That second figure is the crowd a number hides
in when 'check --server' sends its prefix: the client picks the longest
length that keeps at least --min-anonymity numbers of the number's own
country.

The counts come from the phonenumbers metadata: for each region, the digit
strings of each possible length that the region's patterns accept, counted
with an automaton over the digits. The table ships in the binary
(checker/internal/keyscheme/anonymity_table.go); --compute counts afresh
instead of printing the shipped table, and --go writes the table as that
Go file (go generate ./checker/internal/keyscheme runs it). REGION arguments (e.g. US SG 001/800) limit the output.
`,
}

var anonymityFlags struct {
	compute, goSrc bool
	out            string
}

func init() {
	cmdAnonymity.SetFlags = func(fs *flag.FlagSet) {
		fs.BoolVar(&anonymityFlags.compute, "compute", false, "count from the metadata instead of printing the shipped table")
		fs.BoolVar(&anonymityFlags.goSrc, "go", false, "write the table as Go source (implies --compute)")
		fs.StringVar(&anonymityFlags.out, "out", "", "file to write (default: stdout)")
	}
	cmdAnonymity.Run = runAnonymity
}

func runAnonymity(ctx context.Context, cmd *Command, args []string) error {
	f := &anonymityFlags
	for i, a := range args {
		args[i] = strings.ToUpper(a)
	}
	var rows []checker.AnonymityRow
	if f.compute || f.goSrc {
		var err error
		if rows, err = checker.ComputeValidNumbers(args...); err != nil {
			return err
		}
	} else {
		want := map[string]bool{}
		for _, a := range args {
			want[a] = true
		}
		for _, r := range checker.AnonymityTable() {
			if len(want) == 0 || want[r.Key] {
				rows = append(rows, r)
			}
		}
	}
	if len(args) > 0 && len(rows) == 0 {
		return usagef("no such region in the table: %s", strings.Join(args, " "))
	}
	w := stdout
	if f.out != "" {
		file, err := os.Create(f.out)
		if err != nil {
			return err
		}
		defer file.Close()
		w = file
	}
	if f.goSrc {
		return checker.WriteAnonymityGo(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "region\tcode\tvalid numbers\t")
	for _, b := range checker.PrefixLengths {
		fmt.Fprintf(tw, "per %d-bit prefix\t", b)
	}
	fmt.Fprintln(tw)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t+%d\t%d\t", r.Key, r.CountryCode, r.Valid)
		for _, b := range checker.PrefixLengths {
			fmt.Fprintf(tw, "%s\t", roughCount(float64(r.Valid)/math.Exp2(float64(b))))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// roughCount prints an expected count: whole numbers from 10 up, one
// decimal below.
func roughCount(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}
