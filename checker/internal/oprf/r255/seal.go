package r255

// The seal path: k·MAP(u) for a batch of uniform strings u, encoded. What
// makes it fast, per element:
//   - field arithmetic: edwards25519's amd64 assembly multiplication and
//     squaring;
//   - the key's signed radix-16 recoding is computed once per key, not once
//     per multiplication ([HalfKey]);
//   - the final encodings of a batch share one field inversion: the
//     multiplication uses k/2 mod l, and the batch encodes 2·(k/2)·P = k·P
//     ([encodeDoubled]);
//   - on CPUs with AVX-512 IFMA, the map, the multiplication and the
//     encodings run 8 elements at a time (the 8-way path).
//
// The multiplication stays constant-time in the key: a fixed sequence of
// 4 doublings and 1 addition per digit, with constant-time table lookups,
// like circl's and edwards25519's ScalarMult.

// BatchSize is the number of elements whose encodings share an inversion.
const BatchSize = 64

// HalfKey is what the seal path needs of a key: the signed radix-16
// digits of k/2 mod l, computed once.
type HalfKey struct {
	digits [64]int8
}

// NewHalfKey recodes the 32-byte little-endian scalar k.
func NewHalfKey(k []byte) *HalfKey {
	// k/2 mod l in constant time: k (little-endian, zero-extended to 64
	// bytes) reduced mod l, times 1/2.
	var wide [64]byte
	copy(wide[:], k)
	var h Scalar
	if _, err := h.SetUniformBytes(wide[:]); err != nil {
		panic(err) // 64 bytes: cannot fail
	}
	h.Multiply(&h, scalarHalf)
	clear(wide[:])
	return &HalfKey{digits: radix16(&h)}
}

// mult sets v = (k/2)·q in constant time with respect to the key.
func (fk *HalfKey) mult(v, q *extPoint) {
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

// SealBatch computes the encodings of k·MAP(u_i) for a batch of up to
// [BatchSize] 64-byte strings u_i (RFC 9496's one-way map of the output
// of hash_to_field): [SealBatch.SetInput] each, then [SealBatch.Encode].
// One per goroutine; nothing is allocated per batch.
type SealBatch struct {
	key     *HalfKey
	pts     [BatchSize]extPoint
	enc     [BatchSize][32]byte
	scratch [7 * BatchSize]fe
	lanes   *sealLanes // the 8-way path's working memory; nil: one at a time
}

// NewSealBatch returns a batch for the key k. lanes asks for the 8-way
// path, which it takes where the CPU has it; false (only tests and
// benchmarks want it) multiplies one element at a time.
func NewSealBatch(k *HalfKey, lanes bool) *SealBatch {
	b := &SealBatch{key: k}
	if lanes && useIFMA {
		b.lanes = new(sealLanes)
	}
	return b
}

// Lanes reports whether b takes the 8-way path.
func (b *SealBatch) Lanes() bool { return b.lanes != nil }

// SetInput sets element i of the batch to u. On the one-element path it
// computes (k/2)·MAP(u) at once; on the 8-way path, [SealBatch.Encode]
// does.
func (b *SealBatch) SetInput(i int, u *[64]byte) { b.setInput(i, u) }

// Encode returns the encodings of k·MAP(u_i), i < n, valid until the next
// call.
func (b *SealBatch) Encode(n int) [][32]byte {
	b.mult(n)
	b.encode(n)
	return b.enc[:n]
}

// setInputGeneric is [SealBatch.SetInput] one element at a time.
func (b *SealBatch) setInputGeneric(i int, u *[64]byte) {
	var p extPoint
	hashToGroup(&p, u)
	b.key.mult(&b.pts[i], &p)
}
