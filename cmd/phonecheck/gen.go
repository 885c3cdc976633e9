package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/phonecheck/phonecheck/checker"
)

var cmdGen = &Command{
	Name:      "gen",
	UsageLine: "gen [--seed N] [--n ROWS] [--format csv|txt] [--region R] [--mix EG=45,US=32] [--mix-shapes realistic|uniform] [--clean | --distinct] [--out FILE]",
	Short:     "write a seeded synthetic leak dataset",
	Long: `
Gen writes a synthetic leak dataset for tests and benchmarks: ROWS
numbers drawn with a seeded generator from the country mix of the 2022
WhatsApp dump (scaled), written in the messy formats real dumps use
(national and international forms, separators, 00/011 prefixes, tel: URIs,
extensions, quotes, spreadsheet artefacts, some junk). The same seed gives
the same bytes. The numbers are synthetic, valid per libphonenumber, and
come from no leak.

--region is the dataset's default region: only its numbers are written in
national form. --clean writes every number in E.164.

--mix-shapes says how often each shape of mess appears: vanity letters
(1-800-FLOWERS), two numbers in one cell, Unicode separators, labels
("Tel:", "mobile:"), extensions, tel: URIs, fullwidth and Arabic-Indic
digits, carrier codes (national numbers of BR, CO, KR, BO, CN and AU
under their own region). "realistic" (the default) writes most rows
plain, as dumps are; "uniform" gives every shape a number can take an
equal share, the worst case for a normalizer's speed.

--distinct writes ROWS different numbers, in E.164, one a line: a whole
dump's worth for scale benchmarks (bench/scale.sh). They are drawn without
repetition from whole valid ranges of each region of the mix (Egypt's
mobiles 10, 11, 12, 15 and any 8 digits; every US area code), on all
cores, and each is checked valid before it is written. Without --distinct,
numbers repeat: their ranges are small (the US and GB ones are fictional).
`,
}

var genFlags struct {
	seed                     int64
	n                        int
	format, region, mix, out string
	mixShapes                string
	clean, distinct          bool
	junk                     float64
}

func init() {
	cmdGen.SetFlags = func(fs *flag.FlagSet) {
		f := &genFlags
		fs.Int64Var(&f.seed, "seed", 1, "random seed")
		fs.IntVar(&f.n, "n", 1000, "rows to write")
		fs.StringVar(&f.format, "format", "csv", "csv or txt")
		fs.StringVar(&f.region, "region", "", "default region of the dataset")
		fs.StringVar(&f.mix, "mix", "", "country mix as REGION=WEIGHT,... (default: the 2022 dump's)")
		fs.StringVar(&f.mixShapes, "mix-shapes", "realistic", "shapes of mess in messy mode: realistic or uniform")
		fs.StringVar(&f.out, "out", "", "file to write (default: stdout)")
		fs.BoolVar(&f.clean, "clean", false, "write every number in E.164")
		fs.BoolVar(&f.distinct, "distinct", false, "write ROWS distinct numbers in E.164, one a line (scale benchmarks)")
		fs.Float64Var(&f.junk, "junk", 0.01, "fraction of junk rows in messy mode")
	}
	cmdGen.Run = runGen
}

func runGen(ctx context.Context, cmd *Command, args []string) error {
	f := &genFlags
	if len(args) > 0 {
		return usagef("gen takes no arguments")
	}
	if f.format != "csv" && f.format != "txt" {
		return usagef("--format %q: want csv or txt", f.format)
	}
	if f.n < 0 {
		return usagef("--n must not be negative")
	}
	if f.mixShapes != "realistic" && f.mixShapes != "uniform" {
		return usagef("--mix-shapes %q: want realistic or uniform", f.mixShapes)
	}
	var mix map[string]float64
	if f.mix != "" {
		mix = map[string]float64{}
		for _, part := range strings.Split(f.mix, ",") {
			k, v, ok := strings.Cut(part, "=")
			w, err := strconv.ParseFloat(v, 64)
			if !ok || err != nil || w < 0 {
				return usagef("--mix: %q is not REGION=WEIGHT", part)
			}
			mix[strings.ToUpper(strings.TrimSpace(k))] = w
		}
	}
	if f.distinct && (f.format != "csv" && f.format != "txt" || f.clean || f.region != "") {
		return usagef("--distinct writes E.164, one number a line: it takes no --clean or --region")
	}
	opts := checker.GenOptions{Seed: f.seed, N: f.n, Format: f.format, Clean: f.clean,
		Junk: f.junk, Region: strings.ToUpper(f.region), Mix: mix, MixShapes: f.mixShapes}
	w := stdout
	var file *privateFile
	if f.out != "" {
		var err error
		file, err = createPrivate(f.out)
		if err != nil {
			return err
		}
		defer file.abort()
		w = file
	}
	var st checker.GenStats
	var err error
	if f.distinct {
		st, err = checker.GenerateDistinct(ctx, w, checker.DistinctOptions{Seed: f.seed, N: f.n, Mix: mix})
	} else {
		st, err = checker.Generate(w, opts)
	}
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.commit(); err != nil {
			return err
		}
	}
	if f.out != "" {
		fmt.Fprintf(stderr, "phonecheck: wrote %d rows to %s\n", st.Rows, f.out)
	}
	return nil
}
