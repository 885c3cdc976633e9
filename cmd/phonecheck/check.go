package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/phonecheck/phonecheck"
	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/checker/phone"
)

var cmdCheck = &Command{
	Name:      "check",
	UsageLine: "check [--index INDEX | --server URL [--min-anonymity K] [--prefix-bits N] [--server-key KEY]] [--region R] [--strict] [--json] [--exit-code] NUMBER",
	Short:     "tell whether a number is in the index, and in which datasets",
	Long: `
Check normalizes NUMBER to E.164 on this device, hashes it and looks it up
in INDEX, a file built by 'phonecheck build'. Nothing leaves the device.
With no --index, it uses a small demo index embedded in the binary, built
from fictional numbers (testdata/demo), and says so.

NUMBER may be written in any usual way: "+44 20 7946 0123", "(415) 555-0132"
with --region US, "00 61 491 570 006" with --region GB. A NUMBER of "-" reads the number
from the first line of standard input, which keeps it out of shell history.
--region (or the PHONECHECK_REGION environment variable) says how to read
a number written without its country code. A number of digits only that
is not valid there is read again as international, as if it began with
"+" (a leak's foreign numbers often lack their plus), and check says so:
"note: read as an international number: not valid in EG". --strict reads
the number exactly as Google's libphonenumber does: no such retry, none
of phonecheck's clean-ups (spreadsheet artefacts, invisible characters,
digits of other scripts).

Output: the E.164 form and the datasets (name and date) that hold the
number. --json prints one object instead:

	{"e164": "+14155550132", "region": "US", "exposed": true,
	 "datasets": [{"name": "...", "date": "2022-11"}], "demo": true}

With --server URL, the check is remote: the number is still normalized
and hashed on this device, and only the first 3 to 6 hex digits of its
hash (2 when asked for: see below) are sent to URL ('phonecheck serve',
or a static 'phonecheck export' behind any web server), which answers with every hash sharing them; the
comparison happens here. The prefix is the longest of 12, 16, 20 and 24
bits that still leaves the number among at least K valid numbers of its
own country (--min-anonymity, default 1000; 'phonecheck anonymity' prints
the table). Check then says what left the device. The prefix length says
something too: a short one means a small country.

A country too small for K at any length (Aruba, Seychelles, Niue: a
12-bit prefix leaves an Aruba number among ~264) is checked with the
shortest prefix the server takes, and check says how many numbers share
it, fewer than K. Where the server takes a shorter one, check offers it:
--prefix-bits 8 downloads a larger answer (its size is shown) that hides
the number among 16 times as many (~4,200 for Aruba). A private server
takes 8 bits; the plain range API no fewer than 12, and check says so.
--prefix-bits N sends N bits (8, 12, 16, 20, 24, or a private server's
bucket bits) if the server takes them. A --min-anonymity given on the
command line is a requirement: check sends nothing rather than a prefix
that falls short of it, and says what would. With --json, "sent" says
what left the device: "prefix", "bits", "anonymity", "min_anonymity",
"anonymity_short", and "larger": {"bits", "anonymity", "bytes"} when a
larger download is on offer.

When the server offers the private mode ('phonecheck serve --private': it
answers GET /v1/private/key), check uses it: with the prefix goes one
blinded element (RFC 9497 VOPRF), which says nothing about the number; the
server's answer is verified against its public key before it is compared
here, and the bucket it returns cannot be tested offline. Otherwise the
check is a plain range query. Check says which mode it used.
--server-key pins the server's key: a key id (16 hex digits), a public key
(64 hex digits, as 'phonecheck keygen' prints it) or a file holding one;
a server with another key, or without private mode, is then refused before
anything is sent. A server that rate-limits the check (HTTP 429) for more
than a few seconds makes check fail and say when to try again.

Exit status: 0 when the check ran, exposed or not; 1 for an error (an
invalid number, an unreadable index); 2 for a usage error. With
--exit-code, an exposed number exits 3, for scripts.
`,
}

var checkFlags struct {
	index, region    string
	json, exitStatus bool
	server           string
	minAnonymity     float64
	anonRequired     bool // --min-anonymity was given: refuse rather than fall short of it
	strict           bool // --strict: read the number as Google's library does
	prefixBits       int
	serverKey        string
}

func init() {
	cmdCheck.SetFlags = func(fs *flag.FlagSet) {
		fs.StringVar(&checkFlags.index, "index", "", "index file to check against (default: the embedded demo index)")
		fs.StringVar(&checkFlags.region, "region", os.Getenv("PHONECHECK_REGION"), "default region for a number without country code, e.g. US (env PHONECHECK_REGION)")
		fs.BoolVar(&checkFlags.json, "json", false, "print the result as one JSON object")
		fs.BoolVar(&checkFlags.exitStatus, "exit-code", false, "exit with status 3 when the number is exposed")
		fs.BoolVar(&checkFlags.strict, "strict", false, "read the number exactly as Google's libphonenumber does: no retry as international, none of phonecheck's clean-ups")
		fs.StringVar(&checkFlags.server, "server", "", "check remotely against a range server or export at `URL`, sending only a hash prefix")
		fs.StringVar(&checkFlags.serverKey, "server-key", "", "with --server: pin the server's private-mode `KEY` (key id, public key, or a file holding one)")
		fs.Float64Var(&checkFlags.minAnonymity, "min-anonymity", checker.DefaultMinAnonymity, "with --server: the prefix sent should leave the number among at least `K` valid numbers of its country; given, nothing is sent when none does")
		fs.IntVar(&checkFlags.prefixBits, "prefix-bits", 0, "with --server: send `N` bits of the hash (one the server takes, e.g. 8 for a larger, more private answer) instead of the length K chooses")
	}
	cmdCheck.Run = runCheck
}

// checkJSON is the --json output; scripts rely on these names.
type checkJSON struct {
	E164     string            `json:"e164"`
	Region   string            `json:"region"`
	Exposed  bool              `json:"exposed"`
	Datasets []checker.Dataset `json:"datasets"`
	Demo     bool              `json:"demo,omitempty"`
	// Note says the number was read by the international retry.
	Note string    `json:"note,omitempty"`
	Sent *sentJSON `json:"sent,omitempty"`
}

func runCheck(ctx context.Context, cmd *Command, args []string) error {
	if len(args) != 1 {
		return usagef("want exactly one NUMBER, got %d arguments", len(args)).
			hint(`quote a number that has spaces: phonecheck check "+44 20 7946 0123"`)
	}
	raw := args[0]
	if raw == "-" {
		line, err := readLine(bufio.NewReader(stdin))
		if err != nil && line == "" {
			return fmt.Errorf("reading the number from standard input: %w", err)
		}
		raw = line
	}
	if checkFlags.serverKey != "" && checkFlags.server == "" {
		return usagef("--server-key goes with --server URL")
	}
	checkFlags.anonRequired = false
	cmd.Flag.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "min-anonymity":
			checkFlags.anonRequired = true
		case "prefix-bits":
			if checkFlags.prefixBits <= 0 {
				checkFlags.prefixBits = -1 // refused below
			}
		}
	})
	if checkFlags.prefixBits != 0 && checkFlags.server == "" {
		return usagef("--prefix-bits goes with --server URL").hint("a local check (--index, or the demo) sends nothing")
	}
	if checkFlags.prefixBits < 0 {
		return usagef("--prefix-bits wants a length in bits, e.g. 8")
	}
	if checkFlags.anonRequired && checkFlags.minAnonymity <= 0 {
		return usagef("--min-anonymity %g: want a positive K", checkFlags.minAnonymity)
	}
	if checkFlags.server != "" {
		if checkFlags.index != "" {
			return usagef("--index and --server do not go together").hint("--index checks locally, --server remotely: pick one")
		}
		return runRemoteCheck(ctx, raw)
	}
	c, err := openChecker(checkFlags.index)
	if err != nil {
		return err
	}
	defer c.Close()

	n, err := normalizeCheck(raw)
	if err != nil {
		return normalizeFailure(raw, err)
	}
	res := c.Lookup(n)
	if checkFlags.json {
		out := checkJSON{E164: res.Number.E164, Region: res.Number.Region, Exposed: res.Exposed,
			Datasets: res.Datasets, Demo: c.Demo(), Note: retriedNote(n)}
		if err := printCheckJSON(out); err != nil {
			return err
		}
	} else {
		if c.Demo() {
			fmt.Fprintln(stderr, "phonecheck: using the embedded demo index: fictional numbers, not a real leak (use --index)")
		}
		printResult(c, res)
		printRetriedNote(n)
	}
	if res.Exposed && checkFlags.exitStatus {
		return exitCode(exitExposed)
	}
	return nil
}

// printCheckJSON prints the --json result; datasets is [] rather than
// null when the number is not exposed.
func printCheckJSON(out checkJSON) error {
	if out.Datasets == nil {
		out.Datasets = []checker.Dataset{}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printResult(c *checker.Checker, res checker.Result) {
	n := res.Number
	if !res.Exposed {
		fmt.Fprintf(stdout, "%s (%s) is not in any of the %d datasets of this index.\n", n.E164, n.Region, len(c.Datasets()))
		return
	}
	word := "dataset"
	if len(res.Datasets) != 1 {
		word = "datasets"
	}
	fmt.Fprintf(stdout, "%s (%s) is EXPOSED: it is in %d %s.\n", n.E164, n.Region, len(res.Datasets), word)
	for _, d := range res.Datasets {
		printDataset(d)
	}
}

func printDataset(d checker.Dataset) {
	line := "  " + d.Name
	if d.Date != "" {
		line += "  (" + d.Date + ")"
	}
	if d.Source != "" {
		line += "  " + d.Source
	}
	fmt.Fprintln(stdout, line)
}

// openChecker opens the index at path, or the demo index if path is "".
func openChecker(path string) (*checker.Checker, error) {
	if path == "" {
		return phonecheck.Demo()
	}
	c, err := checker.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, withHint(err, "build an index first: phonecheck build --out %s ...", path)
		}
		return nil, withHint(err, "run 'phonecheck verify %s' for details; rebuild the index if it is corrupt", path)
	}
	return c, nil
}

// normalizeCheck normalizes the number check was given, strictly with
// --strict.
func normalizeCheck(raw string) (phone.Number, error) {
	if checkFlags.strict {
		return phone.NormalizeStrict(raw, checkFlags.region)
	}
	return phone.Normalize(raw, checkFlags.region)
}

// retriedNote is the note on a number read by the international retry,
// or "".
func retriedNote(n phone.Number) string {
	if !n.Retried {
		return ""
	}
	switch r := strings.ToUpper(checkFlags.region); r {
	case "", "ZZ":
		return "read as an international number: no --region given"
	default:
		return "read as an international number: not valid in " + r
	}
}

// printRetriedNote says, after the answer, that the number was read by
// the international retry: the country is a guess to confirm.
func printRetriedNote(n phone.Number) {
	if note := retriedNote(n); note != "" {
		fmt.Fprintf(stdout, "note: %s. Is %s the country meant? (--strict rejects such a number)\n", note, n.Region)
	}
}

// normalizeFailure turns a Normalize error into the error check reports.
func normalizeFailure(raw string, err error) error {
	r := phone.ReasonOf(err)
	if r == "" {
		return err
	}
	err = fmt.Errorf("%s is not a valid phone number: %s", phone.Redact(raw), r)
	if checkFlags.strict {
		if n, lerr := phone.Normalize(raw, checkFlags.region); lerr == nil {
			how := "read as international, it is a number of " + n.Region
			if !n.Retried {
				how = "with phonecheck's clean-ups it reads as a number of " + n.Region
			}
			return withHint(err, "--strict reads it as Google's library does; %s: drop --strict to accept that reading", how)
		}
	}
	if checkFlags.region == "" && r != phone.ReasonEmpty {
		return withHint(err, "a number without its country code needs --region, e.g. --region US")
	}
	return err
}
