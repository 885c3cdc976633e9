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

// msmCase is two sets of n points sharing n scalars, in the forms of
// both packages: points and digits for laneMSM, points and scalars for
// edwards25519.
type msmCase struct {
	cs, ds   []extPoint
	digits   [][64]int8
	scalars  []*Scalar
	cps, dps []*edwards25519.Point
}

func newMSMCase(r *mrand.Rand, n int) *msmCase {
	c := &msmCase{digits: make([][64]int8, n), scalars: make([]*Scalar, n),
		cps: make([]*edwards25519.Point, n), dps: make([]*edwards25519.Point, n)}
	var ss []Scalar
	c.cs, ss = msmInputs(r, n)
	c.ds, _ = msmInputs(r, n)
	for i := range n {
		c.digits[i] = radix16(&ss[i])
		c.scalars[i] = &ss[i]
		c.cps[i], c.dps[i] = extToPoint(&c.cs[i]), extToPoint(&c.ds[i])
	}
	return c
}

// TestLaneMSMMatchesEdwards checks laneMSM against edwards25519's
// VarTimeMultiScalarMult for one set (8 lanes) and two (4 lanes each,
// the same scalars), over sizes that fill the lanes, leave some empty,
// and take one table or many.
func TestLaneMSMMatchesEdwards(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(41, 42))
	for _, n := range []int{1, 2, 3, 4, 5, 8, 9, 17, 33, 128} {
		c := newMSMCase(r, n)
		wantC := new(edwards25519.Point).VarTimeMultiScalarMult(c.scalars, c.cps)
		wantD := new(edwards25519.Point).VarTimeMultiScalarMult(c.scalars, c.dps)
		var sums [2]extPoint
		if !laneMSM(sums[:1], [][]extPoint{c.cs}, c.digits) {
			t.Fatal("laneMSM refused")
		}
		if extToPoint(&sums[0]).Equal(wantC) != 1 {
			t.Fatalf("n = %d, one set: the sum differs", n)
		}
		if !laneMSM(sums[:], [][]extPoint{c.cs, c.ds}, c.digits) {
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
	c := newMSMCase(r, n)
	var sums [2]extPoint
	var per [2][]float64 // us per point, for both sums: edwards25519, lanes
	for b.Loop() {
		start := time.Now()
		new(edwards25519.Point).VarTimeMultiScalarMult(c.scalars, c.cps)
		new(edwards25519.Point).VarTimeMultiScalarMult(c.scalars, c.dps)
		per[0] = append(per[0], float64(time.Since(start).Nanoseconds())/1e3/n)
		start = time.Now()
		laneMSM(sums[:], [][]extPoint{c.cs, c.ds}, c.digits)
		per[1] = append(per[1], float64(time.Since(start).Nanoseconds())/1e3/n)
	}
	b.ReportMetric(median(per[0]), "edwards-us/point")
	b.ReportMetric(median(per[1]), "lanes-us/point")
	b.ReportMetric(median(per[0])/median(per[1]), "x-lanes")
	b.ReportMetric(0, "ns/op")
}
