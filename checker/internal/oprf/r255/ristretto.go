package r255

// The ristretto255 map, encodings and decoding of RFC 9496.

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
	wasSquare := sqrtRatio(&s, &u, &v)
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
	sqrtRatio(&invsqrt, feOne, &tmp)
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

// decodeStart is the start of RFC 9496's Decode of b: it checks that b
// is a canonical, non-negative encoding s and sets u1 = 1 - s², u2 = 1 +
// s², v = -d·u1² - u2² and tmp = v·u2², whose inverse square root the
// decoding needs. It reports false if b is not canonical.
func decodeStart(s, ss, u1, u2, u2sq, v, tmp *fe, b []byte) bool {
	if _, err := s.SetBytes(b); err != nil {
		return false
	}
	// Canonical: s < p and the top bit clear (SetBytes reduces and drops
	// it), and s non-negative (even).
	if string(s.Bytes()) != string(b) || s.IsNegative() == 1 {
		return false
	}
	ss.Square(s)
	u1.Subtract(feOne, ss)
	u2.Add(feOne, ss)
	u2sq.Square(u2)
	v.Square(u1)
	v.Multiply(v, feD)
	v.Negate(v)
	v.Subtract(v, u2sq)
	tmp.Multiply(v, u2sq)
	return true
}

// checkHint sets invsqrt to the hint and reports whether it is a square
// root of 1/tmp: invsqrt²·tmp = 1, which also says that 1/tmp is a
// square (SqrtRatio's wasSquare). SqrtRatio returns the non-negative
// root; the decoding reads the root only through |2s·invsqrt·u2| and
// invsqrt², so the other root, its negation, gives the same point.
func checkHint(invsqrt, tmp *fe, hint []byte) bool {
	if len(hint) != 32 {
		return false
	}
	if _, err := invsqrt.SetBytes(hint); err != nil {
		return false
	}
	var c fe
	c.Square(invsqrt)
	c.Multiply(&c, tmp)
	return c.Equal(feOne) == 1
}

// DecodeHint returns the hint that lets a server decode the canonical
// encoding b without an exponentiation (the inverse square root of RFC
// 9496's Decode), and false if b is not the encoding of an element. The
// hint says nothing b does not: anyone can compute it from b.
func DecodeHint(b []byte) (hint [32]byte, ok bool) {
	var s, ss, u1, u2, u2sq, v, tmp, invsqrt fe
	if !decodeStart(&s, &ss, &u1, &u2, &u2sq, &v, &tmp, b) {
		return hint, false
	}
	wasSquare := sqrtRatio(&invsqrt, feOne, &tmp)
	copy(hint[:], invsqrt.Bytes())
	var p extPoint
	return hint, decodeFinish(&p, &s, &u1, &u2, &v, &invsqrt, wasSquare)
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
	invert(&inv, &acc[n-1])
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

// decodeElement sets p to RFC 9496's Decode (section 4.3.1) of b and
// reports whether b is the canonical encoding of a ristretto255 element
// other than the identity: what circl's UnmarshalBinary followed by
// IsIdentity accepts. Variable time: b is public.
func decodeElement(p *extPoint, b []byte) bool { return decodeElementHint(p, b, nil) }

// decodeElementHint is decodeElement with hint, the 32-byte encoding of
// the inverse square root the decoding needs ([DecodeHint]), if not nil:
// checked with a squaring and a multiplication, it replaces the
// exponentiation; a hint that does not check is ignored. The result is
// decodeElement's, whatever the hint.
func decodeElementHint(p *extPoint, b, hint []byte) bool {
	var s, ss, u1, u2, u2sq, v, tmp, invsqrt fe
	if !decodeStart(&s, &ss, &u1, &u2, &u2sq, &v, &tmp, b) {
		return false
	}
	wasSquare := 1
	if hint == nil || !checkHint(&invsqrt, &tmp, hint) {
		wasSquare = sqrtRatio(&invsqrt, feOne, &tmp)
	}
	return decodeFinish(p, &s, &u1, &u2, &v, &invsqrt, wasSquare)
}

// decodeFinish is the end of RFC 9496's Decode, after [decodeStart] and
// the inverse square root (wasSquare: whether 1/tmp was a square).
func decodeFinish(p *extPoint, s, u1, u2, v, invsqrt *fe, wasSquare int) bool {
	var denX, denY fe
	denX.Multiply(invsqrt, u2)
	denY.Multiply(invsqrt, &denX)
	denY.Multiply(&denY, v)
	p.X.Add(s, s)
	p.X.Multiply(&p.X, &denX)
	p.X.Absolute(&p.X)
	p.Y.Multiply(u1, &denY)
	p.Z.One()
	p.T.Multiply(&p.X, &p.Y)
	if wasSquare != 1 || p.T.IsNegative() == 1 || p.Y.Equal(&feZero) == 1 {
		return false
	}
	// The identity's only canonical encoding is s = 0, which decodes to
	// (0, 1): refuse x = 0.
	return p.X.Equal(&feZero) != 1
}
