package synth

import (
	"slices"
	"unicode/utf8"
)

// Shapes: the kinds of mess that leak dumps wrap numbers in, on top of
// how the number itself is written (its Kind).

// Shape is a kind of mess a row is written with.
type Shape uint8

const (
	ShapePlain      Shape = iota // the kind as written, with quotes, spreadsheet artefacts, trailing punctuation
	ShapeVanity                  // letters for the last digits: +1 201 555 FLWR
	ShapeTwo                     // two numbers in one cell: 0100 123 4567;01001234568, or / and , between them (no number)
	ShapeUnicodeSep              // Unicode separators: no-break spaces, en dashes, fullwidth hyphens
	ShapeLabel                   // a label first: "Tel: ", "mobile: ", "Tél : "
	ShapeExt                     // an extension after: " ext. 12", " x3", ";ext=12", ",,12"
	ShapeTel                     // tel: URIs, with ;ext=, ;isub= or ;phone-context=
	ShapeFullwidth               // fullwidth or Arabic-Indic digits (the plus and separators too)
	ShapeCarrier                 // a national number after a carrier selection code: 0 21 11 96123 4567 (BR, CO, KR, BO, CN, AU)
	numShapes
)

// ShapeNames names the shapes, for flags and reports.
var ShapeNames = [numShapes]string{"plain", "vanity", "two", "unicode-sep", "label", "ext", "tel", "fullwidth", "carrier"}

// ParseShape returns the shape named name.
func ParseShape(name string) (Shape, bool) {
	i := slices.Index(ShapeNames[:], name)
	return Shape(i), i >= 0
}

func (s Shape) String() string {
	if s < numShapes {
		return ShapeNames[s]
	}
	return "shape?"
}

// shapeWeights are the realistic proportions (per mille) of the messy
// mode: rounded guesses from dumps as they are described, not measured on
// a real one. A shape a number cannot take (carrier codes outside the
// dataset's region and the six regions that have them) gives its share to
// the others.
var shapeWeights = [numShapes]int{
	ShapePlain: 810, ShapeLabel: 50, ShapeExt: 30, ShapeUnicodeSep: 30, ShapeFullwidth: 25,
	ShapeTel: 20, ShapeTwo: 15, ShapeCarrier: 15, ShapeVanity: 5,
}

// shapeTakes reports whether shape s may be written over kind k for a
// number of gr (kindChoices then checks that Normalize reads it back).
func shapeTakes(s Shape, k Kind, gr *genRegion, g *Generator) bool {
	switch s {
	case ShapeLabel, ShapeExt, ShapeVanity, ShapeFullwidth:
		return k != KindDigits && k != KindTel
	case ShapeUnicodeSep:
		return k == KindIntl || k == KindIntlParen || k == KindNational || k == KindNatBare || k == KindIDD
	case ShapeTwo:
		return k != KindTel
	case ShapeTel:
		return k == KindE164 // the URI is written its own way; one kind is enough
	case ShapeCarrier:
		return k == KindNational && gr.region == g.region && genCarriers[gr.region] != nil
	}
	return true
}

var (
	genLabels = []string{"Tel: ", "Phone: ", "Mobile: ", "mobile: ", "tel. ", "Tel.: ", "WhatsApp: ", "Ph ",
		"Mob: ", "Cell: ", "phone=", "Tél : ", "тел. ", "Móvil: ", "جوال: ", "Handy: "}
	genExts = []string{" ext. 12", " x3", " ext 204", " #12", " Ext: 7", ";ext=12", " extension 12",
		" x 45", ",,12", " EXT 4521", "x12", " int. 12", " доб. 12"}
	genDigitBase = []rune{0xFF10, 0xFF10, 0xFF10, 0x0660, 0x06F0} // fullwidth (most), Arabic-Indic, Eastern Arabic-Indic
	// Separators the library takes as punctuation: no-break space, en
	// dash, non-breaking hyphen, hyphen, em dash, minus, ideographic space,
	// fullwidth hyphen-minus.
	genUnicodeSeps = []rune{0x00A0, 0x00A0, 0x00A0, 0x2013, 0x2013, 0x2011, 0x2010, 0x2014, 0x2212, 0x3000, 0xFF0D}
	// Carrier selection codes dialled before a national number, as the
	// national prefix for parsing of each region has them.
	genCarriers = map[string][]string{
		"BR": {"0 15 ", "0 21 ", "0 41 ", "0xx", "015 ", "021 ", "0 31 "},
		"CO": {"03 ", "05 ", "07 ", "09 ", "0444 ", "0456 "},
		"KR": {"081 ", "082 ", "084 ", "086 "},
		"BO": {"010 ", "011 ", "012 "},
		"CN": {"17951 ", "17911 ", "12593 "},
		"AU": {"1831 ", "1832 "},
	}
	// Keypad letters; no I or X, so that no word reads as an extension
	// label ("x", "int", "ext").
	genKeypad = [10]string{2: "ABC", 3: "DEF", 4: "GH", 5: "JKL", 6: "MNO", 7: "PQRS", 8: "TUV", 9: "WYZ"}
)

// appendTel writes nsn as a tel: URI.
func (g *Generator) appendTel(out []byte, gr *genRegion, nsn []byte) []byte {
	switch x := g.f.IntN(20); {
	case x < 3: // the number in the context
		out = append(out, "tel:"...)
		out = g.group(out, nsn, '-')
		return append(append(out, ";phone-context=+"...), gr.cc...)
	case x < 5:
		out = append(append(append(out, "TEL:+"...), gr.cc...), '-')
		return g.group(out, nsn, '-')
	default:
		out = append(append(append(out, "tel:+"...), gr.cc...), '-')
		out = g.group(out, nsn, '-')
		switch {
		case x < 8:
			out = append(out, ";ext=12"...)
		case x < 10:
			out = append(out, ";isub=1234"...)
		}
		return out
	}
}

// appendCarrier writes nsn in national form after a carrier code.
func (g *Generator) appendCarrier(out []byte, gr *genRegion, nsn []byte) []byte {
	cs := genCarriers[gr.region]
	out = append(out, cs[g.f.IntN(len(cs))]...)
	return g.group(out, nsn, " -"[g.f.IntN(2)])
}

// appendTwo writes nsn in form k and a second number of the same range
// after it. With ";" and the second one in digits, Normalize reads the
// first (the library takes the second for an extension); with " / ", ", "
// or " or " it reads none, and the row is junk.
func (g *Generator) appendTwo(out []byte, gr *genRegion, nsn []byte, k Kind, readable bool) ([]byte, bool) {
	out = g.render(out, gr, nsn, k)
	second := append([]byte(nil), nsn...)
	for i := max(0, len(second)-3); i < len(second); i++ {
		second[i] = byte('0' + g.f.IntN(10))
	}
	if !readable && g.f.IntN(2) == 0 {
		out = append(out, []string{" / ", ", ", " or ", "/"}[g.f.IntN(4)]...)
		return g.render(out, gr, second, k), true
	}
	out = append(out, ';')
	if k == KindNational || k == KindNatBare {
		return append(append(out, gr.trunk...), second...), false
	}
	return append(append(out, gr.cc...), second...), false
}

// letters writes keypad letters for the digits 2 to 9 among the last four
// to seven digits of out[body:], if that makes three letters or more.
func (g *Generator) letters(out []byte, body int) []byte {
	n := 4 + g.f.IntN(4)
	lower := g.f.IntN(5) == 0
	var pos []int
	letters := 0
	for i := len(out) - 1; i >= body && len(pos) < n; i-- {
		if c := out[i]; c >= '0' && c <= '9' {
			pos = append(pos, i)
			if c >= '2' {
				letters++
			}
		}
	}
	if letters < 3 {
		return out
	}
	for _, i := range pos {
		if c := out[i]; c >= '2' {
			l := genKeypad[c-'0'][g.f.IntN(len(genKeypad[c-'0']))]
			if lower {
				l |= 0x20
			}
			out[i] = l
		}
	}
	return out
}

// unicodeSeps replaces the ASCII separators of out[body:] (space, '-',
// '.') with one Unicode separator.
func (g *Generator) unicodeSeps(out []byte, body int) []byte {
	sep := genUnicodeSeps[g.f.IntN(len(genUnicodeSeps))]
	tail := append([]byte(nil), out[body:]...)
	out = out[:body]
	for _, c := range tail {
		if c == ' ' || c == '-' || c == '.' {
			out = utf8.AppendRune(out, sep)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// foreignDigits writes the digits of out[body:] in another script; in
// fullwidth, the plus sign, dashes, spaces and parentheses too.
func (g *Generator) foreignDigits(out []byte, body int) []byte {
	base := genDigitBase[g.f.IntN(len(genDigitBase))]
	wide := base == 0xFF10 && g.f.IntN(2) == 0
	tail := append([]byte(nil), out[body:]...)
	out = out[:body]
	for _, c := range tail {
		switch {
		case c >= '0' && c <= '9':
			out = utf8.AppendRune(out, base+rune(c-'0'))
		case c == '+' && base == 0xFF10:
			out = utf8.AppendRune(out, 0xFF0B)
		case wide && c == '-':
			out = utf8.AppendRune(out, 0xFF0D)
		case wide && c == ' ':
			out = utf8.AppendRune(out, 0x3000)
		case wide && (c == '(' || c == ')'):
			out = utf8.AppendRune(out, 0xFF08+rune(c-'('))
		default:
			out = append(out, c)
		}
	}
	return out
}

// NextShape draws the next number and writes it in shape s (and a kind
// the shape allows), in a new slice, if its template allows s; else it
// returns nil. A benchmark uses it to time one shape at a time.
func (g *Generator) NextShape(s Shape) []byte {
	ri, ti, nsn := g.d.next(nil)
	sc := &g.choices[ri][ti].shape[s]
	if len(sc.kinds) == 0 {
		return nil
	}
	x := g.f.IntN(sc.cum[len(sc.cum)-1])
	i, _ := slices.BinarySearch(sc.cum, x+1)
	out, _ := g.decorate(nil, g.d.regions[ri], nsn, sc.kinds[i], s, false)
	return out
}
