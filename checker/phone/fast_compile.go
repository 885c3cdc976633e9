package phone

import (
	"bytes"
	"regexp"
	"regexp/syntax"
	"strconv"
)

// Compiling the library's metadata for the fast path: the index of regions
// and calling codes once per process, each region's automata on first use.

// newFastNorm indexes the library's metadata; nothing is compiled yet.
func newFastNorm() *fastNorm {
	f := &fastNorm{regions: map[string]*fastMeta{}}
	regions, nonGeo, ccRegions, err := libMetadata()
	if err != nil {
		return f // no fast path at all: every call falls back
	}
	for id, r := range regions {
		f.regions[id] = newMeta(r)
	}
	for cc, ids := range ccRegions {
		if cc <= 0 || cc >= len(f.ccs) {
			continue
		}
		c := &fastCC{cc: cc, ccStr: strconv.Itoa(cc), ok: len(ids) > 0}
		for _, id := range ids {
			var m *fastMeta
			if id == "001" {
				if ng := nonGeo[cc]; ng != nil {
					m = newMeta(ng)
				}
			} else {
				m = f.regions[id]
			}
			if m == nil {
				c.ok = false
				m = &fastMeta{id: id}
				m.once.Do(func() {}) // never compiles: ok stays false
				m.leadOnce.Do(func() {})
			}
			c.regions = append(c.regions, m)
		}
		f.ccs[cc] = c
	}
	return f
}

func newMeta(r *libRegion) *fastMeta {
	return &fastMeta{id: r.ID, cc: r.CountryCode, ccStr: strconv.Itoa(r.CountryCode), lib: r}
}

// compile compiles m's automata and matchers from its library metadata;
// m.ok says whether all of them compiled. Call it through m.load.
func (m *fastMeta) compile() {
	r := m.lib
	m.same, m.genLen, m.genLoc, m.genEmpty = r.SameMobileAndFixed, r.General.Lengths, r.General.LocalOnly, r.General.Pattern == ""
	descs := append([]libDesc{r.General}, r.Types[:]...)
	pats := make([]string, len(descs))
	for i, d := range descs {
		pats[i] = d.Pattern
		m.lenMask[i] = lengthMask(d.Lengths)
	}
	var err error
	if m.desc, err = compileDigitDFA(pats); err != nil || len(m.genLen) == 0 {
		return
	}
	if !m.loadLeading() {
		return
	}
	// An empty international prefix matches the empty string; an empty
	// national prefix for parsing is never tried.
	if m.idd, err = newPrefixMatcher(r.IDD, r.IDD); err != nil {
		return
	}
	if r.NPForParsing == "" {
		m.np.empty = true
	} else if m.np, err = newPrefixMatcher(r.NPForParsing, "^(?:"+r.NPForParsing+")"); err != nil {
		return
	}
	m.npT = []byte(r.NPTransform)
	if len(m.npT) > 0 {
		m.np.isLit = false // a transform needs the regular expression
	}
	m.ok = true
}

// compileLeading compiles m's leading digits; m.leadOK says whether they
// compiled. Call it through m.loadLeading.
func (m *fastMeta) compileLeading() {
	if p := m.lib.LeadingDigits; p != "" {
		var err error
		if m.leading, err = compileDigitDFA([]string{p}); err != nil {
			if m.leadingRe, err = regexp.Compile("^(?:" + p + ")"); err != nil {
				return
			}
		}
	}
	m.leadOK = true
}

// lengthMask returns the possible lengths as a bit mask, all ones for an
// empty list (no restriction), no bit for -1 (no such numbers).
func lengthMask(ls []int32) uint64 {
	if len(ls) == 0 {
		return ^uint64(0)
	}
	var m uint64
	for _, l := range ls {
		if l >= 0 && l < 64 {
			m |= 1 << l
		}
	}
	return m
}

// newPrefixMatcher compiles pattern as the library does (re is what it
// passes to regexp.MustCompile).
func newPrefixMatcher(pattern, re string) (prefixMatcher, error) {
	var pm prefixMatcher
	var err error
	if pm.re, err = regexp.Compile(re); err != nil {
		return pm, err
	}
	if p, err := syntax.Parse(pattern, syntax.Perl); err == nil && p.Op == syntax.OpLiteral && p.Flags&syntax.FoldCase == 0 {
		lit := string(p.Rune)
		if allDigits(lit) {
			pm.lit, pm.isLit = []byte(lit), true
		}
	}
	if d, err := compileDigitDFA([]string{pattern}); err == nil {
		pm.pre = d
	}
	return pm, nil
}

// find returns the end of the match at the start of d, as the library's
// FindIndex with a match required at index 0.
func (pm *prefixMatcher) find(d []byte) (int, bool) {
	switch {
	case pm.empty:
		return 0, false
	case pm.isLit:
		if bytes.HasPrefix(d, pm.lit) {
			return len(pm.lit), true
		}
		return 0, false
	case pm.pre != nil && !pm.pre.matchPrefix(d):
		return 0, false
	}
	loc := pm.re.FindIndex(d)
	if loc == nil || loc[0] != 0 {
		return 0, false
	}
	return loc[1], true
}
