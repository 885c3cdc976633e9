package r255

// The client's arithmetic (RFC 9497's Blind, the verification of the
// batched DLEQ proof, and Finalize's unblinding), with the same fields,
// points and encodings as the server's. Constant time in the blinds r and
// their inverses ([HalfKey.mult], [encodeDoubled]); the verification is
// variable time: every one of its inputs is public (the client's blinded
// elements, the server's evaluations, its proof and its public key).

import "filippo.io/edwards25519"

// Element is a decoded ristretto255 element, other than the identity.
type Element struct{ p extPoint }

// SetCanonicalBytes sets e to the element b encodes and reports whether b
// is the canonical encoding of one other than the identity (what circl's
// UnmarshalBinary then IsIdentity accept). Variable time: b is public.
func (e *Element) SetCanonicalBytes(b []byte) bool {
	return len(b) == 32 && decodeElement(&e.p, b)
}

// hashLanesMin is the fewest inputs [Blind] maps 8 at a time on the lane
// kernel: fewer are mapped one at a time.
const hashLanesMin = 2

// Blind sets cs[i] to r_i·MAP(u_i), the blinded element of the input
// whose hash_to_field output is u_i (RFC 9496's one-way map of 64 uniform
// bytes), and out[i] to its encoding, the encodings sharing one
// inversion; on the 8-way path if lanes and the CPU has it. Constant
// time in the r_i, which must not be zero.
func Blind(cs []Element, out [][32]byte, us [][64]byte, rs []Scalar, lanes bool) {
	ps := make([]extPoint, len(us))
	if !lanes || len(us) < hashLanesMin || !hashToGroupLanes(ps, us) {
		for i := range us {
			hashToGroup(&ps[i], &us[i])
		}
	}
	halves := halfDigits(rs)
	mulHalves(ps, ps, halves, lanes) // (r_i/2)·P_i
	clear(halves)
	encodeDoubled(out, ps, make([]fe, 7*len(ps)))
	for i := range ps {
		addExt(&cs[i].p, &ps[i], &ps[i])
	}
	clear(ps)
}

// Unblind sets out[i] to the encoding of rinv[i]·ds[i], the unblinded
// elements, the encodings sharing one inversion; on the 8-way path if
// lanes and the CPU has it. Constant time in the rinv.
func Unblind(out [][32]byte, ds []Element, rinv []Scalar, lanes bool) {
	ps := make([]extPoint, len(ds))
	for i := range ds {
		ps[i] = ds[i].p
	}
	halves := halfDigits(rinv)
	mulHalves(ps, ps, halves, lanes)
	clear(halves)
	encodeDoubled(out, ps, make([]fe, 7*len(ps)))
	clear(ps)
}

// digitsOf returns the signed radix-16 digits of every s_i.
func digitsOf(ss []Scalar) [][64]int8 {
	out := make([][64]int8, len(ss))
	for i := range ss {
		out[i] = radix16(&ss[i])
	}
	return out
}

// halfDigits returns the signed radix-16 digits of s_i/2 for every s_i,
// in constant time.
func halfDigits(ss []Scalar) [][64]int8 {
	out := make([][64]int8, len(ss))
	var h Scalar
	for i := range ss {
		h.Multiply(&ss[i], scalarHalf)
		out[i] = radix16(&h)
	}
	h = Scalar{}
	return out
}

// mulHalvesGeneric is mulHalves one element at a time.
func mulHalvesGeneric(out, ps []extPoint, digits [][64]int8) {
	for i := range ps {
		hk := HalfKey{digits: digits[i]}
		hk.mult(&out[i], &ps[i])
		clear(hk.digits[:])
	}
}

// ProofPoints returns the encodings of the points a verifier of RFC
// 9497's batched DLEQ proof hashes (section 2.2.2): M = sum w_i·C_i,
// Z = sum w_i·D_i, t2 = s·G + c·K and t3 = s·M + c·Z, for the blinded
// elements cs, the evaluated ones ds, the composite weights ws, the
// public key K and the proof (c, s). M and Z are sums on the lane kernel
// if lanes and the CPU has it ([laneMSM]), else edwards25519's
// variable-time multi-scalar multiplications. All of it is public.
func ProofPoints(cs, ds []Element, ws []Scalar, k *Element, c, s *Scalar, lanes bool) *[4][32]byte {
	n := len(cs)
	// Every point is computed halved and encoded doubled: the four
	// encodings share one inversion.
	var pts [4]extPoint
	var m, z *edwards25519.Point
	if lanes {
		cps, dps := make([]extPoint, n), make([]extPoint, n)
		for i := range n {
			cps[i], dps[i] = cs[i].p, ds[i].p
		}
		if laneMSM(pts[:2], [][]extPoint{cps, dps}, halfDigits(ws)) {
			m, z = extToPoint(&pts[0]), extToPoint(&pts[1]) // M/2, Z/2
		}
	}
	if m == nil {
		var hw = make([]Scalar, n)
		scalars := make([]*Scalar, n)
		cps, dps := make([]*edwards25519.Point, n), make([]*edwards25519.Point, n)
		for i := range n {
			Halve(&hw[i], &ws[i])
			scalars[i] = &hw[i]
			cps[i], dps[i] = extToPoint(&cs[i].p), extToPoint(&ds[i].p)
		}
		m = new(edwards25519.Point).VarTimeMultiScalarMult(scalars, cps) // M/2
		z = new(edwards25519.Point).VarTimeMultiScalarMult(scalars, dps) // Z/2
		pointToExt(&pts[0], m)
		pointToExt(&pts[1], z)
	}
	var ch, sh Scalar
	Halve(&ch, c)
	Halve(&sh, s)
	pointToExt(&pts[2], new(edwards25519.Point).VarTimeDoubleScalarBaseMult(&ch, extToPoint(&k.p), &sh))
	pointToExt(&pts[3], new(edwards25519.Point).VarTimeMultiScalarMult([]*Scalar{s, c}, []*edwards25519.Point{m, z}))
	var enc [4][32]byte
	var scratch [28]fe
	encodeDoubled(enc[:], pts[:], scratch[:])
	return &enc
}

// FinalizeOne is, for a one-element request, [ProofPoints] and [Unblind]
// in one: the encodings of M, Z, t2 and t3 for the blinded element c,
// the evaluated d, the weight w, the public key k and the proof (ch, s),
// and of rinv·d. On the 8-way path (if lanes and the CPU has it) its
// seven products are the lanes of one pass: w·C, w·D, s·G, ch·K,
// (s·w)·C and (ch·w)·D (t3 = s·M + ch·Z), and rinv·D; and the five
// encodings share one inversion. Constant time in rinv (its lane is
// computed as every other); the rest is public.
func FinalizeOne(c, d, k *Element, w, ch, s, rinv *Scalar, lanes bool) (*[4][32]byte, [32]byte) {
	if !lanes || !useIFMA {
		pts := ProofPoints([]Element{*c}, []Element{*d}, []Scalar{*w}, k, ch, s, false)
		var u [1][32]byte
		Unblind(u[:], []Element{*d}, []Scalar{*rinv}, false)
		return pts, u[0]
	}
	var g extPoint
	pointToExt(&g, edwards25519.NewGeneratorPoint())
	var sw, cw Scalar
	sw.Multiply(s, w)
	cw.Multiply(ch, w)
	ps := []extPoint{c.p, d.p, g, k.p, c.p, d.p, d.p}
	halves := halfDigits([]Scalar{*w, *w, *s, *ch, sw, cw, *rinv})
	mulHalves(ps, ps, halves, true)
	clear(halves)
	var out [5]extPoint
	out[0], out[1], out[4] = ps[0], ps[1], ps[6]
	addExt(&out[2], &ps[2], &ps[3]) // t2/2
	addExt(&out[3], &ps[4], &ps[5]) // t3/2
	var enc [5][32]byte
	var scratch [35]fe
	encodeDoubled(enc[:], out[:], scratch[:])
	clear(ps[6:])
	out[4] = extPoint{}
	var pts [4][32]byte
	copy(pts[:], enc[:4])
	return &pts, enc[4]
}
