package synth

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// Messy forms: how a drawn number is written, decorated, or turned into
// junk.

// Kind is how a number is written, before decorations.
type Kind uint8

const (
	KindE164      Kind = iota // +201001234567
	KindIntl                  // +20 100 123 4567, +20-100-123-4567
	KindIntlParen             // +20 (100) 123-4567
	KindNational              // 0100 123 4567 (dataset region only)
	KindNatBare               // 100 123 4567 (dataset region only)
	KindIDD                   // 00 20 100 123 4567 (dataset region's IDD)
	KindDigits                // 201001234567
	KindTel                   // tel:+20-100-123-4567
	numKinds
)

var kindWeights = [numKinds]int{
	KindE164: 25, KindIntl: 20, KindIntlParen: 5, KindNational: 15,
	KindNatBare: 6, KindIDD: 7, KindDigits: 18, KindTel: 3,
}

// genChoice is what one template's numbers may be written as: the kinds
// Normalize reads back, and for each shape, the kinds it reads back in that
// shape (cumulative weights, one table each).
type genChoice struct {
	kinds []Kind
	cum   []int
	shape [numShapes]struct {
		kinds []Kind
		cum   []int
	}
	// The shapes with at least one kind, as cumulative weights: realistic
	// and uniform.
	shapes          []Shape
	realCum, uniCum []int
}

type Generator struct {
	d       *numberDrawer
	f       *rand.Rand // formats and junk
	format  string
	clean   bool
	junk    float64
	uniform bool   // every shape a number can take in equal measure
	region  string // dataset's default region
	idd     string // its international prefix
	choices [][]genChoice
	buf     []byte
	out     []byte
}

// Row is one generated row.
type Row struct {
	Raw    []byte // valid until the next call
	E164   string // the number drawn (set even for junk rows)
	region int    // index into d.regions
	Junk   bool   // the row holds no number, or not one Normalize reads back
	Shape  Shape  // the mess it was written with (junk rows: ShapePlain)
}

var (
	genChoicesMu sync.Mutex
	genChoices   = map[string][]genChoice{} // dataset region + "/" + region
)

func NewGenerator(opts Options) (*Generator, error) {
	if opts.N < 0 {
		return nil, errors.New("checker: negative row count")
	}
	format := strings.ToLower(opts.Format)
	switch format {
	case "":
		format = "csv"
	case "csv", "txt":
	default:
		return nil, fmt.Errorf("checker: unknown format %q (want csv or txt)", opts.Format)
	}
	d, err := newNumberDrawer(opts.Seed, opts.Mix)
	if err != nil {
		return nil, err
	}
	g := &Generator{
		d:      d,
		f:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x666f726d6174)),
		format: format,
		clean:  opts.Clean,
		junk:   opts.Junk,
		region: strings.ToUpper(opts.Region),
	}
	switch strings.ToLower(opts.MixShapes) {
	case "", "realistic":
	case "uniform":
		g.uniform = true
	default:
		return nil, fmt.Errorf("checker: unknown shape mix %q (want realistic or uniform)", opts.MixShapes)
	}
	if g.junk == 0 {
		g.junk = 0.01
	}
	if g.clean || g.junk < 0 {
		g.junk = 0
	}
	if g.region != "" {
		ri, ok := phone.LookupRegion(g.region)
		if !ok {
			return nil, fmt.Errorf("checker: unknown region %q", opts.Region)
		}
		g.idd = ri.IDD
		if g.idd == "" {
			g.idd = "00"
		}
	}
	if !g.clean {
		for _, gr := range d.regions {
			g.choices = append(g.choices, g.kindChoices(gr))
		}
	}
	return g, nil
}

// kindChoices returns, per template of gr, the kinds and shapes whose rows
// Normalize reads back (with the dataset's region) in a sample at
// start-up.
func (g *Generator) kindChoices(gr *genRegion) []genChoice {
	key := g.region + "/" + gr.region
	genChoicesMu.Lock()
	defer genChoicesMu.Unlock()
	if c, ok := genChoices[key]; ok {
		return c
	}
	probe := &Generator{region: g.region, idd: g.idd, f: rand.New(rand.NewPCG(2, 3))}
	rng := rand.New(rand.NewPCG(4, 5))
	var z phone.Normalizer // the fast path: equal to Normalize, as its tests hold
	readsBack := func(ti int, samples int, write func(nsn []byte) []byte) bool {
		for range samples {
			nsn := appendNSN(nil, rng, &gr.templates[ti])
			raw := write(nsn)
			n, err := z.Normalize(string(raw), g.region)
			if err != nil || n.E164 != "+"+gr.cc+string(nsn) {
				return false
			}
		}
		return true
	}
	var out []genChoice
	for ti := range gr.templates {
		var c genChoice
		total := 0
		for k := range numKinds {
			if (k == KindNational || k == KindNatBare) && gr.region != g.region {
				continue
			}
			if k == KindNational && gr.trunk == "" {
				continue
			}
			if k == KindIDD && g.region == "" {
				continue
			}
			if readsBack(ti, 8, func(nsn []byte) []byte { return probe.render(nil, gr, nsn, k) }) {
				total += kindWeights[k]
				c.kinds = append(c.kinds, k)
				c.cum = append(c.cum, total)
			}
		}
		if len(c.kinds) == 0 { // E.164 is valid by construction
			c.kinds, c.cum = []Kind{KindE164}, []int{1}
		}
		realTotal, uniTotal := 0, 0
		for s := range numShapes {
			sc := &c.shape[s]
			if s == ShapePlain {
				sc.kinds, sc.cum = c.kinds, c.cum
			} else {
				total := 0
				for _, k := range c.kinds {
					if !shapeTakes(s, k, gr, g) {
						continue
					}
					if readsBack(ti, 4, func(nsn []byte) []byte { raw, _ := probe.decorate(nil, gr, nsn, k, s, true); return raw }) {
						total += kindWeights[k]
						sc.kinds = append(sc.kinds, k)
						sc.cum = append(sc.cum, total)
					}
				}
			}
			if len(sc.kinds) > 0 {
				realTotal += shapeWeights[s]
				uniTotal++
				c.shapes = append(c.shapes, s)
				c.realCum = append(c.realCum, realTotal)
				c.uniCum = append(c.uniCum, uniTotal)
			}
		}
		out = append(out, c)
	}
	genChoices[key] = out
	return out
}

// Next generates one row.
func (g *Generator) Next() Row {
	ri, ti, nsn := g.d.next(g.buf[:0])
	g.buf = nsn
	gr := g.d.regions[ri]
	row := Row{region: ri, E164: "+" + gr.cc + string(nsn)}
	out := g.out[:0]
	switch {
	case g.clean:
		out = append(append(append(out, '+'), gr.cc...), nsn...)
	case g.junk > 0 && g.f.Float64() < g.junk:
		row.Junk = true
		out = g.appendJunk(out, gr, nsn)
	default:
		c := &g.choices[ri][ti]
		cum := c.realCum
		if g.uniform {
			cum = c.uniCum
		}
		x := g.f.IntN(cum[len(cum)-1])
		si, _ := slices.BinarySearch(cum, x+1)
		shape := c.shapes[si]
		sc := &c.shape[shape]
		x = g.f.IntN(sc.cum[len(sc.cum)-1])
		i, _ := slices.BinarySearch(sc.cum, x+1)
		row.Shape = shape
		out, row.Junk = g.decorate(out, gr, nsn, sc.kinds[i], shape, false)
	}
	g.out = out
	row.Raw = out
	return row
}

// render writes nsn of gr in form k, with random grouping and separators.
func (g *Generator) render(out []byte, gr *genRegion, nsn []byte, k Kind) []byte {
	seps := " -. "
	sep := seps[g.f.IntN(len(seps))]
	switch k {
	case KindE164:
		out = append(append(append(out, '+'), gr.cc...), nsn...)
	case KindIntl:
		out = append(append(append(out, '+'), gr.cc...), sep)
		out = g.group(out, nsn, sep)
	case KindIntlParen:
		out = append(append(append(out, '+'), gr.cc...), ' ')
		n := max(1, min(3, len(nsn)-4))
		out = append(append(append(out, '('), nsn[:n]...), ") "...)
		out = g.group(out, nsn[n:], '-')
	case KindNational:
		out = append(out, gr.trunk...)
		out = g.group(out, nsn, sep)
	case KindNatBare:
		out = g.group(out, nsn, sep)
	case KindIDD:
		out = append(append(append(append(out, g.idd...), ' '), gr.cc...), ' ')
		out = g.group(out, nsn, sep)
	case KindDigits:
		out = append(append(out, gr.cc...), nsn...)
	case KindTel:
		out = append(append(append(out, "tel:+"...), gr.cc...), '-')
		out = g.group(out, nsn, '-')
	}
	return out
}

// group writes digits in groups of 2 to 4, separated by sep.
func (g *Generator) group(out, digits []byte, sep byte) []byte {
	for i := 0; i < len(digits); {
		n := 2 + g.f.IntN(3)
		if len(digits)-(i+n) < 2 {
			n = len(digits) - i
		}
		if i > 0 {
			out = append(out, sep)
		}
		out = append(out, digits[i:i+n]...)
		i += n
	}
	return out
}

var (
	genWraps = []string{`""`, "()", "[]", "<>", "''", "  ", "\t "} // whitespace last
	genPunct = []string{",", ";", ".", ":", " !", " /"}
)

// decorate writes nsn in form k and shape s, with the noise leak dumps
// carry around numbers (unless bare, for the probes of kindChoices), and
// reports a row written so that it holds no number Normalize reads back
// (two numbers run together).
func (g *Generator) decorate(out []byte, gr *genRegion, nsn []byte, k Kind, s Shape, bare bool) ([]byte, bool) {
	start := len(out)
	r := g.f.Uint32()
	if bare {
		r = 1<<30 - 1 // no coin comes up
	}
	// One draw, bits used as independent coins (out of 1024).
	coin := func(shift uint, per1024 uint32) bool { return (r>>shift)&1023 < per1024 }
	digits := k == KindDigits
	if coin(0, 20) && s != ShapeTel { // spreadsheet: leading apostrophe
		out = append(out, '\'')
	}
	if s == ShapeLabel {
		out = append(out, genLabels[g.f.IntN(len(genLabels))]...)
	}
	body := len(out)
	junk := false
	switch s {
	case ShapeTel:
		out = g.appendTel(out, gr, nsn)
	case ShapeCarrier:
		out = g.appendCarrier(out, gr, nsn)
	case ShapeTwo:
		out, junk = g.appendTwo(out, gr, nsn, k, bare)
	default:
		out = g.render(out, gr, nsn, k)
	}
	switch s {
	case ShapeVanity:
		out = g.letters(out, body)
	case ShapeUnicodeSep:
		out = g.unicodeSeps(out, body)
	case ShapeFullwidth:
		out = g.foreignDigits(out, body)
	}
	switch {
	case s == ShapeExt:
		out = append(out, genExts[g.f.IntN(len(genExts))]...)
	case digits && coin(20, 60):
		out = append(out, ".0"...) // a number exported as a float
	case coin(20, 70) && s != ShapeTwo:
		out = append(out, genPunct[g.f.IntN(len(genPunct))]...)
	}
	if bare {
		return out, junk
	}
	r = g.f.Uint32()
	if coin(10, 50) {
		w := genWraps[g.f.IntN(len(genWraps))]
		if digits { // Normalize reads bare digits as international only without wrapping
			w = genWraps[len(genWraps)-2+g.f.IntN(2)]
		}
		out = append(out[:start], append([]byte{w[0]}, out[start:]...)...)
		out = append(out, w[1])
	}
	if coin(20, 20) { // bidi mark
		if g.f.IntN(2) == 0 {
			out = append(out[:start], append([]byte("\u200e"), out[start:]...)...)
		} else {
			out = append(out, "\u200e"...)
		}
	}
	return out, junk
}

// appendJunk writes a row that is not a valid number.
func (g *Generator) appendJunk(out []byte, gr *genRegion, nsn []byte) []byte {
	switch g.f.IntN(9) {
	case 0:
		return out // empty
	case 1:
		words := []string{"N/A", "null", "NULL", "none", "-", "#N/A", "unknown", "n.a."}
		return append(out, words[g.f.IntN(len(words))]...)
	case 2:
		words := []string{"call me", "abc", "xxxxxxx", "test", "ask reception"}
		return append(out, words[g.f.IntN(len(words))]...)
	case 3: // too short
		return strconv.AppendUint(out, g.f.Uint64N(100000), 10)
	case 4: // too short, international
		return append(append(append(out, '+'), gr.cc...), nsn[:min(2, len(nsn))]...)
	case 5: // too long
		out = append(append(append(out, '+'), gr.cc...), nsn...)
		return append(out, "90123456789"[:8]...)
	case 6: // invalid country code
		out = append(out, "+999 "...)
		return append(out, nsn...)
	case 7: // scientific notation
		d := append(append([]byte(nil), gr.cc...), nsn...)
		out = append(append(out, d[0], '.'), d[1:min(6, len(d))]...)
		return strconv.AppendInt(append(out, "E+"...), int64(len(d)-1), 10)
	default: // spreadsheet errors
		words := []string{"#VALUE!", "#REF!", "#NAME?", "#DIV/0!"}
		return append(out, words[g.f.IntN(len(words))]...)
	}
}
