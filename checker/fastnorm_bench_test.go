package checker

import (
	"testing"
	"time"
)

// benchInputs returns n messy inputs of one form (a gen kind, undecorated;
// "messy" for gen's full rows with decorations and junk), drawn from the
// default mix and read with default region EG, as a dump of EG numbers
// with foreign ones would be.
func benchInputs(tb testing.TB, form string, n int) []string {
	g, err := newGenerator(GenOptions{Seed: 5, N: n, Region: "EG"})
	if err != nil {
		tb.Fatal(err)
	}
	kinds := map[string]genKind{"e164": kindE164, "intl": kindIntl, "intl-paren": kindIntlParen,
		"national": kindNational, "national-bare": kindNatBare, "idd": kindIDD, "digits": kindDigits, "tel": kindTel}
	out := make([]string, 0, n)
	for len(out) < n {
		if form == "messy" {
			out = append(out, string(g.next().raw))
			continue
		}
		ri, ti, nsn := g.d.next(nil)
		c := &g.choices[ri][ti]
		for _, k := range c.kinds {
			if k == kinds[form] {
				out = append(out, string(g.render(nil, g.d.regions[ri], nsn, k)))
			}
		}
	}
	return out
}

// BenchmarkNormalize times the fast path (ns/op) and, in the same run, the
// library path, Normalize, on the same inputs, by input form:
//
//	go test ./checker -run '^$' -bench Normalize -benchtime 2s
//
// Metrics: ns/op (fast path), lib-ns/op (Normalize), speedup (their
// ratio), fast-% (inputs the fast path answered itself).
func BenchmarkNormalize(b *testing.B) {
	for _, form := range []string{"messy", "e164", "intl", "intl-paren", "national", "national-bare", "idd", "digits", "tel"} {
		b.Run(form, func(b *testing.B) {
			in := benchInputs(b, form, 4096)
			f := fastNormalizer()
			var sc fastScratch
			fast := 0
			for i := range in {
				if _, _, ok := f.normalize(in[i], "EG", &sc); ok {
					fast++
				}
			}
			// The library, on a fixed sample, timed first (after a warm-up:
			// it compiles its regular expressions on first use).
			const libN = 3000
			for i := range 200 {
				Normalize(in[i], "EG")
			}
			t0 := time.Now()
			for i := range libN {
				Normalize(in[i%len(in)], "EG")
			}
			lib := float64(time.Since(t0).Nanoseconds()) / libN

			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				f.normalize(in[i%len(in)], "EG", &sc)
			}
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(lib, "lib-ns/op")
			b.ReportMetric(lib/ns, "speedup")
			b.ReportMetric(100*float64(fast)/float64(len(in)), "fast-%")
		})
	}
}
