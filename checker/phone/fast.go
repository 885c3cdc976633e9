package phone

// The fast path of normalization: the same answer as [Normalize], for
// every input, at a small fraction of its cost.
//
// # How
//
// Normalize cleans its input (clean), then asks the library to parse it
// and to check validity; for a digits-only input that fails, it tries again
// as if the input began with "+". The library does that with some twenty
// regular expressions, protocol buffers and many allocations per number.
// The fast path keeps clean as it is and replaces the library's part with
// an emulation of its code paths (parseHelper, maybeExtractCountryCode,
// maybeStripNationalPrefixAndCarrierCode, testNumberLength,
// getNumberTypeHelper, GetRegionCodeForNumber), step for step, over the
// library's own metadata ([libMetadata]), each region compiled the first
// time a number needs it (so a process that checks one number compiles a
// region or two, not all 250):
//
//   - every region's national-number patterns (general description and
//     the ten number types) as one digit automaton ([digitDFA]), and
//     its possible lengths as bit masks;
//   - leading-digit patterns (regions sharing a calling code) as automata;
//   - international (IDD) and national-prefix-for-parsing patterns as a
//     literal when they are one, else as an automaton that rules a match
//     out, and the library's own regular expression, run with the same
//     package, for the exact match and transform when it may match.
//
// Before the digits, the shape of the input is read as the library reads
// it, in two ways. scanSimple takes the shapes most rows have, at a few
// nanoseconds a byte: after cleaning, ASCII, no ';' or '&'; whatever
// precedes the first digit or plus (a label, "tel:", a quote) dropped as
// the library drops it; then an optional plus, digits and the separators
// " -.()/" and at most one trailing extension (" ext. 12", " x3"). Every
// other shape (vanity letters, two numbers in a cell, Unicode separators,
// non-ASCII labels, any extension, tel: URIs with parameters, fullwidth
// plus signs) goes to scanShape, which follows the library's steps with
// its two whole-input patterns compiled to rune automata ([runeDFA]).
// Only inputs over 250 bytes or 40 digits, and a phone-context that is a
// domain name, go to Normalize: none of the rows gen writes, under 1% of
// randomly mutated ones. TestFastNormalizeDifferential checks that the two
// agree on over a million generated inputs, every shape of mess among
// them; FuzzFastNormalize keeps looking.

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
)

// fastScratch is working memory for one goroutine's calls: it keeps them
// free of allocations, but for the E.164 string of a valid number.
type fastScratch struct {
	digits [maxFastDigits]byte
	e164   [24]byte
}

// fastNorm is the precompiled metadata.
type fastNorm struct {
	regions map[string]*fastMeta // supported regions
	ccs     [1000]*fastCC        // by country calling code; nil if not one
}

// fastCC is a country calling code.
type fastCC struct {
	cc      int
	ccStr   string
	regions []*fastMeta // in the library's order; regions[0] is the main one
	ok      bool        // every region's metadata is known (each compiles on first use)
}

// fastMeta is one region's (or non-geographic entity's) metadata.
type fastMeta struct {
	id    string
	cc    int
	ccStr string

	// The rest is compiled from lib on first use (load): a process that
	// normalizes one number compiles the regions it touches, not all 250.
	once     sync.Once
	lib      *libRegion
	ok       bool       // everything below compiled; otherwise the fast path declines
	desc     *digitDFA  // tag 0: general description; 1-10: the types of libRegion.Types
	lenMask  [11]uint64 // possible lengths per tag (bit n: length n); all ones when not restricted
	genLen   []int32    // general description's possible lengths, for testNumberLength
	genLoc   []int32    // and its local-only lengths
	same     bool       // same mobile and fixed-line pattern
	genEmpty bool       // no general pattern: lengths 2 to 17 are possible

	// Leading digits (compiled on their own first use: telling which
	// region of a shared calling code a number is in needs no more).
	leadOnce  sync.Once
	leadOK    bool
	leading   *digitDFA      // leading digits, or nil
	leadingRe *regexp.Regexp // when leading digits do not compile to an automaton

	idd prefixMatcher
	np  prefixMatcher
	npT []byte // national prefix transform rule
}

// prefixMatcher finds the library's match of a pattern at the start of a
// digit string.
type prefixMatcher struct {
	empty bool           // no pattern
	lit   []byte         // the pattern, if it is a plain digit string
	isLit bool           //
	pre   *digitDFA      // rules matches out; nil if the pattern has anchors
	re    *regexp.Regexp // the library's regular expression
}

var (
	fastOnce sync.Once
	fastInst *fastNorm
)

// fastNormalizer returns the metadata index, built on first use (a fraction
// of a millisecond); each region's automata compile when a number first
// needs them (about 0.3 ms a region, 80 ms for all).
func fastNormalizer() *fastNorm {
	fastOnce.Do(func() { fastInst = newFastNorm() })
	return fastInst
}

// load compiles m on first use and reports whether it compiled: the fast
// path declines a number that needs a region that did not.
func (m *fastMeta) load() bool {
	m.once.Do(m.compile)
	return m.ok
}

// loadLeading compiles m's leading digits on first use and reports whether
// they compiled.
func (m *fastMeta) loadLeading() bool {
	m.leadOnce.Do(m.compileLeading)
	return m.leadOK
}

// general reports whether digits match the general description's pattern
// (no length check), the library's "^(?:" + pattern + ")$".
func (m *fastMeta) general(digits []byte) bool { return m.desc.match(digits)&1 != 0 }

// valid is the library's getNumberTypeHelper(nsn, m) != UNKNOWN.
func (m *fastMeta) valid(nsn []byte) bool {
	acc := m.desc.match(nsn)
	bit := uint64(1) << uint(len(nsn))
	is := func(t int) bool { return acc&(1<<t) != 0 && m.lenMask[t]&bit != 0 }
	if !is(0) {
		return false
	}
	for t := 1; t <= 9; t++ { // premium rate ... voicemail, fixed line
		if is(t) {
			return true
		}
	}
	return !m.same && is(10) // mobile
}

// stripNP is the library's maybeStripNationalPrefixAndCarrierCode: it
// returns num without its national prefix (transformed as the metadata
// says), or num itself.
func (m *fastMeta) stripNP(num []byte) []byte {
	np := &m.np
	if len(num) == 0 || np.empty {
		return num
	}
	if np.isLit {
		if !bytes.HasPrefix(num, np.lit) {
			return num
		}
		if rest := num[len(np.lit):]; !m.general(num) || m.general(rest) {
			return rest
		}
		return num
	}
	if np.pre != nil && !np.pre.matchPrefix(num) {
		return num
	}
	groups := np.re.FindSubmatchIndex(num)
	if groups == nil {
		return num
	}
	viable := m.general(num)
	last := len(groups)/2 - 1
	if len(m.npT) == 0 || groups[last*2] < 0 {
		if viable && !m.general(num[groups[1]:]) {
			return num
		}
		return num[groups[1]:]
	}
	// The library's ReplaceAll: the pattern is anchored, so it replaces
	// this one match, and the rest follows.
	t := np.re.Expand(nil, m.npT, num, groups)
	t = append(t, num[groups[1]:]...)
	if viable && !m.general(t) {
		return num
	}
	return t
}

// Results of the library's testNumberLength.
const (
	lenPossible = iota
	lenLocalOnly
	lenTooShort
	lenTooLong
	lenInvalid
)

// testLength is the library's testNumberLength for the general
// description (lengths non-empty).
func testLength(n int, lengths, local []int32) int {
	if lengths[0] == -1 {
		return lenInvalid
	}
	l := int32(n)
	for _, x := range local {
		if x == l {
			return lenLocalOnly
		}
	}
	switch {
	case lengths[0] == l:
		return lenPossible
	case lengths[0] > l:
		return lenTooShort
	case lengths[len(lengths)-1] < l:
		return lenTooLong
	}
	for _, x := range lengths[1:] {
		if x == l {
			return lenPossible
		}
	}
	return lenInvalid
}

// leadingCC is the library's extractCountryCode: the calling code digits
// start with and its length, or 0.
func (f *fastNorm) leadingCC(digits []byte) (int, int) {
	if len(digits) == 0 || digits[0] == '0' {
		return 0, 0
	}
	v := 0
	for n := 1; n <= 3 && n <= len(digits); n++ {
		v = v*10 + int(digits[n-1]-'0')
		if f.ccs[v] != nil {
			return v, n
		}
	}
	return 0, 0
}

// fastResult is what the emulated library parse gives: a valid number
// (e164, in the scratch memory, region and cc), or the reason it is not
// one; ok is false when the fast path cannot tell.
type fastResult struct {
	e164    []byte
	region  string
	cc      int
	reason  Reason
	ok      bool
	retried bool // the number came from the international retry
}

func (r *fastResult) number() Number {
	return Number{E164: string(r.e164), Region: r.region, CountryCode: r.cc, Retried: r.retried}
}

var declined = fastResult{}

func failed(r Reason) fastResult { return fastResult{reason: r, ok: true} }

// normalize returns normalize(raw, defaultRegion, strict) and whether
// the fast path answered (false: the library path did).
func (f *fastNorm) normalize(raw, defaultRegion string, strict bool, sc *fastScratch) (Number, error, bool) {
	r := f.normalizeResult(raw, defaultRegion, strict, sc)
	if !r.ok {
		n, err := normalize(raw, defaultRegion, strict)
		return n, err, false
	}
	if r.reason != "" {
		return Number{}, fail(r.reason), true
	}
	return r.number(), nil, true
}

// normalizeResult is normalize without the fallback: r.ok is false when
// the caller must call the library path.
func (f *fastNorm) normalizeResult(raw, defaultRegion string, strict bool, sc *fastScratch) fastResult {
	s, err := clean(raw, strict)
	if err != nil {
		return failed(ReasonOf(err))
	}
	if strict && !isASCII(s) {
		// Strict leaves the digits Google reads (fullwidth, Arabic-Indic)
		// to the library, and the shape reader follows the library only
		// on what the default's clean leaves: ASCII digits.
		return declined
	}
	region := strings.ToUpper(defaultRegion)
	if region == "" {
		region = "ZZ"
	}
	def := f.regions[region]
	if def != nil && !def.load() {
		return declined
	}
	r := f.parse(s, region, def, sc)
	if r.ok && r.reason != "" && !strict && plainDigits(s) {
		r2 := f.parse("+"+s, "ZZ", nil, sc)
		switch {
		case !r2.ok:
			r.ok = false
		case r2.reason == "":
			r = r2
			r.retried = true
		}
	}
	return r
}

// maxFastDigits bounds the digits the fast path handles; more is junk,
// left to the library.
const maxFastDigits = 40

// parse emulates parseValid(s, region) (ParseToNumber, then
// IsValidNumber and IsPossibleNumberWithReason). def is the metadata of
// region, nil if the library does not support it.
func (f *fastNorm) parse(s, region string, def *fastMeta, sc *fastScratch) fastResult {
	if len(s) > 250 {
		return declined
	}
	plus, nd, res, st := scanSimple(s, sc)
	if st == scanOther {
		plus, nd, res, st = scanShape(s, sc)
	}
	if st != scanDigits {
		return res
	}
	digits := sc.digits[:nd]
	if def == nil && !plus {
		return failed(ReasonInvalidCountryCode) // checkRegionForParsing
	}

	// maybeExtractCountryCode, and parseHelper's second try without the
	// plus sign.
	var (
		cc     int
		nat    []byte
		reason Reason
		ok     bool
	)
	if plus {
		if len(digits) <= 2 {
			return failed(ReasonTooShort)
		}
		if c, n := f.leadingCC(digits); c != 0 {
			cc, nat, ok = c, digits[n:], true
		} else {
			cc, nat, reason, ok = f.extractCCNoPlus(digits, def)
			if ok && reason == "" && cc == 0 {
				reason = ReasonInvalidCountryCode
			}
		}
	} else {
		cc, nat, reason, ok = f.extractCCNoPlus(digits, def)
	}
	if !ok {
		return declined
	}
	if reason != "" {
		return failed(reason)
	}
	var meta *fastMeta
	if cc != 0 {
		c := f.ccs[cc]
		if c == nil || !c.ok {
			return declined
		}
		if main := c.regions[0]; main.id != region {
			if !main.load() {
				return declined
			}
			meta = main
		} else {
			meta = def // nil when region is "001"
		}
	} else {
		nat, cc, meta = digits, def.cc, def
	}
	if len(nat) < 2 {
		return failed(ReasonTooShort)
	}
	if meta != nil {
		pot := meta.stripNP(nat)
		switch testLength(len(pot), meta.genLen, meta.genLoc) {
		case lenTooShort, lenLocalOnly, lenInvalid:
		default:
			nat = pot
		}
	}
	switch {
	case len(nat) < 2:
		return failed(ReasonTooShort)
	case len(nat) > 17:
		return failed(ReasonTooLong)
	}
	for _, c := range nat {
		if !isDigitByte(c) {
			return declined // a transform rule wrote something else
		}
	}

	// IsValidNumber: GetRegionCodeForNumber, then IsValidNumberForRegion.
	c := f.ccs[cc]
	if c == nil || !c.ok {
		return declined
	}
	var rm *fastMeta
	rmValid := false // rm was chosen for being valid
	if len(c.regions) == 1 {
		if rm = c.regions[0]; !rm.load() {
			return declined
		}
	} else {
		for _, m := range c.regions {
			if !m.loadLeading() {
				return declined
			}
			switch {
			case m.leading != nil:
				if m.leading.matchPrefix(nat) {
					rm = m
				}
			case m.leadingRe != nil:
				if m.leadingRe.Match(nat) {
					rm = m
				}
			case !m.load():
				return declined
			case m.valid(nat):
				rm, rmValid = m, true
			}
			if rm != nil {
				break
			}
		}
	}
	if rm != nil && !rm.load() {
		return declined
	}
	if rm != nil && (rm.id == "001" || rm.cc == cc) && (rmValid || rm.valid(nat)) {
		e := append(append(append(sc.e164[:0], '+'), c.ccStr...), nat...)
		return fastResult{e164: e, region: rm.id, cc: cc, ok: true}
	}
	// IsPossibleNumberWithReason.
	main := c.regions[0]
	if !main.load() {
		return declined
	}
	if main.genEmpty {
		if len(nat) > 17 {
			return failed(ReasonTooLong)
		}
		return failed(ReasonNotValid)
	}
	switch testLength(len(nat), main.genLen, main.genLoc) {
	case lenTooShort:
		return failed(ReasonTooShort)
	case lenTooLong:
		return failed(ReasonTooLong)
	case lenInvalid:
		return failed(ReasonInvalidLength)
	}
	return failed(ReasonNotValid)
}

// The outcomes of reading an input's shape.
const (
	scanDigits = iota // plus and digits (at least three) are the number to parse
	scanDone          // the result is known: a reason, or declined
	scanOther         // not a shape scanSimple follows: ask scanShape
)

// scanSimple reads the shapes most rows have, quickly: ASCII, no ';' or
// '&'; whatever precedes the first digit or plus (a label, "tel:", a
// quote) dropped as the library drops it; then an optional plus, digits
// and the separators " -.()/" and at most one trailing extension
// (" ext. 12", " x3", " #12", " Ext: 7"). It writes the digits to
// sc.digits.
func scanSimple(s string, sc *fastScratch) (plus bool, nd int, res fastResult, st int) {
	start := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == ';' || c == '&' {
			return false, 0, declined, scanOther
		}
		if start < 0 && (c == '+' || c >= '0' && c <= '9') {
			start = i
		}
	}
	if start < 0 {
		return false, 0, failed(ReasonNotANumber), scanDone // nothing can start a number
	}
	rest := s[start:]
	plus = rest[0] == '+'
	j := 0
	if plus {
		j = 1
	}
	k := j
	for k < len(rest) && isBodyChar(rest[k]) {
		k++
	}
	t := len(rest)
	if k < len(rest) {
		t = k
		for t > j && rest[t-1] == ' ' {
			t--
		}
		if t == j || !isDigitByte(rest[t-1]) || !isExtTail(rest[t:]) {
			return false, 0, declined, scanOther
		}
	}
	buf := &sc.digits
	for p := j; p < t; p++ {
		if c := rest[p]; isDigitByte(c) {
			if nd == len(buf) {
				return false, 0, declined, scanDone
			}
			buf[nd] = c
			nd++
		}
	}
	if nd < 3 {
		// isViablePhoneNumber wants three digits, or exactly two and
		// nothing else.
		if t == len(rest) && (nd < 2 || nd == 2 && len(rest) > 2) {
			return false, 0, failed(ReasonNotANumber), scanDone
		}
		return false, 0, declined, scanDone
	}
	return plus, nd, fastResult{}, scanDigits
}

// extractCCNoPlus is maybeExtractCountryCode for a number without a plus
// sign (digits only, at least three): an international prefix of the
// default region, or the default region's calling code, or none (cc 0).
func (f *fastNorm) extractCCNoPlus(digits []byte, def *fastMeta) (cc int, nat []byte, reason Reason, ok bool) {
	if def == nil {
		return 0, nil, "", true
	}
	if end, found := def.idd.find(digits); found && (end == len(digits) || digits[end] != '0') {
		rest := digits[end:]
		if len(rest) <= 2 {
			return 0, nil, ReasonTooShort, true
		}
		if c, n := f.leadingCC(rest); c != 0 {
			return c, rest[n:], "", true
		}
		return 0, nil, ReasonInvalidCountryCode, true
	}
	if len(digits) >= len(def.ccStr) && string(digits[:len(def.ccStr)]) == def.ccStr {
		pot := def.stripNP(digits[len(def.ccStr):])
		fullValid := def.general(digits)
		natValid := def.general(pot)
		if !fullValid && natValid || testLength(len(digits), def.genLen, def.genLoc) == lenTooLong {
			return def.cc, pot, "", true
		}
	}
	return 0, nil, "", true
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// isBodyChar reports the characters the fast path accepts inside a
// number: digits and separators the library treats as punctuation.
func isBodyChar(c byte) bool {
	switch c {
	case ' ', '-', '.', '(', ')', '/':
		return true
	}
	return c >= '0' && c <= '9'
}

// isExtTail reports an extension the library's EXTN_PATTERN strips in
// full: spaces, "ext" (any case) with up to 20 digits or "x" or "#" with
// up to 9, an optional '.' or ':', spaces, then the digits to the end.
func isExtTail(s string) bool {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	maxDigits := 0
	switch {
	case len(s)-i >= 3 && s[i]|0x20 == 'e' && s[i+1]|0x20 == 'x' && s[i+2]|0x20 == 't':
		i, maxDigits = i+3, 20
	case i < len(s) && (s[i]|0x20 == 'x' || s[i] == '#'):
		i, maxDigits = i+1, 9
	default:
		return false
	}
	if i < len(s) && (s[i] == '.' || s[i] == ':') {
		i++
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if n := len(s) - i; n < 1 || n > maxDigits {
		return false
	}
	for ; i < len(s); i++ {
		if !isDigitByte(s[i]) {
			return false
		}
	}
	return true
}
