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

// Blind sets c to r·MAP(u), the blinded element of the input whose
// hash_to_field output is u (RFC 9496's one-way map of 64 uniform bytes),
// and returns its encoding. Constant time in r, which must not be zero.
func Blind(c *Element, u *[64]byte, r *Scalar) [32]byte {
	var p, half extPoint
	hashToGroup(&p, u)
	hk := NewHalfKey(r.Bytes())
	hk.mult(&half, &p) // (r/2)·P
	*hk = HalfKey{}
	var out [1][32]byte
	var scratch [7]fe
	encodeDoubled(out[:], []extPoint{half}, scratch[:])
	addExt(&c.p, &half, &half)
	return out[0]
}

// Unblind sets out[i] to the encoding of rinv[i]·ds[i], the unblinded
// elements, the encodings sharing one inversion. Constant time in the
// rinv.
func Unblind(out [][32]byte, ds []Element, rinv []Scalar) {
	ps := make([]extPoint, len(ds))
	for i := range ds {
		hk := NewHalfKey(rinv[i].Bytes())
		hk.mult(&ps[i], &ds[i].p)
		*hk = HalfKey{}
	}
	encodeDoubled(out, ps, make([]fe, 7*len(ps)))
	clear(ps)
}

// ProofPoints returns the encodings of the points a verifier of RFC
// 9497's batched DLEQ proof hashes (section 2.2.2): M = sum w_i·C_i,
// Z = sum w_i·D_i, t2 = s·G + c·K and t3 = s·M + c·Z, for the blinded
// elements cs, the evaluated ones ds, the composite weights ws, the
// public key K and the proof (c, s). Variable time: all of it is public.
func ProofPoints(cs, ds []Element, ws []Scalar, k *Element, c, s *Scalar) *[4][32]byte {
	n := len(cs)
	// Every point is computed halved and encoded doubled: the four
	// encodings share one inversion.
	var hw = make([]Scalar, n)
	scalars := make([]*Scalar, n)
	cps, dps := make([]*edwards25519.Point, n), make([]*edwards25519.Point, n)
	for i := range n {
		Halve(&hw[i], &ws[i])
		scalars[i] = &hw[i]
		cps[i], dps[i] = extToPoint(&cs[i].p), extToPoint(&ds[i].p)
	}
	var pts [4]extPoint
	m := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, cps) // M/2
	z := new(edwards25519.Point).VarTimeMultiScalarMult(scalars, dps) // Z/2
	pointToExt(&pts[0], m)
	pointToExt(&pts[1], z)
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
