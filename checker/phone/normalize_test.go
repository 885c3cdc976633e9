package phone

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzNormalize checks Normalize's invariants on any input: no panic; a
// result is "+" and ASCII digits (libphonenumber allows up to 17,
// beyond E.164's 15: German numbers) with a region; normalizing a
// result again gives it back unchanged, whatever the default region; an
// error carries one of the documented reasons.
func FuzzNormalize(f *testing.F) {
	for _, c := range goldenSeeds(f) {
		f.Add(c[0], c[1])
	}
	f.Fuzz(func(t *testing.T, raw, region string) {
		if len(region) > 3 {
			region = region[:3]
		}
		n, err := Normalize(raw, region)
		if err != nil {
			r := ReasonOf(err)
			known := false
			for _, k := range Reasons {
				known = known || k == r
			}
			if !known {
				t.Fatalf("Normalize(%q, %q): error %v has no known reason", raw, region, err)
			}
			if strings.Contains(err.Error(), raw) && len(raw) > 3 {
				t.Fatalf("error %q quotes the input", err)
			}
			return
		}
		if !strings.HasPrefix(n.E164, "+") || len(n.E164) < 4 || len(n.E164) > 18 || !allDigits(n.E164[1:]) {
			t.Fatalf("Normalize(%q, %q) = %q: not E.164", raw, region, n.E164)
		}
		if n.Region == "" || n.CountryCode <= 0 || !strings.HasPrefix(n.E164[1:], strconv.Itoa(n.CountryCode)) {
			t.Fatalf("Normalize(%q, %q) = %+v: inconsistent", raw, region, n)
		}
		// The E.164 form reads back as itself, in both modes, and never
		// by the international retry.
		want := n
		want.Retried = false
		for _, r2 := range []string{"", "US", n.Region} {
			n2, err := Normalize(n.E164, r2)
			if err != nil || n2 != want {
				t.Fatalf("Normalize(%s, %q) = %s %s retried %v, %v; want %s %s (from %q)", Redact(n.E164), r2,
					Redact(n2.E164), n2.Region, n2.Retried, err, Redact(want.E164), want.Region, maskDigits(raw))
			}
			n2, err = NormalizeStrict(n.E164, r2)
			if err != nil || n2 != want {
				t.Fatalf("NormalizeStrict(%s, %q) = %s %s retried %v, %v; want %s %s (from %q)", Redact(n.E164), r2,
					Redact(n2.E164), n2.Region, n2.Retried, err, Redact(want.E164), want.Region, maskDigits(raw))
			}
		}
		// Strict never retries, and where the default mode did not retry,
		// strict reads the same number or none.
		if s, err := NormalizeStrict(raw, region); err == nil && (s.Retried || !n.Retried && s != n) {
			t.Fatalf("NormalizeStrict(%q, %q) = %s %s retried %v; Normalize = %s %s retried %v", maskDigits(raw), region,
				Redact(s.E164), s.Region, s.Retried, Redact(n.E164), n.Region, n.Retried)
		}
	})
}

// goldenSeeds returns (raw, region) pairs of the golden table.
func goldenSeeds(tb testing.TB) [][2]string {
	f, err := os.Open("testdata/normalize.golden")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		region, rest, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		i := strings.Index(rest, `" => `)
		if i < 0 {
			continue
		}
		raw, err := strconv.Unquote(rest[:i+1])
		if err != nil {
			continue
		}
		out = append(out, [2]string{raw, region})
	}
	return out
}

func TestNormalizeNeverQuotesInput(t *testing.T) {
	for _, c := range goldenSeeds(t) {
		_, err := Normalize(c[0], c[1])
		if err != nil && len(c[0]) > 4 && strings.Contains(err.Error(), c[0]) {
			t.Errorf("error for %q quotes the input: %v", c[0], err)
		}
	}
}

func TestDigitValue(t *testing.T) {
	for _, zero := range []rune{'0', '٠', '۰', '०', '০', '๐', '０', 0x1D7CE, 0x1D7D8, 0x1D7F6} {
		for d := rune(0); d < 10; d++ {
			if got := digitValue(zero + d); got != int(d) {
				t.Errorf("digitValue(%U) = %d, want %d", zero+d, got, d)
			}
		}
	}
	_ = utf8.RuneLen
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"+14155550132":  "+1…32",
		"+201001234567": "+20…67",
		"+85251234567":  "+852…67",
		"0491 570 006":  "…06",
		"7":             "…??",
		"":              "…??",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizerMatchesNormalize(t *testing.T) {
	var z Normalizer
	for _, c := range goldenSeeds(t) {
		n1, err1 := Normalize(c[0], c[1])
		n2, err2 := z.Normalize(c[0], c[1])
		if n1 != n2 || ReasonOf(err1) != ReasonOf(err2) {
			t.Errorf("%s %q: Normalize = %+v, %v; Normalizer = %+v, %v", c[1], c[0], n1, err1, n2, err2)
		}
	}
}
