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
