//go:build gc && !purego

package r255

// The one-element evaluation with proof on 4 lanes of the narrow (YMM)
// kernel, which runs the same instructions as the wide one on lanes 0-3
// of the same memory layout: on CPUs that split a 512-bit operation in
// two (AMD Zen 4, this project's machines) a narrow instruction costs
// half a wide one.
//
// Pass 1, in the parallel form (ifma_par_amd64.go: one point, its four
// coordinates in the four lanes), on the one chain a query cannot share:
//   - the bases B_m = 2^(64m)·C, m < 4: three times 64 doublings of C;
//   - their tables, lane m the multiples of B_m ([ifmaTableY]), which
//     pass 2 reads too, and the same in the parallel form;
//   - Eval/2 = (k/2)·C = sum_m (chunk m of k/2)·B_m: a comb of 16
//     windows of four doublings and four additions, chunk m the digits
//     16m..16m+15 of k/2's signed radix-16 recoding (the recoding of the
//     whole scalar carries between chunks, so s = sum_m 2^(64m)·(sum_{i<16}
//     d[16m+i]·16^i) exactly).
//
// The lane-per-point pass it replaced (Eval/2 in lane 0, C doubled along
// in lane 1, t2/2 in lane 2, 64 windows) took 24.7 us; this takes about
// 12 (BenchmarkEvalLaneParts).
//
// Eval's encoding gives d; then pass 2 (16 windows, four tables a lane,
// lane per point) computes the four products the proof needs, each as
// the comb over the chunks of its scalar: M/2 (scalar d/2) in lane 0,
// Z/2 (k·d/2) in lane 1, t3/2 (t·d/2) in lane 2, from the tables of the
// B_m, and t2/2 (t/2) in lane 3, from constant tables of the bases
// 2^(64m)·G. Pass 2's tables pack two tables in one: B_0's in lanes 0-2
// and B_1's in lanes 4-6, G's bases in lanes 3 and 7, read by
// [ifmaSelectLanesY] and [ifmaSelectLanesYHi]. Packed, the tables (20
// KiB) stay in the L1 cache: eight unpacked tables (80 KiB, 32-bit
// chunks) did not, and pass 2 took 21 us, not 13.
//
// Constant time: a fixed sequence of calls; each lookup reads every
// entry through masks computed from the digits in vector registers.
// Secret: k's digits in pass 1's comb and k·d/2's in lane 1 of pass 2;
// t·d/2's and t/2's in lanes 2 and 3 of pass 2. C, d, the bases and
// their multiples are public.

import (
	"sync"

	"filippo.io/edwards25519"
)

// narrowMul is the working memory of the narrow path, pooled in
// [EvalScratch] (about 50 KiB).
type narrowMul struct {
	tab     [8]cached8    // the multiples of B_0..B_3, lane by lane
	packed  [2][8]cached8 // pass 2's tables: B_0 | B_1, B_2 | B_3, with G's bases
	ptab    [4][8]fe8     // the multiples of B_m in the parallel form
	bases   ext8          // B_0..B_3 in lanes 0-3
	chain   fe8           // a point in the parallel form
	ext     fe8
	sel     fe8
	acc     p1p18
	r       ext8
	scratch [8]fe8
	digC    [16 * 4 * 8]int8 // pass 1's comb digits, [window][table][8]
	dig2    [16 * 4 * 8]int8 // pass 2's, [window][table][lane]
}

// narrowPack[j] packs pass 2's tables 2j (lanes 0-2) and 2j+1 (lanes
// 4-6) from the multiples of B_0..B_3, and the multiples of G's bases
// 2j and 2j+1 (lanes 3 and 7) from [narrowGTable]: indices of
// [ifmaPermute], 8 and up for its second table.
var narrowPack = [2][8]uint64{{0, 0, 0, 8, 1, 1, 1, 9}, {2, 2, 2, 10, 3, 3, 3, 11}}

// narrowGTable returns the multiples (e+1)·2^(64m)·G, e < 8, in lane m <
// 4: pass 2's tables for t2/2, the same for every query.
var narrowGTable = sync.OnceValue(func() *[8]cached8 {
	var b ext8
	for m := range 4 {
		var e [32]byte
		e[8*m] = 1 // 2^(64m)
		s, err := new(Scalar).SetCanonicalBytes(e[:])
		if err != nil {
			panic(err)
		}
		var p extPoint
		pointToExt(&p, new(edwards25519.Point).ScalarBaseMult(s))
		setLanePoint(&b, m, &p)
	}
	t := new([8]cached8)
	var scratch [8]fe8
	ifmaTableY(t, &b, &scratch)
	return t
})

func (sc *EvalScratch) narrowMul() *narrowMul {
	if sc.narrow == nil {
		sc.narrow = new(narrowMul)
	}
	return sc.narrow
}

// evalOneNarrow is pass 1 (see the file comment): the bases and their
// tables, and Eval/2 to sc.e[0].
func (sc *EvalScratch) evalOneNarrow(ek *Key) {
	sc.path = pathNarrow
	l := sc.narrowMul()
	c := &sc.c[0]
	setLanePoint(&l.bases, 0, c)
	parSetExt(&l.chain, 0, c)
	for m := 1; m < 4; m++ {
		ifmaDoublesPY(&l.chain, 64)
		ifmaParToExtY(&l.ext, &l.chain)
		parExtToLane(&l.bases, m, &l.ext, 0)
	}
	ifmaTableY(&l.tab, &l.bases, &l.scratch)
	for m := range 4 {
		parTable(&l.ptab[m], 0, &l.tab, m)
	}
	combDigits(&l.digC, &ek.half.digits)
	l.chain = fe8ParCompletedIdentity
	ifmaCombPY(&l.chain, &l.ptab[0][0], &l.digC[0], 16, 4, &l.sel)
	clear(l.digC[:])
	ifmaParToExtY(&l.ext, &l.chain)
	parExtract(&sc.e[0], &l.ext, 0)
}

// proveOneNarrow is pass 2, after [EvalScratch.evalOneNarrow], for the
// halved composite weight dh = d/2 and the proof randomness t: M/2, Z/2,
// t3/2 to sc.pts[0], [1] and [3], and t2/2 to sc.pts[2] if withT2.
func (sc *EvalScratch) proveOneNarrow(ek *Key, dh, t *Scalar, withT2 bool) {
	l := sc.narrowMul()
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
	s = Scalar{}
	narrowDigits2(&l.dig2, &digits)
	clear(digits[:])

	g := narrowGTable()
	ifmaPermute(&l.packed[0], &l.tab, g, &narrowPack[0])
	ifmaPermute(&l.packed[1], &l.tab, g, &narrowPack[1])
	var sel cached8
	l.acc = p1p18{Y: fe8One, Z: fe8One, T: fe8One}
	for i := 15; i >= 0; i-- {
		if i != 15 {
			ifmaDouble4Y(&l.acc, &l.scratch)
		}
		for j := range 2 {
			ifmaSelectLanesY(&sel, &l.packed[j], (*[8]int8)(l.dig2[(i*4+2*j)*8:]))
			ifmaAddCachedY(&l.acc, &sel, &l.scratch)
			ifmaSelectLanesYHi(&sel, &l.packed[j], (*[8]int8)(l.dig2[(i*4+2*j+1)*8:]))
			ifmaAddCachedY(&l.acc, &sel, &l.scratch)
		}
	}
	clear(l.dig2[:])
	l.r.fromP1P1Y(&l.acc)
	extractLane(&sc.pts[0], &l.r, 0) // M/2
	extractLane(&sc.pts[1], &l.r, 1) // Z/2
	extractLane(&sc.pts[3], &l.r, 2) // t3/2
	if withT2 {
		extractLane(&sc.pts[2], &l.r, 3) // t2/2
	}
}

// combDigits lays out pass 1's comb digits of kd (the digits of k/2),
// [window][table][8], top window first: window w, table m holds digit
// 16m+15-w in bytes 0-3 (the parallel form's half 0), zeros in 4-7.
func combDigits(dig *[16 * 4 * 8]int8, kd *[64]int8) {
	for w := range 16 {
		for m := range 4 {
			x := kd[16*m+15-w]
			d := dig[(4*w+m)*8 : (4*w+m)*8+8]
			d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = x, x, x, x, 0, 0, 0, 0
		}
	}
}

// narrowDigits2 lays out pass 2's digits, [window][table][lane]: lane p,
// table m, window i holds digit 16m+i of ds[p].
func narrowDigits2(dig *[16 * 4 * 8]int8, ds *[4][64]int8) {
	for i := range 16 {
		for m := range 4 {
			d := dig[(i*4+m)*8 : (i*4+m)*8+4]
			d[0], d[1], d[2], d[3] = ds[0][16*m+i], ds[1][16*m+i], ds[2][16*m+i], ds[3][16*m+i]
		}
	}
}

// fromP1P1Y is [ext8.fromP1P1] on lanes 0-3.
func (v *ext8) fromP1P1Y(p *p1p18) {
	ifmaMulY(&v.X, &p.X, &p.T)
	ifmaMulY(&v.Y, &p.Y, &p.Z)
	ifmaMulY(&v.Z, &p.Z, &p.T)
	ifmaMulY(&v.T, &p.X, &p.Y)
}
