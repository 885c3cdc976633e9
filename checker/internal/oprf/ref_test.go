package oprf

// The references the fast paths are tested and benchmarked against:
// circl's own prover, FullEvaluate, and a sealer on circl's group.

import (
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
	"math/big"
	"slices"
	"testing"

	"github.com/cloudflare/circl/group"
	voprf "github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// groupOrder is l, the order of ristretto255.
var groupOrder, _ = new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)

// circlKey returns k as circl's private key.
func (k *Key) circlKey() *voprf.PrivateKey {
	sk := new(voprf.PrivateKey)
	if err := sk.UnmarshalBinary(suite, k.ev.Bytes()); err != nil {
		panic(err)
	}
	return sk
}

// circlScalar returns k as a circl scalar.
func (k *Key) circlScalar() group.Scalar {
	s := grp.NewScalar()
	if err := s.UnmarshalBinary(k.ev.Bytes()); err != nil {
		panic(err)
	}
	return s
}

// keyFromScalar returns the key of the little-endian scalar raw.
func keyFromScalar(t testing.TB, raw []byte) *Key {
	t.Helper()
	sk := new(voprf.PrivateKey)
	if err := sk.UnmarshalBinary(suite, raw); err != nil {
		t.Fatal(err)
	}
	k, err := newKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// scalarLE returns the 32-byte little-endian encoding of n mod l.
func scalarLE(n *big.Int) []byte {
	n = new(big.Int).Mod(n, groupOrder)
	var b [32]byte
	n.FillBytes(b[:])
	slices.Reverse(b[:])
	return b[:]
}

// evaluateCircl is Evaluate through circl's own DLEQ prover: the
// reference Evaluate is tested and benchmarked against.
func (k *Key) evaluateCircl(blinded []byte, r []byte) (evaluated, proof []byte, err error) {
	n := len(blinded) / ElementSize
	in := make([]group.Element, n)
	out := make([]group.Element, n)
	ks := k.circlScalar()
	for i := range in {
		e := grp.NewElement()
		if err := e.UnmarshalBinary(blinded[i*ElementSize : (i+1)*ElementSize]); err != nil || e.IsIdentity() {
			return nil, nil, fmt.Errorf("%w: element %d", ErrBadElement, i)
		}
		in[i] = e
		out[i] = grp.NewElement().Mul(e, ks)
		enc, err := out[i].MarshalBinaryCompress()
		if err != nil {
			return nil, nil, err
		}
		evaluated = append(evaluated, enc...)
	}
	rs := grp.NewScalar()
	if err := rs.UnmarshalBinary(r); err != nil {
		return nil, nil, err
	}
	pe := grp.NewElement()
	if err := pe.UnmarshalBinary(k.pub.raw[:]); err != nil {
		return nil, nil, err
	}
	pr, err := dleq.Prover{Params: dleqParams}.ProveBatchWithRandomnessRFC9497(ks, pe, in, out, rs)
	if err != nil {
		return nil, nil, err
	}
	proof, err = pr.MarshalBinary()
	return evaluated, proof, err
}

// circlFullEvaluate is circl's own FullEvaluate, the reference the
// sealers are tested and benchmarked against.
func (k *Key) circlFullEvaluate(input []byte) ([]byte, error) {
	return voprf.NewVerifiableServer(suite, k.circlKey()).FullEvaluate(input)
}

// sealer computes F_k(x) = SHA-512(len(x) || x || 32 || k·H2G(x) ||
// "Finalize") one input at a time on circl's group, without circl's
// per-call allocations: a second reference (a test ties it to
// FullEvaluate) and a benchmark baseline.
//
// Where its time goes: hash-to-group is ~10 us (one expand_message_xmd,
// two Elligator maps, each an inverse square root), the variable-base
// scalar multiplication ~55 us (252 doublings whatever the window), the
// element encoding ~4 us (one more inverse square root) and the final
// SHA-512 under 1 us. The scalar is fixed but the base varies, so circl's
// fast fixed-base multiplication (MulGen, ~18 us) does not apply, and
// circl exposes neither a batch encoding nor a multi-point
// multiplication: hence [Sealer].
type sealer struct {
	k     group.Scalar
	elem  group.Element
	h     hash.Hash
	input []byte
	sum   []byte
}

func (k *Key) newSealer() *sealer {
	in := make([]byte, len(InputLabel)+8)
	copy(in, InputLabel)
	return &sealer{k: k.circlScalar(), elem: grp.NewElement(), h: sha512.New(), input: in, sum: make([]byte, 0, sha512.Size)}
}

// output returns the first 8 bytes of F_k(input of key), big-endian.
func (s *sealer) output(key uint64) uint64 {
	binary.BigEndian.PutUint64(s.input[len(InputLabel):], key)
	return binary.BigEndian.Uint64(s.full(s.input)[:8])
}

// full returns F_k(input), 64 bytes, valid until the next call.
func (s *sealer) full(input []byte) []byte {
	p := grp.HashToElement(input, dstHashToGroup)
	s.elem.Mul(p, s.k)
	enc, _ := s.elem.MarshalBinaryCompress() // never fails for ristretto255
	var l [2]byte
	s.h.Reset()
	binary.BigEndian.PutUint16(l[:], uint16(len(input)))
	s.h.Write(l[:])
	s.h.Write(input)
	binary.BigEndian.PutUint16(l[:], uint16(len(enc)))
	s.h.Write(l[:])
	s.h.Write(enc)
	s.h.Write([]byte("Finalize"))
	s.sum = s.h.Sum(s.sum[:0])
	return s.sum
}
