//go:build gc && !purego

package r255

// The 8-way seal path: on CPUs with AVX-512 IFMA, HashToGroup and the
// scalar multiplication of a seal batch run 8 elements at a time, one
// per 64-bit lane. Every element of a batch is multiplied by the same
// key, so the sequence of doublings, additions and table lookups (indexed
// by the key's digits, the same in every lane) is the same for all 8: the
// lanes never diverge. HashToGroup's lane-dependent choices (was_square,
// signs) are per-lane masks. The field arithmetic (assembly, generated
// by the program under _asm) keeps filippo.io/edwards25519/field's
// radix 2^51 and multiplies with VPMADD52LUQ/VPMADD52HUQ; the point
// formulas are those of [HalfKey.mult] and the map those of
// [hashToGroup], operation for operation (the hot ones fused into
// assembly), so that each lane computes the same points, and the same
// bytes, as the one-element path. (The fused doubling and addition carry
// less often than the Go formulas: products that only sums and
// differences read stay uncarried, so their limbs may differ while their
// values agree.) It stays constant-time in the key: a fixed sequence of
// operations, and each table lookup reads all 8 entries through masks.
// The batch's encodings run in the lanes too (ifma_encode_amd64.go); the
// SHA-512 steps run 8 at a time in package sha512x8, driven by the OPRF
// package.
//
// What a 10M-key seal (both cores) spends, profiled after these changes:
// the 4-doubling step 50%, the addition 16%, the table lookups 7%, the
// square roots of HashToGroup 12% (252 squarings each, two per element),
// the encodings 3%, SHA-512 2%. The kernel is bound by the number of
// vector instructions it issues, not by the multiply-adds alone.
//
// Proven equal to the one-element path by this package's tests, and to
// circl and the RFC 9497 vectors by the OPRF package's, which run both
// paths.

import (
	"crypto/subtle"
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

// useIFMA says whether this CPU has the 8-way path: new [SealBatch]es
// and evaluations take it unless asked not to (tests, on this machine,
// ask for the fallback too).
var useIFMA = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512IFMA

// fe8 is 8 field elements: limb i of lane j is fe8[i][j], radix 2^51,
// every limb below 2^52.
type fe8 [5][8]uint64

type (
	ext8    struct{ X, Y, Z, T fe8 }
	p1p18   struct{ X, Y, Z, T fe8 }
	p28     struct{ X, Y, Z fe8 }
	cached8 struct{ YplusX, YminusX, Z, T2d fe8 }
)

var (
	fe8D2             = broadcast8(feD2)
	fe8Zero           fe8
	fe8One            = broadcast8(feOne)
	fe8MinusOne       = broadcast8(feMinusOne)
	fe8D              = broadcast8(feD)
	fe8SqrtM1         = broadcast8(feSqrtM1)
	fe8OneMinusDSq    = broadcast8(feOneMinusDSq)
	fe8DMinusOneSq    = broadcast8(feDMinusOneSq)
	fe8SqrtADMinusOne = broadcast8(feSqrtADMinusOne)
	cached8Zero       = cached8{YplusX: broadcast8(feOne), YminusX: broadcast8(feOne), Z: broadcast8(feOne)}
)

// Multiples of p that the fused steps' lazy products start from, so that
// a later difference stays non-negative: 2^s·p limb by limb (limb 0
// (2^51-19)·2^s, the others (2^51-1)·2^s), above the subtrahend's limbs.
// The assembly reads them by name (staticcheck, which reads only Go,
// calls them unused). A squaring doubles limbs 1-4 of its
// accumulators on the way (and not limb 0): it starts from the variants
// ending in h, limbs 1-4 halved.
var (
	fe8P2e9   = multipleOfP(9, false)
	fe8P2e10  = multipleOfP(10, false)
	fe8P2h    = multipleOfP(1, true)
	fe8P2e10h = multipleOfP(10, true)
)

func multipleOfP(s uint, halved bool) (r fe8) {
	h := s
	if halved {
		h--
	}
	for j := range 8 {
		r[0][j] = (1<<51 - 19) << s
		for i := 1; i < 5; i++ {
			r[i][j] = (1<<51 - 1) << h
		}
	}
	return r
}

func broadcast8(v *fe) fe8 {
	var r fe8
	for j := range 8 {
		r.setLane(j, v)
	}
	return r
}

// setLane sets lane j to v.
func (r *fe8) setLane(j int, v *fe) {
	b := v.Bytes()
	const m = 1<<51 - 1
	r[0][j] = binary.LittleEndian.Uint64(b[0:8]) & m
	r[1][j] = binary.LittleEndian.Uint64(b[6:14]) >> 3 & m
	r[2][j] = binary.LittleEndian.Uint64(b[12:20]) >> 6 & m
	r[3][j] = binary.LittleEndian.Uint64(b[19:27]) >> 1 & m
	r[4][j] = binary.LittleEndian.Uint64(b[24:32]) >> 12 & m
}

// setLaneBytes sets lane j to the little-endian b[:32], its top bit
// dropped, as field.Element.SetBytes (the value may be p or above).
func (r *fe8) setLaneBytes(j int, b []byte) {
	const m = 1<<51 - 1
	r[0][j] = binary.LittleEndian.Uint64(b[0:8]) & m
	r[1][j] = binary.LittleEndian.Uint64(b[6:14]) >> 3 & m
	r[2][j] = binary.LittleEndian.Uint64(b[12:20]) >> 6 & m
	r[3][j] = binary.LittleEndian.Uint64(b[19:27]) >> 1 & m
	r[4][j] = binary.LittleEndian.Uint64(b[24:32]) >> 12 & m
}

// canon returns the limbs of lane j reduced to [0, p), as
// field.Element's reduce.
func (r *fe8) canon(j int) (l0, l1, l2, l3, l4 uint64) {
	const m = 1<<51 - 1
	l0, l1, l2, l3, l4 = r[0][j], r[1][j], r[2][j], r[3][j], r[4][j]
	c0, c1, c2, c3, c4 := l0>>51, l1>>51, l2>>51, l3>>51, l4>>51
	l0 = l0&m + c4*19
	l1 = l1&m + c0
	l2 = l2&m + c1
	l3 = l3&m + c2
	l4 = l4&m + c3
	c := (l0 + 19) >> 51
	c = (l1 + c) >> 51
	c = (l2 + c) >> 51
	c = (l3 + c) >> 51
	c = (l4 + c) >> 51
	l0 += 19 * c
	l1 += l0 >> 51
	l0 &= m
	l2 += l1 >> 51
	l1 &= m
	l3 += l2 >> 51
	l2 &= m
	l4 += l3 >> 51
	l3 &= m
	l4 &= m
	return
}

// lane sets v to lane j.
func (r *fe8) lane(v *fe, j int) {
	l0, l1, l2, l3, l4 := r.canon(j)
	var b [32]byte
	binary.LittleEndian.PutUint64(b[0:8], l0|l1<<51)
	binary.LittleEndian.PutUint64(b[8:16], l1>>13|l2<<38)
	binary.LittleEndian.PutUint64(b[16:24], l2>>26|l3<<25)
	binary.LittleEndian.PutUint64(b[24:32], l3>>39|l4<<12)
	if _, err := v.SetBytes(b[:]); err != nil {
		panic(err) // 32 bytes always decode
	}
}

// mask8 is a condition per lane: all ones (true) or zero (false).
type mask8 [8]uint64

// isNegative8 is field.Element.IsNegative of every lane.
func isNegative8(x *fe8) (m mask8) {
	var c fe8
	ifmaCanon(&c, x)
	for j := range 8 {
		m[j] = -(c[0][j] & 1)
	}
	return m
}

// equal8 is field.Element.Equal of every lane.
func equal8(x, y *fe8) (m mask8) {
	var cx, cy fe8
	ifmaCanon(&cx, x)
	ifmaCanon(&cy, y)
	for j := range 8 {
		d := cx[0][j] ^ cy[0][j] | cx[1][j] ^ cy[1][j] | cx[2][j] ^ cy[2][j] | cx[3][j] ^ cy[3][j] | cx[4][j] ^ cy[4][j]
		m[j] = (d|-d)>>63 - 1
	}
	return m
}

// select8 sets z to a in the lanes of m, to b in the others.
func select8(z, a, b *fe8, m *mask8) { ifmaBlend(z, a, b, m) }

// absolute8 is field.Element.Absolute of every lane.
func absolute8(z, x *fe8) {
	var neg fe8
	ifmaSub(&neg, &fe8Zero, x)
	m := isNegative8(x)
	select8(z, &neg, x, &m)
}

// pow22523x16 sets z[k] = x[k]^((p-5)/8), as field.Element.Pow22523,
// the two chains side by side.
func pow22523x16(z, x *[2]fe8) {
	var t0, t1, t2 [2]fe8
	mul := func(z, x, y *[2]fe8) {
		ifmaMul(&z[0], &x[0], &y[0])
		ifmaMul(&z[1], &x[1], &y[1])
	}
	ifmaSquare2(&t0, x, 1)     // x^2
	ifmaSquare2(&t1, &t0, 2)   // x^8
	mul(&t1, x, &t1)           // x^9
	mul(&t0, &t0, &t1)         // x^11
	ifmaSquare2(&t0, &t0, 1)   // x^22
	mul(&t0, &t1, &t0)         // x^31 = 2^5 - 1
	ifmaSquare2(&t1, &t0, 5)   // 2^10 - 2^5
	mul(&t0, &t1, &t0)         // 2^10 - 1
	ifmaSquare2(&t1, &t0, 10)  // 2^20 - 2^10
	mul(&t1, &t1, &t0)         // 2^20 - 1
	ifmaSquare2(&t2, &t1, 20)  // 2^40 - 2^20
	mul(&t1, &t2, &t1)         // 2^40 - 1
	ifmaSquare2(&t1, &t1, 10)  // 2^50 - 2^10
	mul(&t0, &t1, &t0)         // 2^50 - 1
	ifmaSquare2(&t1, &t0, 50)  // 2^100 - 2^50
	mul(&t1, &t1, &t0)         // 2^100 - 1
	ifmaSquare2(&t2, &t1, 100) // 2^200 - 2^100
	mul(&t1, &t2, &t1)         // 2^200 - 1
	ifmaSquare2(&t1, &t1, 50)  // 2^250 - 2^50
	mul(&t0, &t1, &t0)         // 2^250 - 1
	ifmaSquare2(&t0, &t0, 2)   // 2^252 - 4
	mul(z, &t0, x)             // 2^252 - 3
}

// sqrtRatio16 is field.Element.SqrtRatio of every lane of both halves.
func sqrtRatio16(r, u, v *[2]fe8) (wasSquare [2]mask8) {
	var uv3, uv7, t [2]fe8
	for k := range 2 {
		var v2 fe8
		ifmaSquare(&v2, &v[k], 1)
		ifmaMul(&t[k], &v2, &v[k])
		ifmaMul(&uv3[k], &u[k], &t[k])
		ifmaSquare(&t[k], &v2, 1)
		ifmaMul(&uv7[k], &uv3[k], &t[k])
	}
	pow22523x16(&t, &uv7)
	for k := range 2 {
		var rr, check, uNeg, t2 fe8
		ifmaMul(&rr, &uv3[k], &t[k])
		ifmaSquare(&t2, &rr, 1)
		ifmaMul(&check, &v[k], &t2)
		ifmaSub(&uNeg, &fe8Zero, &u[k])
		correct := equal8(&check, &u[k])
		flipped := equal8(&check, &uNeg)
		ifmaMul(&t2, &uNeg, &fe8SqrtM1)
		flippedI := equal8(&check, &t2)
		ifmaMul(&t2, &rr, &fe8SqrtM1) // r' = sqrt(-1)·r
		var either mask8
		for j := range 8 {
			either[j] = flipped[j] | flippedI[j]
			wasSquare[k][j] = correct[j] | flipped[j]
		}
		select8(&rr, &t2, &rr, &either)
		absolute8(&r[k], &rr)
	}
	return wasSquare
}

// elligator16 is [elligator] of every lane of both halves.
func elligator16(p *[2]ext8, t *[2]fe8) {
	var r, u, v, s [2]fe8
	for k := range 2 {
		var tmp fe8
		ifmaSquare(&r[k], &t[k], 1)
		ifmaMul(&r[k], &r[k], &fe8SqrtM1)
		ifmaAdd(&u[k], &r[k], &fe8One)
		ifmaMul(&u[k], &u[k], &fe8OneMinusDSq)
		ifmaMul(&tmp, &r[k], &fe8D)
		ifmaSub(&v[k], &fe8MinusOne, &tmp)
		ifmaAdd(&tmp, &r[k], &fe8D)
		ifmaMul(&v[k], &v[k], &tmp)
	}
	wasSquare := sqrtRatio16(&s, &u, &v)
	for k := range 2 {
		var sp, c, n, w0, w1, w2, w3, tmp fe8
		s, r, v, t, p := &s[k], &r[k], &v[k], &t[k], &p[k]
		ifmaMul(&sp, s, t)
		absolute8(&sp, &sp)
		ifmaSub(&sp, &fe8Zero, &sp)
		select8(s, s, &sp, &wasSquare[k])
		select8(&c, &fe8MinusOne, r, &wasSquare[k])
		ifmaSub(&tmp, r, &fe8One)
		ifmaMul(&n, &c, &tmp)
		ifmaMul(&n, &n, &fe8DMinusOneSq)
		ifmaSub(&n, &n, v)
		ifmaAdd(&w0, s, s)
		ifmaMul(&w0, &w0, v)
		ifmaMul(&w1, &n, &fe8SqrtADMinusOne)
		ifmaSquare(&tmp, s, 1)
		ifmaSub(&w2, &fe8One, &tmp)
		ifmaAdd(&w3, &fe8One, &tmp)
		ifmaMul(&p.X, &w0, &w3)
		ifmaMul(&p.Y, &w2, &w1)
		ifmaMul(&p.Z, &w1, &w3)
		ifmaMul(&p.T, &w0, &w2)
	}
}

func (v *ext8) fromP1P1(p *p1p18) {
	ifmaMul(&v.X, &p.X, &p.T)
	ifmaMul(&v.Y, &p.Y, &p.Z)
	ifmaMul(&v.Z, &p.Z, &p.T)
	ifmaMul(&v.T, &p.X, &p.Y)
}

func (v *p28) fromP1P1(p *p1p18) {
	ifmaMul(&v.X, &p.X, &p.T)
	ifmaMul(&v.Y, &p.Y, &p.Z)
	ifmaMul(&v.Z, &p.Z, &p.T)
}

func (v *cached8) fromExt(p *ext8) {
	ifmaAdd(&v.YplusX, &p.Y, &p.X)
	ifmaSub(&v.YminusX, &p.Y, &p.X)
	v.Z = p.Z
	ifmaMul(&v.T2d, &p.T, &fe8D2)
}

// add sets v = p + q, as [p1p1.add].
func (v *p1p18) add(p *ext8, q *cached8) {
	var ypx, ymx, pp, mm, tt2d, zz2 fe8
	ifmaAdd(&ypx, &p.Y, &p.X)
	ifmaSub(&ymx, &p.Y, &p.X)
	ifmaMul(&pp, &ypx, &q.YplusX)
	ifmaMul(&mm, &ymx, &q.YminusX)
	ifmaMul(&tt2d, &p.T, &q.T2d)
	ifmaMul(&zz2, &p.Z, &q.Z)
	ifmaAdd(&zz2, &zz2, &zz2)
	ifmaSub(&v.X, &pp, &mm)
	ifmaAdd(&v.Y, &pp, &mm)
	ifmaAdd(&v.Z, &zz2, &tt2d)
	ifmaSub(&v.T, &zz2, &tt2d)
}

// double sets v = 2p, as [p1p1.double]. The multiplication runs it as
// ifmaDouble4; TestIFMAFusedMatchesGo checks the two agree.
func (v *p1p18) double(p *p28) {
	var xx, yy, zz2, xpys fe8
	ifmaSquare(&xx, &p.X, 1)
	ifmaSquare(&yy, &p.Y, 1)
	ifmaSquare(&zz2, &p.Z, 1)
	ifmaAdd(&zz2, &zz2, &zz2)
	ifmaAdd(&xpys, &p.X, &p.Y)
	ifmaSquare(&xpys, &xpys, 1)
	ifmaAdd(&v.Y, &yy, &xx)
	ifmaSub(&v.Z, &yy, &xx)
	ifmaSub(&v.X, &xpys, &v.Y)
	ifmaSub(&v.T, &zz2, &v.Z)
}

// ifmaState is the 8-way path's working memory, kept in the
// [SealBatch] so that nothing is allocated per batch.
type ifmaState struct {
	table     [8]cached8
	m         cached8
	acc       p1p18
	tmp, q, r ext8
	scratch   [8]fe8
	u         [BatchSize][64]byte // hash_to_field outputs, for hashMultLanes
	t         [2]fe8              // the two field elements of each input
	h         [2]ext8             // their elligator maps
	hc        cached8
	enc       encLanes // the batch's results and their encodings
}

// sealLanes is the 8-way path's working memory of a [SealBatch].
type sealLanes = ifmaState

// setInput is [SealBatch.SetInput]: on the 8-way path, it only stores u
// for [SealBatch.mult].
func (b *SealBatch) setInput(i int, u *[64]byte) {
	if b.lanes != nil {
		b.lanes.u[i] = *u
		return
	}
	b.setInputGeneric(i, u)
}

// mult finishes, on the 8-way path, what [SealBatch.setInput] left,
// keeping the results in the lanes for [SealBatch.encode].
func (b *SealBatch) mult(n int) {
	if b.lanes != nil {
		b.lanes.hashMultLanes(b.key, n)
	}
}

// encode sets b.enc[:n] to the encodings of the doubled results.
func (b *SealBatch) encode(n int) {
	if b.lanes != nil {
		b.lanes.encode8(b.enc[:n])
		return
	}
	encodeDoubled(b.enc[:n], b.pts[:n], b.scratch[:7*n])
}

// hashToGroup8 sets s.q to [hashToGroup] of s.u[lo+j] in lane j, lanes
// past n repeating lane 0.
func (s *ifmaState) hashToGroup8(lo, n int) {
	for j := range 8 {
		u := &s.u[lo]
		if j < n {
			u = &s.u[lo+j]
		}
		s.t[0].setLaneBytes(j, u[:32])
		s.t[1].setLaneBytes(j, u[32:])
	}
	elligator16(&s.h, &s.t)
	s.hc.fromExt(&s.h[1])
	s.acc.add(&s.h[0], &s.hc)
	s.q.fromP1P1(&s.acc)
}

// hashMultLanes sets lane i%8 of s.enc.res[i/8] to (k/2)·HashToGroup of
// the i-th input stored by [SealBatch.setInput], i < n.
func (s *ifmaState) hashMultLanes(fk *HalfKey, n int) {
	for lo := 0; lo < n; lo += 8 {
		s.hashToGroup8(lo, min(8, n-lo))
		s.mult8(fk)
		s.enc.res[lo/8] = s.r
	}
}

// store sets g[j] to lane j of s.r.
func (s *ifmaState) store(g []extPoint) {
	for j := range g {
		s.r.X.lane(&g[j].X, j)
		s.r.Y.lane(&g[j].Y, j)
		s.r.Z.lane(&g[j].Z, j)
		s.r.T.lane(&g[j].T, j)
	}
}

// selectCached8 sets s.m = x·q from s.table in constant time, -8 <= x <= 8,
// as [selectCached].
func (s *ifmaState) selectCached8(x int8) {
	xmask := x >> 7
	xabs := uint8((x + xmask) ^ xmask)
	var masks [9]uint64
	for j := 1; j <= 8; j++ {
		masks[j-1] = -uint64(subtle.ConstantTimeByteEq(xabs, uint8(j)))
	}
	masks[8] = -uint64(xmask & 1)
	ifmaSelect(&s.m, &s.table, &masks)
}

// mult8 sets s.r = (k/2)·s.q lane by lane, as [HalfKey.mult].
func (s *ifmaState) mult8(fk *HalfKey) {
	ifmaTable(&s.table, &s.q, &s.scratch)
	s.selectCached8(fk.digits[63])
	s.tmp = ext8{}
	s.tmp.Y = fe8One
	s.tmp.Z = fe8One
	s.acc.add(&s.tmp, &s.m)
	for i := 62; i >= 0; i-- {
		// 4 times s.pp.fromP1P1(&s.acc); s.acc.double(&s.pp), then
		// s.tmp.fromP1P1(&s.acc); s.acc.add(&s.tmp, &s.m), in assembly.
		ifmaDouble4(&s.acc, &s.scratch)
		s.selectCached8(fk.digits[i])
		ifmaAddCached(&s.acc, &s.m, &s.scratch)
	}
	s.r.fromP1P1(&s.acc)
}
