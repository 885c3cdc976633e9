package checker

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"
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

// BenchmarkEvaluateVsCircl is one query's server work through evaluate
// and through circl's prover, with the speed-up.
func BenchmarkEvaluateVsCircl(b *testing.B) {
	k, _ := GenerateOPRFKey()
	r := grp.RandomNonZeroScalar(rand.Reader)
	rb, _ := r.MarshalBinary()
	for _, n := range []int{1, 16} {
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = oprfInput(uint64(i))
		}
		_, elems, _ := blind(k.Public(), inputs, nil)
		var mine, circl float64
		b.Run(fmt.Sprintf("evaluate/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				k.evaluate(elems, nil, true)
			}
			mine = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(mine/1e3/float64(n), "us/element")
		})
		b.Run(fmt.Sprintf("circl/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				k.evaluateCircl(elems, rb)
			}
			circl = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(circl/1e3/float64(n), "us/element")
			if mine > 0 {
				b.ReportMetric(circl/mine, "x-speedup")
			}
		})
	}
}
