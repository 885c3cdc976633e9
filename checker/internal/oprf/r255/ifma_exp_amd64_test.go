//go:build gc && !purego

package r255

import (
	mrand "math/rand/v2"
	"testing"
	"time"
)

// expInputs returns field elements to exponentiate: 0, 1, -1, i, d,
// small values, and random ones.
func expInputs(r *mrand.Rand) []fe {
	var xs []fe
	var b [32]byte
	for _, v := range []*fe{&feZero, feOne, feMinusOne, feSqrtM1, feD} {
		xs = append(xs, *v)
	}
	for k := range 4 {
		b = [32]byte{byte(k + 2)}
		var x fe
		x.SetBytes(b[:])
		xs = append(xs, x)
	}
	for range 200 {
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		var x fe
		x.SetBytes(b[:])
		xs = append(xs, x)
	}
	return xs
}

// TestExponentiationsMatchField checks invertLane and pow22523Lane, and
// sqrtRatio on the lane kernel, against field.Element's Invert,
// Pow22523 and SqrtRatio: zero, one, the constants, small and random
// values, squares and non-squares.
func TestExponentiationsMatchField(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(31, 32))
	xs := expInputs(r)
	for i := range xs {
		x := &xs[i]
		var got, want fe
		invertLane(&got, x)
		want.Invert(x)
		if got.Equal(&want) != 1 {
			t.Fatalf("input %d: invertLane differs from Invert", i)
		}
		pow22523Lane(&got, x)
		want.Pow22523(x)
		if got.Equal(&want) != 1 {
			t.Fatalf("input %d: pow22523Lane differs from Pow22523", i)
		}
		invert(&got, x)
		want.Invert(x)
		if got.Equal(&want) != 1 {
			t.Fatalf("input %d: invert differs from Invert", i)
		}
		// u/v for v = the next input (zero included both ways), and 1/x.
		for _, uv := range [][2]*fe{{x, &xs[(i+1)%len(xs)]}, {feOne, x}, {x, feOne}} {
			var g, w fe
			gs := sqrtRatio(&g, uv[0], uv[1])
			_, ws := w.SqrtRatio(uv[0], uv[1])
			if gs != ws || g.Equal(&w) != 1 {
				t.Fatalf("input %d: sqrtRatio differs from SqrtRatio (was square %d, want %d)", i, gs, ws)
			}
		}
	}
}

// BenchmarkExponentiations prints field.Element's inversion against the
// lane kernel's, measured side by side, and the ratio.
func BenchmarkExponentiations(b *testing.B) {
	needIFMA(b)
	x := *feD
	var z fe
	var per [2][]float64 // ns per inversion: field.Element, lane
	for b.Loop() {
		for i, f := range []func(z, x *fe){func(z, x *fe) { z.Invert(x) }, invertLane} {
			start := time.Now()
			for range 200 {
				f(&z, &x)
			}
			per[i] = append(per[i], float64(time.Since(start).Nanoseconds())/200)
		}
	}
	b.ReportMetric(median(per[0]), "field-ns/inv")
	b.ReportMetric(median(per[1]), "lane-ns/inv")
	b.ReportMetric(median(per[0])/median(per[1]), "x-lane-vs-field")
	b.ReportMetric(0, "ns/op")
}
