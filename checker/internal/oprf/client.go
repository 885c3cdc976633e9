package oprf

import (
	"encoding/binary"
	"errors"
	"fmt"

	voprf "github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// BlindState is what a client keeps between blinding and finalizing: the
// inputs, blinds and blinded elements of one request.
type BlindState struct {
	pub *PublicKey
	fin *voprf.FinalizeData
	req *voprf.EvaluationRequest
}

// Input returns the OPRF input of a plain key: [InputLabel] then the
// key's 8 big-endian bytes.
func Input(key uint64) []byte {
	b := make([]byte, len(InputLabel)+8)
	copy(b, InputLabel)
	binary.BigEndian.PutUint64(b[len(InputLabel):], key)
	return b
}

// Blind blinds the inputs for evaluation under pub and returns the state
// and the concatenated blinded elements to send. blinds, if not nil, are
// fixed 32-byte scalars (test vectors only); nil means fresh random ones.
func Blind(pub *PublicKey, inputs [][]byte, blinds [][]byte) (*BlindState, []byte, error) {
	c := voprf.NewVerifiableClient(suite, pub.pk)
	var (
		fin *voprf.FinalizeData
		req *voprf.EvaluationRequest
		err error
	)
	if blinds == nil {
		fin, req, err = c.Blind(inputs)
	} else {
		bs := make([]voprf.Blind, len(blinds))
		for i, b := range blinds {
			bs[i] = grp.NewScalar()
			if err := bs[i].UnmarshalBinary(b); err != nil {
				return nil, nil, fmt.Errorf("checker: blind %d: %w", i, err)
			}
		}
		fin, req, err = c.DeterministicBlind(inputs, bs)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("checker: blinding: %w", err)
	}
	out := make([]byte, 0, len(inputs)*ElementSize)
	for _, e := range req.Elements {
		enc, err := e.MarshalBinaryCompress()
		if err != nil {
			return nil, nil, err
		}
		out = append(out, enc...)
	}
	return &BlindState{pub: pub, fin: fin, req: req}, out, nil
}

// Finalize checks the server's proof over the request and the evaluated
// elements against the public key, then unblinds and hashes: it returns
// the 64-byte OPRF output of every input.
func (st *BlindState) Finalize(evaluated, proof []byte) ([][]byte, error) {
	n := len(st.req.Elements)
	if len(evaluated) != n*ElementSize {
		return nil, fmt.Errorf("%w: %d evaluated bytes for %d elements", ErrBadElement, len(evaluated), n)
	}
	ev := &voprf.Evaluation{Elements: make([]voprf.Evaluated, n), Proof: new(dleq.Proof)}
	for i := range ev.Elements {
		e := grp.NewElement()
		if err := e.UnmarshalBinary(evaluated[i*ElementSize : (i+1)*ElementSize]); err != nil || e.IsIdentity() {
			return nil, fmt.Errorf("%w: evaluated element %d", ErrBadElement, i)
		}
		ev.Elements[i] = e
	}
	if err := ev.Proof.UnmarshalBinary(grp, proof); err != nil {
		return nil, fmt.Errorf("%w: malformed proof", ErrProof)
	}
	out, err := voprf.NewVerifiableClient(suite, st.pub.pk).Finalize(st.fin, ev)
	if errors.Is(err, voprf.ErrInvalidProof) {
		return nil, ErrProof
	}
	if err != nil {
		return nil, fmt.Errorf("checker: finalize: %w", err)
	}
	return out, nil
}
