//go:build gc && !purego

package r255

import "sync"

// Sums of products on the lane kernel, for the proof's composites M =
// sum w_i·C_i and Z = sum w_i·D_i: Straus's method with the lanes as
// accumulators. Lane l of a set accumulates the products of the points
// j·L + l (L lanes a set), one table of 8 points (one a lane) for each
// j; every window doubles the 8 accumulators once (4 doublings) and adds
// one lookup of each table. For n points in one set that is 64 windows
// of n/8 additions and 4 doublings, against a whole multiplication (64
// windows of 1 addition and 4 doublings) for every 8 products when each
// product is computed on its own. For the two sums of 128 points, 4.9 us
// a point against 18.9 for edwards25519's VarTimeMultiScalarMult, which
// this replaces (BenchmarkLaneMSM). Constant time in the digits, as
// [laneMul.mult]: the weights are public, but the code does not need to
// know it.

// msmState is laneMSM's working memory, pooled.
type msmState struct {
	tabs    [][8]cached8
	base    ext8
	sel     cached8
	acc     p1p18
	r       ext8
	scratch [8]fe8
	dig     []int8 // [window][table][lane]
}

var msmPool = sync.Pool{New: func() any { return new(msmState) }}

// laneMSM sets sums[s] = sum_i digits[i]·sets[s][i] for each set s (one
// or two sets of the same length, the same digits for both: M and Z),
// digits[i] the signed radix-16 digits of point i's scalar, on the lane
// kernel. It reports false, and does nothing, where the CPU has no lane
// kernel.
func laneMSM(sums []extPoint, sets [][]extPoint, digits [][64]int8) bool {
	if !useIFMA || len(sets) == 0 || len(sets) > 2 || len(sets[0]) == 0 {
		return false
	}
	n := len(sets[0])
	for _, s := range sets {
		if len(s) != n || len(digits) != n {
			return false
		}
	}
	L := 8 / len(sets) // lanes a set
	J := (n + L - 1) / L
	st := msmPool.Get().(*msmState)
	defer msmPool.Put(st)
	if cap(st.tabs) < J {
		st.tabs = make([][8]cached8, J)
	}
	tabs := st.tabs[:J]
	if cap(st.dig) < 64*J*8 {
		st.dig = make([]int8, 64*J*8)
	}
	dig := st.dig[:64*J*8]
	clear(dig)
	var id extPoint
	id.Y.One()
	id.Z.One()
	for j := range J {
		for s, set := range sets {
			for l := range L {
				lane, i := s*L+l, j*L+l
				p := &id
				if i < n {
					p = &set[i]
					for w := range 64 {
						dig[(w*J+j)*8+lane] = digits[i][w]
					}
				}
				setLanePoint(&st.base, lane, p)
			}
		}
		ifmaTable(&tabs[j], &st.base, &st.scratch)
	}
	st.acc = p1p18{Y: fe8One, Z: fe8One, T: fe8One}
	for w := 63; w >= 0; w-- {
		if w != 63 {
			ifmaDouble4(&st.acc, &st.scratch)
		}
		for j := range J {
			ifmaSelectLanes(&st.sel, &tabs[j], (*[8]int8)(dig[(w*J+j)*8:]))
			ifmaAddCached(&st.acc, &st.sel, &st.scratch)
		}
	}
	st.r.fromP1P1(&st.acc)
	for s := range sets {
		extractLane(&sums[s], &st.r, s*L)
		var p extPoint
		for l := 1; l < L; l++ {
			extractLane(&p, &st.r, s*L+l)
			addExt(&sums[s], &sums[s], &p)
		}
	}
	return true
}
