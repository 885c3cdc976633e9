//go:build gc && !purego

package r255

// The parallel form of the lane kernel (ifmaCombP, ifmaDoublesP and
// ifmaParToExt, written by _asm's par.go): one point in the four lanes
// of a half of an fe8, its coordinates side by side, so that a doubling
// or an addition is two products of four lanes (the parallel formulas of
// Hisil, Wong, Carter and Dawson). A chain of operations on one point
// fills the four lanes of the narrow kernel (the Y variants) here, where
// the lane-per-point kernel runs it in one lane of four at the same cost
// a pass.

// Lane masks of the parallel form, the same in both halves (read by the
// assembly by name).
var (
	parLane1  = parMask(1)
	parLane2  = parMask(2)
	parLane3  = parMask(3)
	parLane01 = parMask(0, 1)
	parLane23 = parMask(2, 3)
	parLane03 = parMask(0, 3)
)

func parMask(lanes ...int) (m [8]uint64) {
	for _, l := range lanes {
		m[l], m[4+l] = ^uint64(0), ^uint64(0)
	}
	return m
}

// fe8ParIdentity is the cached identity (Y+X, Y-X, Z, 2dT) = (1, 1, 1,
// 0) in both halves (read by the assembly); fe8ParCompletedIdentity the
// completed identity (X, Y, Z, T) = (0, 1, 1, 1).
var (
	fe8ParIdentity          = fe8{{1, 1, 1, 0, 1, 1, 1, 0}}
	fe8ParCompletedIdentity = fe8{{0, 1, 1, 1, 0, 1, 1, 1}}
)

// parTable sets half h of tab to lane j of the lane-per-point table src:
// the cached multiples (e+1)·P, e < 8, as (Y+X, Y-X, Z, 2dT) in lanes
// 4h..4h+3.
func parTable(tab *[8]fe8, h int, src *[8]cached8, j int) {
	for e := range tab {
		t, s := &tab[e], &src[e]
		for i := range 5 {
			t[i][4*h], t[i][4*h+1], t[i][4*h+2], t[i][4*h+3] = s.YplusX[i][j], s.YminusX[i][j], s.Z[i][j], s.T2d[i][j]
		}
	}
}

// parSetExt sets half h of acc to the completed form (X, Y, Z, Z) of the
// extended point p.
func parSetExt(acc *fe8, h int, p *extPoint) {
	var t fe8
	t.setLane(0, &p.X)
	t.setLane(1, &p.Y)
	t.setLane(2, &p.Z)
	for i := range 5 {
		acc[i][4*h], acc[i][4*h+1], acc[i][4*h+2], acc[i][4*h+3] = t[i][0], t[i][1], t[i][2], t[i][2]
	}
}

// parExtract sets p to the extended point in half h of ext (the output
// of ifmaParToExt).
func parExtract(p *extPoint, ext *fe8, h int) {
	ext.lane(&p.X, 4*h)
	ext.lane(&p.Y, 4*h+1)
	ext.lane(&p.Z, 4*h+2)
	ext.lane(&p.T, 4*h+3)
}

// parExtToLane sets lane j of x to the extended point in half h of ext,
// limbs as they are (no reduction).
func parExtToLane(x *ext8, j int, ext *fe8, h int) {
	for i := range 5 {
		x.X[i][j], x.Y[i][j], x.Z[i][j], x.T[i][j] = ext[i][4*h], ext[i][4*h+1], ext[i][4*h+2], ext[i][4*h+3]
	}
}
