package phone

// Digit automata: the library's national-number patterns (regular
// expressions over digits) compiled to deterministic automata over the ten
// ASCII digits, so that matching a number costs one table lookup a digit.

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
)

// A digitDFA matches digit strings against up to 16 patterns at once. A
// state's acc has bit t set when the digits read so far match pattern t
// in full.
type digitDFA struct {
	trans []uint16 // trans[state*10+digit] is the next state, noState for none (16 bits: half the cache lines of int32)
	acc   []uint16 // per state
}

// maxDFAStates bounds one automaton; a pattern set needing more is left
// to the library.
const maxDFAStates = 1 << 15

// noState is a digit automaton's transition to nowhere.
const noState = 0xFFFF

var errDFAUnsupported = errors.New("checker: pattern not supported by the digit automaton")

// compileDigitDFA compiles patterns (Go regexp syntax, as the library
// compiles them) into one automaton. A pattern using an empty-width
// assertion (^, $, \b) is refused with errDFAUnsupported.
func compileDigitDFA(patterns []string) (*digitDFA, error) {
	if len(patterns) > 16 {
		return nil, fmt.Errorf("checker: %d patterns, at most 16", len(patterns))
	}
	progs := make([]*syntax.Prog, len(patterns))
	for i, p := range patterns {
		re, err := syntax.Parse(p, syntax.Perl)
		if err != nil {
			return nil, err
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			return nil, err
		}
		progs[i] = prog
	}
	// An NFA state is tag<<24 | pc.
	var closure func(set []uint32, tag int, pc uint32) ([]uint32, error)
	closure = func(set []uint32, tag int, pc uint32) ([]uint32, error) {
		key := uint32(tag)<<24 | pc
		if slices.Contains(set, key) {
			return set, nil
		}
		inst := &progs[tag].Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			set = append(set, key)
			var err error
			if set, err = closure(set, tag, inst.Out); err != nil {
				return nil, err
			}
			return closure(set, tag, inst.Arg)
		case syntax.InstCapture, syntax.InstNop:
			set = append(set, key)
			return closure(set, tag, inst.Out)
		case syntax.InstEmptyWidth:
			return nil, errDFAUnsupported
		case syntax.InstFail:
			return set, nil
		default: // InstMatch, InstRune*
			return append(set, key), nil
		}
	}
	// Keep only the states that consume a digit or match.
	canon := func(set []uint32) []uint32 {
		out := set[:0]
		for _, k := range set {
			switch progs[k>>24].Inst[k&0xffffff].Op {
			case syntax.InstMatch, syntax.InstRune, syntax.InstRune1, syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	keyOf := func(set []uint32) string {
		var b strings.Builder
		for _, k := range set {
			b.WriteString(strconv.FormatUint(uint64(k), 36))
			b.WriteByte(',')
		}
		return b.String()
	}
	d := &digitDFA{}
	ids := map[string]int32{}
	var sets [][]uint32
	add := func(set []uint32) int32 {
		k := keyOf(set)
		if id, ok := ids[k]; ok {
			return id
		}
		id := int32(len(sets))
		ids[k] = id
		sets = append(sets, set)
		var acc uint16
		for _, s := range set {
			if progs[s>>24].Inst[s&0xffffff].Op == syntax.InstMatch {
				acc |= 1 << (s >> 24)
			}
		}
		d.acc = append(d.acc, acc)
		for range 10 {
			d.trans = append(d.trans, noState)
		}
		return id
	}
	var start []uint32
	for t, prog := range progs {
		var err error
		if start, err = closure(start, t, uint32(prog.Start)); err != nil {
			return nil, err
		}
	}
	add(canon(start))
	for i := 0; i < len(sets); i++ {
		if len(sets) > maxDFAStates { // ids stay below noState
			return nil, errDFAUnsupported
		}
		for c := rune('0'); c <= '9'; c++ {
			var next []uint32
			for _, s := range sets[i] {
				tag, inst := int(s>>24), &progs[s>>24].Inst[s&0xffffff]
				switch inst.Op {
				case syntax.InstMatch:
					continue
				case syntax.InstRuneAny, syntax.InstRuneAnyNotNL:
				default:
					if !inst.MatchRune(c) {
						continue
					}
				}
				var err error
				if next, err = closure(next, tag, inst.Out); err != nil {
					return nil, err
				}
			}
			next = canon(next)
			if len(next) == 0 {
				continue
			}
			d.trans[i*10+int(c-'0')] = uint16(add(next))
		}
	}
	return d, nil
}

// match returns the patterns that match all of digits (ASCII digits only).
func (d *digitDFA) match(digits []byte) uint16 {
	st := 0
	for _, c := range digits {
		if st = int(d.trans[st*10+int(c-'0')]); st == noState {
			return 0
		}
	}
	return d.acc[st]
}

// matchPrefix reports whether some prefix of digits, the empty one
// included, matches pattern 0: what regexp's MatchString does with the
// pattern "^(?:" + p + ")".
func (d *digitDFA) matchPrefix(digits []byte) bool {
	st := 0
	if d.acc[0]&1 != 0 {
		return true
	}
	for _, c := range digits {
		if st = int(d.trans[st*10+int(c-'0')]); st == noState {
			return false
		}
		if d.acc[st]&1 != 0 {
			return true
		}
	}
	return false
}
