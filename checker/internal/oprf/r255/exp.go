package r255

// The field's two exponentiations, the inversion (p-2) and (p-5)/8 of
// the square root: field.Element's addition chains, on lane 0 of the
// narrow IFMA kernel where the CPU has it (invertLane, pow22523Lane). A
// chain of squarings is bound by the latency of one: 8.7 ns a squaring
// there against field.Element's 13.3 (BenchmarkExponentiations), and a
// one-element query runs two inversions, one per encoding, and one more
// (a square root) for every element decoded without a hint.

// invert sets z = 1/x (0 for 0), as field.Element.Invert.
func invert(z, x *fe) {
	if useIFMA {
		invertLane(z, x)
		return
	}
	z.Invert(x)
}

// sqrtRatio sets r to the non-negative square root of u/v and returns 1
// if u/v is a square, as field.Element.SqrtRatio (RFC 9496's
// SQRT_RATIO_M1), formula for formula, the exponentiation on the lane
// kernel where the CPU has it.
func sqrtRatio(r, u, v *fe) (wasSquare int) {
	var t0, v2, uv3, uv7, rr, check, uNeg, rPrime fe
	v2.Square(v)
	uv3.Multiply(u, t0.Multiply(&v2, v))
	uv7.Multiply(&uv3, t0.Square(&v2))
	if useIFMA {
		pow22523Lane(&t0, &uv7)
	} else {
		t0.Pow22523(&uv7)
	}
	rr.Multiply(&uv3, &t0) // (u·v³)·(u·v⁷)^((p-5)/8)
	check.Multiply(v, t0.Square(&rr))
	uNeg.Negate(u)
	correctSignSqrt := check.Equal(u)
	flippedSignSqrt := check.Equal(&uNeg)
	flippedSignSqrtI := check.Equal(t0.Multiply(&uNeg, feSqrtM1))
	rPrime.Multiply(&rr, feSqrtM1)
	rr.Select(&rPrime, &rr, flippedSignSqrt|flippedSignSqrtI)
	r.Absolute(&rr)
	return correctSignSqrt | flippedSignSqrt
}
