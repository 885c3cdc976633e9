//go:build gc && !purego

package r255

// The one-element evaluation with proof on the 8-way IFMA kernel of the
// seal path: its five scalar multiplications run as lanes of
// two passes, each lane with its own bases and its own digits.
//
// Pass 1 (64 windows of 4 doublings and an addition, one table per
// lane): lane 0 computes Eval/2 = (k/2)·C, lanes 1..7 the public
// multiples B_m = 2^(32m)·C (the digits of 2^(32m): a single 1). Eval's
// encoding gives d; then pass 2 (8 windows, four tables per lane) computes
// the four products of the proof, each split across two lanes by the
// eight 32-bit chunks of its scalar's signed radix-16 digits: lane 2p
// sums chunks 0-3 over the bases B_0..B_3, lane 2p+1 chunks 4-7 over
// B_4..B_7, for p = M/2 (scalar d/2), Z/2 (k·d/2), t3/2 (t·d/2), and, on
// the bases 2^(32m)·G (constants), t2/2 (t/2). The recoding of the whole
// scalar carries between chunks, so the chunks need no extra digit: s =
// sum_m 2^(32m)·(sum_{i<8} d[8m+i]·16^i) exactly, and lane 2p + lane 2p+1
// = s·P as points, not only modulo l. Four additions of lane pairs and
// the batched encodings finish the proof.
//
// Batches (several elements, or none with a proof) use the same
// multiplication: Eval_i/2 = (k/2)·C_i for 8 elements a pass, the digits
// of k/2 in every lane ([laneMul.evalHalves]), and, once M is known, Z/2,
// t3/2 and t2/2 as three lanes of one pass ([laneMul.proofPoints]).
//
// Constant time. Secret: k (its digits in lane 0 of pass 1, k·d/2 in
// lanes 2-3 of pass 2; k/2 and k in batches), t (t·d/2 in lanes 4-5, t/2
// in lanes 6-7; t and t/2 in batches) and every point computed from them
// but the published ones (Eval, and M and Z, which the client
// recomputes). Public: C, d and M (the client
// recomputes them), the multiples of C and G, and the digits of the
// other lanes. Both passes are a fixed sequence of calls (windows and
// tables fixed by the pass, not by any scalar); each lookup
// ([ifmaSelectLanes]) reads all 8 entries of the table in every lane and
// combines them through masks computed arithmetically from the digits in
// vector registers: no branch and no memory address depends on a digit.
// The scalars are computed with edwards25519's constant-time Scalar
// arithmetic and recoded by [radix16] (branch-free); the digit layout is
// a fixed permutation. The lane extractions (fe8.lane) and the pair
// additions are straight-line field arithmetic.
//
// Proven by this package's tests (the pass against edwards25519's scalar
// multiplication, lane by lane; the recoding and layout) and by the OPRF
// package's differential tests, which run this path and the one-lane path
// against circl.

import (
	"sync"

	"filippo.io/edwards25519"
)

// laneMaxTables is the most bases a lane of [laneMul] sums over.
const laneMaxTables = 4

// laneMul is the working memory of the per-lane multiplication, pooled
// in [EvalScratch]: the tables are 40 KiB.
type laneMul struct {
	tab     [laneMaxTables][8]cached8 // tab[j][e] = (e+1)·P_j, lane by lane
	all     [8]cached8                // the table of B_0..B_7, for pass 2's
	q       ext8                      // C in every lane
	base    ext8
	m       cached8
	acc     p1p18
	r       ext8
	scratch [8]fe8
	dig     [8 * laneMaxTables * 8]int8 // pass 2's digits, [window][table][lane]
	dig64   [64 * 8]int8                // proofPoints' digits, [window][lane]
	lanes   [8]extPoint
}

// mult sets l.r, in lane l, to sum_{j<h} s_{l,j}·P_{l,j}, where tab[j]
// holds the multiples 1..8 of P_{·,j} and s_{l,j} = sum_{i<w}
// dig[(i·h+j)·8+l]·16^i, every digit in [-8, 8]: w windows of 4
// doublings (none before the first) and h lookups and additions, the
// same sequence for any digits.
func (l *laneMul) mult(h, w int, dig []int8) {
	_ = dig[w*h*8-1]
	l.acc = p1p18{Y: fe8One, Z: fe8One, T: fe8One} // the identity
	for i := w - 1; i >= 0; i-- {
		if i != w-1 {
			ifmaDouble4(&l.acc, &l.scratch)
		}
		for j := range h {
			ifmaSelectLanes(&l.m, &l.tab[j], (*[8]int8)(dig[(i*h+j)*8:]))
			ifmaAddCached(&l.acc, &l.m, &l.scratch)
		}
	}
	l.r.fromP1P1(&l.acc)
}

// laneStage2 lays out pass 2's digits: lane l, table j, window i holds
// digit 32·(l%2) + 8j + i of ds[l/2].
func laneStage2(dig *[8 * laneMaxTables * 8]int8, ds *[4][64]int8) {
	for l := range 8 {
		d := &ds[l/2]
		for j := range 4 {
			for i := range 8 {
				dig[(i*4+j)*8+l] = d[32*(l%2)+8*j+i]
			}
		}
	}
}

// laneG holds, for pass 2's table j, the base 2^(32j)·G in lane 6 and
// 2^(32(4+j))·G in lane 7 (the other lanes unused).
var laneG = sync.OnceValue(func() *[4]ext8 {
	var g [4]ext8
	for m := range 8 {
		var b [32]byte
		b[4*m] = 1 // 2^(32m), little-endian
		s, err := new(Scalar).SetCanonicalBytes(b[:])
		if err != nil {
			panic(err)
		}
		var p extPoint
		pointToExt(&p, new(edwards25519.Point).ScalarBaseMult(s))
		lane := 6 + m/4
		e := &g[m%4]
		e.X.setLane(lane, &p.X)
		e.Y.setLane(lane, &p.Y)
		e.Z.setLane(lane, &p.Z)
		e.T.setLane(lane, &p.T)
	}
	return &g
})

// laneGTables holds pass 2's tables of lanes 6 and 7: the multiples 1..8
// of laneG's points.
var laneGTables = sync.OnceValue(func() *[4][8]cached8 {
	var t [4][8]cached8
	var s [8]fe8
	g := laneG()
	for j := range t {
		ifmaTable(&t[j], &g[j], &s)
	}
	return &t
})

// lanePerm[j] picks pass 2's table j from the table of B_0..B_7 (lanes
// 0-5: B_j and B_{4+j} alternately) and from laneGTables' (lanes 6 and
// 7, indices 8+).
var lanePerm = func() (p [4][8]uint64) {
	for j := range p {
		p[j] = [8]uint64{uint64(j), uint64(4 + j), uint64(j), uint64(4 + j), uint64(j), uint64(4 + j), 8 + 6, 8 + 7}
	}
	return p
}()

// copyLane sets lane dl of z to lane sl of x.
func copyLane(z *ext8, dl int, x *ext8, sl int) {
	for i := range 5 {
		z.X[i][dl] = x.X[i][sl]
		z.Y[i][dl] = x.Y[i][sl]
		z.Z[i][dl] = x.Z[i][sl]
		z.T[i][dl] = x.T[i][sl]
	}
}

// extractLane sets p to lane j of x.
func extractLane(p *extPoint, x *ext8, j int) {
	x.X.lane(&p.X, j)
	x.Y.lane(&p.Y, j)
	x.Z.lane(&p.Z, j)
	x.T.lane(&p.T, j)
}

// evalLanes is the 8-way path's working memory of an [EvalScratch].
type evalLanes = laneMul

// laneMul returns sc's working memory of the 8-way path.
func (sc *EvalScratch) laneMul() *evalLanes {
	if sc.lanes == nil {
		sc.lanes = new(evalLanes)
	}
	return sc.lanes
}

// evalOne is [EvalScratch.EvalOne]'s multiplication, on the 8-way path if
// lanes.
func (sc *EvalScratch) evalOne(ek *Key, lanes bool) {
	if lanes && useIFMA {
		sc.evalOneLanes(ek)
		return
	}
	sc.evalOneGeneric(ek)
}

// proveOne is [EvalScratch.ProveOne]'s multiplications, on the path
// [EvalScratch.evalOne] took; t2 only if withT2.
func (sc *EvalScratch) proveOne(ek *Key, dh, t *Scalar, withT2 bool) {
	if sc.oneLane {
		sc.proveOneGeneric(ek, dh, t, withT2)
		return
	}
	sc.proveOneLanes(ek, dh, t, withT2)
}

// evalHalves sets sc.half[i] = (k/2)·sc.in[i], on the 8-way path if
// lanes.
func (sc *EvalScratch) evalHalves(ek *Key, lanes bool) {
	if lanes && useIFMA {
		sc.laneMul().evalHalves(ek, sc.half, sc.in)
		return
	}
	sc.evalHalvesGeneric(ek)
}

// proofPoints sets, from sc.pts[0] = M/2, Z/2, t2/2 and t3/2, on the
// 8-way path if lanes.
func (sc *EvalScratch) proofPoints(ek *Key, t *Scalar, lanes bool) {
	if lanes && useIFMA {
		// Z/2, t3/2 and t2/2 as three lanes of one pass.
		sc.laneMul().proofPoints(ek, &sc.pts, t)
		return
	}
	sc.proofPointsGeneric(ek, t)
}

// evalOneLanes is pass 1: Eval/2 = (k/2)·C in lane 0, 2^(32m)·C in lane
// m; see the file comment. The result is the same group element as the
// one-lane path's, so the same bytes.
func (sc *EvalScratch) evalOneLanes(ek *Key) {
	sc.oneLane = false
	l := sc.laneMul()
	setLanePoint(&l.q, 0, &sc.c[0])
	for j := 1; j < 8; j++ {
		copyLane(&l.q, j, &l.q, 0)
	}
	ifmaTable(&l.tab[0], &l.q, &l.scratch)
	l.mult(1, 64, ek.stage1[:])
	extractLane(&sc.e[0], &l.r, 0)
}

// proveOneLanes is pass 2, after [EvalScratch.evalOneLanes], for the
// halved composite weight dh = d/2 and the proof randomness t. Without
// withT2, lanes 6 and 7 multiply by zero (the pass is the same sequence
// of operations) and t2 is left alone.
func (sc *EvalScratch) proveOneLanes(ek *Key, dh, t *Scalar, withT2 bool) {
	l := sc.laneMul()
	// The four scalars and their digits.
	var digits [4][64]int8
	var s Scalar
	digits[0] = radix16(dh) // d/2: public
	s.Multiply(&ek.k, dh)
	digits[1] = radix16(&s) // k·d/2
	s.Multiply(t, dh)
	digits[2] = radix16(&s) // t·d/2
	if withT2 {
		s.Multiply(t, scalarHalf)
		digits[3] = radix16(&s) // t/2
	}
	laneStage2(&l.dig, &digits)

	// Pass 2's tables: lane l < 6 of table j has base B_{4(l%2)+j}, lanes
	// 6 and 7 the multiples of G. One table of B_0..B_7 (B_0 = C in lane
	// 0 of pass 1's result, where Eval/2 was; B_m in lane m), then each
	// table a permutation of its lanes and the constant ones of G.
	copyLane(&l.r, 0, &l.q, 0)
	ifmaTable(&l.all, &l.r, &l.scratch)
	gt := laneGTables()
	for j := range 4 {
		ifmaPermute(&l.tab[j], &l.all, &gt[j], &lanePerm[j])
	}
	l.mult(4, 8, l.dig[:])
	for j := range 8 {
		extractLane(&l.lanes[j], &l.r, j)
	}
	addExt(&sc.pts[0], &l.lanes[0], &l.lanes[1]) // M/2
	addExt(&sc.pts[1], &l.lanes[2], &l.lanes[3]) // Z/2
	if withT2 {
		addExt(&sc.pts[2], &l.lanes[6], &l.lanes[7]) // t2/2
	}
	addExt(&sc.pts[3], &l.lanes[4], &l.lanes[5]) // t3/2
	// The secrets' traces.
	clear(digits[:])
	clear(l.dig[:])
	s = Scalar{}
}

// setLanePoint sets lane j of x to p.
func setLanePoint(x *ext8, j int, p *extPoint) {
	x.X.setLane(j, &p.X)
	x.Y.setLane(j, &p.Y)
	x.Z.setLane(j, &p.Z)
	x.T.setLane(j, &p.T)
}

// evalHalves sets half[i] = (k/2)·in[i] for a batch, 8 elements a pass
// of 64 windows with the digits of k/2 in every lane (spare lanes repeat
// the group's first element): what [ifmaState.mult8] computes for seal
// batches. Constant time in k as [laneMul.mult].
func (l *laneMul) evalHalves(ek *Key, half, in []extPoint) {
	for lo := 0; lo < len(in); lo += 8 {
		g := in[lo:min(lo+8, len(in))]
		for j := range 8 {
			p := &g[0]
			if j < len(g) {
				p = &g[j]
			}
			setLanePoint(&l.base, j, p)
		}
		ifmaTable(&l.tab[0], &l.base, &l.scratch)
		l.mult(1, 64, ek.halves[:])
		for j := range g {
			extractLane(&half[lo+j], &l.r, j)
		}
	}
}

// proofPoints sets, from pts[0] = M/2, the batch proof's pts[1] = Z/2 =
// k·(M/2), pts[3] = t3/2 = t·(M/2) and pts[2] = t2/2 = (t/2)·G, as
// lanes 0, 1 and 2 of one pass of 64 windows (lanes 3..7 repeat lane 0).
// Secret: k and t, in the digits of lanes 0-2; constant time as
// [laneMul.mult]; the digits are cleared after.
func (l *laneMul) proofPoints(ek *Key, pts *[4]extPoint, t *Scalar) {
	var th Scalar
	th.Multiply(t, scalarHalf)
	td, thd := radix16(t), radix16(&th)
	for i := range 64 {
		for j := range 8 {
			l.dig64[i*8+j] = ek.kDigits[i]
		}
		l.dig64[i*8+1] = td[i]
		l.dig64[i*8+2] = thd[i]
	}
	g := laneG()
	for j := range 8 {
		setLanePoint(&l.base, j, &pts[0])
	}
	copyLane(&l.base, 2, &g[0], 6) // G
	ifmaTable(&l.tab[0], &l.base, &l.scratch)
	l.mult(1, 64, l.dig64[:])
	extractLane(&pts[1], &l.r, 0)
	extractLane(&pts[3], &l.r, 1)
	extractLane(&pts[2], &l.r, 2)
	clear(l.dig64[:])
	clear(td[:])
	clear(thd[:])
	th = Scalar{}
}
