//go:build gc && !purego

package r255

import "sync"

// clientLanes pools the 8-way path's working memory for the client's
// multiplications (about 20 KiB).
var clientLanes = sync.Pool{New: func() any { return new(laneMul) }}

// mulHalves sets out[i] = s_i·ps[i] for the scalars s_i of the signed
// radix-16 digits digits[i], on the 8-way path if lanes and the CPU has
// it: 8 elements a pass of 64 windows, each lane with its own base and
// digits (spare lanes repeat the group's first; a group of up to 4 takes
// the narrow kernel, lanes 0-3 at half the cost). Constant time in the
// digits, as [laneMul.mult]; the lanes' digits are cleared after.
func mulHalves(out, ps []extPoint, digits [][64]int8, lanes bool) {
	if !lanes || !useIFMA {
		mulHalvesGeneric(out, ps, digits)
		return
	}
	l := clientLanes.Get().(*laneMul)
	defer clientLanes.Put(l)
	for lo := 0; lo < len(ps); lo += 8 {
		g := ps[lo:min(lo+8, len(ps))]
		for j := range 8 {
			src := 0
			if j < len(g) {
				src = j
			}
			setLanePoint(&l.base, j, &g[src])
			for i := range 64 {
				l.dig64[i*8+j] = digits[lo+src][i]
			}
		}
		l.mult(&l.dig64, len(g) <= 4)
		for j := range g {
			extractLane(&out[lo+j], &l.r, j)
		}
	}
	clear(l.dig64[:])
}

// hashToGroupLanes sets ps[i] = [hashToGroup] of us[i] on the 8-way path,
// 8 inputs a pass (the seal path's [elligator16], 16 maps a call), and
// reports whether it did: false where the CPU has no lane kernel.
// Variable time in nothing: every lane runs the same operations.
func hashToGroupLanes(ps []extPoint, us [][64]byte) bool {
	if !useIFMA {
		return false
	}
	var t [2]fe8
	var h [2]ext8
	var hc cached8
	var acc p1p18
	var q ext8
	for lo := 0; lo < len(us); lo += 8 {
		n := min(8, len(us)-lo)
		for j := range 8 {
			u := &us[lo]
			if j < n {
				u = &us[lo+j]
			}
			t[0].setLaneBytes(j, u[:32])
			t[1].setLaneBytes(j, u[32:])
		}
		elligator16(&h, &t)
		hc.fromExt(&h[1])
		acc.add(&h[0], &hc)
		q.fromP1P1(&acc)
		for j := range n {
			extractLane(&ps[lo+j], &q, j)
		}
	}
	return true
}
