//go:build gc && !purego

package r255

import (
	mrand "math/rand/v2"
	"testing"
)

// parDigitCases returns digit strings for the multiplication tests:
// random, all 0, all 8, all -8, alternating 8 and -8.
func parDigitCases(r *mrand.Rand) [][64]int8 {
	var digs [][64]int8
	for range 6 {
		var d [64]int8
		for i := range d {
			d[i] = int8(r.IntN(17) - 8)
		}
		digs = append(digs, d)
	}
	var zero, eights, minus, alt [64]int8
	for i := range 64 {
		eights[i], minus[i], alt[i] = 8, -8, int8(8-16*(i%2))
	}
	return append(digs, zero, eights, minus, alt)
}

// TestParCombMatchesOne checks the parallel form (ifmaCombP and its
// narrow variant, ifmaParToExt, ifmaDoublesP) against the one-element
// point code: 64 windows of one table, and 16 windows of four tables
// (the comb), two different points and digit strings a call (one on the
// narrow kernel); then doublings.
func TestParCombMatchesOne(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(21, 22))
	digs := parDigitCases(r)
	for c := 0; c+1 < len(digs); c++ {
		ps := lanePoints(r, c%2 == 1)
		var q ext8
		for j := range 4 {
			setLanePoint(&q, j, &ps[j])
		}
		var src [8]cached8
		var scratch [8]fe8
		ifmaTableY(&src, &q, &scratch)
		var tabs [4][8]fe8
		for m := range 4 {
			parTable(&tabs[m], 0, &src, m)
			parTable(&tabs[m], 1, &src, (m+1)%4)
		}
		var s, ext fe8
		for _, narrow := range []bool{false, true} {
			comb, toExt := ifmaCombP, ifmaParToExt
			if narrow {
				comb, toExt = ifmaCombPY, ifmaParToExtY
			}
			// 64 windows of table 0: digs[c]·ps[0] and digs[c+1]·ps[1].
			var dig [64 * 8]int8
			for w := range 64 {
				for l := range 4 {
					dig[8*w+l], dig[8*w+4+l] = digs[c][63-w], digs[c+1][63-w]
				}
			}
			acc := fe8ParCompletedIdentity
			comb(&acc, &tabs[0][0], &dig[0], 64, 1, &s)
			toExt(&ext, &acc)
			halves := 2
			if narrow {
				halves = 1
			}
			for h := range halves {
				var got, want extPoint
				parExtract(&got, &ext, h)
				oneMul(&want, &ps[h], digs[c+h][:])
				if !sameExt(&got, &want) {
					t.Fatalf("case %d, narrow %v, half %d: the windows differ from the one-element code", c, narrow, h)
				}
			}
			// The comb: 16 windows of four tables, table m the multiples of
			// ps[m] (half 1: ps[m+1]); digit 16m+i of the string in window
			// i of table m, so the result is sum_m (chunk m)·P_m, chunk m
			// the value of digits 16m..16m+15.
			var dig2 [16 * 4 * 8]int8
			for w := range 16 {
				for m := range 4 {
					for l := range 4 {
						o := (4*w + m) * 8
						dig2[o+l], dig2[o+4+l] = digs[c][16*m+15-w], digs[c+1][16*m+15-w]
					}
				}
			}
			acc = fe8ParCompletedIdentity
			comb(&acc, &tabs[0][0], &dig2[0], 16, 4, &s)
			toExt(&ext, &acc)
			for h := range halves {
				var got, want, part extPoint
				parExtract(&got, &ext, h)
				want = extPoint{}
				want.Y.One()
				want.Z.One()
				for m := range 4 {
					var chunk [64]int8
					copy(chunk[:16], digs[c+h][16*m:16*m+16])
					oneMul(&part, &ps[(m+h)%4], chunk[:])
					addExt(&want, &want, &part)
				}
				if !sameExt(&got, &want) {
					t.Fatalf("case %d, narrow %v, half %d: the comb differs from the one-element code", c, narrow, h)
				}
			}
		}
		// Doublings: 2^64·ps[0], 2^7·ps[1] (ZMM), then the narrow variant.
		for _, narrow := range []bool{false, true} {
			dbl, toExt := ifmaDoublesP, ifmaParToExt
			if narrow {
				dbl, toExt = ifmaDoublesPY, ifmaParToExtY
			}
			var acc fe8
			parSetExt(&acc, 0, &ps[0])
			parSetExt(&acc, 1, &ps[1])
			dbl(&acc, 64)
			toExt(&ext, &acc)
			var got, want extPoint
			parExtract(&got, &ext, 0)
			var d [64]int8
			d[16] = 1 // 16^16 = 2^64
			oneMul(&want, &ps[0], d[:])
			if !sameExt(&got, &want) {
				t.Fatalf("case %d, narrow %v: 64 doublings differ", c, narrow)
			}
			if !narrow {
				parExtract(&got, &ext, 1)
				oneMul(&want, &ps[1], d[:])
				if !sameExt(&got, &want) {
					t.Fatalf("case %d: 64 doublings differ in half 1", c)
				}
			}
		}
	}
}
