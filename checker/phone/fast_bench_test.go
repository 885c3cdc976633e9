package phone_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/synth"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// benchInputs returns n messy inputs of one form (a gen kind, undecorated;
// a gen shape, "carrier" in a dump of BR numbers, the others in the
// default mix; "messy" and "uniform" for gen's full rows with decorations
// and junk, in realistic and in uniform shape mix), drawn from the default
// mix and read with default region EG, as a dump of EG numbers with
// foreign ones would be; and the region to read them with.
func benchInputs(tb testing.TB, form string, n int) ([]string, string) {
	opts := synth.Options{Seed: 5, N: n, Region: "EG"}
	if form == "uniform" {
		opts.MixShapes = "uniform"
	}
	shape, isShape := synth.ParseShape(form)
	if shape == synth.ShapeCarrier {
		opts.Region, opts.Mix = "BR", map[string]float64{"BR": 1}
	}
	g, err := synth.NewGenerator(opts)
	if err != nil {
		tb.Fatal(err)
	}
	kinds := map[string]synth.Kind{"e164": synth.KindE164, "intl": synth.KindIntl, "intl-paren": synth.KindIntlParen,
		"national": synth.KindNational, "national-bare": synth.KindNatBare, "idd": synth.KindIDD, "digits": synth.KindDigits, "tel": synth.KindTel}
	out := make([]string, 0, n)
	for len(out) < n {
		switch {
		case form == "messy" || form == "uniform":
			out = append(out, string(g.Next().Raw))
		case isShape:
			if raw := g.NextShape(shape); raw != nil {
				out = append(out, string(raw))
			}
		default:
			if raw := g.NextIn(kinds[form]); raw != nil {
				out = append(out, string(raw))
			}
		}
	}
	return out, opts.Region
}

// BenchmarkNormalize times the fast path (ns/op) and, in the same run, the
// library path, Normalize, on the same inputs, by input form (gen's kinds)
// and by shape of mess (gen's shapes, "shape-" and the name):
//
//	go test ./checker/phone -run '^$' -bench Normalize -benchtime 2s
//
// Metrics: ns/op (fast path), lib-ns/op (Normalize), speedup (their
// ratio), fast-% (inputs the fast path answered itself).
func BenchmarkNormalize(b *testing.B) {
	forms := []string{"messy", "uniform", "e164", "intl", "intl-paren", "national", "national-bare", "idd", "digits", "tel"}
	for _, name := range synth.ShapeNames {
		forms = append(forms, "shape-"+name)
	}
	for _, form := range forms {
		b.Run(form, func(b *testing.B) {
			in, region := benchInputs(b, strings.TrimPrefix(form, "shape-"), 4096)
			var z phone.Normalizer
			for i := range in {
				z.Normalize(in[i], region)
			}
			fast := z.Fast
			// The library, on a fixed sample, timed first (after a warm-up:
			// it compiles its regular expressions on first use).
			const libN = 3000
			for i := range 200 {
				phone.Normalize(in[i], region)
			}
			t0 := time.Now()
			for i := range libN {
				phone.Normalize(in[i%len(in)], region)
			}
			lib := float64(time.Since(t0).Nanoseconds()) / libN

			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				z.Normalize(in[i%len(in)], region)
			}
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(lib, "lib-ns/op")
			b.ReportMetric(lib/ns, "speedup")
			b.ReportMetric(100*float64(fast)/float64(len(in)), "fast-%")
		})
	}
}
