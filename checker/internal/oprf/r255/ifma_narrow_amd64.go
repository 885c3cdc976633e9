//go:build gc && !purego

package r255

// The one-element evaluation with proof on 4 lanes: the kernel's narrow
// (YMM) variants, which run the same instructions on lanes 0-3 of the
// same memory layout. On CPUs that split a 512-bit operation in two (AMD
// Zen 4, this project's machines) a narrow instruction costs half a wide
// one, and one query fills 4 lanes, not 8: a pass of 64 windows takes
// half the time on 4 lanes (BenchmarkEvalLaneParts), and a one-element
// query's multiplications and encodings went from 75 to 51 us when the
// 8-lane passes gave way to these.
//
// Pass 1 (64 windows, one table a lane):
//   - lane 0: Eval/2 = (k/2)·C;
//   - lane 1: C with the single digit 1 at window 48, so that after
//     window 48-16m its accumulator is 2^(64m)·C: three snapshots of it
//     (m = 1..3) are the bases B_m = 2^(64m)·C of pass 2 (B_0 = C);
//   - lane 2: t2/2 = (t/2)·G, the proof's commitment to its randomness,
//     which depends on nothing the client sends (the identity if t is not
//     given: the caller has t2's encoding from a [NoncePool]);
//   - lane 3: unused (C, digit 0).
//
// Eval's encoding gives d; then pass 2 (16 windows, four tables a lane,
// table m holding the multiples of B_m) computes the three products of C
// the proof needs, one a lane, each as the sum over the four 64-bit
// chunks of its scalar's signed radix-16 digits: M/2 (scalar d/2) in lane
// 0, Z/2 (k·d/2) in lane 1, t3/2 (t·d/2) in lane 2. The recoding of the
// whole scalar carries between chunks, so s = sum_m 2^(64m)·(sum_{i<16}
// d[16m+i]·16^i) exactly. Pass 2's tables are one table build (the
// multiples of B_0..B_3, lane by lane) and two lane broadcasts, each
// packing two tables in one: B_0's in lanes 0-3 and B_1's in lanes 4-7,
// B_2's and B_3's, read by [ifmaSelectLanesY] and [ifmaSelectLanesYHi].
// Packed, the tables (20 KiB) stay in the L1 cache: eight unpacked
// tables (80 KiB, 32-bit chunks) did not, and pass 2 took 21 us, not 13.
//
// Constant time: as the 8-lane passes (ifma_eval_amd64.go). Secret: k's
// digits in lane 0 of pass 1 and k·d/2's in lane 1 of pass 2; t/2's in
// lane 2 of pass 1 and t·d/2's in lane 2 of pass 2. Both passes are a
// fixed sequence of calls; the snapshots are taken at fixed windows; each
// lookup reads every entry through masks computed from the digits in
// vector registers.

import "filippo.io/edwards25519"

// narrowMul is the working memory of the narrow path, pooled in
// [EvalScratch] (about 40 KiB).
type narrowMul struct {
	tab     [8]cached8    // pass 1's table; then pass 2's multiples of B_0..B_3
	packed  [2][8]cached8 // pass 2's tables, two a table: B_0 | B_1, B_2 | B_3
	bases   ext8          // B_0..B_3 in lanes 0-3
	q       ext8          // pass 1's bases
	snap    ext8
	acc     p1p18
	r       ext8
	scratch [8]fe8
	dig1    [64 * 8]int8     // pass 1's digits, [window][lane]
	dig2    [16 * 4 * 8]int8 // pass 2's, [window][table][lane]
}

// narrowPack[j] packs pass 2's tables 2j (lanes 0-3) and 2j+1 (lanes
// 4-7) from the multiples of B_0..B_3: a lane broadcast (ifmaPermute).
var narrowPack = [2][8]uint64{{0, 0, 0, 0, 1, 1, 1, 1}, {2, 2, 2, 2, 3, 3, 3, 3}}

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

func (sc *EvalScratch) narrowMul() *narrowMul {
	if sc.narrow == nil {
		sc.narrow = new(narrowMul)
	}
	return sc.narrow
}

// evalOneNarrow is pass 1, for the proof randomness t (nil: no t2); see
// the file comment. Eval/2 goes to sc.e[0], t2/2 to sc.pts[2].
func (sc *EvalScratch) evalOneNarrow(ek *Key, t *Scalar) {
	sc.path = pathNarrow
	l := sc.narrowMul()
	c := &sc.c[0]
	setLanePoint(&l.q, 0, c)
	copyLane(&l.q, 1, &l.q, 0)
	copyLane(&l.q, 2, &generator8, 0)
	copyLane(&l.q, 3, &l.q, 0)
	ifmaTableY(&l.tab, &l.q, &l.scratch)

	var th [64]int8
	sc.t2Done = t != nil
	if t != nil {
		var s Scalar
		s.Multiply(t, scalarHalf)
		th = radix16(&s)
		s = Scalar{}
	}
	narrowDigits1(&l.dig1, &ek.half.digits, &th)
	clear(th[:])

	copyLane(&l.bases, 0, &l.q, 0) // B_0 = C
	var sel cached8
	l.acc = p1p18{Y: fe8One, Z: fe8One, T: fe8One}
	for i := 63; i >= 0; i-- {
		if i != 63 {
			ifmaDouble4Y(&l.acc, &l.scratch)
		}
		ifmaSelectLanesY(&sel, &l.tab, (*[8]int8)(l.dig1[i*8:]))
		ifmaAddCachedY(&l.acc, &sel, &l.scratch)
		if i < 48 && i%16 == 0 {
			m := (48 - i) / 16 // lane 1 holds 2^(64m)·C
			l.snap.fromP1P1Y(&l.acc)
			copyLane(&l.bases, m, &l.snap, 1)
		}
	}
	l.r.fromP1P1Y(&l.acc)
	extractLane(&sc.e[0], &l.r, 0)
	if t != nil {
		extractLane(&sc.pts[2], &l.r, 2)
	}
	clear(l.dig1[:])
}

// proveOneNarrow is pass 2, after [EvalScratch.evalOneNarrow], for the
// halved composite weight dh = d/2 and the proof randomness t: M/2, Z/2
// and t3/2 to sc.pts[0], [1] and [3].
func (sc *EvalScratch) proveOneNarrow(ek *Key, dh, t *Scalar) {
	l := sc.narrowMul()
	var digits [3][64]int8
	var s Scalar
	digits[0] = radix16(dh) // d/2: public
	s.Multiply(&ek.k, dh)
	digits[1] = radix16(&s) // k·d/2
	s.Multiply(t, dh)
	digits[2] = radix16(&s) // t·d/2
	s = Scalar{}
	narrowDigits2(&l.dig2, &digits)
	clear(digits[:])

	ifmaTableY(&l.tab, &l.bases, &l.scratch)
	ifmaPermute(&l.packed[0], &l.tab, &l.tab, &narrowPack[0])
	ifmaPermute(&l.packed[1], &l.tab, &l.tab, &narrowPack[1])
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
}

// narrowDigits1 lays out pass 1's digits, [window][lane]: lane 0 kd (the
// digits of k/2), lane 1 the single digit 1 at window 48, lane 2 th (the
// digits of t/2, or zeros), lane 3 zeros.
func narrowDigits1(dig *[64 * 8]int8, kd, th *[64]int8) {
	for i := range 64 {
		d := dig[i*8 : i*8+4]
		d[0], d[1], d[2], d[3] = kd[i], 0, th[i], 0
	}
	dig[48*8+1] = 1
}

// narrowDigits2 lays out pass 2's digits, [window][table][lane]: lane p,
// table m, window i holds digit 16m+i of ds[p]; lane 3 zeros.
func narrowDigits2(dig *[16 * 4 * 8]int8, ds *[3][64]int8) {
	for i := range 16 {
		for m := range 4 {
			d := dig[(i*4+m)*8 : (i*4+m)*8+4]
			d[0], d[1], d[2], d[3] = ds[0][16*m+i], ds[1][16*m+i], ds[2][16*m+i], 0
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
