package phone_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/phonecheck/phonecheck/checker/internal/synth"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// diffCase is one input of the differential test.
type diffCase struct {
	raw, region string
	kind        string // for the coverage report
}

// differentialCases generates the inputs of the differential test: every
// region gen can draw numbers for, in every messy form gen writes (every
// shape of mess in equal measure), read with its own default region, and
// in gen's realistic mix read with another one; the default mix with no
// region, in both mixes; random digit strings; and mutations of messy rows
// (junk). A case's kind is "shape:" and gen's shape for a messy row.
func differentialCases(t testing.TB, perRegion int, emit func(diffCase)) (regions, skipped int) {
	all := phone.Regions()
	slices.Sort(all)
	rng := rand.New(rand.NewPCG(11, 12))
	mutate := func(s string) string {
		const alphabet = "0123456789+-. ()/#;,:xXeEtT'\"=&*~[]abcNP\t"
		extras := []string{"\u200e", "\uff0b", "\uff11", "\u0661", "\u00a0", "ext", " ext. ", "tel:", ";phone-context=+1", ".0", "E+11"}
		b := []byte(s)
		for range 1 + rng.IntN(3) {
			switch op := rng.IntN(5); {
			case op == 0 && len(b) > 0: // delete
				i := rng.IntN(len(b))
				b = append(b[:i], b[i+1:]...)
			case op == 1: // insert a character
				i := rng.IntN(len(b) + 1)
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			case op == 2 && len(b) > 0: // replace
				b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
			case op == 3: // insert a longer piece
				i := rng.IntN(len(b) + 1)
				b = append(b[:i], append([]byte(extras[rng.IntN(len(extras))]), b[i:]...)...)
			default: // duplicate a digit run
				i := rng.IntN(len(b) + 1)
				b = append(b[:i], append([]byte(fmt.Sprint(rng.IntN(1000))), b[i:]...)...)
			}
		}
		if !utf8.Valid(b) && rng.IntN(2) == 0 {
			return strings.ToValidUTF8(string(b), "?")
		}
		return string(b)
	}
	for i, r := range all {
		other := all[(i*7+3)%len(all)]
		for pass, def := range []string{r, other} {
			n := perRegion
			if pass == 1 {
				n = perRegion / 2
			}
			shapes := "uniform"
			if pass == 1 {
				shapes = "realistic"
			}
			g, err := synth.NewGenerator(synth.Options{Seed: int64(i + 1), N: n, Mix: map[string]float64{r: 1}, Region: def, Junk: 0.03, MixShapes: shapes})
			if err != nil {
				if pass == 0 {
					skipped++
				}
				break
			}
			if pass == 0 {
				regions++
			}
			for range n {
				row := g.Next()
				kind := "shape:" + row.Shape.String()
				if row.Junk && row.Shape == synth.ShapePlain {
					kind = "junk"
				}
				emit(diffCase{string(row.Raw), def, kind})
				if rng.IntN(16) == 0 {
					emit(diffCase{mutate(string(row.Raw)), def, "mutated"})
				}
			}
		}
	}
	// The default mix, no default region and a lower-case one, in both
	// shape mixes.
	for _, def := range []string{"", "eg", "ZZ"} {
		genRegion := strings.ToUpper(def)
		if genRegion == "ZZ" {
			genRegion = ""
		}
		for _, shapes := range []string{"realistic", "uniform"} {
			g, err := synth.NewGenerator(synth.Options{Seed: 99, N: perRegion * 5, Region: genRegion, MixShapes: shapes})
			if err != nil {
				t.Fatal(err)
			}
			for range perRegion * 5 {
				row := g.Next()
				emit(diffCase{string(row.Raw), def, "shape:" + row.Shape.String()})
			}
		}
	}
	// Random digit strings, with and without separators and a plus, in
	// random regions.
	for range perRegion * 60 {
		n := 1 + rng.IntN(19)
		var b strings.Builder
		if rng.IntN(3) == 0 {
			b.WriteByte('+')
		}
		for k := range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
			if k < n-1 && rng.IntN(5) == 0 {
				b.WriteByte(" -.()/"[rng.IntN(6)])
			}
		}
		emit(diffCase{b.String(), all[rng.IntN(len(all))], "random"})
	}
	return regions, skipped
}

// TestFastNormalizeDifferential runs the fast path and the library path on
// over a million generated inputs, result by result, in both modes (the
// default, and strict).
func TestFastNormalizeDifferential(t *testing.T) {
	perRegion := 2200 // about 1.06M inputs
	if testing.Short() {
		perRegion = 200
	}
	type stat struct{ n, fast, retried atomic.Int64 }
	kinds := []string{"junk", "mutated", "random"}
	for _, name := range synth.ShapeNames {
		kinds = append(kinds, "shape:"+name)
	}
	stats, strictStats := map[string]*stat{}, map[string]*stat{}
	for _, k := range kinds {
		stats[k], strictStats[k] = &stat{}, &stat{}
	}
	var total, failures atomic.Int64
	work := make(chan []diffCase, 64)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cases := range work {
				for _, c := range cases {
					for _, strict := range []bool{false, true} {
						diff, fast, retried := phone.SameResult(c.raw, c.region, strict)
						st := stats[c.kind]
						if strict {
							st = strictStats[c.kind]
						}
						st.n.Add(1)
						if fast {
							st.fast.Add(1)
						}
						if retried {
							st.retried.Add(1)
						}
						if diff != "" && failures.Add(1) <= 50 {
							t.Error(diff)
						}
					}
				}
				total.Add(int64(len(cases)))
			}
		}()
	}
	var batch []diffCase
	regions, skipped := differentialCases(t, perRegion, func(c diffCase) {
		batch = append(batch, c)
		if len(batch) == 1024 {
			work <- batch
			batch = nil
		}
	})
	work <- batch
	close(work)
	wg.Wait()
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d inputs differ", f, total.Load())
	}
	if !testing.Short() && total.Load() < 1_000_000 {
		t.Fatalf("only %d inputs; want at least 1M", total.Load())
	}
	t.Logf("%d inputs agree in both modes; %d regions generated (%d without numbers gen can draw: covered by random digits)", total.Load(), regions, skipped)
	for _, k := range kinds {
		st, ss := stats[k], strictStats[k]
		t.Logf("  %-17s %8d inputs, %5.1f%% on the fast path (strict: %5.1f%%), %d read by the international retry", k, st.n.Load(),
			100*float64(st.fast.Load())/float64(max(st.n.Load(), 1)), 100*float64(ss.fast.Load())/float64(max(ss.n.Load(), 1)), st.retried.Load())
	}
	// Every shape of mess is covered, and answered by the fast path
	// (issue 18): a shape left to the library costs its speed.
	for _, name := range synth.ShapeNames {
		st, ss := stats["shape:"+name], strictStats["shape:"+name]
		if n := st.n.Load(); !testing.Short() && n < 1000 {
			t.Errorf("only %d inputs of shape %s", n, name)
		}
		if float64(st.fast.Load()) < 0.99*float64(st.n.Load()) {
			t.Errorf("fast path coverage of shape %s fell below 99%%", name)
		}
		// Strict leaves non-ASCII input to the library (labels are
		// partly in other scripts): an opt-in mode, not the bulk path.
		if name != "unicode-sep" && name != "fullwidth" && float64(ss.fast.Load()) < 0.7*float64(ss.n.Load()) {
			t.Errorf("fast path coverage of shape %s fell below 70%% (strict)", name)
		}
	}
	if !testing.Short() && stats["shape:plain"].retried.Load()+stats["random"].retried.Load() == 0 {
		t.Errorf("no input was read by the international retry: the test does not cover it")
	}
}
