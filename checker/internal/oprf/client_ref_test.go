package oprf

import (
	"bytes"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"

	voprf "github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// circlState is the reference client: circl's VerifiableClient, as the
// package used it before the client moved to r255.
type circlState struct {
	pub *PublicKey
	fin *voprf.FinalizeData
	req *voprf.EvaluationRequest
}

func circlBlind(pub *PublicKey, inputs [][]byte, blinds [][]byte) (*circlState, []byte, error) {
	c := voprf.NewVerifiableClient(suite, pub.circlKey())
	bs := make([]voprf.Blind, len(blinds))
	for i, b := range blinds {
		bs[i] = grp.NewScalar()
		if err := bs[i].UnmarshalBinary(b); err != nil {
			return nil, nil, err
		}
	}
	fin, req, err := c.DeterministicBlind(inputs, bs)
	if err != nil {
		return nil, nil, err
	}
	var out []byte
	for _, e := range req.Elements {
		enc, err := e.MarshalBinaryCompress()
		if err != nil {
			return nil, nil, err
		}
		out = append(out, enc...)
	}
	return &circlState{pub: pub, fin: fin, req: req}, out, nil
}

func (st *circlState) finalize(evaluated, proof []byte) ([][]byte, error) {
	n := len(st.req.Elements)
	if len(evaluated) != n*ElementSize {
		return nil, ErrBadElement
	}
	ev := &voprf.Evaluation{Elements: make([]voprf.Evaluated, n), Proof: new(dleq.Proof)}
	for i := range ev.Elements {
		e := grp.NewElement()
		if err := e.UnmarshalBinary(evaluated[i*ElementSize : (i+1)*ElementSize]); err != nil || e.IsIdentity() {
			return nil, ErrBadElement
		}
		ev.Elements[i] = e
	}
	if err := ev.Proof.UnmarshalBinary(grp, proof); err != nil {
		return nil, ErrProof
	}
	out, err := voprf.NewVerifiableClient(suite, st.pub.circlKey()).Finalize(st.fin, ev)
	if errors.Is(err, voprf.ErrInvalidProof) {
		return nil, ErrProof
	}
	return out, err
}

// circlKey returns p as circl's public key.
func (p *PublicKey) circlKey() *voprf.PublicKey {
	pk := new(voprf.PublicKey)
	if err := pk.UnmarshalBinary(suite, p.raw[:]); err != nil {
		panic("a parsed public key that circl refuses")
	}
	return pk
}

// randomBlinds returns n random non-zero canonical scalars.
func randomBlinds(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i], _ = grp.RandomNonZeroScalar(nil).MarshalBinary()
	}
	return out
}

// errKind names the outcome of a finalization, for comparing the two
// clients' verdicts.
func errKind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrProof):
		return "proof"
	case errors.Is(err, ErrBadElement):
		return "element"
	}
	return fmt.Sprintf("other: %v", err)
}

// TestClientMatchesCircl: for random keys, inputs and blinds and batches
// of 1 to 130, the client's blinded elements are circl's byte for byte;
// it accepts the server's proofs and returns circl's outputs; and for
// tampered answers (an evaluation, c or s changed, a proof of another
// key, a non-canonical scalar) both refuse, the same way.
func TestClientMatchesCircl(t *testing.T) {
	r := mrand.New(mrand.NewPCG(21, 7))
	for round, n := range []int{1, 1, 2, 3, 8, 17, 130} {
		k, _ := GenerateKey()
		other, _ := GenerateKey()
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = Input(r.Uint64())
		}
		if round == 1 {
			inputs[0] = []byte{} // the empty input
		}
		blinds := randomBlinds(n)
		st, elems, err := Blind(k.Public(), inputs, blinds)
		if err != nil {
			t.Fatal(err)
		}
		ref, refElems, err := circlBlind(k.Public(), inputs, blinds)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(elems, refElems) {
			t.Fatalf("n=%d: blinded elements differ from circl's", n)
		}
		ev, proof, err := k.Evaluate(elems, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		otherEv, otherProof, _ := other.Evaluate(elems, nil, true)
		bad := bytes.Clone(ev)
		bad[r.IntN(len(bad))] ^= 1 << r.IntN(8)
		cases := []struct {
			name      string
			ev, proof []byte
		}{
			{"as answered", ev, proof},
			{"evaluation changed", bad, proof},
			{"evaluation swapped", append(bytes.Clone(ev[ElementSize:]), ev[:ElementSize]...), proof},
			{"c changed", ev, flip(proof, 0)},
			{"s changed", ev, flip(proof, ScalarSize)},
			{"another key's answer", otherEv, otherProof},
			{"another key's proof", ev, otherProof},
			{"c not reduced", ev, append(bytes.Repeat([]byte{0xff}, ScalarSize), proof[ScalarSize:]...)},
			{"s not reduced", ev, append(bytes.Clone(proof[:ScalarSize]), bytes.Repeat([]byte{0xff}, ScalarSize)...)},
			{"short proof", ev, proof[:ProofSize-1]},
			{"identity evaluated", make([]byte, len(ev)), proof},
		}
		for _, c := range cases {
			if c.name == "evaluation swapped" && n == 1 {
				continue
			}
			got, err := st.Finalize(c.ev, c.proof)
			want, refErr := ref.finalize(c.ev, c.proof)
			if errKind(err) != errKind(refErr) {
				t.Fatalf("n=%d, %s: client says %s, circl %s", n, c.name, errKind(err), errKind(refErr))
			}
			if (c.name == "as answered") != (err == nil) {
				t.Fatalf("n=%d, %s: client says %s", n, c.name, errKind(err))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("n=%d, %s: output %d differs from circl's", n, c.name, i)
				}
				if full, _ := k.circlFullEvaluate(inputs[i]); !bytes.Equal(got[i], full) {
					t.Fatalf("n=%d: output %d differs from FullEvaluate", n, i)
				}
			}
		}
	}
}

func flip(b []byte, i int) []byte {
	b = bytes.Clone(b)
	b[i] ^= 1
	return b
}

// TestClientRefusesLikeCircl: blinds that are zero or not reduced, and
// inputs over 65535 bytes, are refused as circl refuses them.
func TestClientRefusesLikeCircl(t *testing.T) {
	k, _ := GenerateKey()
	in := [][]byte{Input(1)}
	for _, b := range [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32), make([]byte, 31)} {
		_, _, err := Blind(k.Public(), in, [][]byte{b})
		_, _, refErr := circlBlind(k.Public(), in, [][]byte{b})
		if err == nil || refErr == nil {
			t.Errorf("blind %x: client error %v, circl error %v; want both to refuse", b[:4], err, refErr)
		}
	}
	if _, _, err := Blind(k.Public(), [][]byte{make([]byte, 1<<16)}, nil); err == nil {
		t.Error("an input of 65536 bytes was blinded")
	}
}

// FuzzClientMatchesCircl: for any evaluated bytes and proof the server
// might send for a one- or two-element request, the client and circl
// reach the same verdict and, when both accept, the same outputs.
func FuzzClientMatchesCircl(f *testing.F) {
	k, _ := GenerateKey()
	inputs := [][]byte{Input(5), Input(6)}
	blinds := randomBlinds(2)
	for n := 1; n <= 2; n++ {
		st, elems, _ := Blind(k.Public(), inputs[:n], blinds[:n])
		ev, proof, _ := k.Evaluate(elems, nil, true)
		_ = st
		f.Add(ev, proof)
		f.Add(ev, flip(proof, 3))
		f.Add(flip(ev, 0), proof)
	}
	f.Fuzz(func(t *testing.T, ev, proof []byte) {
		n := max(1, min(2, len(ev)/ElementSize))
		st, _, err := Blind(k.Public(), inputs[:n], blinds[:n])
		if err != nil {
			t.Fatal(err)
		}
		ref, _, err := circlBlind(k.Public(), inputs[:n], blinds[:n])
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.Finalize(ev, proof)
		want, refErr := ref.finalize(ev, proof)
		if errKind(err) != errKind(refErr) {
			t.Fatalf("client says %s, circl %s", errKind(err), errKind(refErr))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("output %d differs from circl's", i)
			}
		}
	})
}

// TestInvertAll checks the batch inversion of the blinds against one
// inversion each, for one scalar and several, 1 among them.
func TestInvertAll(t *testing.T) {
	r := mrand.New(mrand.NewPCG(51, 52))
	for _, n := range []int{1, 2, 3, 17} {
		xs := make([]r255.Scalar, n)
		for i := range xs {
			var b [64]byte
			for j := range b {
				b[j] = byte(r.Uint32())
			}
			if _, err := xs[i].SetUniformBytes(b[:]); err != nil {
				t.Fatal(err)
			}
		}
		one := [32]byte{1}
		if _, err := xs[n/2].SetCanonicalBytes(one[:]); err != nil {
			t.Fatal(err)
		}
		inv := make([]r255.Scalar, n)
		invertAll(inv, xs)
		for i := range xs {
			var want r255.Scalar
			want.Invert(&xs[i])
			if inv[i].Equal(&want) != 1 {
				t.Fatalf("n = %d: 1/x[%d] differs", n, i)
			}
		}
	}
}
