//go:build gc && !purego

package r255

import (
	mrand "math/rand/v2"
	"testing"
	"time"

	"filippo.io/edwards25519"
)

// msmInputs returns n points (decoded random elements, with torsion
// parts as clients' may have, the identity at 3) and n scalars (random,
// and 0, 1 and l-1 among them).
func msmInputs(r *mrand.Rand, n int) ([]extPoint, []Scalar) {
	ps := make([]extPoint, 0, n)
	for len(ps) < n {
		lp := lanePoints(r, false)
		ps = append(ps, lp[:min(8, n-len(ps))]...)
	}
	if n > 3 {
		ps[3] = extPoint{}
		ps[3].Y.One()
		ps[3].Z.One()
	}
	ss := make([]Scalar, n)
	for i := range ss {
		ss[i] = *randomScalar()
	}
	one := [32]byte{1}
	ss[0].SetCanonicalBytes(one[:])
	if n > 1 {
		ss[1] = Scalar{}
	}
	if n > 2 {
		ss[2].Subtract(new(Scalar), &ss[0]) // l-1
	}
	return ps, ss
}

// TestLaneMSMMatchesEdwards checks laneMSM against edwards25519's
// VarTimeMultiScalarMult for one set (8 lanes) and two (4 lanes each,
// the same scalars), over sizes that fill the lanes, leave some empty,
// and take one table or many.
func TestLaneMSMMatchesEdwards(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(41, 42))
	for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 17, 33, 128} {
		cs, ss := msmInputs(r, n)
		ds, _ := msmInputs(r, n)
		digits := make([][64]int8, n)
		scalars := make([]*Scalar, n)
		cps, dps := make([]*edwards25519.Point, n), make([]*edwards25519.Point, n)
		for i := range n {
			digits[i] = radix16(&ss[i])
			scalars[i] = &ss[i]
			cps[i], dps[i] = extToPoint(&cs[i]), extToPoint(&ds[i])
		}
		wantC := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, cps)
		wantD := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, dps)
		var sums [2]extPoint
		if !laneMSM(sums[:1], [][]extPoint{cs}, digits) {
			t.Fatal("laneMSM refused")
		}
		if extToPoint(&sums[0]).Equal(wantC) != 1 {
			t.Fatalf("n = %d, one set: the sum differs", n)
		}
		if !laneMSM(sums[:], [][]extPoint{cs, ds}, digits) {
			t.Fatal("laneMSM refused")
		}
		if extToPoint(&sums[0]).Equal(wantC) != 1 || extToPoint(&sums[1]).Equal(wantD) != 1 {
			t.Fatalf("n = %d, two sets: the sums differ", n)
		}
	}
}

// BenchmarkLaneMSM prints, for 128 points, edwards25519's
// VarTimeMultiScalarMult (two sums, as a verifier computes M and Z)
// against laneMSM's two sets, in alternating rounds, and the ratio.
//
//	go test ./checker/internal/oprf/r255 -run '^$' -bench BenchmarkLaneMSM -benchtime 20x
func BenchmarkLaneMSM(b *testing.B) {
	needIFMA(b)
	const n = 128
	r := mrand.New(mrand.NewPCG(43, 44))
	cs, ss := msmInputs(r, n)
	ds, _ := msmInputs(r, n)
	digits := make([][64]int8, n)
	scalars := make([]*Scalar, n)
	cps, dps := make([]*edwards25519.Point, n), make([]*edwards25519.Point, n)
	for i := range n {
		digits[i] = radix16(&ss[i])
		scalars[i] = &ss[i]
		cps[i], dps[i] = extToPoint(&cs[i]), extToPoint(&ds[i])
	}
	var sums [2]extPoint
	var per [2][]float64 // us per point, for both sums: edwards25519, lanes
	for b.Loop() {
		start := time.Now()
		new(edwards25519.Point).VarTimeMultiScalarMult(scalars, cps)
		new(edwards25519.Point).VarTimeMultiScalarMult(scalars, dps)
		per[0] = append(per[0], float64(time.Since(start).Nanoseconds())/1e3/n)
		start = time.Now()
		laneMSM(sums[:], [][]extPoint{cs, ds}, digits)
		per[1] = append(per[1], float64(time.Since(start).Nanoseconds())/1e3/n)
	}
	b.ReportMetric(median(per[0]), "edwards-us/point")
	b.ReportMetric(median(per[1]), "lanes-us/point")
	b.ReportMetric(median(per[0])/median(per[1]), "x-lanes")
	b.ReportMetric(0, "ns/op")
}
