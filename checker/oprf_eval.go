package checker

// The server's evaluation with its batched DLEQ proof (RFC 9497 section
// 2.2.1, GenerateProof with ComputeCompositesFast) on the field arithmetic
// and point formulas of oprf_fast.go (filippo.io/edwards25519/field, amd64
// assembly multiplication and squaring). It computes exactly what circl's
// prover computes: oprf_eval_test.go compares the bytes with
// evaluateCircl over random keys, elements, batch sizes and proof
// randomness, runs the RFC 9497 vectors, compares the decoding's
// rejections with circl's, and fuzzes both.
//
// Constant time. The key k, the proof randomness t and every scalar
// derived from them (k/2, k·d/2, t/2, t·d/2, s = t - c·k) are handled in
// constant time: edwards25519's fiat-crypto scalar arithmetic, branch-free
// signed radix-16 recoding, and multiplications with a fixed sequence of
// doublings and additions and constant-time table lookups
// ([combTables.mulCT], [fastSealKey.mult], edwards25519's ScalarBaseMult,
// and on the 8-way path [laneMul.mult], whose file comment details it).
// Variable time is used only where every input is public: decoding the
// client's elements, the composite weights d_i (a hash of the public key,
// the blinded and the evaluated elements, which the client recomputes) and
// M = sum d_i·C_i ([combTables.mulVT], edwards25519's
// VarTimeMultiScalarMult), and the encodings' special case of an identity.
//
// Where the work goes. A one-element query needs Eval = k·C, then (once
// d = d_0 is known from Eval's encoding) M = d·C, Z = k·M = (k·d)·C,
// t2 = t·G and t3 = t·M = (t·d)·C: four products of the same base C and
// one of the generator. Instead of four full variable-base
// multiplications (252 doublings each), [combTables] precomputes, once per
// query, the multiples 1..8 of C, 2^32·C, ..., 2^224·C (224 doublings and
// 56 additions); each product is then a Straus sum over the eight 32-bit
// chunks of its scalar: 28 doublings and 64 additions. t2 is edwards25519's
// fixed-base multiplication (precomputed table of the generator). With n
// elements, Eval_i = k·C_i are full constant-time multiplications, M is a
// variable-time multi-scalar multiplication, and Z = k·M and t3 = t·M share
// a table of M in four chunks.
//
// On CPUs with AVX-512 IFMA, a one-element query takes the 8-way path
// instead (oprf_eval_ifma_amd64.go, [OPRFKey.evaluateOneLanes]): the same
// products as lanes of the seal path's kernel, each lane with its own
// base and digits. One pass of 64 windows computes Eval/2 = (k/2)·C in
// lane 0 and 2^(32m)·C in lanes 1..7 (the comb's bases, at no extra
// cost); once d is known, one pass of 8 windows with four tables a lane
// computes M/2, Z/2, t3/2 and t2/2 (on constant multiples of G), two
// lanes each, and four additions join the lanes. Batches compute their
// Eval_i 8 at a time, and Z, t3 and t2 as three lanes of one pass.
//
// Encodings. Every point is computed halved (the scalars are multiplied
// by 1/2 mod l) and encoded doubled, which turns the encoding's inverse
// square root into an inversion that a batch shares ([encodeDoubled]):
// the evaluated elements share one inversion, and M, Z, t2, t3 another.
// Decoding the client's elements (one inverse square root each) remains.
//
// Measured (BenchmarkEvalParts, BenchmarkEvalLaneParts,
// BenchmarkEvaluateFast; shared 2-core AMD machine with AVX-512 IFMA,
// quiet): decoding 3.6 us; C's tables 33 us; a constant-time product on
// them 15 us, a variable-time one 10 us (a full constant-time
// multiplication: 37 us); t2 12 us; the encodings 3 us (Eval) and 4.5 us
// (the four of the proof); SHA-512 steps ~1.5 us each. A one-element
// query with proof takes ~120 us on the one-lane path against ~230 us
// for evaluateR255 and ~310 us for circl's prover. The 8-way path
// replaces the tables and the five products by its two passes, ~33 us
// and ~9 us (BenchmarkEvalLaneParts): evaluateOneLanes takes ~58 us
// against ~112 us for evaluateOne, and a whole query ~61 us against ~121
// us (x-vs-onelane ~2.0 in BenchmarkEvaluateFast; batches of 2, 16 and
// 128 elements 1.6x, 2.7x and 2.6x). Pass 1 is ~97k 8-lane
// multiply-adds (252 doublings, 64 additions), which by our estimate of
// the clock is close to one a cycle: what remains there is the
// arithmetic itself. Splitting the products of a one-element query
// across two goroutines when the server was idle was tried: on this
// machine the helper goroutine got a core in time for ~10% of queries
// and the query rate fell, so evaluation stays on one goroutine.

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"sync"
	"sync/atomic"

	"filippo.io/edwards25519"
)

// evalKey is what the fast evaluation needs of a key, computed once.
type evalKey struct {
	k       edwards25519.Scalar
	kDigits [64]int8     // the signed radix-16 digits of k
	half    *fastSealKey // the signed radix-16 digits of k/2
	stage1  [64 * 8]int8 // the 8-way path's first pass (laneStage1)
	halves  [64 * 8]int8 // the digits of k/2 in every lane, [window][lane]
	// seed is the composites' seed, a hash of the public key and a
	// constant ([evalScratch.composites]), computed on first use.
	seed atomic.Pointer[[sha512.Size]byte]
}

func newEvalKey(raw []byte) (*evalKey, error) {
	ek := &evalKey{half: newFastSealKey(raw)}
	if _, err := ek.k.SetCanonicalBytes(raw); err != nil {
		return nil, err
	}
	ek.kDigits = radix16(&ek.k)
	ek.stage1 = laneStage1(&ek.half.digits)
	for i, d := range ek.half.digits {
		for l := range 8 {
			ek.halves[i*8+l] = d
		}
	}
	return ek, nil
}

// laneStage1 returns pass 1's digits for the scalar of digits kd: lane 0
// kd, lane m (1..7) the digits of 2^(32m), laid out [window][lane].
func laneStage1(kd *[64]int8) (dig [64 * 8]int8) {
	for i := range 64 {
		dig[i*8] = kd[i]
		if i%8 == 0 && i > 0 {
			dig[i*8+i/8] = 1
		}
	}
	return dig
}

// scalarHalf is 1/2 mod l = (l+1)/2.
var scalarHalf = func() *edwards25519.Scalar {
	h := new(big.Int).Rsh(new(big.Int).Add(groupOrder, big.NewInt(1)), 1)
	var b [32]byte
	h.FillBytes(b[:])
	for i := range 16 {
		b[i], b[31-i] = b[31-i], b[i]
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(b[:])
	if err != nil {
		panic(err)
	}
	return s
}()

// radix16 returns the signed radix-16 digits of s, each in [-8, 8), the
// top one in [-8, 8] (s < l < 2^253), without branches on s.
func radix16(s *edwards25519.Scalar) (d [64]int8) {
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

// decodeElement sets p to RFC 9496's Decode (section 4.3.1) of b and
// reports whether b is the canonical encoding of a ristretto255 element
// other than the identity: what circl's UnmarshalBinary followed by
// IsIdentity accepts. Variable time: b is public.
func decodeElement(p *extPoint, b []byte) bool {
	var s fe
	if _, err := s.SetBytes(b); err != nil {
		return false
	}
	// Canonical: s < p and the top bit clear (SetBytes reduces and drops
	// it), and s non-negative (even).
	if string(s.Bytes()) != string(b) || s.IsNegative() == 1 {
		return false
	}
	var ss, u1, u2, u2sq, v, tmp, invsqrt, denX, denY fe
	ss.Square(&s)
	u1.Subtract(feOne, &ss)
	u2.Add(feOne, &ss)
	u2sq.Square(&u2)
	v.Square(&u1)
	v.Multiply(&v, feD)
	v.Negate(&v)
	v.Subtract(&v, &u2sq)
	tmp.Multiply(&v, &u2sq)
	_, wasSquare := invsqrt.SqrtRatio(feOne, &tmp)
	denX.Multiply(&invsqrt, &u2)
	denY.Multiply(&invsqrt, &denX)
	denY.Multiply(&denY, &v)
	p.X.Add(&s, &s)
	p.X.Multiply(&p.X, &denX)
	p.X.Absolute(&p.X)
	p.Y.Multiply(&u1, &denY)
	p.Z.One()
	p.T.Multiply(&p.X, &p.Y)
	if wasSquare != 1 || p.T.IsNegative() == 1 || p.Y.Equal(&feZero) == 1 {
		return false
	}
	// The identity's only canonical encoding is s = 0, which decodes to
	// (0, 1): refuse x = 0.
	return p.X.Equal(&feZero) != 1
}

// combChunks is the most chunks a [combTables] splits a scalar into.
const combChunks = 8

// combTables holds, for a base P and h chunks of w = 64/h radix-16 digits,
// the multiples 1..8 of P_j = 16^(w·j)·P, j < h, as cached points: a
// multiplication by any scalar is then a Straus sum over the h chunks,
// 4(w-1) doublings and 64 additions, instead of 252 doublings.
type combTables struct {
	h, w int
	t    [combChunks][8]cachedPoint
}

// build sets c to the tables of p in h chunks (h divides 64, h <=
// [combChunks]). p is public: building is the same sequence of
// operations whatever p is anyway.
func (c *combTables) build(p *extPoint, h int) {
	c.h, c.w = h, 64/h
	var cur extPoint = *p
	var acc p1p1
	var tmp extPoint
	var pp p2
	for j := range h {
		tab := &c.t[j]
		tab[0].fromExt(&cur)
		// 2·cur by doubling, then (i+1)·cur = i·cur + cur.
		pp = p2{cur.X, cur.Y, cur.Z}
		acc.double(&pp)
		tmp.fromP1P1(&acc)
		tab[1].fromExt(&tmp)
		for i := 2; i < 8; i++ {
			acc.add(&tmp, &tab[0])
			tmp.fromP1P1(&acc)
			tab[i].fromExt(&tmp)
		}
		if j == h-1 {
			break
		}
		pp = p2{cur.X, cur.Y, cur.Z}
		for range 4*c.w - 1 {
			acc.double(&pp)
			pp.fromP1P1(&acc)
		}
		acc.double(&pp)
		cur.fromP1P1(&acc)
	}
}

// mulCT sets v = s·P for the scalar of the digits d, in constant time
// with respect to d: a fixed sequence of doublings and additions, and
// constant-time lookups ([selectCached]).
func (c *combTables) mulCT(v *extPoint, d *[64]int8) {
	var acc p1p1
	var pp p2
	var m cachedPoint
	v.X.Zero()
	v.Y.One()
	v.Z.One()
	v.T.Zero()
	for i := c.w - 1; i >= 0; i-- {
		if i != c.w-1 {
			pp.fromP1P1(&acc)
			for range 3 {
				acc.double(&pp)
				pp.fromP1P1(&acc)
			}
			acc.double(&pp)
			v.fromP1P1(&acc)
		}
		for j := range c.h {
			selectCached(&m, &c.t[j], d[j*c.w+i])
			acc.add(v, &m)
			if j != c.h-1 || i == 0 {
				v.fromP1P1(&acc)
			}
		}
	}
}

// mulVT sets v = s·P for the scalar of the digits d, in variable time: d
// must be public (the composite weights).
func (c *combTables) mulVT(v *extPoint, d *[64]int8) {
	var acc p1p1
	var pp p2
	var m cachedPoint
	v.X.Zero()
	v.Y.One()
	v.Z.One()
	v.T.Zero()
	started := false
	for i := c.w - 1; i >= 0; i-- {
		if started {
			pp = p2{v.X, v.Y, v.Z}
			for range 3 {
				acc.double(&pp)
				pp.fromP1P1(&acc)
			}
			acc.double(&pp)
			v.fromP1P1(&acc)
		}
		for j := range c.h {
			x := d[j*c.w+i]
			switch {
			case x > 0:
				acc.add(v, &c.t[j][x-1])
			case x < 0:
				t := &c.t[j][-x-1]
				m.YplusX, m.YminusX, m.Z = t.YminusX, t.YplusX, t.Z
				m.T2d.Negate(&t.T2d)
				acc.add(v, &m)
			default:
				continue
			}
			v.fromP1P1(&acc)
			started = true
		}
	}
}

// extToPoint and pointToExt move between oprf_fast.go's points and
// edwards25519's, whose fixed-base and multi-scalar multiplications the
// evaluation uses.
func extToPoint(p *extPoint) *edwards25519.Point {
	q, err := new(edwards25519.Point).SetExtendedCoordinates(&p.X, &p.Y, &p.Z, &p.T)
	if err != nil {
		panic("checker: point off the curve") // decoded or computed points never are
	}
	return q
}

func pointToExt(p *extPoint, q *edwards25519.Point) {
	x, y, z, t := q.ExtendedCoordinates()
	p.X, p.Y, p.Z, p.T = *x, *y, *z, *t
}

// evalScratch is the per-call state of a one-element evaluation, pooled:
// the tables are 10 KiB.
type evalScratch struct {
	tabs    combTables
	c, e    [1]extPoint // one-element queries: C and Eval/2
	pts     [4]extPoint // M/2, Z/2, t2/2, t3/2
	enc     [4][32]byte
	scratch [7 * 4]fe
	h       hash.Hash
	msg     []byte
	lanes   *laneMul // the 8-way path's (oprf_eval_ifma_amd64.go), made on first use
}

// laneMul returns sc's working memory of the 8-way path.
func (sc *evalScratch) laneMul() *laneMul {
	if sc.lanes == nil {
		sc.lanes = new(laneMul)
	}
	return sc.lanes
}

var evalPool = sync.Pool{New: func() any {
	return &evalScratch{h: sha512.New(), msg: make([]byte, 0, 256)}
}}

// hashToScalarFast sets d to RFC 9497's HashToScalar(msg) under h2sDST:
// expand_message_xmd with SHA-512 to 64 bytes (RFC 9380 section 5.3.1,
// one block), read little-endian and reduced mod l, as circl's
// ristretto255 group does.
func hashToScalarFast(d *edwards25519.Scalar, h hash.Hash, msg []byte) {
	var zeros [sha512.BlockSize]byte
	var b0, b1 [sha512.Size]byte
	h.Reset()
	h.Write(zeros[:])
	h.Write(msg)
	h.Write([]byte{0, 64, 0})
	h.Write(h2sDST)
	h.Write([]byte{byte(len(h2sDST))})
	h.Sum(b0[:0])
	h.Reset()
	h.Write(b0[:])
	h.Write([]byte{1})
	h.Write(h2sDST)
	h.Write([]byte{byte(len(h2sDST))})
	h.Sum(b1[:0])
	if _, err := d.SetUniformBytes(b1[:]); err != nil {
		panic(err) // 64 bytes
	}
}

// proofRandomness sets t to the proof's randomness: r if not nil (a
// canonical 32-byte scalar; test vectors), else a uniformly random
// non-zero scalar from crypto/rand.
func proofRandomness(t *edwards25519.Scalar, r []byte) error {
	if r != nil {
		if len(r) != ScalarSize {
			return errors.New("checker: proof randomness is not a reduced 32-byte scalar")
		}
		if _, err := t.SetCanonicalBytes(r); err != nil {
			return errors.New("checker: proof randomness is not a reduced 32-byte scalar")
		}
		return nil
	}
	var zero edwards25519.Scalar
	var b [64]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("checker: proof randomness: %w", err)
		}
		t.SetUniformBytes(b[:])
		if t.Equal(&zero) == 0 {
			return nil
		}
	}
}

// evalLanes says whether one-element evaluations with proof take the
// 8-way path (oprf_eval_ifma_amd64.go); tests clear it to run the
// one-lane path on this machine.
var evalLanes = useIFMA

// evaluateFast is [OPRFKey.evaluate] on the fast path; see the file
// comment.
func (k *OPRFKey) evaluateFast(blinded []byte, r []byte, withProof bool) (evaluated, proof []byte, err error) {
	return k.evaluateFastOn(blinded, r, withProof, evalLanes)
}

// evaluateFastOn is evaluateFast, one-element queries with proof on the
// 8-way path if lanes (and the CPU has it), else on the one-lane path.
func (k *OPRFKey) evaluateFastOn(blinded []byte, r []byte, withProof, lanes bool) (evaluated, proof []byte, err error) {
	if len(blinded) == 0 || len(blinded)%ElementSize != 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes is not a positive multiple of %d", ErrBadElement, len(blinded), ElementSize)
	}
	n := len(blinded) / ElementSize
	ek := k.ev
	sc := evalPool.Get().(*evalScratch)
	defer evalPool.Put(sc)

	// Decode every element, then Eval_i = k·C_i, computed as (k/2)·C_i
	// and encoded doubled, the encodings sharing one inversion.
	var in, half []extPoint
	var enc [][32]byte
	var feScratch []fe
	if n == 1 {
		in, half, enc, feScratch = sc.c[:], sc.e[:], sc.enc[:1], sc.scratch[:7]
	} else {
		in, half = make([]extPoint, n), make([]extPoint, n)
		enc, feScratch = make([][32]byte, n), make([]fe, 7*n)
	}
	for i := range in {
		if !decodeElement(&in[i], blinded[i*ElementSize:(i+1)*ElementSize]) {
			return nil, nil, fmt.Errorf("%w: element %d", ErrBadElement, i)
		}
	}
	var t edwards25519.Scalar
	if withProof {
		if err := proofRandomness(&t, r); err != nil {
			return nil, nil, err
		}
	}
	if n == 1 && withProof {
		if lanes && useIFMA {
			return k.evaluateOneLanes(blinded, &in[0], &t, sc)
		}
		return k.evaluateOne(blinded, &in[0], &t, sc)
	}
	if lanes && useIFMA {
		sc.laneMul().evalHalves(ek, half, in)
	} else {
		for i := range in {
			ek.half.mult(&half[i], &in[i])
		}
	}
	evaluated = make([]byte, n*ElementSize)
	encodeDoubled(enc, half, feScratch)
	for i := range enc {
		copy(evaluated[i*ElementSize:], enc[i][:])
	}
	if !withProof {
		return evaluated, nil, nil
	}

	// Composites (ComputeCompositesFast): d_i from a seed over the public
	// key, M = sum d_i·C_i, Z = k·M. Everything here is halved: pts holds
	// M/2, Z/2, t2/2, t3/2.
	ds := make([]edwards25519.Scalar, n) // d_i/2, public
	sc.composites(k, ds, blinded, evaluated)
	pts := &sc.pts
	// M/2 = sum (d_i/2)·C_i, public: variable-time multi-scalar.
	scalars := make([]*edwards25519.Scalar, n)
	points := make([]*edwards25519.Point, n)
	for i := range n {
		scalars[i], points[i] = &ds[i], extToPoint(&in[i])
	}
	pointToExt(&pts[0], new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points))
	if lanes && useIFMA {
		// Z/2, t3/2 and t2/2 as three lanes of one pass.
		sc.laneMul().proofPoints(ek, pts, &t)
		return evaluated, sc.challenge(k, &t), nil
	}
	// Z/2 = k·(M/2) and t3/2 = t·(M/2), one table of M/2.
	sc.tabs.build(&pts[0], 4)
	sc.tabs.mulCT(&pts[1], &ek.kDigits)
	digits := radix16(&t)
	sc.tabs.mulCT(&pts[3], &digits)
	clear(digits[:])
	var th edwards25519.Scalar
	th.Multiply(&t, scalarHalf)
	// t2/2 = (t/2)·G, fixed base, constant time.
	pointToExt(&pts[2], new(edwards25519.Point).ScalarBaseMult(&th))
	return evaluated, sc.challenge(k, &t), nil
}

// composites sets ds[i] to d_i/2, the halved composite weights of RFC
// 9497's ComputeCompositesFast: d_i hashes a seed over the public key, i,
// C_i and Eval_i.
func (sc *evalScratch) composites(k *OPRFKey, ds []edwards25519.Scalar, blinded, evaluated []byte) {
	seed := k.ev.seed.Load()
	if seed == nil {
		// Once per key (a race computes it twice, the same).
		msg := appendLenPrefixed(sc.msg[:0], k.pub.raw[:])
		msg = appendLenPrefixed(msg, seedDST)
		sc.h.Reset()
		sc.h.Write(msg)
		seed = new([sha512.Size]byte)
		sc.h.Sum(seed[:0])
		k.ev.seed.Store(seed)
	}
	msg := sc.msg[:0]
	for i := range ds {
		msg = appendLenPrefixed(msg[:0], seed[:])
		msg = binary.BigEndian.AppendUint16(msg, uint16(i))
		msg = appendLenPrefixed(msg, blinded[i*ElementSize:(i+1)*ElementSize])
		msg = appendLenPrefixed(msg, evaluated[i*ElementSize:(i+1)*ElementSize])
		msg = append(msg, labelComposite...)
		hashToScalarFast(&ds[i], sc.h, msg)
		ds[i].Multiply(&ds[i], scalarHalf)
	}
	sc.msg = msg
}

// challenge encodes sc.pts (M/2, Z/2, t2/2, t3/2) doubled, hashes the
// challenge c over the public key and them, and returns the proof c || s
// with s = t - c·k.
func (sc *evalScratch) challenge(k *OPRFKey, t *edwards25519.Scalar) []byte {
	encodeDoubled(sc.enc[:], sc.pts[:], sc.scratch[:])
	msg := appendLenPrefixed(sc.msg[:0], k.pub.raw[:])
	for i := range sc.enc {
		msg = appendLenPrefixed(msg, sc.enc[i][:])
	}
	msg = append(msg, labelChallenge...)
	var c, s edwards25519.Scalar
	hashToScalarFast(&c, sc.h, msg)
	sc.msg = msg
	s.Multiply(&c, &k.ev.k)
	s.Subtract(t, &s)
	proof := make([]byte, 0, ProofSize)
	proof = append(proof, c.Bytes()...)
	return append(proof, s.Bytes()...)
}

// evaluateOne is the proof path of a one-element query; see the file
// comment. c is the decoded element, t the proof randomness.
func (k *OPRFKey) evaluateOne(blinded []byte, c *extPoint, t *edwards25519.Scalar, sc *evalScratch) (evaluated, proof []byte, err error) {
	ek := k.ev
	// Eval/2 = (k/2)·C, encoded doubled.
	sc.tabs.build(c, 8)
	sc.tabs.mulCT(&sc.e[0], &ek.half.digits)
	encodeDoubled(sc.enc[:1], sc.e[:], sc.scratch[:7])
	evaluated = make([]byte, ElementSize)
	copy(evaluated, sc.enc[0][:])

	// d/2; then every product of C: M/2 = (d/2)·C (public scalar:
	// variable time), Z/2 = (k·d/2)·C and t3/2 = (t·d/2)·C (constant
	// time), and t2/2 = (t/2)·G (fixed base, constant time).
	var ds [1]edwards25519.Scalar
	sc.composites(k, ds[:], blinded, evaluated)
	dd := radix16(&ds[0])
	sc.tabs.mulVT(&sc.pts[0], &dd)
	var s edwards25519.Scalar
	s.Multiply(&ek.k, &ds[0])
	dd = radix16(&s)
	sc.tabs.mulCT(&sc.pts[1], &dd)
	s.Multiply(t, &ds[0])
	dd = radix16(&s)
	sc.tabs.mulCT(&sc.pts[3], &dd)
	s.Multiply(t, scalarHalf)
	pointToExt(&sc.pts[2], new(edwards25519.Point).ScalarBaseMult(&s))
	proof = sc.challenge(k, t)
	clear(dd[:]) // the secrets' traces
	s = edwards25519.Scalar{}
	return evaluated, proof, nil
}
