// Package r255 implements the ristretto255 group arithmetic of the OPRF:
// field and point operations over filippo.io/edwards25519's field, the
// ristretto255 map, encodings and decoding (RFC 9496), constant-time
// scalar multiplications with precomputed tables, and, on CPUs with
// AVX-512 IFMA, kernels that run them 8 lanes at a time.
//
// It knows nothing of the protocol: hashing (expand_message_xmd, the
// proofs' transcripts) is the caller's. What it offers is shaped by the
// two hot paths of the OPRF: sealing ([SealBatch]: k·MAP(u) for a batch of
// uniform strings u, encoded) and evaluation with a proof ([EvalScratch]:
// Eval = k·C and the four points of the DLEQ proof, encoded).
//
// # Constant time
//
// The key and the proof randomness, and every scalar derived from them,
// are handled in constant time: edwards25519's fiat-crypto scalar
// arithmetic, branch-free signed radix-16 recoding ([radix16]), and
// multiplications with a fixed sequence of doublings and additions and
// constant-time table lookups ([HalfKey.mult], [combTables.mulCT],
// edwards25519's ScalarBaseMult, and the 8-way kernels). Variable time is
// used only where every input is public: decoding a client's elements,
// the composite weights, M = sum d_i·C_i ([combTables.mulVT],
// edwards25519's VarTimeMultiScalarMult), and the encodings' special case
// of an identity.
//
// # Halved points
//
// Every product is computed halved (the scalars are multiplied by 1/2 mod
// l) and encoded doubled, which turns the encoding's inverse square root
// into an inversion that a batch shares ([encodeDoubled], the "double and
// encode" batch of curve25519-dalek).
//
// The point formulas (extended, completed and projective coordinates,
// cached addition, doubling) follow filippo.io/edwards25519, whose point
// internals are unexported; the ristretto255 map and encodings follow RFC
// 9496 sections 4.3.1, 4.3.2 and 4.3.4.
package r255

import (
	"crypto/subtle"
	"math/big"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// Scalar is a scalar modulo l, the order of ristretto255.
type Scalar = edwards25519.Scalar

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
		panic("r255: bad field constant")
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

// addExt sets v = p + q with the one-element formulas.
func addExt(v, p, q *extPoint) {
	var c cachedPoint
	var r p1p1
	c.fromExt(q)
	r.add(p, &c)
	v.fromP1P1(&r)
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

// scalarHalf is 1/2 mod l = (l+1)/2.
var scalarHalf = func() *Scalar {
	h := new(big.Int).Rsh(new(big.Int).Add(groupOrder, big.NewInt(1)), 1)
	var b [32]byte
	h.FillBytes(b[:])
	for i := range 16 {
		b[i], b[31-i] = b[31-i], b[i]
	}
	s, err := new(Scalar).SetCanonicalBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}()

// Halve sets s = x/2 mod l and returns s, in constant time.
func Halve(s, x *Scalar) *Scalar { return s.Multiply(x, scalarHalf) }

// radix16 returns the signed radix-16 digits of s, each in [-8, 8), the
// top one in [-8, 8] (s < l < 2^253), without branches on s.
func radix16(s *Scalar) (d [64]int8) {
	var b [32]byte
	copy(b[:], s.Bytes())
	for i := range 32 {
		d[2*i] = int8(b[i] & 15)
		d[2*i+1] = int8(b[i] >> 4)
	}
	for i := range 63 {
		carry := (d[i] + 8) >> 4
		d[i] -= carry << 4
		d[i+1] += carry
	}
	return d
}

// extToPoint and pointToExt move between this package's points and
// edwards25519's, whose fixed-base and multi-scalar multiplications the
// evaluation uses.
func extToPoint(p *extPoint) *edwards25519.Point {
	q, err := new(edwards25519.Point).SetExtendedCoordinates(&p.X, &p.Y, &p.Z, &p.T)
	if err != nil {
		panic("r255: point off the curve") // decoded or computed points never are
	}
	return q
}

func pointToExt(p *extPoint, q *edwards25519.Point) {
	x, y, z, t := q.ExtendedCoordinates()
	p.X, p.Y, p.Z, p.T = *x, *y, *z, *t
}
