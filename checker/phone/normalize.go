package phone

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// PhonenumbersVersion is the version of github.com/nyaruka/phonenumbers
// whose metadata decides validity. It is recorded in every index header,
// because a metadata update can turn an invalid number valid (and so change
// the bytes of an index built from the same input).
const PhonenumbersVersion = "github.com/nyaruka/phonenumbers v1.8.1 (libphonenumber 9.0.32 metadata)"

// Number is a phone number in canonical form.
type Number struct {
	E164        string // "+" then country code and national number, e.g. "+447700900123"
	Region      string // ISO 3166-1 alpha-2 region the number belongs to, e.g. "GB"; "001" for non-geographic numbers
	CountryCode int    // e.g. 44
	// Retried reports a number read by the international retry: not valid
	// in the default region, it was read again as if it began with "+"
	// (see [Normalize]). Such a number is most often a foreign number
	// written without its plus, sometimes junk that happens to be somebody
	// else's valid number: callers say so, so that a person can review it.
	// [NormalizeStrict] never retries.
	Retried bool
}

// Reason says why an input is not a valid phone number.
type Reason string

// The reasons [Normalize] gives, from the most to the least obvious.
const (
	ReasonEmpty              Reason = "empty"
	ReasonNotANumber         Reason = "not a number"
	ReasonInvalidCountryCode Reason = "invalid country code"
	ReasonTooShort           Reason = "too short"
	ReasonTooLong            Reason = "too long"
	ReasonInvalidLength      Reason = "invalid length"
	ReasonNotValid           Reason = "not a valid number"

	// ReasonBadRow is not given by Normalize: a build or batch gives it to
	// a row it could not read (no such column, broken quoting).
	ReasonBadRow Reason = "unreadable row"
)

// Reasons lists every [Reason] in a stable order, for reports.
var Reasons = []Reason{ReasonEmpty, ReasonNotANumber, ReasonInvalidCountryCode,
	ReasonTooShort, ReasonTooLong, ReasonInvalidLength, ReasonNotValid, ReasonBadRow}

// A NormalizeError reports why an input could not be normalized. It never
// holds the input itself: inputs are personal data.
type NormalizeError struct {
	Reason Reason
}

func (e *NormalizeError) Error() string { return "phone: " + string(e.Reason) }

// ReasonOf returns the [Reason] carried by err, or "" if err does not come
// from [Normalize].
func ReasonOf(err error) Reason {
	var ne *NormalizeError
	if errors.As(err, &ne) {
		return ne.Reason
	}
	return ""
}

var normErrors = map[Reason]*NormalizeError{}

func init() {
	for _, r := range Reasons {
		normErrors[r] = &NormalizeError{Reason: r}
	}
}

func fail(r Reason) error { return normErrors[r] }

// Normalize parses raw, a phone number as found in a leak dump, and returns
// it in E.164 form. defaultRegion (ISO 3166-1 alpha-2, e.g. "EG") says how to
// read numbers written without a country code; "" or "ZZ" means none.
//
// Validity is libphonenumber's IsValidNumber. Where the Go port of the
// library differs from Google's libphonenumber, Normalize follows Google
// (the golden table in testdata pins every such case).
// On top of the library, Normalize:
//   - removes invisible Unicode format characters (bidi marks, zero-width
//     spaces, BOM) anywhere in the input;
//   - reads any Unicode decimal digit, as Java libphonenumber does (the
//     JavaScript and Go ports read only ASCII, fullwidth and Arabic-Indic
//     digits);
//   - undoes spreadsheet artefacts: a leading apostrophe, an ="..." formula
//     wrapper, a trailing ".0" after a number exported as a float; a number
//     in scientific notation has lost digits and is rejected;
//   - strips trailing characters that cannot end a number, as Google's
//     library does;
//   - reads a digits-only input that is not valid in the default region as
//     international, as if it began with "+" (leak dumps often hold numbers
//     from many countries with the country code but no plus); the number
//     it returns then has [Number.Retried] set.
//
// [NormalizeStrict] does none of these additions (it keeps only what Google's
// library does itself).
//
// The error, if any, is a *[NormalizeError]; see [ReasonOf].
func Normalize(raw, defaultRegion string) (Number, error) {
	return normalize(raw, defaultRegion, false)
}

// NormalizeStrict is [Normalize] as Google's libphonenumber (its
// JavaScript build, the reference of the golden table) reads raw: parse
// and IsValidNumber, with none of phonecheck's additions: no international
// retry, no removal of format characters or spreadsheet artefacts, no
// digits beyond those the library reads. It still follows Google where
// the Go port of the library differs from it.
func NormalizeStrict(raw, defaultRegion string) (Number, error) {
	return normalize(raw, defaultRegion, true)
}

func normalize(raw, defaultRegion string, strict bool) (Number, error) {
	s, err := clean(raw, strict)
	if err != nil {
		return Number{}, err
	}
	region := strings.ToUpper(defaultRegion)
	if region == "" {
		region = "ZZ"
	}
	n, err := parseValid(s, region)
	if err != nil && !strict && plainDigits(s) {
		if n2, err2 := parseValid("+"+s, "ZZ"); err2 == nil {
			n2.Retried = true
			return n2, nil
		}
	}
	return n, err
}

// parseValid parses s with the library and checks validity.
func parseValid(s, region string) (Number, error) {
	var pn phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(s, region, &pn); err != nil {
		return Number{}, libError(err)
	}
	if !phonenumbers.IsValidNumber(&pn) {
		switch phonenumbers.IsPossibleNumberWithReason(&pn) {
		case phonenumbers.TOO_SHORT:
			return Number{}, fail(ReasonTooShort)
		case phonenumbers.TOO_LONG:
			return Number{}, fail(ReasonTooLong)
		case phonenumbers.INVALID_LENGTH:
			return Number{}, fail(ReasonInvalidLength)
		case phonenumbers.INVALID_COUNTRY_CODE:
			return Number{}, fail(ReasonInvalidCountryCode)
		}
		return Number{}, fail(ReasonNotValid)
	}
	return Number{
		E164:        phonenumbers.Format(&pn, phonenumbers.E164),
		Region:      phonenumbers.GetRegionCodeForNumber(&pn),
		CountryCode: int(pn.GetCountryCode()),
	}, nil
}

func libError(err error) error {
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return fail(ReasonInvalidCountryCode)
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return fail(ReasonTooShort)
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return fail(ReasonTooLong)
	}
	return fail(ReasonNotANumber)
}

// clean applies the steps Normalize documents before the library parses;
// strict, only those Google's library takes itself.
func clean(raw string, strict bool) (string, error) {
	s := raw
	if strict && !isASCII(s) {
		// The Go port reads some Unicode digits Google's JavaScript
		// library does not (which reads ASCII, fullwidth and the two
		// Arabic-Indic sets): make those what they are to Google, a
		// character that is neither digit nor letter.
		s = strings.Map(func(r rune) rune {
			if r >= utf8.RuneSelf && unicode.Is(unicode.Nd, r) && !isGoogleDigit(r) {
				return utf8.RuneError
			}
			return r
		}, s)
	}
	if !strict && !isASCII(s) {
		// Format characters go; every Unicode decimal digit becomes its
		// ASCII digit, as Java libphonenumber reads it (the Go port
		// converts only fullwidth and Arabic-Indic digits).
		s = strings.Map(func(r rune) rune {
			switch {
			case r < utf8.RuneSelf:
				return r
			case isFormatChar(r):
				return -1
			case unicode.Is(unicode.Nd, r):
				return '0' + rune(digitValue(r))
			}
			return r
		}, s)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fail(ReasonEmpty)
	}
	if strict {
		return trimTrailingStrict(s)
	}
	// Spreadsheet artefacts.
	if strings.HasPrefix(s, `="`) && strings.HasSuffix(s, `"`) && len(s) >= 3 {
		s = strings.TrimSpace(s[2 : len(s)-1])
	}
	if strings.HasPrefix(s, "'") {
		s = strings.TrimSpace(s[1:])
	}
	if isScientific(s) {
		return "", fail(ReasonNotANumber)
	}
	if t, ok := strings.CutSuffix(s, ".0"); ok && len(t) >= 6 && allDigits(t) {
		s = t
	}
	return trimTrailing(s)
}

// trimTrailing is the end of clean, in both modes.
func trimTrailing(s string) (string, error) {
	// Google's extractPossibleNumber removes trailing characters that are
	// neither letters nor digits nor '#'; the Go port's version of that
	// regular expression never matches, so do it here.
	s = strings.TrimRightFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && r != '#'
	})
	if s == "" {
		return "", fail(ReasonNotANumber)
	}
	return s, nil
}

// trimTrailingStrict is trimTrailing as Google's JavaScript library does
// it (UNWANTED_END_CHAR_PATTERN): what follows the last ASCII letter, '#'
// or digit it reads goes.
func trimTrailingStrict(s string) (string, error) {
	s = strings.TrimRightFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '#' || r >= '0' && r <= '9' || isGoogleDigit(r))
	})
	if s == "" {
		return "", fail(ReasonNotANumber)
	}
	return s, nil
}

// isGoogleDigit reports the non-ASCII digits Google's JavaScript library
// reads: fullwidth, Arabic-Indic and Extended Arabic-Indic.
func isGoogleDigit(r rune) bool {
	return r >= 0xff10 && r <= 0xff19 || r >= 0x660 && r <= 0x669 || r >= 0x6f0 && r <= 0x6f9
}

// isFormatChar reports invisible characters that leak dumps carry around
// numbers: Unicode category Cf (bidi marks, zero-width spaces, BOM, soft
// hyphen).
func isFormatChar(r rune) bool {
	if r >= 0xFF01 && r <= 0xFF5E || r >= 0x0660 && r <= 0x0669 || r >= 0x06F0 && r <= 0x06F9 || r >= 0x2010 && r <= 0x2015 {
		return false // fullwidth forms, Arabic-Indic digits, dashes: common, and none is Cf
	}
	return r >= 0x80 && unicode.Is(unicode.Cf, r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// digitValue returns the value of r, a Unicode decimal digit (category
// Nd). Nd digits come in contiguous runs of ten from zero, some runs
// adjacent (mathematical digits), so count back to the start of the run.
func digitValue(r rune) int {
	switch {
	case r >= 0xFF10 && r <= 0xFF19: // fullwidth
		return int(r - 0xFF10)
	case r >= 0x0660 && r <= 0x0669: // Arabic-Indic
		return int(r - 0x0660)
	case r >= 0x06F0 && r <= 0x06F9: // Eastern Arabic-Indic
		return int(r - 0x06F0)
	}
	start := r
	for start > 0 && unicode.Is(unicode.Nd, start-1) && r-start < 60 {
		start--
	}
	return int(r-start) % 10
}

// isScientific reports a number a spreadsheet printed in scientific
// notation, such as "2.01001E+11": its low digits are gone.
func isScientific(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i <= 0 || i == len(s)-1 {
		return false
	}
	mant, exp := s[:i], s[i+1:]
	exp = strings.TrimPrefix(exp, "+")
	if !allDigits(exp) {
		return false
	}
	mant = strings.TrimPrefix(mant, "+")
	intPart, frac, _ := strings.Cut(mant, ".")
	if frac == "" {
		frac = "0"
	}
	if strings.Contains(mant, ",") {
		intPart, frac, _ = strings.Cut(mant, ",")
	}
	return allDigits(intPart) && allDigits(frac)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// plainDigits reports an input of ASCII digits and common separators only:
// no plus, no letters. Such an input may be an international number written
// without its plus.
func plainDigits(s string) bool {
	digits := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/':
		default:
			return false
		}
	}
	return digits >= 8
}

// RegionInfo is what the synthetic generator needs to know of a region.
type RegionInfo struct {
	Region      string
	CountryCode int
	Trunk       string   // national (trunk) prefix, e.g. "0"; may be ""
	IDD         string   // international prefix a caller in the region dials, e.g. "00"
	Examples    []string // national significant numbers of example numbers (mobile first)
}

// LookupRegion returns the library's metadata for region, or false if the
// library does not know it.
func LookupRegion(region string) (RegionInfo, bool) {
	cc := phonenumbers.GetCountryCodeForRegion(region)
	if cc == 0 {
		return RegionInfo{}, false
	}
	ri := RegionInfo{Region: region, CountryCode: cc, Trunk: phonenumbers.GetNddPrefixForRegion(region, true)}
	// The library keeps a region's international prefix private; read it
	// off how a caller in region dials a number abroad.
	foreign := "GB"
	if region == foreign {
		foreign = "FR"
	}
	if ex := phonenumbers.GetExampleNumber(foreign); ex != nil {
		out := phonenumbers.FormatOutOfCountryCallingNumber(ex, region)
		if i := strings.IndexByte(out, ' '); i > 0 && allDigits(out[:i]) {
			ri.IDD = out[:i]
		}
	}
	for _, t := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE} {
		if ex := phonenumbers.GetExampleNumberForType(region, t); ex != nil {
			ri.Examples = append(ri.Examples, phonenumbers.GetNationalSignificantNumber(ex))
		}
	}
	return ri, true
}

// Regions lists every region the library has metadata for.
func Regions() []string {
	var out []string
	for r := range phonenumbers.GetSupportedRegions() {
		out = append(out, r)
	}
	return out
}

// countryCodeOf returns the country calling code that digits (an E.164
// number without its plus) starts with, or "".
func countryCodeOf(digits string) string {
	for n := 1; n <= 3 && n < len(digits); n++ {
		cc := 0
		for _, c := range digits[:n] {
			cc = cc*10 + int(c-'0')
		}
		if phonenumbers.GetRegionCodeForCountryCode(cc) != "ZZ" {
			return digits[:n]
		}
	}
	return ""
}

// ---- Metadata for the anonymity table ----
//
// ValidityRule is what IsValidNumber checks for one region, read from the
// library's metadata: a national significant number is valid when it
// matches General (with one of GeneralLengths) and at least one of Types
// (each with its own lengths, or any length when it has none).
type ValidityRule struct {
	Region         string // "001" for a non-geographic entity
	CountryCode    int
	General        string
	GeneralLengths []int
	Types          []TypeRule
}

type TypeRule struct {
	Pattern string
	Lengths []int // empty: any length the general description allows
}

// ValidityRules returns the rule of every region and non-geographic entity
// the library has metadata for, read from the exported metadata collection
// (the per-region lookup of the library is unexported).
func ValidityRules() ([]ValidityRule, error) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil, err
	}
	ints := func(p []int32) []int {
		var out []int
		for _, v := range p {
			if v > 0 {
				out = append(out, int(v))
			}
		}
		return out
	}
	var rules []ValidityRule
	for _, m := range coll.GetMetadata() {
		g := m.GetGeneralDesc()
		if g == nil || g.GetNationalNumberPattern() == "" {
			continue
		}
		r := ValidityRule{Region: m.GetId(), CountryCode: int(m.GetCountryCode()),
			General: g.GetNationalNumberPattern(), GeneralLengths: ints(g.GetPossibleLength())}
		// The types getNumberTypeHelper tries, in its order.
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetPremiumRate(), m.GetTollFree(),
			m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(),
			m.GetVoicemail(), m.GetFixedLine(), m.GetMobile()} {
			if d == nil || d.GetNationalNumberPattern() == "" || d.GetNationalNumberPattern() == "NA" {
				continue
			}
			if len(d.GetPossibleLength()) > 0 && len(ints(d.GetPossibleLength())) == 0 {
				continue // possible length -1: the type does not exist here
			}
			r.Types = append(r.Types, TypeRule{Pattern: d.GetNationalNumberPattern(), Lengths: ints(d.GetPossibleLength())})
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// libDesc is one number description of the library's metadata: a
// national-number pattern and its possible lengths.
type libDesc struct {
	Pattern   string
	Lengths   []int32 // possible lengths; [-1] when the type does not exist
	LocalOnly []int32 // lengths possible for local dialling only
}

// libRegion is the library's metadata for one region (or, with ID "001",
// one non-geographic calling code), as the fast path needs it.
type libRegion struct {
	ID                 string
	CountryCode        int
	IDD                string // international prefix pattern
	NPForParsing       string // national prefix for parsing pattern
	NPTransform        string // national prefix transform rule
	LeadingDigits      string
	SameMobileAndFixed bool
	General            libDesc
	// Types in the order getNumberTypeHelper tests them: premium rate,
	// toll free, shared cost, VoIP, personal number, pager, UAN,
	// voicemail, fixed line, mobile.
	Types [10]libDesc
}

// libMetadata returns the library's metadata, for the fast path to compile:
// every supported region, the non-geographic entities by calling code, and
// for each calling code its regions in the library's order.
func libMetadata() (regions map[string]*libRegion, nonGeo map[int]*libRegion, ccRegions map[int][]string, err error) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil, nil, nil, err
	}
	desc := func(d *phonenumbers.PhoneNumberDesc) libDesc {
		return libDesc{Pattern: d.GetNationalNumberPattern(), Lengths: d.GetPossibleLength(), LocalOnly: d.GetPossibleLengthLocalOnly()}
	}
	regions, nonGeo, ccRegions = map[string]*libRegion{}, map[int]*libRegion{}, map[int][]string{}
	for _, m := range coll.GetMetadata() {
		r := &libRegion{
			ID:                 m.GetId(),
			CountryCode:        int(m.GetCountryCode()),
			IDD:                m.GetInternationalPrefix(),
			NPForParsing:       m.GetNationalPrefixForParsing(),
			NPTransform:        m.GetNationalPrefixTransformRule(),
			LeadingDigits:      m.GetLeadingDigits(),
			SameMobileAndFixed: m.GetSameMobileAndFixedLinePattern(),
			General:            desc(m.GetGeneralDesc()),
			Types: [10]libDesc{desc(m.GetPremiumRate()), desc(m.GetTollFree()), desc(m.GetSharedCost()),
				desc(m.GetVoip()), desc(m.GetPersonalNumber()), desc(m.GetPager()), desc(m.GetUan()),
				desc(m.GetVoicemail()), desc(m.GetFixedLine()), desc(m.GetMobile())},
		}
		if r.ID == "001" {
			nonGeo[r.CountryCode] = r
		} else if phonenumbers.GetSupportedRegions()[r.ID] {
			regions[r.ID] = r
		}
	}
	for cc := range phonenumbers.GetSupportedCallingCodes() {
		ccRegions[cc] = phonenumbers.GetRegionCodesForCountryCode(cc)
	}
	return regions, nonGeo, ccRegions, nil
}
