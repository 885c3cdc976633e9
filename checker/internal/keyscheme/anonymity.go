package keyscheme

//go:generate go run ../../../cmd/phonecheck anonymity --go --out anonymity_table.go

import (
	"fmt"
	"go/format"
	"io"
	"math"
	"regexp/syntax"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// anonymityKey is the key of the valid-number table: the region, or
// "001/CC" for a non-geographic entity (such as +800).
func anonymityKey(region string, countryCode int) string {
	if region == "001" || region == "" {
		return "001/" + strconv.Itoa(countryCode)
	}
	return region
}

// ValidNumbers returns how many valid phone numbers the region of n has,
// by the table computed from the library's metadata (see
// [ComputeValidNumbers]) and shipped in the binary. ok is false for a
// region the table does not know.
func ValidNumbers(n phone.Number) (count uint64, ok bool) {
	count, ok = validNumbers[anonymityKey(n.Region, n.CountryCode)]
	return count, ok
}

// Anonymity returns the expected number of valid numbers of n's own region
// whose key shares n's prefix of bits bits: ValidNumbers(n) / 2^bits. Keys
// are uniform, so this is the size of the crowd a range query hides n in,
// from the point of view of someone who knows n's country. It is 0 for an
// unknown region.
func Anonymity(n phone.Number, bits int) float64 {
	c, ok := ValidNumbers(n)
	if !ok {
		return 0
	}
	return float64(c) / math.Exp2(float64(bits))
}

// AnonymityRow is one line of the valid-number table.
type AnonymityRow struct {
	Key         string // region, or "001/CC" for a non-geographic entity
	CountryCode int
	Valid       uint64 // valid national significant numbers
}

// AnonymityTable returns the shipped valid-number table, sorted by key.
func AnonymityTable() []AnonymityRow {
	rows := make([]AnonymityRow, 0, len(validNumbers))
	for k, v := range validNumbers {
		rows = append(rows, AnonymityRow{Key: k, CountryCode: validCountryCodes[k], Valid: v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return rows
}

// ComputeValidNumbers counts, from the phonenumbers metadata, the valid
// numbers of each region (all of them if regions is empty). The count is
// exact for the rule IsValidNumberForRegion applies: a national
// significant number is valid when it has one of the general possible
// lengths, matches the general pattern, and matches one of the number
// types' patterns with one of that type's lengths. Each pattern is compiled
// with regexp/syntax into an automaton over the digits 0-9; counting the
// strings of length L it accepts is a dynamic programme over the sets of
// automaton states reachable after each digit (a subset construction done
// lazily, so only reachable sets are ever built).
//
// Where the count is not what the library does: numbers valid for two
// regions that share a calling code (+1, +7, +44 ...) are counted in both,
// while the library assigns each number to the first region that claims
// it; the difference is small next to the counts.
func ComputeValidNumbers(regions ...string) ([]AnonymityRow, error) {
	rules, err := phone.ValidityRules()
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, r := range regions {
		want[r] = true
	}
	var rows []AnonymityRow
	for _, r := range rules {
		key := anonymityKey(r.Region, r.CountryCode)
		if len(want) > 0 && !want[key] && !want[r.Region] {
			continue
		}
		n, err := countValid(r)
		if err != nil {
			return nil, fmt.Errorf("checker: counting %s: %w", key, err)
		}
		rows = append(rows, AnonymityRow{Key: key, CountryCode: r.CountryCode, Valid: n})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return rows, nil
}

func countValid(r phone.ValidityRule) (uint64, error) {
	g, err := compileDigits(r.General)
	if err != nil {
		return 0, err
	}
	var total uint64
	for _, l := range r.GeneralLengths {
		var alts []string
		for _, t := range r.Types {
			if len(t.Lengths) == 0 || slices.Contains(t.Lengths, l) {
				alts = append(alts, "(?:"+t.Pattern+")")
			}
		}
		if len(alts) == 0 {
			continue
		}
		u, err := compileDigits(strings.Join(alts, "|"))
		if err != nil {
			return 0, err
		}
		n, err := countBoth(g, u, l)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

// maxSubsetStates bounds the dynamic programme; no region of the metadata
// comes near it (the largest needs a few hundred).
const maxSubsetStates = 1 << 20

// digitNFA is a compiled pattern, matched against whole strings of digits.
type digitNFA struct {
	prog  *syntax.Prog
	start []uint32 // closure of the start state
}

func compileDigits(pattern string) (*digitNFA, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return nil, err
	}
	a := &digitNFA{prog: prog}
	a.start = a.closure(nil, []uint32{uint32(prog.Start)})
	return a, nil
}

// closure adds to set (sorted, no duplicates) every consuming or matching
// instruction reachable from pcs without consuming input. Empty-width
// assertions are taken as satisfied: the metadata's patterns hold none.
func (a *digitNFA) closure(set []uint32, pcs []uint32) []uint32 {
	seen := map[uint32]bool{}
	for _, p := range set {
		seen[p] = true
	}
	stack := slices.Clone(pcs)
	for len(stack) > 0 {
		pc := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		inst := &a.prog.Inst[pc]
		switch inst.Op {
		case syntax.InstAlt, syntax.InstAltMatch:
			stack = append(stack, inst.Out, inst.Arg)
		case syntax.InstCapture, syntax.InstNop, syntax.InstEmptyWidth:
			stack = append(stack, inst.Out)
		case syntax.InstFail:
		default: // InstMatch, InstRune*
			if !seen[pc] {
				seen[pc] = true
				set = append(set, pc)
			}
		}
	}
	slices.Sort(set)
	return set
}

// step returns the set reached from set by reading digit d.
func (a *digitNFA) step(set []uint32, d rune) []uint32 {
	var next []uint32
	for _, pc := range set {
		inst := &a.prog.Inst[pc]
		if inst.Op != syntax.InstMatch && inst.MatchRune(d) {
			next = append(next, inst.Out)
		}
	}
	if len(next) == 0 {
		return nil
	}
	return a.closure(nil, next)
}

func (a *digitNFA) accepts(set []uint32) bool {
	for _, pc := range set {
		if a.prog.Inst[pc].Op == syntax.InstMatch {
			return true
		}
	}
	return false
}

// countBoth counts the digit strings of length n accepted by both a and b.
func countBoth(a, b *digitNFA, n int) (uint64, error) {
	type state struct {
		sa, sb []uint32
		count  uint64
	}
	key := func(sa, sb []uint32) string {
		var sbuf strings.Builder
		for _, p := range sa {
			sbuf.WriteString(strconv.FormatUint(uint64(p), 36))
			sbuf.WriteByte(',')
		}
		sbuf.WriteByte('|')
		for _, p := range sb {
			sbuf.WriteString(strconv.FormatUint(uint64(p), 36))
			sbuf.WriteByte(',')
		}
		return sbuf.String()
	}
	cur := map[string]*state{key(a.start, b.start): {a.start, b.start, 1}}
	for i := 0; i < n; i++ {
		next := map[string]*state{}
		for _, s := range cur {
			for d := '0'; d <= '9'; d++ {
				na := a.step(s.sa, d)
				if na == nil {
					continue
				}
				nb := b.step(s.sb, d)
				if nb == nil {
					continue
				}
				k := key(na, nb)
				if t, ok := next[k]; ok {
					t.count += s.count
				} else {
					next[k] = &state{na, nb, s.count}
				}
			}
		}
		if len(next) > maxSubsetStates {
			return 0, fmt.Errorf("more than %d automaton states", maxSubsetStates)
		}
		cur = next
	}
	var total uint64
	for _, s := range cur {
		if a.accepts(s.sa) && b.accepts(s.sb) {
			total += s.count
		}
	}
	return total, nil
}

// WriteAnonymityGo writes rows as the Go source of the shipped table.
func WriteAnonymityGo(w io.Writer, rows []AnonymityRow) error {
	var b strings.Builder
	b.WriteString("// Code generated by \"phonecheck anonymity --go\"; DO NOT EDIT.\n\n")
	b.WriteString("package keyscheme\n\n")
	fmt.Fprintf(&b, "// anonymityMetadata is the metadata the table was computed from.\nconst anonymityMetadata = %q\n\n", phone.PhonenumbersVersion)
	b.WriteString("// validNumbers is the number of valid national significant numbers of each\n// region (\"001/CC\" for non-geographic entities); see ComputeValidNumbers.\n")
	b.WriteString("var validNumbers = map[string]uint64{\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "\t%q: %d,\n", r.Key, r.Valid)
	}
	b.WriteString("}\n\n// validCountryCodes is the calling code of each key of validNumbers.\n")
	b.WriteString("var validCountryCodes = map[string]int{\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "\t%q: %d,\n", r.Key, r.CountryCode)
	}
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		return err
	}
	_, err = w.Write(src)
	return err
}
