package phone

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The normalization golden table, testdata/normalize.golden, pins what
// [Normalize] and [NormalizeStrict] return for messy leak-dump inputs, and
// Google libphonenumber's result for each (checked by
// TestNormalizeGoldenGoogle through tools/libphonenumber-ref).
//
// The table has no -update flag on purpose: its expectations come from
// Google's library, not from this package. To add cases, write them with
// "=> ?" (or "[pc: ?]") and run `node tools/libphonenumber-ref/ref.js fill
// checker/phone/testdata/normalize.golden` from the module root.
//
// Format, one case a line ('#' comments and blank lines allowed):
//
//	REGION "RAW" => RESULT
//	REGION "RAW" => RESULT [pc: GOOGLE] note
//	REGION "RAW" => RESULT [lag: GOOGLE] note
//
// RESULT is "+E164 REGION", with " retried" after it when the number came
// from the international retry ([Number.Retried]), or "invalid: REASON".
// A line without a mark is Google's result and phonecheck's in both modes.
// A [pc] line is a deliberate phonecheck deviation: RESULT is what
// Normalize returns, GOOGLE what Google's library and NormalizeStrict
// return. A [lag] line is where the Go port's metadata lags Google's:
// RESULT is phonecheck's in both modes, GOOGLE Google's result; the mark
// goes when a metadata update closes the gap (ref.js then fails the line).
// Only [pc] lines may be retried.
//
// REGION is a two-letter default region, or ZZ for none. RAW is a Go
// double-quoted string written exactly as strconv.Quote writes it (printable
// non-ASCII as is, invisible characters escaped). The result region is two
// letters, or three digits (001) for non-geographic numbers.
const goldenFile = "testdata/normalize.golden"

// goldenReasons are the reasons a golden case may expect, as strings: the
// table is checked against these, not against the package's constants, so
// a renamed constant cannot silently change the table's meaning.
var goldenReasons = map[string]bool{
	"empty":                true,
	"not a number":         true,
	"invalid country code": true,
	"too short":            true,
	"too long":             true,
	"invalid length":       true,
	"not a valid number":   true,
}

type goldenCase struct {
	pos    string // file:line
	region string // default region; "ZZ" for none
	quoted string // the raw input as written in the file
	raw    string
	want   string // Normalize's result: "+E164 REGION", "+E164 REGION retried" or "invalid: REASON"
	pc     bool   // a deliberate phonecheck deviation from Google
	lag    bool   // the Go port's metadata lags Google's
	google string // with pc or lag: Google's result
	note   string
}

// strictWant is what NormalizeStrict must return: Google's result, but
// where the metadata lags.
func (c goldenCase) strictWant() string {
	if c.pc {
		return c.google
	}
	return c.want
}

var (
	goldenLineRE = regexp.MustCompile(`^([A-Z]{2}) ("(?:[^"\\]|\\.)*") => (.*)$`)
	goldenOKRE   = regexp.MustCompile(`^\+[1-9][0-9]{1,14} (?:[A-Z]{2}|[0-9]{3})$`)
	goldenMarkRE = regexp.MustCompile(`^(.*?) \[(pc|lag): ([^\]]*)\](.*)$`)
)

// parseGolden reads a golden table. A malformed line is an error naming its
// file and line; all such lines are reported together.
func parseGolden(path string) ([]goldenCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		cases []goldenCase
		errs  []error
		seen  = map[string]string{}
	)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		pos := fmt.Sprintf("%s:%d", path, n)
		c, ok, err := parseGoldenLine(sc.Text())
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", pos, err))
			continue
		}
		if !ok {
			continue
		}
		c.pos = pos
		key := c.region + " " + c.quoted
		if first, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate of the case at %s", pos, first))
			continue
		}
		seen[key] = pos
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", path, err))
	}
	return cases, errors.Join(errs...)
}

// parseGoldenLine parses one line; ok is false for comments and blank lines.
func parseGoldenLine(line string) (c goldenCase, ok bool, err error) {
	t := strings.TrimSpace(line)
	if t == "" || strings.HasPrefix(t, "#") {
		return c, false, nil
	}
	m := goldenLineRE.FindStringSubmatch(t)
	if m == nil {
		return c, false, errors.New(`want REGION "RAW" => RESULT [[pc] note]`)
	}
	c.region, c.quoted = m[1], m[2]
	c.raw, err = strconv.Unquote(c.quoted)
	if err != nil {
		return c, false, fmt.Errorf("raw input %s: %v", c.quoted, err)
	}
	if q := strconv.Quote(c.raw); q != c.quoted {
		return c, false, fmt.Errorf("raw input %s: write it as strconv.Quote does: %s", c.quoted, q)
	}
	rest := m[3]
	if strings.Contains(rest, "[pc]") {
		return c, false, errors.New("[pc] without Google's result: write [pc: ?] and run tools/libphonenumber-ref/ref.js fill")
	}
	if mm := goldenMarkRE.FindStringSubmatch(rest); mm != nil {
		rest, c.google, c.note = mm[1], strings.TrimSpace(mm[3]), strings.TrimSpace(mm[4])
		c.pc, c.lag = mm[2] == "pc", mm[2] == "lag"
		if err := checkGoldenResult(c.google, false); err != nil {
			return c, false, fmt.Errorf("[%s: ...]: %w", mm[2], err)
		}
	}
	c.want = strings.TrimSpace(rest)
	if err := checkGoldenResult(c.want, c.pc); err != nil {
		return c, false, err
	}
	if (c.pc || c.lag) && c.want == c.google {
		return c, false, fmt.Errorf("marked as differing from Google, with Google's own result %q", c.google)
	}
	return c, true, nil
}

// checkGoldenResult checks a result's notation; retried says whether it
// may carry " retried".
func checkGoldenResult(r string, retried bool) error {
	switch {
	case r == "?":
		return errors.New("no expected result: run tools/libphonenumber-ref/ref.js fill")
	case strings.HasPrefix(r, "invalid: "):
		if !goldenReasons[strings.TrimPrefix(r, "invalid: ")] {
			return fmt.Errorf("unknown reason in %q", r)
		}
		return nil
	}
	if t, ok := strings.CutSuffix(r, " retried"); ok {
		if !retried {
			return fmt.Errorf("result %q: only a [pc] line may be retried (Google never retries)", r)
		}
		r = t
	}
	if !goldenOKRE.MatchString(r) {
		return fmt.Errorf(`result %q: want "+E164 REGION" or "invalid: REASON"`, r)
	}
	return nil
}

// normalizeResult runs Normalize (NormalizeStrict if strict) and renders
// its result in the table's notation.
func normalizeResult(raw, region string, strict bool) string {
	n, err := normalize(raw, region, strict)
	if err != nil {
		r := ReasonOf(err)
		if r == "" {
			return fmt.Sprintf("error without a reason: %v", err)
		}
		return "invalid: " + string(r)
	}
	if !strings.HasPrefix(n.E164, "+"+strconv.Itoa(n.CountryCode)) {
		return fmt.Sprintf("%s %s with country code %d", n.E164, n.Region, n.CountryCode)
	}
	if n.Retried {
		return n.E164 + " " + n.Region + " retried"
	}
	return n.E164 + " " + n.Region
}

func TestNormalizeGolden(t *testing.T) {
	cases, err := parseGolden(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	// Guard against a truncated or accidentally emptied table.
	regions := map[string]bool{}
	for _, c := range cases {
		regions[c.region] = true
	}
	if len(cases) < 350 || len(regions) < 30 {
		t.Fatalf("%s: %d cases over %d default regions; want at least 350 over 30", goldenFile, len(cases), len(regions))
	}
	failed, pc, lag, retried := 0, 0, 0, 0
	for _, c := range cases {
		regs := []string{c.region}
		if c.region == "ZZ" {
			regs = append(regs, "") // "" and "ZZ" both mean no default region
		}
		pc += b2i(c.pc)
		lag += b2i(c.lag)
		retried += b2i(strings.HasSuffix(c.want, " retried"))
		for _, region := range regs {
			if got := normalizeResult(c.raw, region, false); got != c.want {
				failed++
				kind := ""
				if c.pc {
					kind = " [pc]"
				}
				t.Errorf("%s: Normalize(%s, %q) = %s, want %s%s", c.pos, c.quoted, region, got, c.want, kind)
			}
			if got := normalizeResult(c.raw, region, true); got != c.strictWant() {
				failed++
				t.Errorf("%s: NormalizeStrict(%s, %q) = %s, want %s (Google's)", c.pos, c.quoted, region, got, c.strictWant())
			}
		}
	}
	if failed > 0 {
		t.Logf("%d of %d cases failed", failed, len(cases))
	}
	// The table covers what it pins: the retry made visible, and strict.
	if pc < 40 || retried < 25 {
		t.Errorf("%s: %d [pc] cases, %d retried; want at least 40 and 25", goldenFile, pc, retried)
	}
	t.Logf("%d cases: default mode = Google on %d, %d [pc] (%d retried), %d [lag]; strict = Google on %d, %d [lag]",
		len(cases), len(cases)-pc-lag, pc, retried, lag, len(cases)-lag, lag)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// moduleRoot returns the directory holding go.mod, from the package
// directory the test runs in.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// TestNormalizeGoldenGoogle checks that every non-[pc] case in the table is
// Google libphonenumber's own result, and that every [pc] case does differ
// from Google. It needs node and the npm package pinned in
// tools/libphonenumber-ref; CI must install them.
func TestNormalizeGoldenGoogle(t *testing.T) {
	root := moduleRoot(t)
	const hint = "run `npm ci --prefix tools/libphonenumber-ref` (.ci/run must do so before go test)"
	missing := ""
	if _, err := exec.LookPath("node"); err != nil {
		missing = "node is not installed"
	} else if _, err := os.Stat(filepath.Join(root, "tools/libphonenumber-ref/node_modules/google-libphonenumber")); err != nil {
		missing = "tools/libphonenumber-ref/node_modules is missing"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %s", missing, hint)
		}
		t.Skipf("%s: %s", missing, hint)
	}
	cmd := exec.Command("node", "tools/libphonenumber-ref/ref.js", "check", "checker/phone/testdata/normalize.golden")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ref.js check: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func TestParseGoldenRejectsMalformed(t *testing.T) {
	for _, line := range []string{
		`US 2015550123 => +12015550123 US`,                                    // raw not quoted
		`us "2015550123" => +12015550123 US`,                                  // region lower case
		`USA "2015550123" => +12015550123 US`,                                 // region too long
		`US "2015550123" +12015550123 US`,                                     // no =>
		`US "2015550123" => 12015550123 US`,                                   // no +
		`US "2015550123" => +12015550123`,                                     // no result region
		`US "2015550123" => invalid: bogus`,                                   // unknown reason
		`US "2015550123" => invalid:`,                                         // no reason
		`US "2015550123" => ?`,                                                // not filled
		`US "201\q" => invalid: not a number`,                                 // bad escape
		`US "a\x41" => invalid: not a number`,                                 // not as strconv.Quote writes it
		`US "2015550123" => +12015550123 US extra`,                            // trailing junk
		`US "2015550123" => [pc] soft hyphen`,                                 // [pc] without a result
		`US "2015550123 => +12015550123 US`,                                   // unterminated string
		`US "\u00ad" => invalid: empty [pc] note`,                             // [pc] without Google's result
		`US "12015550123" => +12015550123 US retried`,                         // retried without [pc]
		`US "1201555012" => +1201555012 EG retried [lag: invalid: too short]`, // retried on a [lag] line
		`US "12015550123" => +12015550123 US [pc: +12015550123 US]`,           // [pc] with Google's own result
		`US "12015550123" => +12015550123 US [pc: bogus]`,                     // bad Google result
		`US "12015550123" => +12015550123 US [pc: +12015550123 US retried]`,   // Google never retries
	} {
		if _, _, err := parseGoldenLine(line); err == nil {
			t.Errorf("parseGoldenLine(%s) accepted a malformed line", line)
		}
	}
	for _, line := range []string{
		`US "\u00ad" => invalid: empty [pc: invalid: not a number] strconv.Quote escapes format characters`,
		`US "442079460123" => +442079460123 GB retried [pc: invalid: too long]`,
		`AR "11 0247 9403" => invalid: not a valid number [lag: +541102479403 AR] metadata`,
		`ZZ "+800 1234 5678" => +80012345678 001`,
		`EG "٠١٠٠١٢٣٤٥٦٧" => +201001234567 EG`,
		`  US "x" => invalid: not a number  `,
	} {
		if _, ok, err := parseGoldenLine(line); err != nil || !ok {
			t.Errorf("parseGoldenLine(%s) = %v, %v; want a case", line, ok, err)
		}
	}

	// Errors name file and line, and every bad line is reported.
	path := filepath.Join(t.TempDir(), "bad.golden")
	content := "# comment\n\nUS \"2015550123\" => +12015550123 US\nUS nope\nUS \"2015550123\" => +12015550123 US\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := parseGolden(path)
	if err == nil {
		t.Fatal("parseGolden accepted a malformed file")
	}
	for _, want := range []string{path + ":4: ", path + ":5: duplicate of the case at " + path + ":3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("parseGolden error %q does not contain %q", err, want)
		}
	}
}
