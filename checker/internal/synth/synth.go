// Package synth writes seeded synthetic leak datasets, for tests,
// benchmarks and the demo: valid numbers drawn from whole valid ranges,
// written in the messy forms real dumps use, never a sample of a real leak.
package synth

import (
	"github.com/phonecheck/phonecheck/checker/phone"

	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Options say what [Generate] writes.
type Options struct {
	Seed int64
	N    int                // rows to write
	Mix  map[string]float64 // region -> weight; nil means DefaultMix
	// Format is "csv" (header id,phone,country,source) or "txt" (one
	// number a line); "" means "csv".
	Format string
	// Clean makes every row E.164. By default rows are messy, as leak
	// dumps are: many formats, labels, extensions, foreign digits,
	// spreadsheet artefacts, and a fraction Junk of junk rows.
	Clean bool
	// Junk is the fraction of junk rows (empty, "N/A", too short, ...)
	// in messy mode: 0 means 0.01, a negative value means none.
	Junk float64
	// Region is the dataset's default region: national formats are only
	// written for numbers of this region, so that phone.Normalize(raw, Region)
	// reads them back. "" means none.
	Region string
	// MixShapes says in what measure messy rows take each shape of mess
	// (vanity letters, two numbers in a cell, Unicode separators, labels,
	// extensions, tel: URIs, foreign digits, carrier codes): "realistic"
	// (or "") for the proportions dumps have, most rows plain; "uniform"
	// for every shape a number can take in equal measure, the worst case
	// for a normalizer.
	MixShapes string
}

// Stats counts what [Generate] wrote.
type Stats struct {
	Rows    int            // rows written, junk included, header excluded
	Junk    int            // junk rows
	Regions map[string]int // non-junk rows per region
}

// DefaultMix is the motivating 2022 dump of 487 million WhatsApp numbers,
// scaled: weights are millions of numbers per region. The largest entries
// are the published per-country counts; the tail is rounded guesswork.
var DefaultMix = map[string]float64{
	"EG": 45, "IT": 35.6, "US": 32, "SA": 29, "TR": 20, "FR": 19.8,
	"MY": 11.6, "GB": 11.5, "ES": 10.9, "RU": 10, "NG": 9, "BR": 8,
	"IN": 6.2, "DE": 6, "ID": 5, "CO": 4.5, "AR": 4.3, "MX": 4,
	"IL": 3.2, "PK": 3, "SG": 3, "TN": 3, "DZ": 3, "MA": 3, "BE": 3,
	"HK": 2.9, "AE": 2.5, "IR": 2.5, "ZA": 2, "NL": 2, "CH": 1.8,
	"IQ": 1.5, "JO": 1.2, "QA": 1, "KW": 1, "LB": 0.9, "OM": 0.8,
}

// Numbers returns the E.164 numbers that [Generate] draws for the same
// seed and mix, in row order: row i of Generate's output holds number i,
// unless it is a junk row. It returns nil if mix is not usable (see
// Generate's errors).
func Numbers(seed int64, n int, mix map[string]float64) []string {
	d, err := newNumberDrawer(seed, mix)
	if err != nil {
		return nil
	}
	out := make([]string, n)
	var buf []byte
	for i := range out {
		_, _, nsn := d.next(buf[:0])
		buf = nsn
		out[i] = "+" + d.lastCC + string(nsn)
	}
	return out
}

// Generate writes a synthetic leak dataset of opts.N rows to w. The same
// options give the same bytes. Numbers are valid per libphonenumber and
// random: a region's example numbers from the library's metadata with
// their trailing 2 to 6 digits redrawn, or, for the US and GB, their
// fictional ranges (555-01XX in every area code that has it; London's
// 020 7946 0XXX). Elsewhere a number drawn at random in a real range may
// be somebody's: the data are synthetic, not fictional.
//
// Candidate templates and, for each, the messy forms written are checked
// with [Normalize] once per process (a few hundred milliseconds for
// DefaultMix); rows are not, so generation runs at millions of rows a
// second.
func Generate(w io.Writer, opts Options) (Stats, error) {
	g, err := NewGenerator(opts)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{Regions: map[string]int{}}
	counts := make([]int, len(g.d.regions))
	bw := bufio.NewWriterSize(w, 256<<10)
	var cw *csv.Writer
	source := "synthetic seed " + strconv.FormatInt(opts.Seed, 10)
	if g.format == "csv" {
		cw = csv.NewWriter(bw)
		if err := cw.Write([]string{"id", "phone", "country", "source"}); err != nil {
			return st, err
		}
	}
	fields := make([]string, 4)
	var idbuf []byte
	for i := 0; i < opts.N; i++ {
		row := g.Next()
		st.Rows++
		if row.Junk {
			st.Junk++
		} else {
			counts[row.region]++
		}
		if cw != nil {
			idbuf = strconv.AppendInt(idbuf[:0], int64(i+1), 10)
			fields[0] = string(idbuf)
			fields[1] = string(row.Raw)
			fields[2] = g.d.regions[row.region].region
			fields[3] = source
			if err := cw.Write(fields); err != nil {
				return st, err
			}
		} else {
			bw.Write(row.Raw)
			if err := bw.WriteByte('\n'); err != nil {
				return st, err
			}
		}
	}
	if cw != nil {
		cw.Flush()
		if err := cw.Error(); err != nil {
			return st, err
		}
	}
	for i, c := range counts {
		if c > 0 {
			st.Regions[g.d.regions[i].region] = c
		}
	}
	return st, bw.Flush()
}

// Number templates.

// genTemplate is a family of numbers: an NSN prefix and k random digits.
type genTemplate struct {
	prefixes []string // national significant number prefixes, one drawn at random
	k        int      // random trailing digits
	pow      uint64   // 10^k
}

// genRegion is what the generator knows of a region.
type genRegion struct {
	region    string
	cc        string
	trunk     string
	idd       string
	templates []genTemplate // mobile first
}

var (
	genRegionsMu sync.Mutex
	genRegions   = map[string]*genRegion{}
)

// fictional number ranges, used instead of the library's examples.
var genFictional = map[string][]genTemplate{
	// Ofcom's drama range 020 7946 0XXX. The mobile one, 07700 900XXX,
	// is not valid for libphonenumber.
	"GB": {{prefixes: []string{"2079460"}, k: 3}},
}

// loadGenRegion returns the templates of region, validated with Normalize.
func loadGenRegion(region string) (*genRegion, error) {
	genRegionsMu.Lock()
	defer genRegionsMu.Unlock()
	if gr, ok := genRegions[region]; ok {
		if gr == nil {
			return nil, fmt.Errorf("checker: no valid numbers to generate for region %q", region)
		}
		return gr, nil
	}
	gr := buildGenRegion(region)
	genRegions[region] = gr
	if gr == nil {
		return nil, fmt.Errorf("checker: no valid numbers to generate for region %q", region)
	}
	return gr, nil
}

func buildGenRegion(region string) *genRegion {
	ri, ok := phone.LookupRegion(region)
	if !ok {
		return nil
	}
	gr := &genRegion{region: region, cc: strconv.Itoa(ri.CountryCode), trunk: ri.Trunk, idd: ri.IDD}
	rng := rand.New(rand.NewPCG(1, uint64(ri.CountryCode)))
	valid := func(t genTemplate) bool {
		var buf []byte
		for range 32 {
			buf = appendNSN(buf[:0], rng, &t)
			if n, err := phone.Normalize("+"+gr.cc+string(buf), ""); err != nil || n.E164 != "+"+gr.cc+string(buf) {
				return false
			}
		}
		return true
	}
	switch {
	case region == "US":
		// Fictional 555-01XX numbers in every area code that has them.
		var npas []string
		for npa := 200; npa < 1000; npa++ {
			s := strconv.Itoa(npa) + "5550100"
			if n, err := phone.Normalize("+1"+s, ""); err == nil && n.Region == "US" {
				npas = append(npas, strconv.Itoa(npa)+"55501")
			}
		}
		t := genTemplate{prefixes: npas, k: 2, pow: 100}
		if len(npas) > 0 && valid(t) {
			gr.templates = append(gr.templates, t)
		}
	case genFictional[region] != nil:
		for _, t := range genFictional[region] {
			t.pow = pow10(t.k)
			if valid(t) {
				gr.templates = append(gr.templates, t)
			}
		}
	}
	if len(gr.templates) == 0 {
		for _, ex := range ri.Examples {
			for k := min(6, len(ex)-2); k >= 2; k-- {
				t := genTemplate{prefixes: []string{ex[:len(ex)-k]}, k: k, pow: pow10(k)}
				if valid(t) {
					if !slices.ContainsFunc(gr.templates, func(o genTemplate) bool { return o.prefixes[0] == t.prefixes[0] }) {
						gr.templates = append(gr.templates, t)
					}
					break
				}
			}
		}
	}
	if len(gr.templates) == 0 {
		return nil
	}
	return gr
}

func pow10(k int) uint64 {
	p := uint64(1)
	for range k {
		p *= 10
	}
	return p
}

func appendNSN(buf []byte, rng *rand.Rand, t *genTemplate) []byte {
	p := t.prefixes[0]
	if len(t.prefixes) > 1 {
		p = t.prefixes[rng.IntN(len(t.prefixes))]
	}
	buf = append(buf, p...)
	v := rng.Uint64N(t.pow)
	n := len(buf)
	for range t.k {
		buf = append(buf, 0)
	}
	for i := len(buf) - 1; i >= n; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return buf
}

// numberDrawer draws the numbers, from its own random stream, so that the
// numbers do not depend on how they are written.
type numberDrawer struct {
	rng     *rand.Rand
	regions []*genRegion
	cum     []float64 // cumulative weights
	lastCC  string
}

func newNumberDrawer(seed int64, mix map[string]float64) (*numberDrawer, error) {
	if mix == nil {
		mix = DefaultMix
	}
	names := make([]string, 0, len(mix))
	for r := range mix {
		names = append(names, r)
	}
	sort.Strings(names)
	d := &numberDrawer{rng: rand.New(rand.NewPCG(uint64(seed), 0x6e756d62657273))}
	total := 0.0
	for _, name := range names {
		w := mix[name]
		if w < 0 || w != w {
			return nil, fmt.Errorf("checker: mix weight of %s is %v", name, w)
		}
		if w == 0 {
			continue
		}
		gr, err := loadGenRegion(strings.ToUpper(name))
		if err != nil {
			return nil, err
		}
		total += w
		d.regions = append(d.regions, gr)
		d.cum = append(d.cum, total)
	}
	if total <= 0 {
		return nil, errors.New("checker: mix has no region with a positive weight")
	}
	return d, nil
}

// next draws a number: the index of its region, its template, and its
// national significant number appended to buf.
func (d *numberDrawer) next(buf []byte) (ri, ti int, nsn []byte) {
	x := d.rng.Float64() * d.cum[len(d.cum)-1]
	ri, _ = slices.BinarySearch(d.cum, x)
	if ri >= len(d.regions) {
		ri = len(d.regions) - 1
	}
	gr := d.regions[ri]
	ti = 0
	if len(gr.templates) > 1 && d.rng.IntN(5) == 0 { // 80% mobile
		ti = 1 + d.rng.IntN(len(gr.templates)-1)
	}
	d.lastCC = gr.cc
	return ri, ti, appendNSN(buf, d.rng, &gr.templates[ti])
}

// Mask returns s with every ASCII digit replaced by 9: how tests show a
// row that failed without printing a number, even a synthetic one.
func Mask(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '9'
		}
		return r
	}, s)
}

// NextIn draws the next number and writes it in kind k, in a new slice,
// if k is a form its number template allows; else it returns nil. A
// benchmark uses it to time one input form at a time.
func (g *Generator) NextIn(k Kind) []byte {
	ri, ti, nsn := g.d.next(nil)
	for _, ck := range g.choices[ri][ti].kinds {
		if ck == k {
			return g.render(nil, g.d.regions[ri], nsn, k)
		}
	}
	return nil
}
