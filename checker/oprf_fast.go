package checker

// This file owns filippo.io/edwards25519 (its field package only): a
// seal-only fast path for F_k, proven equal to circl's FullEvaluate by
// oprf_fast_test.go (differential test, RFC 9497 vectors, fuzz target).
// The server's evaluation with proofs builds on it in oprf_eval.go; the
// client side (blinding, finalization) stays on circl in oprf.go.
//
// What makes it faster than the circl-based [sealer], per element:
//   - field arithmetic: edwards25519's amd64 assembly multiplication and
//     squaring (the variable-base scalar multiplication drops from ~55 us
//     to ~35 us);
//   - the key's signed radix-16 recoding is computed once per key, not once
//     per multiplication;
//   - the final ristretto255 encodings of a batch share one field
//     inversion (the "double and encode" batch of curve25519-dalek): the
//     multiplication uses k/2 mod l, and the batch encodes 2·(k/2)·P = k·P,
//     for which the encoding's inverse square root becomes an inverse;
//   - expand_message_xmd starts from the SHA-512 state after its 128-byte
//     zero block, computed once;
//   - on CPUs with AVX-512 IFMA, HashToGroup and the multiplication run
//     8 elements at a time (oprf_ifma_amd64.go).
//
// The multiplication stays constant-time in the key: a fixed sequence of
// 4 doublings and 1 addition per digit, with constant-time table lookups,
// like circl's and edwards25519's ScalarMult.
//
// The point formulas (extended, completed and projective coordinates,
// cached addition, doubling) follow filippo.io/edwards25519, whose point
// internals are unexported; the ristretto255 map and encodings follow
// RFC 9496 sections 4.3.2 and 4.3.4.

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"hash"
	"math/big"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

type fe = field.Element

// Constants of RFC 9496 section 4.1, and the curve's d.
var (
	feZero           fe
	feOne            = new(fe).One()
	feMinusOne       = new(fe).Negate(feOne)
	feD              = feConst("37095705934669439343138083508754565189542113879843219016388785533085940283555")
	feD2             = new(fe).Add(feD, feD)
	feSqrtM1         = feConst("19681161376707505956807079304988542015446066515923890162744021073123829784752")
	feOneMinusDSq    = feConst("1159843021668779879193775521855586647937357759715417654439879720876111806838")
	feDMinusOneSq    = feConst("40440834346308536858101042469323190826248399146238708352240133220865137265952")
	feSqrtADMinusOne = feConst("25063068953384623474111414158702152701244531502492656460079210482610430750235")
	feInvSqrtAMinusD = feConst("54469307008909316920995813868745141605393597292927456921205312896311721017578")
	// groupOrder is l, the order of ristretto255.
	groupOrder, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
)

func feConst(dec string) *fe {
	n, ok := new(big.Int).SetString(dec, 10)
	if !ok {
		panic("checker: bad field constant")
	}
	var le [32]byte
	n.FillBytes(le[:])
	for i := range 16 {
		le[i], le[31-i] = le[31-i], le[i]
	}
	v, err := new(fe).SetBytes(le[:])
	if err != nil {
		panic(err)
	}
	return v
}

// Point representations, as in filippo.io/edwards25519.
type (
	// extPoint is (X:Y:Z:T) with x = X/Z, y = Y/Z, xy = T/Z.
	extPoint struct{ X, Y, Z, T fe }
	// p1p1 is ((X:Z), (Y:T)) with x = X/Z, y = Y/T.
	p1p1 struct{ X, Y, Z, T fe }
	// p2 is (X:Y:Z) with x = X/Z, y = Y/Z.
	p2 struct{ X, Y, Z fe }
	// cachedPoint is (Y+X, Y-X, Z, 2dT).
	cachedPoint struct{ YplusX, YminusX, Z, T2d fe }
)

func (v *extPoint) fromP1P1(p *p1p1) {
	v.X.Multiply(&p.X, &p.T)
	v.Y.Multiply(&p.Y, &p.Z)
	v.Z.Multiply(&p.Z, &p.T)
	v.T.Multiply(&p.X, &p.Y)
}

func (v *p2) fromP1P1(p *p1p1) {
	v.X.Multiply(&p.X, &p.T)
	v.Y.Multiply(&p.Y, &p.Z)
	v.Z.Multiply(&p.Z, &p.T)
}

func (v *cachedPoint) fromExt(p *extPoint) {
	v.YplusX.Add(&p.Y, &p.X)
	v.YminusX.Subtract(&p.Y, &p.X)
	v.Z.Set(&p.Z)
	v.T2d.Multiply(&p.T, feD2)
}

// add sets v = p + q.
func (v *p1p1) add(p *extPoint, q *cachedPoint) {
	var ypx, ymx, pp, mm, tt2d, zz2 fe
	ypx.Add(&p.Y, &p.X)
	ymx.Subtract(&p.Y, &p.X)
	pp.Multiply(&ypx, &q.YplusX)
	mm.Multiply(&ymx, &q.YminusX)
	tt2d.Multiply(&p.T, &q.T2d)
	zz2.Multiply(&p.Z, &q.Z)
	zz2.Add(&zz2, &zz2)
	v.X.Subtract(&pp, &mm)
	v.Y.Add(&pp, &mm)
	v.Z.Add(&zz2, &tt2d)
	v.T.Subtract(&zz2, &tt2d)
}

// double sets v = 2p.
func (v *p1p1) double(p *p2) {
	var xx, yy, zz2, xpys fe
	xx.Square(&p.X)
	yy.Square(&p.Y)
	zz2.Square(&p.Z)
	zz2.Add(&zz2, &zz2)
	xpys.Add(&p.X, &p.Y)
	xpys.Square(&xpys)
	v.Y.Add(&yy, &xx)
	v.Z.Subtract(&yy, &xx)
	v.X.Subtract(&xpys, &v.Y)
	v.T.Subtract(&zz2, &v.Z)
}

// fastSealKey is what the fast path needs of a key: the signed radix-16
// digits of k/2 mod l, computed once.
type fastSealKey struct {
	digits [64]int8
}

// newFastSealKey recodes the 32-byte little-endian scalar k.
func newFastSealKey(k []byte) *fastSealKey {
	// k/2 mod l in constant time: k (little-endian, zero-extended to 64
	// bytes) reduced mod l, times 1/2.
	var wide [64]byte
	copy(wide[:], k)
	var h edwards25519.Scalar
	if _, err := h.SetUniformBytes(wide[:]); err != nil {
		panic(err) // 64 bytes: cannot fail
	}
	h.Multiply(&h, scalarHalf)
	clear(wide[:])
	return &fastSealKey{digits: radix16(&h)}
}

// mult sets v = (k/2)·q in constant time with respect to the key.
func (fk *fastSealKey) mult(v, q *extPoint) {
	var table [8]cachedPoint // table[i] = (i+1)·q
	var acc p1p1
	var tmp extPoint
	var pp p2
	table[0].fromExt(q)
	for i := 1; i < 8; i++ {
		acc.add(q, &table[i-1])
		tmp.fromP1P1(&acc)
		table[i].fromExt(&tmp)
	}
	var m cachedPoint
	selectCached(&m, &table, fk.digits[63])
	tmp = extPoint{}
	tmp.Y.One()
	tmp.Z.One()
	acc.add(&tmp, &m)
	for i := 62; i >= 0; i-- {
		pp.fromP1P1(&acc)
		acc.double(&pp)
		pp.fromP1P1(&acc)
		acc.double(&pp)
		pp.fromP1P1(&acc)
		acc.double(&pp)
		pp.fromP1P1(&acc)
		acc.double(&pp)
		tmp.fromP1P1(&acc)
		selectCached(&m, &table, fk.digits[i])
		acc.add(&tmp, &m)
	}
	v.fromP1P1(&acc)
}

// selectCached sets m = x·q from table in constant time, -8 <= x <= 8.
func selectCached(m *cachedPoint, table *[8]cachedPoint, x int8) {
	xmask := x >> 7
	xabs := uint8((x + xmask) ^ xmask)
	m.YplusX.One()
	m.YminusX.One()
	m.Z.One()
	m.T2d.Zero()
	for j := 1; j <= 8; j++ {
		cond := subtle.ConstantTimeByteEq(xabs, uint8(j))
		t := &table[j-1]
		m.YplusX.Select(&t.YplusX, &m.YplusX, cond)
		m.YminusX.Select(&t.YminusX, &m.YminusX, cond)
		m.Z.Select(&t.Z, &m.Z, cond)
		m.T2d.Select(&t.T2d, &m.T2d, cond)
	}
	neg := int(xmask & 1)
	m.YplusX.Swap(&m.YminusX, neg)
	var nt fe
	nt.Negate(&m.T2d)
	m.T2d.Select(&nt, &m.T2d, neg)
}

// elligator sets p to RFC 9496's MAP(t) (section 4.3.4).
func elligator(p *extPoint, t *fe) {
	var r, u, v, s, sp, c, n, w0, w1, w2, w3, tmp fe
	r.Square(t)
	r.Multiply(&r, feSqrtM1)
	u.Add(&r, feOne)
	u.Multiply(&u, feOneMinusDSq)
	tmp.Multiply(&r, feD)
	v.Subtract(feMinusOne, &tmp)
	tmp.Add(&r, feD)
	v.Multiply(&v, &tmp)
	_, wasSquare := s.SqrtRatio(&u, &v)
	sp.Multiply(&s, t)
	sp.Absolute(&sp)
	sp.Negate(&sp)
	s.Select(&s, &sp, wasSquare)
	c.Select(feMinusOne, &r, wasSquare)
	tmp.Subtract(&r, feOne)
	n.Multiply(&c, &tmp)
	n.Multiply(&n, feDMinusOneSq)
	n.Subtract(&n, &v)
	w0.Add(&s, &s)
	w0.Multiply(&w0, &v)
	w1.Multiply(&n, feSqrtADMinusOne)
	tmp.Square(&s)
	w2.Subtract(feOne, &tmp)
	w3.Add(feOne, &tmp)
	p.X.Multiply(&w0, &w3)
	p.Y.Multiply(&w2, &w1)
	p.Z.Multiply(&w1, &w3)
	p.T.Multiply(&w0, &w2)
}

// hashToGroup sets p to RFC 9496's one-way map of 64 uniform bytes.
func hashToGroup(p *extPoint, b *[64]byte) {
	var t1, t2 fe
	var p1, p2 extPoint
	t1.SetBytes(b[:32]) // SetBytes drops the top bit, as the map asks
	t2.SetBytes(b[32:])
	elligator(&p1, &t1)
	elligator(&p2, &t2)
	var c cachedPoint
	var r p1p1
	c.fromExt(&p2)
	r.add(&p1, &c)
	p.fromP1P1(&r)
}

// encodeElement is RFC 9496's Encode (section 4.3.2) of one point.
func encodeElement(p *extPoint) [32]byte {
	var u1, u2, tmp, invsqrt, den1, den2, zInv, ix, iy, encDen, x, y, denInv, s fe
	u1.Add(&p.Z, &p.Y)
	tmp.Subtract(&p.Z, &p.Y)
	u1.Multiply(&u1, &tmp)
	u2.Multiply(&p.X, &p.Y)
	tmp.Square(&u2)
	tmp.Multiply(&tmp, &u1)
	invsqrt.SqrtRatio(feOne, &tmp)
	den1.Multiply(&invsqrt, &u1)
	den2.Multiply(&invsqrt, &u2)
	zInv.Multiply(&den1, &den2)
	zInv.Multiply(&zInv, &p.T)
	ix.Multiply(&p.X, feSqrtM1)
	iy.Multiply(&p.Y, feSqrtM1)
	encDen.Multiply(&den1, feInvSqrtAMinusD)
	tmp.Multiply(&p.T, &zInv)
	rotate := tmp.IsNegative()
	x.Select(&iy, &p.X, rotate)
	y.Select(&ix, &p.Y, rotate)
	denInv.Select(&encDen, &den2, rotate)
	tmp.Multiply(&x, &zInv)
	var ny fe
	ny.Negate(&y)
	y.Select(&ny, &y, tmp.IsNegative())
	s.Subtract(&p.Z, &y)
	s.Multiply(&s, &denInv)
	s.Absolute(&s)
	var out [32]byte
	copy(out[:], s.Bytes())
	return out
}

// encodeDoubled sets out[i] to the encoding of 2·ps[i] for every i, with
// one field inversion for the batch (curve25519-dalek's
// double_and_compress_batch). scratch needs room for 7·len(ps) elements.
func encodeDoubled(out [][32]byte, ps []extPoint, scratch []fe) {
	n := len(ps)
	e, f, g, h := scratch[:n], scratch[n:2*n], scratch[2*n:3*n], scratch[3*n:4*n]
	eg, fh, acc := scratch[4*n:5*n], scratch[5*n:6*n], scratch[6*n:7*n]
	var xx, yy, zz, dtt, efgh, inv fe
	for i := range ps {
		p := &ps[i]
		xx.Square(&p.X)
		yy.Square(&p.Y)
		zz.Square(&p.Z)
		dtt.Square(&p.T)
		dtt.Multiply(&dtt, feD)
		e[i].Add(&p.Y, &p.Y)
		e[i].Multiply(&e[i], &p.X) // 2XY
		f[i].Add(&zz, &dtt)        // Z² + dT²
		g[i].Add(&yy, &xx)         // Y² + X²
		h[i].Subtract(&zz, &dtt)   // Z² - dT²
		eg[i].Multiply(&e[i], &g[i])
		fh[i].Multiply(&f[i], &h[i])
		efgh.Multiply(&eg[i], &fh[i])
		if efgh.Equal(&feZero) == 1 {
			// 2·ps[i] is the identity (or a point this batch formula
			// does not cover): encode it on its own below, and keep it
			// out of the shared inversion. Never seen outside tests:
			// it takes k·H2G(x) in the 4-torsion coset.
			efgh.One()
		}
		if i == 0 {
			acc[0].Set(&efgh)
		} else {
			acc[i].Multiply(&acc[i-1], &efgh)
		}
	}
	if n == 0 {
		return
	}
	inv.Invert(&acc[n-1])
	var zInv, tInv, tmp, minusE, fSqrtA, magic, s, one fe
	one.One()
	for i := n - 1; i >= 0; i-- {
		// inv = 1/(efgh_0 ... efgh_i); this element's inverse is
		// inv · acc[i-1].
		efgh.Multiply(&eg[i], &fh[i])
		isSpecial := efgh.Equal(&feZero)
		efgh.Select(&one, &efgh, isSpecial)
		var mine fe
		if i > 0 {
			mine.Multiply(&inv, &acc[i-1])
			inv.Multiply(&inv, &efgh)
		} else {
			mine.Set(&inv)
		}
		if isSpecial == 1 {
			var c cachedPoint
			var r p1p1
			var d extPoint
			c.fromExt(&ps[i])
			r.add(&ps[i], &c)
			d.fromP1P1(&r)
			out[i] = encodeElement(&d)
			continue
		}
		zInv.Multiply(&eg[i], &mine)
		tInv.Multiply(&fh[i], &mine)
		magic.Set(feInvSqrtAMinusD)
		tmp.Multiply(&eg[i], &zInv)
		neg1 := tmp.IsNegative()
		ee, gg, hh := e[i], g[i], h[i]
		minusE.Negate(&ee)
		fSqrtA.Multiply(&f[i], feSqrtM1)
		ee.Select(&g[i], &ee, neg1)
		gg.Select(&minusE, &gg, neg1)
		hh.Select(&fSqrtA, &hh, neg1)
		magic.Select(feSqrtM1, &magic, neg1)
		tmp.Multiply(&hh, &ee)
		tmp.Multiply(&tmp, &zInv)
		var ng fe
		ng.Negate(&gg)
		gg.Select(&ng, &gg, tmp.IsNegative())
		tmp.Multiply(&gg, &tInv)
		tmp.Multiply(&magic, &tmp)
		s.Subtract(&hh, &gg)
		s.Multiply(&s, &tmp)
		s.Absolute(&s)
		copy(out[i][:], s.Bytes())
	}
}

// fastBatch is the number of elements whose encodings share an inversion.
const fastBatch = 64

// fastSealer computes F_k for batches of inputs; one per goroutine.
type fastSealer struct {
	key     *fastSealKey
	xmd     hash.Hash // SHA-512 for expand_message_xmd
	xmd0    []byte    // its marshaled state after the 128-byte zero block
	dstTail []byte    // DST || len(DST)
	fin     hash.Hash
	buf     []byte
	pts     [fastBatch]extPoint
	enc     [fastBatch][32]byte
	scratch [7 * fastBatch]fe
	input   []byte
	ifma    *ifmaState // the 8-way multiplication; nil: one at a time
}

func (k *OPRFKey) newFastSealer() *fastSealer {
	raw, err := k.sk.MarshalBinary()
	if err != nil {
		panic(err) // a valid key always marshals
	}
	return newFastSealerFromScalar(raw)
}

func newFastSealerFromScalar(raw []byte) *fastSealer {
	s := &fastSealer{key: newFastSealKey(raw), xmd: sha512.New(), fin: sha512.New()}
	s.xmd.Write(make([]byte, sha512.BlockSize))
	s.xmd0, _ = s.xmd.(encoding.BinaryMarshaler).MarshalBinary()
	s.dstTail = append(append([]byte(nil), dstHashToGroup...), byte(len(dstHashToGroup)))
	s.input = append([]byte(nil), OPRFInputLabel...)
	s.input = append(s.input, make([]byte, 8)...)
	if useIFMA {
		s.ifma = new(ifmaState)
	}
	return s
}

// expand sets u = expand_message_xmd(SHA-512, input, DST, 64) (RFC 9380
// section 5.3.1; one output block, so ell = 1).
func (s *fastSealer) expand(u *[64]byte, input []byte) {
	s.xmd.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.xmd0)
	s.xmd.Write(input)
	s.buf = append(s.buf[:0], 0, 64, 0) // l_i_b_str = 64, then I2OSP(0, 1)
	s.buf = append(s.buf, s.dstTail...)
	s.xmd.Write(s.buf)
	b0 := s.xmd.Sum(s.buf[:0])
	b0 = append(b0, 1)
	b0 = append(b0, s.dstTail...)
	*u = sha512.Sum512(b0)
	s.buf = b0
}

// point computes (k/2)·HashToGroup(input) into s.pts[i]; on the 8-way
// path, only expand_message_xmd, and [fastSealer.mult] does the rest.
func (s *fastSealer) point(i int, input []byte) {
	var u [64]byte
	s.expand(&u, input)
	if s.ifma != nil {
		s.ifma.setInput(i, &u)
		return
	}
	var p extPoint
	hashToGroup(&p, &u)
	s.key.mult(&s.pts[i], &p)
}

// mult finishes what [fastSealer.point] left for the 8-way path.
func (s *fastSealer) mult(n int) {
	if s.ifma != nil {
		s.ifma.hashMult(s.key, s.pts[:n])
	}
}

// finalize returns SHA-512(len(x) || x || 32 || enc || "Finalize")
// appended to dst.
func (s *fastSealer) finalize(dst []byte, input []byte, enc *[32]byte) []byte {
	var l [2]byte
	s.fin.Reset()
	binary.BigEndian.PutUint16(l[:], uint16(len(input)))
	s.fin.Write(l[:])
	s.fin.Write(input)
	binary.BigEndian.PutUint16(l[:], 32)
	s.fin.Write(l[:])
	s.fin.Write(enc[:])
	s.fin.Write([]byte("Finalize"))
	return s.fin.Sum(dst)
}

// outputs sets out[i] to the first 8 bytes of F_k(input of keys[i]),
// big-endian: what [sealer.output] returns, for a slice at a time.
func (s *fastSealer) outputs(keys, out []uint64) {
	var sum [sha512.Size]byte
	for len(keys) > 0 {
		n := min(len(keys), fastBatch)
		for i, key := range keys[:n] {
			binary.BigEndian.PutUint64(s.input[len(OPRFInputLabel):], key)
			s.point(i, s.input)
		}
		s.mult(n)
		encodeDoubled(s.enc[:n], s.pts[:n], s.scratch[:7*n])
		for i, key := range keys[:n] {
			binary.BigEndian.PutUint64(s.input[len(OPRFInputLabel):], key)
			out[i] = binary.BigEndian.Uint64(s.finalize(sum[:0], s.input, &s.enc[i]))
		}
		keys, out = keys[n:], out[n:]
	}
}

// full returns F_k of every input, 64 bytes each: [sealer.full] for a
// slice at a time. Inputs are at most 65535 bytes, as RFC 9497 requires.
func (s *fastSealer) full(inputs [][]byte) [][]byte {
	res := make([][]byte, 0, len(inputs))
	for len(inputs) > 0 {
		n := min(len(inputs), fastBatch)
		for i, in := range inputs[:n] {
			s.point(i, in)
		}
		s.mult(n)
		encodeDoubled(s.enc[:n], s.pts[:n], s.scratch[:7*n])
		for i, in := range inputs[:n] {
			res = append(res, s.finalize(make([]byte, 0, sha512.Size), in, &s.enc[i]))
		}
		inputs = inputs[n:]
	}
	return res
}
