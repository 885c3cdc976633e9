package checker

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"testing"

	"filippo.io/edwards25519"
)

// TestEvaluateMatchesCircl: the server's evaluation gives, byte for byte,
// the evaluated elements and proof of circl's own prover, for one element
// and for batches, and clients verify it.
func TestEvaluateMatchesCircl(t *testing.T) {
	for _, n := range []int{1, 2, 3, 17} {
		k, err := GenerateOPRFKey()
		if err != nil {
			t.Fatal(err)
		}
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = oprfInput(uint64(1000*n + i))
		}
		st, elems, err := blind(k.Public(), inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := grp.RandomNonZeroScalar(rand.Reader)
		rb, _ := r.MarshalBinary()
		ev, proof, err := k.evaluate(elems, rb, true)
		if err != nil {
			t.Fatal(err)
		}
		wantEv, wantProof, err := k.evaluateCircl(elems, rb)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev, wantEv) || !bytes.Equal(proof, wantProof) {
			t.Errorf("n=%d: evaluate differs from circl's prover", n)
		}
		// Fresh randomness: still a proof the client accepts.
		ev, proof, err = k.evaluate(elems, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := st.finalize(ev, proof)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for i, o := range outs {
			want, _ := k.circlFullEvaluate(inputs[i])
			if !bytes.Equal(o, want) {
				t.Errorf("n=%d: output %d differs from FullEvaluate", n, i)
			}
		}
		// A proof under another key is refused.
		k2, _ := GenerateOPRFKey()
		ev2, proof2, _ := k2.evaluate(elems, nil, true)
		if _, err := st.finalize(ev2, proof2); err == nil {
			t.Errorf("n=%d: a proof under another key verified", n)
		}
	}
}

// BenchmarkEvalParts times the parts of a one-element evaluation on the fast
// path, to see where the time goes: decoding, C's tables in 8 and 4
// chunks, constant- and variable-time products on them, a full
// constant-time multiplication, the fixed-base one, the batched encodings
// and HashToScalar.
//
//	go test ./checker -run '^$' -bench BenchmarkEvalParts -benchtime 3000x
func BenchmarkEvalParts(b *testing.B) {
	k, _ := GenerateOPRFKey()
	_, elems, _ := blind(k.Public(), [][]byte{[]byte("x")}, nil)
	var p, q extPoint
	decodeElement(&p, elems)
	var tabs combTables
	d := k.ev.half.digits
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			decodeElement(&p, elems)
		}
	})
	b.Run("build8", func(b *testing.B) {
		for b.Loop() {
			tabs.build(&p, 8)
		}
	})
	b.Run("build4", func(b *testing.B) {
		for b.Loop() {
			tabs.build(&p, 4)
		}
	})
	tabs.build(&p, 8)
	b.Run("mulCT8", func(b *testing.B) {
		for b.Loop() {
			tabs.mulCT(&q, &d)
		}
	})
	b.Run("mulVT8", func(b *testing.B) {
		for b.Loop() {
			tabs.mulVT(&q, &d)
		}
	})
	tabs.build(&p, 4)
	b.Run("mulCT4", func(b *testing.B) {
		for b.Loop() {
			tabs.mulCT(&q, &d)
		}
	})
	b.Run("fullmult", func(b *testing.B) {
		for b.Loop() {
			k.ev.half.mult(&q, &p)
		}
	})
	b.Run("basemult", func(b *testing.B) {
		for b.Loop() {
			pointToExt(&q, new(edwards25519.Point).ScalarBaseMult(&k.ev.k))
		}
	})
	pts := make([]extPoint, 4)
	enc := make([][32]byte, 4)
	sc := make([]fe, 28)
	for i := range pts {
		pts[i] = p
	}
	b.Run("encode4", func(b *testing.B) {
		for b.Loop() {
			encodeDoubled(enc, pts, sc)
		}
	})
	b.Run("encode1", func(b *testing.B) {
		for b.Loop() {
			encodeDoubled(enc[:1], pts[:1], sc)
		}
	})
	h := sha512.New()
	var s edwards25519.Scalar
	b.Run("h2s", func(b *testing.B) {
		for b.Loop() {
			hashToScalarFast(&s, h, elems)
		}
	})
}
