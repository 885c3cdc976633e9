// Package oprf implements the private mode's OPRF: RFC 9497's verifiable
// OPRF (VOPRF) over ristretto255 with SHA-512, keys and key files, the
// server's evaluation with its batched DLEQ proof, the client's blinding
// and finalization, and sealing (F_k computed with the key in hand).
//
// It is the only importer of github.com/cloudflare/circl, which makes and
// parses keys; the server's evaluation, sealing and the client's side
// (blinding, proof verification, finalization) run on package r255's
// arithmetic, and compute exactly what circl computes (the tests compare
// the bytes with circl's prover, FullEvaluate and VerifiableClient, the
// verdicts on tampered proofs with circl's verifier, and run the RFC 9497
// vectors).
//
//	client                                  server (key k, public key K)
//	x -> [Input] -> [Blind]: C = r·H2G(x)
//	                      ---- C ---->
//	                                        [Key.Evaluate]: Eval = k·C, proof
//	                      <- Eval, proof --
//	[BlindState.Finalize]: verify against K,
//	F_k(x) = SHA-512(x, r⁻¹·Eval)
//
// A server that holds the key computes F_k(x) directly with a [Sealer].
package oprf

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sync/atomic"

	voprf "github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
)

// Suite is the one OPRF suite: RFC 9497 in its verifiable mode (VOPRF,
// mode 0x01) over ristretto255 with SHA-512.
const Suite = "ristretto255-SHA512"

// InputLabel prefixes every input [Input] makes: the label followed by
// the 8 big-endian bytes of a plain key.
const InputLabel = "phonecheck-voprf-v1:"

// Sizes of the encodings, in bytes.
const (
	ElementSize = 32 // a ristretto255 element (blinded or evaluated)
	ScalarSize  = 32 // a ristretto255 scalar, little-endian
	ProofSize   = 2 * ScalarSize
	KeyIDSize   = 8 // bytes of SHA-256 over a label and the public key ([PublicKey.ID]); 16 hex digits
)

// Errors of the OPRF layer.
var (
	// ErrBadElement is returned for a blinded or evaluated element that is
	// not the canonical encoding of a ristretto255 element, or is the
	// identity.
	ErrBadElement = errors.New("checker: invalid group element")
	// ErrProof is returned when a server's proof does not verify against
	// the public key: the server did not evaluate under that key.
	ErrProof = errors.New("checker: server proof does not verify against its public key")
	// ErrKeyFile is returned for a key file that is malformed or does not
	// hold a consistent key.
	ErrKeyFile = errors.New("checker: invalid key file")
	// ErrKeyPermissions is returned for a key file that group or others
	// can read or write.
	ErrKeyPermissions = errors.New("checker: key file is accessible to group or others")
)

var (
	suite = voprf.SuiteRistretto255
	grp   = suite.Group()
	// dstHashToGroup is RFC 9497's "HashToGroup-" || contextString for
	// the verifiable mode; dleqParams carry contextString itself.
	dstHashToGroup = []byte("HashToGroup-OPRFV1-\x01-" + Suite)
	dleqParams     = dleq.Params{G: grp, H: crypto.SHA512, DST: []byte("OPRFV1-\x01-" + Suite)}
)

// Key is a server's secret OPRF key. It is safe for concurrent use.
type Key struct {
	ev  *r255.Key // the secret, recoded for the evaluation and the sealer
	pub *PublicKey
	// nonces, if set, holds proof nonces computed ahead ([Key.StartNonces]).
	nonces atomic.Pointer[NoncePool]
}

// PublicKey is the published half of a [Key]: clients verify every
// evaluation against it.
type PublicKey struct {
	raw [ElementSize]byte
	el  r255.Element
	id  [KeyIDSize]byte
	// seed is the proofs' composites seed, a hash of the public key and
	// a constant, computed on first use.
	seed atomic.Pointer[[64]byte]
}

// compositeSeed returns RFC 9497's composites seed for p: SHA-512 of the
// length-prefixed public key and "Seed-" || contextString, computed once
// (a race computes it twice, the same).
func (p *PublicKey) compositeSeed(h hash.Hash) *[64]byte {
	if seed := p.seed.Load(); seed != nil {
		return seed
	}
	msg := appendLenPrefixed(nil, p.raw[:])
	msg = appendLenPrefixed(msg, seedDST)
	h.Reset()
	h.Write(msg)
	seed := new([sha512.Size]byte)
	h.Sum(seed[:0])
	p.seed.Store(seed)
	return seed
}

// GenerateKey returns a new random key.
func GenerateKey() (*Key, error) {
	sk, err := voprf.GenerateKey(suite, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("checker: generating key: %w", err)
	}
	return newKey(sk)
}

// DeriveKey derives a key from a 32-byte seed and an info string with
// RFC 9497's DeriveKeyPair. It exists for test vectors; real keys come from
// [GenerateKey].
func DeriveKey(seed, info []byte) (*Key, error) {
	sk, err := voprf.DeriveKey(suite, voprf.VerifiableMode, seed, info)
	if err != nil {
		return nil, fmt.Errorf("checker: deriving key: %w", err)
	}
	return newKey(sk)
}

func newKey(sk *voprf.PrivateKey) (*Key, error) {
	raw, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	k := grp.NewScalar()
	if err := k.UnmarshalBinary(raw); err != nil || k.IsZero() || len(raw) != ScalarSize {
		return nil, ErrKeyFile
	}
	pb, err := sk.Public().MarshalBinary()
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublicKey(pb)
	if err != nil {
		return nil, err
	}
	ev, err := r255.NewKey(raw)
	clear(raw)
	if err != nil {
		return nil, ErrKeyFile
	}
	return &Key{ev: ev, pub: pub}, nil
}

// Public returns the key's public half.
func (k *Key) Public() *PublicKey { return k.pub }

// ID returns the key id: the first [KeyIDSize] bytes of
// SHA-256("phonecheck key id v1" 0x00 "ristretto255-SHA512" 0x00 || public
// key), as 16 hex digits. Index headers and responses carry it.
func (k *Key) ID() string { return k.pub.ID() }

// SecretHash returns SHA-256 of label followed by the key's 32 bytes: a
// secret derived from the key, for a purpose the label names.
func (k *Key) SecretHash(label string) [sha256.Size]byte {
	b := append([]byte(label), k.ev.Bytes()...)
	sum := sha256.Sum256(b)
	clear(b)
	return sum
}

// ParsePublicKey decodes a 32-byte public key. It refuses the identity
// and non-canonical encodings.
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != ElementSize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrBadElement, len(b), ElementSize)
	}
	p := &PublicKey{}
	if !p.el.SetCanonicalBytes(b) {
		return nil, fmt.Errorf("%w: public key", ErrBadElement)
	}
	copy(p.raw[:], b)
	sum := sha256.Sum256(append([]byte("phonecheck key id v1\x00"+Suite+"\x00"), b...))
	copy(p.id[:], sum[:KeyIDSize])
	return p, nil
}

// Bytes returns the 32-byte encoding of the public key.
func (p *PublicKey) Bytes() []byte { return append([]byte(nil), p.raw[:]...) }

// ID returns the key id, 16 hex digits.
func (p *PublicKey) ID() string { return hex.EncodeToString(p.id[:]) }

// IDBytes returns the key id as the 8 bytes responses carry.
func (p *PublicKey) IDBytes() [KeyIDSize]byte { return p.id }

// Equal reports whether p and q are the same key.
func (p *PublicKey) Equal(q *PublicKey) bool { return q != nil && p.raw == q.raw }
