package phone

import (
	"fmt"
	"testing"
)

// TestFastNormalizeGolden runs the golden table through both paths, in
// both modes.
func TestFastNormalizeGolden(t *testing.T) {
	for _, c := range goldenSeeds(t) {
		for _, region := range []string{c[1], "", "US", "GB"} {
			for _, strict := range []bool{false, true} {
				if diff, _, _ := sameResult(c[0], region, strict); diff != "" {
					t.Error(diff)
				}
			}
		}
	}
}

// FuzzFastNormalize checks that the fast path returns what the library
// path returns (Normalize, or NormalizeStrict), on any input and default
// region, in both modes.
func FuzzFastNormalize(f *testing.F) {
	for i, c := range goldenSeeds(f) {
		f.Add(c[0], c[1], i%2 == 1)
	}
	f.Fuzz(func(t *testing.T, raw, region string, strict bool) {
		if len(region) > 3 {
			region = region[:3]
		}
		if diff, _, _ := sameResult(raw, region, strict); diff != "" {
			t.Fatal(diff)
		}
	})
}

func TestDigitDFA(t *testing.T) {
	d, err := compileDigitDFA([]string{`1\d{2}|2[0-3]`, `(?:12|3)4?`, ``})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s    string
		want uint16
	}{{"", 4}, {"123", 1}, {"23", 1}, {"24", 0}, {"12", 2}, {"124", 3}, {"3", 2}, {"34", 2}, {"1234", 0}} {
		if got := d.match([]byte(c.s)); got != c.want {
			t.Errorf("match(%q) = %b, want %b", c.s, got, c.want)
		}
	}
	if _, err := compileDigitDFA([]string{`([2-9]\d{6})$|1`}); err != errDFAUnsupported {
		t.Errorf("anchored pattern compiled: %v", err)
	}
	p, _ := compileDigitDFA([]string{`00|1[01]`})
	for s, want := range map[string]bool{"001": true, "0": false, "110": true, "12": false, "": false} {
		if got := p.matchPrefix([]byte(s)); got != want {
			t.Errorf("matchPrefix(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestFastNormalizerCompiles checks that every region's metadata compiled:
// a region left out would silently cost the library's speed.
func TestFastNormalizerCompiles(t *testing.T) {
	f := fastNormalizer()
	if len(f.regions) < 200 {
		t.Fatalf("%d regions compiled", len(f.regions))
	}
	for id, m := range f.regions {
		if !m.load() {
			t.Errorf("region %s did not compile", id)
		}
	}
	for cc, c := range f.ccs {
		if c == nil {
			continue
		}
		if !c.ok {
			t.Errorf("calling code %d did not compile", cc)
		}
		for _, m := range c.regions {
			if !m.load() {
				t.Errorf("calling code %d: region %s did not compile", cc, m.id)
			}
		}
	}
}

// sameResult compares the fast path with the library path (Normalize, or
// NormalizeStrict if strict) on one input and describes any difference
// (Number.Retried included, and the Normalizer's report of it); fast
// reports whether the fast path answered, retried whether the number came
// from the international retry.
func sameResult(raw, region string, strict bool) (diff string, fast, retried bool) {
	want, werr := normalize(raw, region, strict)
	var sc fastScratch
	got, gerr, fast := fastNormalizer().normalize(raw, region, strict, &sc)
	if got != want || ReasonOf(gerr) != ReasonOf(werr) || (gerr == nil) != (werr == nil) {
		// The input's shape and redacted results: no number, even a
		// fictional one, in a failure message.
		return fmt.Sprintf("fast path(%q, %q, strict %v) = %s %s retried %v, %v (fast %v); library path = %s %s retried %v, %v",
			maskDigits(raw), region, strict, Redact(got.E164), got.Region, got.Retried, gerr, fast,
			Redact(want.E164), want.Region, want.Retried, werr), fast, false
	}
	z := Normalizer{Strict: strict}
	e164, _, reason := z.AppendE164(nil, raw, region)
	if string(e164) != want.E164 || reason != ReasonOf(werr) || z.Retried != want.Retried {
		return fmt.Sprintf("AppendE164(%q, %q, strict %v) = %s, %q, retried %v; library path = %s retried %v, %v",
			maskDigits(raw), region, strict, Redact(string(e164)), reason, z.Retried, Redact(want.E164), want.Retried, werr), fast, false
	}
	return "", fast, want.Retried
}
