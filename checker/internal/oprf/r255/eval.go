package r255

// The arithmetic of the server's evaluation with its batched DLEQ proof
// (RFC 9497 section 2.2.1, GenerateProof with ComputeCompositesFast). The
// caller hashes; this side multiplies and encodes, in two phases per
// query: Eval = k·C ([EvalScratch.EvalOne], [EvalScratch.EvalBatch]), and,
// once the composite weights d_i are known from Eval's encoding, the four
// points of the proof M, Z, t2, t3 ([EvalScratch.ProveOne],
// [EvalScratch.ProveBatch]).
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
// On CPUs with AVX-512 IFMA, a one-element query takes the lane path
// instead (ifma_narrow_amd64.go): the same products as lanes of the seal
// path's kernel, each lane with its own base and digits, on 4 lanes in
// YMM registers. The comb's bases 2^(64m)·C come from doubling C alone,
// its four coordinates in the four lanes (the parallel form), and Eval/2
// = (k/2)·C is a comb over them; once d is known, one pass of 16 windows
// with four tables a lane computes M/2, Z/2, t3/2 and t2/2, one a lane.
// Batches compute their Eval_i 8 at a time, M as a sum on the lanes
// ([laneMSM]), and Z, t3 and t2 as three lanes of one pass.
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
// for the previous go-ristretto path and ~310 us for circl's prover. The
// lane path replaces the tables and the five products by its two
// passes, ~24 us and ~13 us (BenchmarkEvalLaneParts, 2026-12-06): its
// multiplications and encodings take ~50 us against ~134 us for the
// one-lane path's (2.7x), where the 8-lane (ZMM) passes it replaced took
// ~75 us. Pass 1 is bound by the number of vector instructions it
// issues: what remains there is the arithmetic itself. Splitting the
// products of a one-element query across two goroutines when the server
// was idle was tried: on this machine the helper goroutine got a core in
// time for ~10% of queries and the query rate fell, so evaluation stays
// on one goroutine.

import "filippo.io/edwards25519"

// Key is what the evaluation needs of a secret key k, computed once.
type Key struct {
	k       Scalar
	kDigits [64]int8     // the signed radix-16 digits of k
	half    *HalfKey     // the signed radix-16 digits of k/2
	halves  [64 * 8]int8 // the digits of k/2 in every lane, [window][lane]
}

// NewKey recodes the canonical 32-byte little-endian scalar raw.
func NewKey(raw []byte) (*Key, error) {
	ek := &Key{half: NewHalfKey(raw)}
	if _, err := ek.k.SetCanonicalBytes(raw); err != nil {
		return nil, err
	}
	ek.kDigits = radix16(&ek.k)
	for i, d := range ek.half.digits {
		for l := range 8 {
			ek.halves[i*8+l] = d
		}
	}
	return ek, nil
}

// Bytes returns the 32-byte little-endian encoding of k.
func (ek *Key) Bytes() []byte { return ek.k.Bytes() }

// Half returns the recoding of k/2 that [SealBatch] takes.
func (ek *Key) Half() *HalfKey { return ek.half }

// ProofResponse sets s = t - c·k, in constant time.
func (ek *Key) ProofResponse(s, c, t *Scalar) {
	s.Multiply(c, &ek.k)
	s.Subtract(t, s)
}

// Lanes reports whether this CPU has the 8-way path.
func Lanes() bool { return useIFMA }

// EvalScratch is the working memory of one evaluation: pool it (the
// tables are 10 KiB, 50 KiB with the 8-way path's). An evaluation is
// [EvalScratch.Decode], then [EvalScratch.EvalOne] and
// [EvalScratch.ProveOne] for one element with a proof, or
// [EvalScratch.EvalBatch] and [EvalScratch.ProveBatch] otherwise, then
// [EvalScratch.Release].
type EvalScratch struct {
	tabs    combTables
	c, e    [1]extPoint // one-element queries: C and Eval/2
	pts     [4]extPoint // M/2, Z/2, t2/2, t3/2
	enc     [4][32]byte
	scratch [7 * 4]fe
	lanes   *evalLanes // the 8-way path's, made on first use
	narrow  *narrowMul // the 4-lane path's, made on first use
	path    evalPath   // the path EvalOne took

	in, half []extPoint // the decoded elements and Eval_i/2
	encs     [][32]byte
	fes      []fe
}

// Decode decodes the concatenated 32-byte encodings in blinded (a
// positive multiple of 32 bytes) with RFC 9496's Decode. It returns -1 if
// every one is the canonical encoding of an element other than the
// identity, else the index of the first that is not. Variable time: the
// elements are public.
func (sc *EvalScratch) Decode(blinded []byte) int { return sc.DecodeHinted(blinded, nil) }

// DecodeHinted is [EvalScratch.Decode] with hints: if hints is not nil,
// hints[32i:32(i+1)] is element i's [DecodeHint], which spares its
// decoding the exponentiation when it checks, and is ignored when it does
// not. The result is Decode's, whatever the hints.
func (sc *EvalScratch) DecodeHinted(blinded, hints []byte) int {
	n := len(blinded) / 32
	if n == 1 {
		sc.in, sc.half, sc.encs, sc.fes = sc.c[:], sc.e[:], sc.enc[:1], sc.scratch[:7]
	} else {
		sc.in, sc.half = make([]extPoint, n), make([]extPoint, n)
		sc.encs, sc.fes = make([][32]byte, n), make([]fe, 7*n)
	}
	for i := range sc.in {
		var hint []byte
		if len(hints) == len(blinded) {
			hint = hints[i*32 : (i+1)*32]
		}
		if !decodeElementHint(&sc.in[i], blinded[i*32:(i+1)*32], hint) {
			return i
		}
	}
	return -1
}

// Release drops the references to the last evaluation's memory.
func (sc *EvalScratch) Release() { sc.in, sc.half, sc.encs, sc.fes = nil, nil, nil, nil }

// EvalBatch writes to evaluated the encodings of Eval_i = k·C_i for the
// decoded elements C_i, computed as (k/2)·C_i and encoded doubled, the
// encodings sharing one inversion; on the 8-way path if lanes and the CPU
// has it.
func (sc *EvalScratch) EvalBatch(ek *Key, lanes bool, evaluated []byte) {
	sc.evalHalves(ek, lanes)
	encodeDoubled(sc.encs, sc.half, sc.fes)
	for i := range sc.encs {
		copy(evaluated[i*32:], sc.encs[i][:])
	}
}

func (sc *EvalScratch) evalHalvesGeneric(ek *Key) {
	for i := range sc.in {
		ek.half.mult(&sc.half[i], &sc.in[i])
	}
}

// ProveBatch returns the encodings of the proof's M, Z, t2 and t3 for the
// decoded elements C_i, the halved composite weights ds[i] = d_i/2
// (public) and the proof randomness t (secret): M = sum d_i·C_i, Z = k·M,
// t2 = t·G and t3 = t·M. Valid until the next call.
func (sc *EvalScratch) ProveBatch(ek *Key, ds []Scalar, t *Scalar, lanes bool) *[4][32]byte {
	pts := &sc.pts
	// M/2 = sum (d_i/2)·C_i, public: a sum on the lane kernel where the
	// CPU has it ([laneMSM]), else a variable-time multi-scalar
	// multiplication.
	n := len(sc.in)
	if !lanes || !useIFMA || !laneMSM(pts[:1], [][]extPoint{sc.in}, digitsOf(ds)) {
		scalars := make([]*Scalar, n)
		points := make([]*edwards25519.Point, n)
		for i := range n {
			scalars[i], points[i] = &ds[i], extToPoint(&sc.in[i])
		}
		pointToExt(&pts[0], new(edwards25519.Point).VarTimeMultiScalarMult(scalars, points))
	}
	sc.proofPoints(ek, t, lanes)
	encodeDoubled(sc.enc[:], sc.pts[:], sc.scratch[:])
	return &sc.enc
}

// proofPointsGeneric sets Z/2 = k·(M/2) and t3/2 = t·(M/2) with one
// table of M/2, and t2/2 = (t/2)·G.
func (sc *EvalScratch) proofPointsGeneric(ek *Key, t *Scalar) {
	pts := &sc.pts
	sc.tabs.build(&pts[0], 4)
	sc.tabs.mulCT(&pts[1], &ek.kDigits)
	digits := radix16(t)
	sc.tabs.mulCT(&pts[3], &digits)
	clear(digits[:])
	var th Scalar
	th.Multiply(t, scalarHalf)
	// t2/2 = (t/2)·G, fixed base, constant time.
	pointToExt(&pts[2], new(edwards25519.Point).ScalarBaseMult(&th))
}

// evalPath is the path a one-element evaluation takes.
type evalPath uint8

const (
	pathOneLane evalPath = iota // the generic code
	pathNarrow                  // 4 lanes (YMM)
)

// EvalOne returns the encoding of Eval = k·C for the one decoded element
// C, on the lane path if lanes and the CPU has it. Valid until the next
// call.
func (sc *EvalScratch) EvalOne(ek *Key, lanes bool) *[32]byte {
	sc.evalOne(ek, lanes)
	encodeDoubled(sc.enc[:1], sc.e[:], sc.scratch[:7])
	return &sc.enc[0]
}

// evalOneGeneric sets Eval/2 = (k/2)·C from C's comb tables in 8 chunks,
// which [EvalScratch.proveOneGeneric] reuses.
func (sc *EvalScratch) evalOneGeneric(ek *Key) {
	sc.path = pathOneLane
	sc.tabs.build(&sc.c[0], 8)
	sc.tabs.mulCT(&sc.e[0], &ek.half.digits)
}

// ProveOne returns, after [EvalScratch.EvalOne], the encodings of M, Z,
// t2 and t3 for the halved composite weight dh = d/2 and the proof
// randomness t. t2enc, if not nil, is the encoding of t2 = t·G computed
// ahead ([BaseEncodings]), which ProveOne then neither computes nor
// encodes. Valid until the next call.
func (sc *EvalScratch) ProveOne(ek *Key, dh, t *Scalar, t2enc *[32]byte) *[4][32]byte {
	sc.proveOne(ek, dh, t, t2enc == nil)
	if t2enc == nil {
		encodeDoubled(sc.enc[:], sc.pts[:], sc.scratch[:])
		return &sc.enc
	}
	// M, Z and t3 in one batch; t2 as given.
	sc.pts[2] = sc.pts[3]
	encodeDoubled(sc.enc[:3], sc.pts[:3], sc.scratch[:21])
	sc.enc[3] = sc.enc[2]
	sc.enc[2] = *t2enc
	return &sc.enc
}

// BaseEncodings sets out[i] to the encoding of ts[i]·G, the proof's t2
// for the randomness ts[i], computed ahead of the query it will serve:
// (t/2)·G with edwards25519's fixed-base multiplication, encoded doubled,
// the encodings sharing one inversion. Constant time in the ts.
func BaseEncodings(out [][32]byte, ts []Scalar) {
	ps := make([]extPoint, len(ts))
	var th Scalar
	var q edwards25519.Point
	for i := range ts {
		th.Multiply(&ts[i], scalarHalf)
		pointToExt(&ps[i], q.ScalarBaseMult(&th))
	}
	th = Scalar{}
	encodeDoubled(out, ps, make([]fe, 7*len(ps)))
	clear(ps)
}

// proveOneGeneric computes every product of C: M/2 = (d/2)·C (public
// scalar: variable time), Z/2 = (k·d/2)·C and t3/2 = (t·d/2)·C (constant
// time), and, if withT2, t2/2 = (t/2)·G (fixed base, constant time).
func (sc *EvalScratch) proveOneGeneric(ek *Key, dh, t *Scalar, withT2 bool) {
	dd := radix16(dh)
	sc.tabs.mulVT(&sc.pts[0], &dd)
	var s Scalar
	s.Multiply(&ek.k, dh)
	dd = radix16(&s)
	sc.tabs.mulCT(&sc.pts[1], &dd)
	s.Multiply(t, dh)
	dd = radix16(&s)
	sc.tabs.mulCT(&sc.pts[3], &dd)
	if withT2 {
		s.Multiply(t, scalarHalf)
		pointToExt(&sc.pts[2], new(edwards25519.Point).ScalarBaseMult(&s))
	}
	clear(dd[:]) // the secrets' traces
	s = Scalar{}
}
