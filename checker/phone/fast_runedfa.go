package phone

// Rune automata: the library's patterns over whole inputs (what may be a
// phone number, what may be an extension) compiled to deterministic
// automata over classes of runes, so that the fast path asks the library's
// own questions at one table lookup a character.

import (
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A runeDFA matches strings against one pattern. Runes are mapped to
// classes first (runes no instruction tells apart share one); class 0
// holds the runes the pattern never matches.
type runeDFA struct {
	ascii   [utf8.RuneSelf]uint8 // class of each ASCII rune
	bounds  []rune               // non-ASCII: class of [bounds[i], bounds[i+1]) is classes[i]
	classes []uint8
	nc      int     // number of classes
	trans   []int32 // trans[state*nc+class]: next state, -1 for none
	acc     []bool  // per state: the runes read so far match
	reverse bool    // compiled from the reversed pattern: run it from the end
}

func (d *runeDFA) class(r rune) int {
	if r < utf8.RuneSelf {
		return int(d.ascii[r])
	}
	// The last bound at or below r (a binary search without sort.Search's
	// closure: this runs for every non-ASCII rune).
	lo, hi := 0, len(d.bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if d.bounds[m] <= r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return 0
	}
	return int(d.classes[lo-1])
}

// compileRuneDFA compiles pattern (Go regexp syntax, Perl flags, as the
// library compiles its patterns; no anchors), reversed if reverse is set.
func compileRuneDFA(pattern string, reverse bool) (*runeDFA, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	re = re.Simplify()
	if reverse {
		re = reverseRegexp(re)
	}
	prog, err := syntax.Compile(re)
	if err != nil {
		return nil, err
	}
	// Rune classes: cut the rune space wherever an instruction's ranges
	// (or a folded literal's runes) begin or end, then merge the pieces
	// that every instruction treats alike.
	cuts := map[rune]bool{0: true, utf8.MaxRune + 1: true}
	var runeInsts []int
	for pc := range prog.Inst {
		inst := &prog.Inst[pc]
		switch inst.Op {
		case syntax.InstRune, syntax.InstRune1:
			runeInsts = append(runeInsts, pc)
			if len(inst.Rune) == 1 && syntax.Flags(inst.Arg)&syntax.FoldCase != 0 {
				r0 := inst.Rune[0]
				for r := r0; ; {
					cuts[r], cuts[r+1] = true, true
					if r = unicode.SimpleFold(r); r == r0 {
						break
					}
				}
				continue
			}
			for i := 0; i+1 < len(inst.Rune); i += 2 {
				cuts[inst.Rune[i]], cuts[inst.Rune[i+1]+1] = true, true
			}
			if len(inst.Rune) == 1 {
				cuts[inst.Rune[0]], cuts[inst.Rune[0]+1] = true, true
			}
		case syntax.InstRuneAny, syntax.InstRuneAnyNotNL, syntax.InstEmptyWidth:
			return nil, errDFAUnsupported
		}
	}
	starts := make([]rune, 0, len(cuts))
	for r := range cuts {
		starts = append(starts, r)
	}
	slices.Sort(starts)
	d := &runeDFA{reverse: reverse}
	// The instructions matching each piece, marked range by range.
	pieceInsts := make([][]int, len(starts)-1)
	mark := func(pc int, lo, hi rune) {
		i := sort.Search(len(starts), func(i int) bool { return starts[i] > lo }) - 1
		for ; i+1 < len(starts) && starts[i] <= hi; i++ {
			if n := len(pieceInsts[i]); n == 0 || pieceInsts[i][n-1] != pc {
				pieceInsts[i] = append(pieceInsts[i], pc)
			}
		}
	}
	for _, pc := range runeInsts {
		inst := &prog.Inst[pc]
		if len(inst.Rune) == 1 {
			r0 := inst.Rune[0]
			mark(pc, r0, r0)
			if syntax.Flags(inst.Arg)&syntax.FoldCase != 0 {
				for r := unicode.SimpleFold(r0); r != r0; r = unicode.SimpleFold(r) {
					mark(pc, r, r)
				}
			}
			continue
		}
		for i := 0; i+1 < len(inst.Rune); i += 2 {
			mark(pc, inst.Rune[i], inst.Rune[i+1])
		}
	}
	sigClass := map[string]uint8{"": 0}
	d.nc = 1
	pieceClass := make([]uint8, len(starts)-1)
	for i := 0; i+1 < len(starts); i++ {
		var sig strings.Builder
		for _, pc := range pieceInsts[i] {
			sig.WriteString(strconv.Itoa(pc))
			sig.WriteByte(',')
		}
		c, ok := sigClass[sig.String()]
		if !ok {
			if d.nc == 255 {
				return nil, errDFAUnsupported
			}
			c = uint8(d.nc)
			sigClass[sig.String()] = c
			d.nc++
		}
		pieceClass[i] = c
	}
	rep := make([]rune, d.nc) // a rune of each class
	for i := 0; i+1 < len(starts); i++ {
		c := pieceClass[i]
		if rep[c] == 0 {
			rep[c] = starts[i]
		}
		for r := starts[i]; r < starts[i+1] && r < utf8.RuneSelf; r++ {
			d.ascii[r] = c
		}
		if starts[i+1] > utf8.RuneSelf {
			lo := max(starts[i], utf8.RuneSelf)
			if n := len(d.classes); n > 0 && d.classes[n-1] == c {
				continue
			}
			d.bounds = append(d.bounds, lo)
			d.classes = append(d.classes, c)
		}
	}

	// Subset construction, as for digit automata; which classes each
	// instruction matches is worked out once.
	matches := make([][]bool, len(prog.Inst))
	for _, pc := range runeInsts {
		matches[pc] = make([]bool, d.nc)
		for c := 1; c < d.nc; c++ {
			matches[pc][c] = prog.Inst[pc].MatchRune(rep[c])
		}
	}
	seen := make([]uint32, len(prog.Inst)) // the closure that last added each instruction
	gen := uint32(0)
	var closure func(set []uint32, pc uint32) []uint32
	closure = func(set []uint32, pc uint32) []uint32 {
		if seen[pc] == gen {
			return set
		}
		seen[pc] = gen
		inst := &prog.Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			return closure(closure(set, inst.Out), inst.Arg)
		case syntax.InstCapture, syntax.InstNop:
			return closure(set, inst.Out)
		case syntax.InstMatch, syntax.InstRune, syntax.InstRune1:
			return append(set, pc)
		}
		return set
	}
	ids := map[string]int32{}
	var sets [][]uint32
	var key []byte
	add := func(set []uint32) int32 {
		slices.Sort(set)
		key = key[:0]
		for _, pc := range set {
			key = append(key, byte(pc), byte(pc>>8), byte(pc>>16), byte(pc>>24))
		}
		if id, ok := ids[string(key)]; ok {
			return id
		}
		id := int32(len(sets))
		ids[string(key)] = id
		sets = append(sets, set)
		acc := false
		for _, pc := range set {
			acc = acc || prog.Inst[pc].Op == syntax.InstMatch
		}
		d.acc = append(d.acc, acc)
		for range d.nc {
			d.trans = append(d.trans, -1)
		}
		return id
	}
	gen++
	add(closure(nil, uint32(prog.Start)))
	for i := 0; i < len(sets); i++ {
		if len(sets) > maxDFAStates {
			return nil, errDFAUnsupported
		}
		for c := 1; c < d.nc; c++ {
			gen++
			var next []uint32
			for _, pc := range sets[i] {
				if m := matches[pc]; m != nil && m[c] {
					next = closure(next, prog.Inst[pc].Out)
				}
			}
			if len(next) > 0 {
				d.trans[i*d.nc+c] = add(next)
			}
		}
	}
	return d, nil
}

// matchFull reports whether all of s matches (a forward automaton).
func (d *runeDFA) matchFull(s string) bool {
	st := int32(0)
	for _, r := range s {
		if st = d.trans[int(st)*d.nc+d.class(r)]; st < 0 {
			return false
		}
	}
	return d.acc[st]
}

// leftmostSuffix returns the least p such that s[p:] matches, or -1 (a
// reversed automaton, run from the end of s).
func (d *runeDFA) leftmostSuffix(s string) int {
	st, p := int32(0), -1
	if d.acc[0] {
		p = len(s)
	}
	for i := len(s); i > 0; {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		i -= n
		if st = d.trans[int(st)*d.nc+d.class(r)]; st < 0 {
			break
		}
		if d.acc[st] {
			p = i
		}
	}
	return p
}

// reverseRegexp returns a regular expression that matches the reverse of
// the strings re matches. Captures become plain groups of the same text.
func reverseRegexp(re *syntax.Regexp) *syntax.Regexp {
	out := *re
	switch re.Op {
	case syntax.OpLiteral:
		out.Rune = slices.Clone(re.Rune)
		slices.Reverse(out.Rune)
	case syntax.OpConcat:
		out.Sub = make([]*syntax.Regexp, len(re.Sub))
		for i, s := range re.Sub {
			out.Sub[len(re.Sub)-1-i] = reverseRegexp(s)
		}
	default:
		out.Sub = make([]*syntax.Regexp, len(re.Sub))
		for i, s := range re.Sub {
			out.Sub[i] = reverseRegexp(s)
		}
	}
	return &out
}
