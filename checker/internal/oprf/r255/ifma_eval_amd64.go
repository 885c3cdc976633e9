//go:build gc && !purego

package r255

// The evaluation on the lane kernel of the seal path (AVX-512 IFMA), each
// lane with its own base and digits ([laneMul]): the multiplications of
// batches here, one-element queries on 4 lanes in ifma_narrow_amd64.go.
//
// Batches (several elements, or none with a proof): Eval_i/2 = (k/2)·C_i
// for 8 elements a pass, the digits of k/2 in every lane
// ([laneMul.evalHalves]), and, once M is known, Z/2, t3/2 and t2/2 as
// three lanes of one pass ([laneMul.proofPoints]). A pass whose lanes
// 4-7 would only repeat lane 0 runs the narrow (YMM) kernel on lanes 0-3,
// at half the cost on CPUs that split 512-bit operations (a batch's last
// group of up to 4 elements, the proof's pass, and the client's groups
// of up to 4).
//
// Constant time. Secret: k (k/2 and k in batches), t (t and t/2) and
// every point computed from them but the published ones (Eval, and M and
// Z, which the client recomputes). Public: C, d and M, the multiples of
// C and G, and the digits of the other lanes. A pass is a fixed sequence
// of calls (64 windows, one table); each lookup ([ifmaSelectLanes])
// reads all 8 entries of the table in every lane and combines them
// through masks computed arithmetically from the digits in vector
// registers: no branch and no memory address depends on a digit. The
// scalars are computed with edwards25519's constant-time Scalar
// arithmetic and recoded by [radix16] (branch-free); the digit layout is
// a fixed permutation. The lane extractions (fe8.lane) are straight-line.
//
// Proven by this package's tests (the pass against edwards25519's scalar
// multiplication, lane by lane, on both kernels) and by the OPRF
// package's differential tests, which run the lane paths and the
// one-lane path against circl.

import "filippo.io/edwards25519"

// laneMul is the working memory of the per-lane multiplication, pooled
// in [EvalScratch] and by the client (about 20 KiB).
type laneMul struct {
	tab     [8]cached8 // tab[e] = (e+1)·P, lane by lane
	base    ext8       // the lanes' bases P
	m       cached8
	acc     p1p18
	r       ext8
	scratch [8]fe8
	dig64   [64 * 8]int8 // the lanes' digits, [window][lane]
}

// mult sets l.r, in lane l, to s_l·P_l for the bases in l.base, s_l =
// sum_{i<64} dig[i·8+l]·16^i, every digit in [-8, 8]: the table of the
// bases, then 64 windows of 4 doublings (none before the first), a
// lookup and an addition, the same sequence for any digits. If narrow,
// on lanes 0-3 only (the narrow kernel), lanes 4-7 of l.r are left as
// they were.
func (l *laneMul) mult(dig *[64 * 8]int8, narrow bool) {
	double4, selectLanes, addCached := ifmaDouble4, ifmaSelectLanes, ifmaAddCached
	if narrow {
		double4, selectLanes, addCached = ifmaDouble4Y, ifmaSelectLanesY, ifmaAddCachedY
		ifmaTableY(&l.tab, &l.base, &l.scratch)
	} else {
		ifmaTable(&l.tab, &l.base, &l.scratch)
	}
	l.acc = p1p18{Y: fe8One, Z: fe8One, T: fe8One} // the identity
	for i := 63; i >= 0; i-- {
		if i != 63 {
			double4(&l.acc, &l.scratch)
		}
		selectLanes(&l.m, &l.tab, (*[8]int8)(dig[i*8:]))
		addCached(&l.acc, &l.m, &l.scratch)
	}
	if narrow {
		l.r.fromP1P1Y(&l.acc)
	} else {
		l.r.fromP1P1(&l.acc)
	}
}

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

// evalOne is [EvalScratch.EvalOne]'s multiplication, on the lane path if
// lanes.
func (sc *EvalScratch) evalOne(ek *Key, lanes bool) {
	if lanes && useIFMA {
		sc.evalOneNarrow(ek)
		return
	}
	sc.evalOneGeneric(ek)
}

// proveOne is [EvalScratch.ProveOne]'s multiplications, on the path
// [EvalScratch.evalOne] took; t2 only if withT2.
func (sc *EvalScratch) proveOne(ek *Key, dh, t *Scalar, withT2 bool) {
	if sc.path == pathOneLane {
		sc.proveOneGeneric(ek, dh, t, withT2)
		return
	}
	sc.proveOneNarrow(ek, dh, t, withT2)
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

// generator is G, and generator8 G in lane 0.
var (
	generator = func() (p extPoint) {
		pointToExt(&p, edwards25519.NewGeneratorPoint())
		return p
	}()
	generator8 = func() (e ext8) {
		setLanePoint(&e, 0, &generator)
		return e
	}()
)

// setLanePoint sets lane j of x to p.
func setLanePoint(x *ext8, j int, p *extPoint) {
	x.X.setLane(j, &p.X)
	x.Y.setLane(j, &p.Y)
	x.Z.setLane(j, &p.Z)
	x.T.setLane(j, &p.T)
}

// evalHalves sets half[i] = (k/2)·in[i] for a batch, 8 elements a pass
// of 64 windows with the digits of k/2 in every lane (spare lanes repeat
// the group's first element; a group of up to 4 takes the narrow
// kernel): what [ifmaState.mult8] computes for seal batches. Constant
// time in k as [laneMul.mult].
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
		l.mult(&ek.halves, len(g) <= 4)
		for j := range g {
			extractLane(&half[lo+j], &l.r, j)
		}
	}
}

// proofPoints sets, from pts[0] = M/2, the batch proof's pts[1] = Z/2 =
// k·(M/2), pts[3] = t3/2 = t·(M/2) and pts[2] = t2/2 = (t/2)·G, as
// lanes 0, 1 and 2 of one narrow pass of 64 windows (lane 3 repeats lane
// 0). Secret: k and t, in the digits of lanes 0-2; constant time as
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
	setLanePoint(&l.base, 0, &pts[0])
	copyLane(&l.base, 1, &l.base, 0)
	copyLane(&l.base, 2, &generator8, 0)
	copyLane(&l.base, 3, &l.base, 0)
	l.mult(&l.dig64, true)
	extractLane(&pts[1], &l.r, 0)
	extractLane(&pts[3], &l.r, 1)
	extractLane(&pts[2], &l.r, 2)
	clear(l.dig64[:])
	clear(td[:])
	clear(thd[:])
	th = Scalar{}
}
