package oprf

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
)

// The server's evaluation with its batched DLEQ proof (RFC 9497 section
// 2.2.1, GenerateProof with ComputeCompositesFast): the hashing is here,
// the group arithmetic in package r255, which explains where the time
// goes. It computes exactly what circl's prover computes: the tests
// compare the bytes with circl's over random keys, elements, batch sizes
// and proof randomness, run the RFC 9497 vectors, compare the decoding's
// rejections with circl's, and fuzz both.
//
// Constant time. The key k, the proof randomness t and every scalar
// derived from them (k/2, k·d/2, t/2, t·d/2, s = t - c·k) are handled in
// constant time (package r255 says how). Variable time is used only where
// every input is public: decoding the client's elements, the composite
// weights d_i (a hash of the public key, the blinded and the evaluated
// elements, which the client recomputes) and M = sum d_i·C_i.

// Labels and DSTs of RFC 9497's proofs (section 2.2), as circl's dleq
// package writes them.
const (
	labelComposite = "Composite"
	labelChallenge = "Challenge"
)

var (
	seedDST = []byte("Seed-" + string(dleqParams.DST))
	h2sDST  = []byte("HashToScalar-" + string(dleqParams.DST))
)

func appendLenPrefixed(dst, b []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(b)))
	return append(dst, b...)
}

// evalScratch is the per-call state of an evaluation, pooled: r255's
// tables are 10 KiB (up to 65 KiB more with the lane paths').
type evalScratch struct {
	r   r255.EvalScratch
	h   hash.Hash
	msg []byte
}

var evalPool = sync.Pool{New: func() any {
	return &evalScratch{h: sha512.New(), msg: make([]byte, 0, 256)}
}}

// zeroBlockState is SHA-512's state after one block of zeros, Z_pad,
// which every b_0 of expand_message_xmd starts with: restoring it saves
// hashing the block again.
var zeroBlockState = func() []byte {
	h := sha512.New()
	h.Write(make([]byte, sha512.BlockSize))
	b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err)
	}
	return b
}()

// hashToScalar sets d to RFC 9497's HashToScalar(msg) under h2sDST:
// expand_message_xmd with SHA-512 to 64 bytes (RFC 9380 section 5.3.1,
// one block), read little-endian and reduced mod l, as circl's
// ristretto255 group does.
func hashToScalar(d *r255.Scalar, h hash.Hash, msg []byte) {
	var b0, b1 [sha512.Size]byte
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(zeroBlockState); err != nil {
		panic(err) // a state h marshaled
	}
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
func proofRandomness(t *r255.Scalar, r []byte) error {
	if r != nil {
		if len(r) != ScalarSize {
			return errors.New("checker: proof randomness is not a reduced 32-byte scalar")
		}
		if _, err := t.SetCanonicalBytes(r); err != nil {
			return errors.New("checker: proof randomness is not a reduced 32-byte scalar")
		}
		return nil
	}
	var zero r255.Scalar
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

// evalLanes says whether evaluations take the 8-way path where the CPU
// has it; tests clear it to run the one-lane path on this machine.
var evalLanes = r255.Lanes()

// Evaluate decodes the concatenated 32-byte blinded elements in blinded,
// multiplies each by the key, and proves with one batched DLEQ proof (RFC
// 9497 section 2.2.1) that all of them used the key behind the public key.
// It returns the concatenated evaluated elements and the proof c || s.
// Every element is decoded here, canonically; the identity is refused
// ([ErrBadElement]).
//
// r is the proof's randomness: nil means fresh randomness from
// crypto/rand, which is what a server must use; test vectors pass a fixed
// one. withProof false skips the proof (only to measure what it costs;
// clients reject such answers).
//
// It computes exactly what circl's ProveBatchWithRandomnessRFC9497 does,
// with less work: every element is encoded once, the products share
// precomputed tables, and the encodings share inversions.
func (k *Key) Evaluate(blinded []byte, r []byte, withProof bool) (evaluated, proof []byte, err error) {
	return k.evaluateOn(blinded, nil, r, withProof, evalLanes)
}

// EvaluateHinted is Evaluate with fresh randomness and the proof, given
// the client's decode hints for the elements ([DecodeHints]): len(hints)
// == len(blinded), or hints is nil. A hint spares the decoding of its
// element an exponentiation if it checks, and is ignored if not: the
// answer is Evaluate's, whatever the hints.
func (k *Key) EvaluateHinted(blinded, hints []byte) (evaluated, proof []byte, err error) {
	return k.evaluateOn(blinded, hints, nil, true, evalLanes)
}

// DecodeHints returns the decode hints of the concatenated 32-byte
// elements in blinded (r255.DecodeHint each), the bytes a client may send
// with them to a server that takes them; an element that does not decode
// gets zeros, which a server ignores.
func DecodeHints(blinded []byte) []byte {
	hints := make([]byte, len(blinded))
	for i := 0; i+ElementSize <= len(blinded); i += ElementSize {
		h, _ := r255.DecodeHint(blinded[i : i+ElementSize])
		copy(hints[i:], h[:])
	}
	return hints
}

// evaluateOn is Evaluate, with hints if not nil, on the lane path if
// lanes (and the CPU has it), else on the one-lane path.
func (k *Key) evaluateOn(blinded, hints []byte, r []byte, withProof, lanes bool) (evaluated, proof []byte, err error) {
	if len(blinded) == 0 || len(blinded)%ElementSize != 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes is not a positive multiple of %d", ErrBadElement, len(blinded), ElementSize)
	}
	n := len(blinded) / ElementSize
	sc := evalPool.Get().(*evalScratch)
	defer evalPool.Put(sc)
	defer sc.r.Release()

	if bad := sc.r.DecodeHinted(blinded, hints); bad >= 0 {
		return nil, nil, fmt.Errorf("%w: element %d", ErrBadElement, bad)
	}
	var t r255.Scalar
	defer func() { t = r255.Scalar{} }()
	if n == 1 && withProof {
		// The proof's randomness and t·G from the pool if it has them,
		// else computed here.
		var nc *proofNonce
		if p := k.nonces.Load(); p != nil && r == nil {
			nc = p.begin()
			defer p.end()
		}
		var t2 *[ElementSize]byte
		if nc != nil {
			t, t2 = nc.t, &nc.t2
			defer nc.wipe()
		} else if err := proofRandomness(&t, r); err != nil {
			return nil, nil, err
		}
		// Eval, then d from its encoding, then the four products of C.
		evaluated = make([]byte, ElementSize)
		copy(evaluated, sc.r.EvalOne(k.ev, lanes)[:])
		var ds [1]r255.Scalar
		sc.composites(k, ds[:], blinded, evaluated)
		pts := sc.r.ProveOne(k.ev, &ds[0], &t, t2)
		return evaluated, sc.challenge(k, pts, &t), nil
	}
	if withProof {
		if err := proofRandomness(&t, r); err != nil {
			return nil, nil, err
		}
	}
	evaluated = make([]byte, n*ElementSize)
	sc.r.EvalBatch(k.ev, lanes, evaluated)
	if !withProof {
		return evaluated, nil, nil
	}
	// Composites (ComputeCompositesFast): d_i from a seed over the public
	// key, M = sum d_i·C_i, Z = k·M, all computed halved.
	ds := make([]r255.Scalar, n) // d_i/2, public
	sc.composites(k, ds, blinded, evaluated)
	pts := sc.r.ProveBatch(k.ev, ds, &t, lanes)
	return evaluated, sc.challenge(k, pts, &t), nil
}

// composites sets ds[i] to d_i/2, the halved composite weights of RFC
// 9497's ComputeCompositesFast: d_i hashes a seed over the public key, i,
// C_i and Eval_i.
func (sc *evalScratch) composites(k *Key, ds []r255.Scalar, blinded, evaluated []byte) {
	seed := k.pub.compositeSeed(sc.h)
	msg := sc.msg[:0]
	for i := range ds {
		msg = appendLenPrefixed(msg[:0], seed[:])
		msg = binary.BigEndian.AppendUint16(msg, uint16(i))
		msg = appendLenPrefixed(msg, blinded[i*ElementSize:(i+1)*ElementSize])
		msg = appendLenPrefixed(msg, evaluated[i*ElementSize:(i+1)*ElementSize])
		msg = append(msg, labelComposite...)
		hashToScalar(&ds[i], sc.h, msg)
		r255.Halve(&ds[i], &ds[i])
	}
	sc.msg = msg
}

// challenge hashes the challenge c over the public key and the encodings
// of M, Z, t2 and t3, and returns the proof c || s with s = t - c·k.
func (sc *evalScratch) challenge(k *Key, pts *[4][32]byte, t *r255.Scalar) []byte {
	msg := appendLenPrefixed(sc.msg[:0], k.pub.raw[:])
	for i := range pts {
		msg = appendLenPrefixed(msg, pts[i][:])
	}
	msg = append(msg, labelChallenge...)
	var c, s r255.Scalar
	hashToScalar(&c, sc.h, msg)
	sc.msg = msg
	k.ev.ProofResponse(&s, &c, t)
	proof := make([]byte, 0, ProofSize)
	proof = append(proof, c.Bytes()...)
	return append(proof, s.Bytes()...)
}
