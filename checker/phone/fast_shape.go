package phone

// Reading the shapes of mess scanSimple leaves (letters, Unicode
// separators, labels with ';' or non-ASCII text, any extension, tel: URIs
// with parameters, two numbers in one cell) as the library reads them, step
// for step: buildNationalNumberForParsing (phone-context, then
// extractPossibleNumber and the ISDN subaddress), isViablePhoneNumber,
// maybeStripExtension, the plus signs, and normalize (keypad letters when
// the number has three letters or more). The library's two patterns over
// whole inputs, VALID_PHONE_NUMBER_PATTERN and EXTN_PATTERN, are compiled
// to rune automata, the second reversed, so that the leftmost extension
// is the last accepting state met reading back from the end.

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// shapeAutomata are the library's whole-input patterns as automata.
type shapeAutomata struct {
	viable *runeDFA // VALID_PHONE_NUMBER_PATTERN
	ext    *runeDFA // EXTN_PATTERN, reversed
	ok     bool
}

var (
	shapeOnce sync.Once
	shapeInst shapeAutomata
)

// shapes returns the automata, compiled on first use (a millisecond or
// so: a process that reads only plain numbers never compiles them).
func shapes() *shapeAutomata {
	shapeOnce.Do(func() {
		var err error
		ext := phonenumbers.EXTN_PATTERNS_FOR_PARSING
		if shapeInst.viable, err = compileRuneDFA("(?i)(?:"+phonenumbers.VALID_PHONE_NUMBER+"(?:"+ext+")?)", false); err != nil {
			return
		}
		if shapeInst.ext, err = compileRuneDFA("(?i)(?:"+ext+")", true); err != nil {
			return
		}
		shapeInst.ok = true
	})
	return &shapeInst
}

// isViable is the library's isViablePhoneNumber.
func (a *shapeAutomata) isViable(n string) bool {
	return len(n) >= 2 && a.viable.matchFull(n)
}

const (
	rfcPhoneContext = ";phone-context="
	rfcPrefix       = "tel:"
	rfcIsdn         = ";isub="
	fullwidthPlus   = "\uff0b"
)

// scanShape reads s (cleaned) as the library reads it up to the digits
// maybeExtractCountryCode works on, and writes those to sc.digits; see
// scanSimple for the outcomes.
func scanShape(s string, sc *fastScratch) (plus bool, nd int, res fastResult, st int) {
	a := shapes()
	if !a.ok {
		return false, 0, declined, scanDone
	}
	var n string
	pc := strings.Index(s, rfcPhoneContext)
	if pc >= 0 {
		ctx := s[pc+len(rfcPhoneContext):]
		if i := strings.IndexByte(ctx, ';'); i >= 0 {
			ctx = ctx[:i]
		}
		switch {
		case ctx == "":
			return false, 0, failed(ReasonNotANumber), scanDone
		case ctx[0] != '+':
			// A domain name, or nothing valid: left to the library.
			return false, 0, declined, scanDone
		case !globalNumberDigits(ctx):
			return false, 0, failed(ReasonNotANumber), scanDone
		}
	}
	if pc > 0 {
		from := 0
		if t := strings.Index(s, rfcPrefix); t >= 0 && t < pc {
			from = t + len(rfcPrefix)
		}
		n = s[pc+len(rfcPhoneContext):]
		if i := strings.IndexByte(n, ';'); i >= 0 {
			n = n[:i]
		}
		n += s[from:pc]
	} else {
		// extractPossibleNumber: from the first plus sign or digit (after
		// clean, every decimal digit is ASCII); a trailing part that
		// cannot end a number is gone already; a second number after
		// "/ x" or "\ x" is dropped.
		start := -1
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '+' || isDigitByte(c) || c == fullwidthPlus[0] && strings.HasPrefix(s[i:], fullwidthPlus) {
				start = i
				break
			}
		}
		if start < 0 {
			return false, 0, failed(ReasonNotANumber), scanDone
		}
		n = s[start:]
		for i := 0; i < len(n); i++ {
			if n[i] != '/' && n[i] != '\\' {
				continue
			}
			j := i + 1
			for j < len(n) && n[j] == ' ' {
				j++
			}
			if j < len(n) && n[j] == 'x' {
				n = n[:i]
				break
			}
		}
	}
	if i := strings.Index(n, rfcIsdn); i > 0 {
		n = n[:i]
	}
	if !a.isViable(n) {
		return false, 0, failed(ReasonNotANumber), scanDone
	}
	if p := a.ext.leftmostSuffix(n); p >= 0 && a.isViable(n[:p]) {
		n = n[:p]
	}
	// The plus signs, then normalize: keypad letters when the number
	// has three ASCII letters or more, else digits only.
	for {
		if strings.HasPrefix(n, "+") {
			n, plus = n[1:], true
		} else if strings.HasPrefix(n, fullwidthPlus) {
			n, plus = n[len(fullwidthPlus):], true
		} else {
			break
		}
	}
	letters := 0
	for i := 0; i < len(n) && letters < 3; i++ {
		if c := n[i] | 0x20; c >= 'a' && c <= 'z' {
			letters++
		}
	}
	alpha := letters >= 3
	buf := &sc.digits
	for i := 0; i < len(n); {
		c := n[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(n[i:])
			i += size
			if !alpha || r != 'ſ' { // which the library's ToUpper makes 'S'
				continue
			}
			c = 'S'
		} else {
			i++
		}
		switch {
		case isDigitByte(c):
		case alpha && (c|0x20) >= 'a' && (c|0x20) <= 'z':
			c = keypad[(c|0x20)-'a']
		default:
			continue
		}
		if nd == len(buf) {
			return false, 0, declined, scanDone
		}
		buf[nd] = c
		nd++
	}
	if nd < 3 {
		return false, 0, declined, scanDone
	}
	return plus, nd, fastResult{}, scanDigits
}

// keypad maps 'a' to 'z' to the digits of ITU E.161.
const keypad = "22233344455566677778889999"

// globalNumberDigits is the library's RFC3966_GLOBAL_NUMBER_DIGITS_PATTERN
// for a context that begins with '+': then digits and the separators
// "-.()", at least one digit.
func globalNumberDigits(ctx string) bool {
	digit := false
	for i := 1; i < len(ctx); i++ {
		switch c := ctx[i]; {
		case isDigitByte(c):
			digit = true
		case c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return false
		}
	}
	return digit
}
