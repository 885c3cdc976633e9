package phone

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// shapeAlphabet holds the pieces random inputs of the automata tests are
// made of: every character class the library's patterns tell apart
// (digits, plus signs, punctuation, extension labels and their fullwidth,
// Cyrillic and accented forms, the runes that fold into ASCII letters),
// and some they do not.
var shapeAlphabet = []string{
	"0", "1", "2", "5", "9", "00", "123", "4567", "+", "\uff0b", " ", "-", ".", "(", ")", "/", "\\", "[", "]", "~",
	"x", "X", "*", "#", "\uff03", ";", ",", ",,", ":", "=", "\t", "\u00a0", "\u2010", "\u2013", "\u2015", "\u2212",
	"\u30fc", "\uff0d", "\uff0e", "\uff0f", "\u3000", "\uff08", "\uff09", "\uff3b", "\uff3d", "\u2053", "\u223c",
	"\uff5e", "\u00ad", "\u200b", "\u2060", "ext", "EXT", "e", "xt", "n", "extension", "extensio\u0301n", "extensi\u00f3n",
	"\uff45\uff58\uff54\uff4e", "\uff58", "\uff49\uff4e\uff54", "int", "INT", "\u0434\u043e\u0431", "\u0414\u041e\u0411", "anexo",
	";ext=", ";isub=", "a", "B", "Q", "z", "\u017f", "\u212a", "\u0131", "\u00e9", "\u2009", "!", "&", "@", "\u0661",
}

// randomShape returns pieces of the alphabet at random, or half the time
// a number-like run (an optional plus, digit groups and separators) with
// up to three random pieces after it.
func randomShape(rng *rand.Rand) string {
	var b strings.Builder
	tail := 1 + rng.IntN(12)
	if rng.IntN(2) == 0 {
		if rng.IntN(3) == 0 {
			b.WriteString("+")
		}
		for i := range 2 + rng.IntN(3) {
			if i > 0 {
				b.WriteString([]string{" ", "-", ".", "\u00a0", "\u2013", ""}[rng.IntN(6)])
			}
			b.WriteString([]string{"12", "345", "6789", "0"}[rng.IntN(4)])
		}
		tail = rng.IntN(4)
	}
	for range tail {
		b.WriteString(shapeAlphabet[rng.IntN(len(shapeAlphabet))])
	}
	return b.String()
}

// sameShapeAnswers compares the automata with the library's own regular
// expressions on s; it returns what differs, or "".
func sameShapeAnswers(s string) string {
	a := shapes()
	if !a.ok {
		return "the automata did not compile"
	}
	if got, want := a.viable.matchFull(s), phonenumbers.VALID_PHONE_NUMBER_PATTERN.MatchString(s); got != want {
		return "viable: automaton " + boolStr(got) + ", library " + boolStr(want)
	}
	want := -1
	if loc := phonenumbers.EXTN_PATTERN.FindStringIndex(s); loc != nil {
		want = loc[0]
	}
	if got := a.ext.leftmostSuffix(s); got != want {
		return "extension start: automaton and library differ"
	}
	return ""
}

// maskDigits shows s with every ASCII digit written 9: its shape, no
// number.
func maskDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '9'
		}
		return r
	}, s)
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// TestShapeAutomata checks the automata against the library's patterns on
// random inputs made of the pieces the patterns care about. The inputs
// hold no phone number (random digit runs of at most a dozen), and
// failures print their shape only.
func TestShapeAutomata(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	viable, ext := 0, 0
	for range n {
		s := randomShape(rng)
		if d := sameShapeAnswers(s); d != "" {
			t.Fatalf("%s on %q", d, maskDigits(s))
		}
		if shapes().viable.matchFull(s) {
			viable++
		}
		if shapes().ext.leftmostSuffix(s) >= 0 {
			ext++
		}
	}
	// The test means something only if both answers come up often.
	if viable < n/50 || ext < n/50 {
		t.Errorf("of %d inputs, %d viable and %d with an extension: the alphabet misses the patterns", n, viable, ext)
	}
	t.Logf("%d inputs agree: %d viable, %d with an extension", n, viable, ext)
}

// TestUnwantedEndIsNoOp checks what the shape reader assumes: the Go
// port's UNWANTED_END_CHAR_PATTERN (whose Java class intersection Go reads
// as literal characters) never matches an input clean has trimmed, so
// extractPossibleNumber leaves its end alone.
func TestUnwantedEndIsNoOp(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 4))
	for i := range 50_000 {
		strict := i%2 == 1
		s, err := clean(randomShape(rng)+"&&"+randomShape(rng)+"]", strict)
		if err != nil {
			continue
		}
		if phonenumbers.UNWANTED_END_CHAR_PATTERN.MatchString(s) {
			t.Fatalf("UNWANTED_END_CHAR_PATTERN matches a cleaned input %q (strict %v)", maskDigits(s), strict)
		}
	}
}

// FuzzShapeAutomata keeps comparing the automata with the library's
// patterns.
func FuzzShapeAutomata(f *testing.F) {
	for _, s := range []string{"201 555 0123 ext. 12", "+1 201 555 0123;ext=12", "1-800-FLOWERS", "201\u00a0555\u00a00123",
		"0100 123 4567;01001234568", "+7 912 345-67-89 \u0434\u043e\u0431. 12", "2015550123,,12", "201-555-0123 12#"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d := sameShapeAnswers(s); d != "" {
			t.Fatal(d)
		}
	})
}

// TestDigitShortcuts checks the shortcuts of isFormatChar and digitValue
// for the common blocks against the Unicode tables they skip.
func TestDigitShortcuts(t *testing.T) {
	for _, block := range [][2]rune{{0xFF01, 0xFF5E}, {0x0660, 0x0669}, {0x06F0, 0x06F9}, {0x2010, 0x2015}} {
		for r := block[0]; r <= block[1]; r++ {
			if unicode.Is(unicode.Cf, r) {
				t.Errorf("U+%04X is a format character", r)
			}
		}
	}
	for _, base := range []rune{0xFF10, 0x0660, 0x06F0} {
		if unicode.Is(unicode.Nd, base-1) {
			t.Errorf("U+%04X does not start a run of digits", base)
		}
		for v := range rune(10) {
			if !unicode.Is(unicode.Nd, base+v) || digitValue(base+v) != int(v) {
				t.Errorf("U+%04X: not the digit %d", base+v, v)
			}
		}
	}
}
