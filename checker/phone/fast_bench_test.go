package phone_test

import (
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/synth"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// benchInputs returns n messy inputs of one form (a gen kind, undecorated;
// "messy" for gen's full rows with decorations and junk), drawn from the
// default mix and read with default region EG, as a dump of EG numbers
// with foreign ones would be.
func benchInputs(tb testing.TB, form string, n int) []string {
	g, err := synth.NewGenerator(synth.Options{Seed: 5, N: n, Region: "EG"})
	if err != nil {
		tb.Fatal(err)
	}
	kinds := map[string]synth.Kind{"e164": synth.KindE164, "intl": synth.KindIntl, "intl-paren": synth.KindIntlParen,
		"national": synth.KindNational, "national-bare": synth.KindNatBare, "idd": synth.KindIDD, "digits": synth.KindDigits, "tel": synth.KindTel}
	out := make([]string, 0, n)
	for len(out) < n {
		if form == "messy" {
			out = append(out, string(g.Next().Raw))
		} else if raw := g.NextIn(kinds[form]); raw != nil {
			out = append(out, string(raw))
		}
	}
	return out
}

// BenchmarkNormalize times the fast path (ns/op) and, in the same run, the
// library path, Normalize, on the same inputs, by input form:
//
//	go test ./checker/phone -run '^$' -bench Normalize -benchtime 2s
//
// Metrics: ns/op (fast path), lib-ns/op (Normalize), speedup (their
// ratio), fast-% (inputs the fast path answered itself).
func BenchmarkNormalize(b *testing.B) {
	for _, form := range []string{"messy", "e164", "intl", "intl-paren", "national", "national-bare", "idd", "digits", "tel"} {
		b.Run(form, func(b *testing.B) {
			in := benchInputs(b, form, 4096)
			var z phone.Normalizer
			for i := range in {
				z.Normalize(in[i], "EG")
			}
			fast := z.Fast
			// The library, on a fixed sample, timed first (after a warm-up:
			// it compiles its regular expressions on first use).
			const libN = 3000
			for i := range 200 {
				phone.Normalize(in[i], "EG")
			}
			t0 := time.Now()
			for i := range libN {
				phone.Normalize(in[i%len(in)], "EG")
			}
			lib := float64(time.Since(t0).Nanoseconds()) / libN

			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				z.Normalize(in[i%len(in)], "EG")
			}
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(lib, "lib-ns/op")
			b.ReportMetric(lib/ns, "speedup")
			b.ReportMetric(100*float64(fast)/float64(len(in)), "fast-%")
		})
	}
}
