package checker

// This file owns github.com/cloudflare/circl and github.com/bwesterb/go-ristretto
// (circl's ristretto255 backend, used directly by evaluateR255, the
// previous server evaluation, for the multiplications circl's group
// interface does not offer): every group operation of the private mode
// (RFC 9497 VOPRF, ristretto255 with SHA-512) is here, behind byte-level
// functions, except the seal-only fast path of oprf_fast.go and the
// server's evaluation of oprf_eval.go, which circl's prover here
// (evaluateCircl) is the reference of. private.go (index, wire format,
// seal) and private_http.go (handler, client) never see a circl type.

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	r255 "github.com/bwesterb/go-ristretto"
	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// OPRFSuite is the one OPRF suite of the private mode: RFC 9497 in its
// verifiable mode (VOPRF, mode 0x01) over ristretto255 with SHA-512. On the
// wire it is suite id 1 ([wireSuite]).
const OPRFSuite = "ristretto255-SHA512"

// OPRFInputLabel prefixes every OPRF input: the input of a number is this
// label followed by the 8 big-endian bytes of its plain [Key]. Hashing the
// plain key rather than the E.164 string lets 'phonecheck seal' turn a
// plain index into a private one without the raw datasets; see the
// package documentation for why that loses nothing.
const OPRFInputLabel = "phonecheck-voprf-v1:"

// Sizes of the encodings, in bytes.
const (
	ElementSize = 32 // a ristretto255 element (blinded or evaluated)
	ScalarSize  = 32 // a ristretto255 scalar, little-endian
	ProofSize   = 2 * ScalarSize
	KeyIDSize   = 8 // bytes of SHA-256 over the public key; 16 hex digits
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
	suite = oprf.SuiteRistretto255
	grp   = suite.Group()
	// dstHashToGroup is RFC 9497's "HashToGroup-" || contextString for
	// the verifiable mode; dleqParams carry contextString itself.
	dstHashToGroup = []byte("HashToGroup-OPRFV1-\x01-" + OPRFSuite)
	dleqParams     = dleq.Params{G: grp, H: crypto.SHA512, DST: []byte("OPRFV1-\x01-" + OPRFSuite)}
)

// OPRFKey is a server's secret OPRF key. It is safe for concurrent use.
type OPRFKey struct {
	sk  *oprf.PrivateKey
	k   group.Scalar
	rk  r255.Scalar // k for go-ristretto (evaluateR255)
	ev  *evalKey    // k for the fast evaluation (oprf_eval.go)
	pub *OPRFPublicKey
}

// OPRFPublicKey is the published half of an [OPRFKey]: clients verify every
// evaluation against it.
type OPRFPublicKey struct {
	pk  *oprf.PublicKey
	e   group.Element
	raw [ElementSize]byte
	id  [KeyIDSize]byte
}

// GenerateOPRFKey returns a new random key.
func GenerateOPRFKey() (*OPRFKey, error) {
	sk, err := oprf.GenerateKey(suite, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("checker: generating key: %w", err)
	}
	return newOPRFKey(sk)
}

// DeriveOPRFKey derives a key from a 32-byte seed and an info string with
// RFC 9497's DeriveKeyPair. It exists for test vectors; real keys come from
// [GenerateOPRFKey].
func DeriveOPRFKey(seed, info []byte) (*OPRFKey, error) {
	sk, err := oprf.DeriveKey(suite, oprf.VerifiableMode, seed, info)
	if err != nil {
		return nil, fmt.Errorf("checker: deriving key: %w", err)
	}
	return newOPRFKey(sk)
}

func newOPRFKey(sk *oprf.PrivateKey) (*OPRFKey, error) {
	raw, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	k := grp.NewScalar()
	if err := k.UnmarshalBinary(raw); err != nil || k.IsZero() {
		return nil, ErrKeyFile
	}
	var rk r255.Scalar
	if len(raw) != ScalarSize || !rk.SetBytesStrict((*[ScalarSize]byte)(raw)) {
		return nil, ErrKeyFile
	}
	pb, err := sk.Public().MarshalBinary()
	if err != nil {
		return nil, err
	}
	pub, err := ParseOPRFPublicKey(pb)
	if err != nil {
		return nil, err
	}
	ev, err := newEvalKey(raw)
	if err != nil {
		return nil, ErrKeyFile
	}
	return &OPRFKey{sk: sk, k: k, rk: rk, ev: ev, pub: pub}, nil
}

// Public returns the key's public half.
func (k *OPRFKey) Public() *OPRFPublicKey { return k.pub }

// ID returns the key id: the first [KeyIDSize] bytes of SHA-256 over the
// public key, as 16 hex digits. Index headers and responses carry it.
func (k *OPRFKey) ID() string { return k.pub.ID() }

// ParseOPRFPublicKey decodes a 32-byte public key. It refuses the identity
// and non-canonical encodings.
func ParseOPRFPublicKey(b []byte) (*OPRFPublicKey, error) {
	if len(b) != ElementSize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrBadElement, len(b), ElementSize)
	}
	pk := new(oprf.PublicKey)
	if err := pk.UnmarshalBinary(suite, b); err != nil {
		return nil, fmt.Errorf("%w: public key", ErrBadElement)
	}
	e := grp.NewElement()
	if err := e.UnmarshalBinary(b); err != nil || e.IsIdentity() {
		return nil, fmt.Errorf("%w: public key", ErrBadElement)
	}
	p := &OPRFPublicKey{pk: pk, e: e}
	copy(p.raw[:], b)
	sum := sha256.Sum256(append([]byte("phonecheck key id v1\x00"+OPRFSuite+"\x00"), b...))
	copy(p.id[:], sum[:KeyIDSize])
	return p, nil
}

// Bytes returns the 32-byte encoding of the public key.
func (p *OPRFPublicKey) Bytes() []byte { return append([]byte(nil), p.raw[:]...) }

// ID returns the key id, 16 hex digits.
func (p *OPRFPublicKey) ID() string { return hex.EncodeToString(p.id[:]) }

// idBytes returns the key id as the 8 bytes responses carry.
func (p *OPRFPublicKey) idBytes() [KeyIDSize]byte { return p.id }

// Equal reports whether p and q are the same key.
func (p *OPRFPublicKey) Equal(q *OPRFPublicKey) bool { return q != nil && p.raw == q.raw }

// # Key file

// keyFile is the JSON of a key file. Its own fields make it
// self-describing; the public key and id are checked against the private
// key on load, which catches a damaged file.
type keyFile struct {
	Format     string `json:"format"` // "phonecheck-oprf-key"
	Version    int    `json:"version"`
	Suite      string `json:"suite"`
	Mode       string `json:"mode"` // "voprf"
	KeyID      string `json:"key_id"`
	PublicKey  string `json:"public_key"`  // hex, 32 bytes
	PrivateKey string `json:"private_key"` // hex, 32 bytes, little-endian scalar
	Created    string `json:"created,omitempty"`
}

const keyFileFormat = "phonecheck-oprf-key"

// MarshalKeyFile returns the bytes of a key file for k.
func (k *OPRFKey) MarshalKeyFile(created string) ([]byte, error) {
	raw, err := k.sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(keyFile{
		Format: keyFileFormat, Version: 1, Suite: OPRFSuite, Mode: "voprf",
		KeyID: k.ID(), PublicKey: hex.EncodeToString(k.pub.raw[:]),
		PrivateKey: hex.EncodeToString(raw), Created: created,
	}, "", "  ")
	return append(data, '\n'), err
}

// ParseKeyFile decodes the bytes of a key file.
func ParseKeyFile(data []byte) (*OPRFKey, error) {
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("%w: not JSON", ErrKeyFile)
	}
	if kf.Format != keyFileFormat || kf.Version != 1 {
		return nil, fmt.Errorf("%w: format %q version %d, want %q version 1", ErrKeyFile, kf.Format, kf.Version, keyFileFormat)
	}
	if kf.Suite != OPRFSuite || kf.Mode != "voprf" {
		return nil, fmt.Errorf("%w: suite %q mode %q, want %q voprf", ErrKeyFile, kf.Suite, kf.Mode, OPRFSuite)
	}
	raw, err := hex.DecodeString(kf.PrivateKey)
	if err != nil || len(raw) != ScalarSize {
		return nil, fmt.Errorf("%w: private_key is not 32 hex bytes", ErrKeyFile)
	}
	sk := new(oprf.PrivateKey)
	if err := sk.UnmarshalBinary(suite, raw); err != nil {
		return nil, fmt.Errorf("%w: private_key is not a valid scalar", ErrKeyFile)
	}
	k, err := newOPRFKey(sk)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if kf.PublicKey != hex.EncodeToString(k.pub.raw[:]) || kf.KeyID != k.ID() {
		return nil, fmt.Errorf("%w: public_key or key_id does not match private_key", ErrKeyFile)
	}
	return k, nil
}

// WriteKeyFile writes k to a new file at path, readable and writable by
// its owner only. It refuses to overwrite an existing file: replacing a key
// orphans every index sealed under it.
func (k *OPRFKey) WriteKeyFile(path, created string) error {
	data, err := k.MarshalKeyFile(created)
	if err != nil {
		return err
	}
	// Write a temporary file, then link it into place: a crash never
	// leaves a partial key at path, and link, unlike rename, fails if path
	// exists.
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("checker: %s: %w (refusing to replace a key)", path, fs.ErrExist)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil { // umask aside, be explicit
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("checker: %s: %w (refusing to replace a key)", path, fs.ErrExist)
		}
		return err
	}
	return nil
}

// LoadOPRFKey reads a key file. On Unix it refuses a file that group or
// others may read or write ([ErrKeyPermissions]): the key is what keeps
// a private index from being harvested.
func LoadOPRFKey(path string) (*OPRFKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, &fs.PathError{Op: "load key", Path: path,
			Err: fmt.Errorf("%w (mode %#o; run chmod 600 %s)", ErrKeyPermissions, fi.Mode().Perm(), filepath.Base(path))}
	}
	if fi.Size() > 1<<16 {
		return nil, fmt.Errorf("%s: %w: %d bytes", path, ErrKeyFile, fi.Size())
	}
	data := make([]byte, fi.Size())
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	k, err := ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// # Server side

// evaluate decodes the concatenated 32-byte blinded elements in blinded,
// multiplies each by the key, and proves with one batched DLEQ proof (RFC
// 9497 section 2.2.1) that all of them used the key behind the public key.
// It returns the concatenated evaluated elements and the proof c || s.
// Every element is decoded here, canonically; the identity is refused.
//
// r is the proof's randomness: nil means fresh randomness from
// crypto/rand, which is what a server must use; test vectors pass a fixed
// one. withProof false skips the proof (only to measure what it costs;
// clients reject such answers).
//
// It computes exactly what circl's ProveBatchWithRandomnessRFC9497 does,
// on the fast path of oprf_eval.go ([OPRFKey.evaluateFast]; oprf_eval_test.go
// proves the bytes equal to [OPRFKey.evaluateCircl]'s).
func (k *OPRFKey) evaluate(blinded []byte, r []byte, withProof bool) (evaluated, proof []byte, err error) {
	if evaluateWithR255 {
		return k.evaluateR255(blinded, r, withProof)
	}
	return k.evaluateFast(blinded, r, withProof)
}

// evaluateWithR255, set by benchmarks only (never while a handler runs),
// routes evaluate to the previous path: the same-run baseline of
// BenchmarkPrivateQueryFastVsOld.
var evaluateWithR255 bool

// evaluateR255 is the previous evaluate, on go-ristretto, kept as a
// second reference and as the same-run baseline of the benchmarks.
// It decodes the concatenated 32-byte blinded elements in blinded,
// multiplies each by the key, and proves with one batched DLEQ proof (RFC
// 9497 section 2.2.1) that all of them used the key behind the public key.
// It returns the concatenated evaluated elements and the proof c || s.
// Every element is decoded here, canonically; the identity is refused.
//
// r is the proof's randomness: nil means fresh randomness, which is what
// a server must use; test vectors pass a fixed one. withProof false skips
// the proof (only to measure what it costs; clients reject such answers).
//
// It computes exactly what circl's ProveBatchWithRandomnessRFC9497 does
// (TestEvaluateMatchesCircl compares the bytes; the RFC vectors pass),
// with less work, on go-ristretto, circl's own ristretto255 backend:
//
//   - every element is encoded once (circl encodes the blinded and
//     evaluated elements again for the composites, and the public key
//     twice per proof);
//   - r·G, the proof's commitment to the generator, is a fixed-base
//     multiplication with the precomputed table (circl multiplies the
//     generator as any point, three times slower);
//   - the multiplications by public scalars (the composite weights d_i)
//     are variable-time; the ones by secrets (k, r) stay constant-time;
//   - with one element, Z = d·D (variable-time) replaces k·M.
//
// So a one-element query costs two constant-time and two variable-time
// multiplications, one fixed-base one and five encodings, against five
// constant-time multiplications and nine encodings.
func (k *OPRFKey) evaluateR255(blinded []byte, r []byte, withProof bool) (evaluated, proof []byte, err error) {
	if len(blinded) == 0 || len(blinded)%ElementSize != 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes is not a positive multiple of %d", ErrBadElement, len(blinded), ElementSize)
	}
	n := len(blinded) / ElementSize
	in := make([]r255.Point, n)
	out := make([]r255.Point, n)
	evaluated = make([]byte, n*ElementSize)
	var buf [ElementSize]byte
	var zero r255.Point
	zero.SetZero()
	for i := range in {
		copy(buf[:], blinded[i*ElementSize:])
		if !in[i].SetBytes(&buf) || in[i].Equals(&zero) {
			return nil, nil, fmt.Errorf("%w: element %d", ErrBadElement, i)
		}
		out[i].ScalarMult(&in[i], &k.rk)
		out[i].BytesInto((*[ElementSize]byte)(evaluated[i*ElementSize:]))
	}
	if !withProof {
		return evaluated, nil, nil
	}
	var rs r255.Scalar
	if r != nil {
		if len(r) != ScalarSize || !rs.SetBytesStrict((*[ScalarSize]byte)(r)) {
			return nil, nil, errors.New("checker: proof randomness is not a reduced 32-byte scalar")
		}
	} else {
		for rs.Rand(); rs.IsNonZeroI() == 0; rs.Rand() {
		}
	}

	// Composites (RFC 9497 ComputeCompositesFast): d_i from a seed over
	// the public key, M = sum d_i·C_i, Z = k·M.
	h := sha512.New()
	msg := make([]byte, 0, 2+sha512.Size+2+2+ElementSize+2+ElementSize+len(labelComposite))
	msg = appendLenPrefixed(msg, k.pub.raw[:])
	msg = appendLenPrefixed(msg, seedDST)
	h.Write(msg)
	seed := h.Sum(nil)
	var m, z, t r255.Point
	var d r255.Scalar
	m.SetZero()
	for i := range in {
		msg = appendLenPrefixed(msg[:0], seed)
		msg = binary.BigEndian.AppendUint16(msg, uint16(i))
		msg = appendLenPrefixed(msg, blinded[i*ElementSize:(i+1)*ElementSize])
		msg = appendLenPrefixed(msg, evaluated[i*ElementSize:(i+1)*ElementSize])
		msg = append(msg, labelComposite...)
		if err := hashToScalar(&d, msg); err != nil {
			return nil, nil, err
		}
		if n == 1 {
			m.PublicScalarMult(&in[0], &d)
			z.PublicScalarMult(&out[0], &d)
			break
		}
		t.PublicScalarMult(&in[i], &d)
		m.Add(&m, &t)
	}
	if n > 1 {
		z.ScalarMult(&m, &k.rk)
	}

	// Challenge over the public key, M, Z, t2 = r·G and t3 = r·M; then
	// s = r - c·k.
	var t2, t3 r255.Point
	t2.ScalarMultBase(&rs)
	t3.ScalarMult(&m, &rs)
	msg = appendLenPrefixed(msg[:0], k.pub.raw[:])
	for _, p := range []*r255.Point{&m, &z, &t2, &t3} {
		p.BytesInto(&buf)
		msg = appendLenPrefixed(msg, buf[:])
	}
	msg = append(msg, labelChallenge...)
	var c, sc r255.Scalar
	if err := hashToScalar(&c, msg); err != nil {
		return nil, nil, err
	}
	sc.Mul(&c, &k.rk)
	sc.Sub(&rs, &sc)
	proof = make([]byte, ProofSize)
	c.BytesInto((*[ScalarSize]byte)(proof[:ScalarSize]))
	sc.BytesInto((*[ScalarSize]byte)(proof[ScalarSize:]))
	return evaluated, proof, nil
}

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

// hashToScalar sets d to RFC 9497's HashToScalar(msg) under h2sDST (circl's
// expand_message_xmd and reduction).
func hashToScalar(d *r255.Scalar, msg []byte) error {
	b, err := grp.HashToScalar(msg, h2sDST).MarshalBinary()
	if err != nil || len(b) != ScalarSize || !d.SetBytesStrict((*[ScalarSize]byte)(b)) {
		return errors.New("checker: hash to scalar failed")
	}
	return nil
}

// evaluateCircl is evaluate through circl's own DLEQ prover: the reference
// evaluate is tested and benchmarked against.
func (k *OPRFKey) evaluateCircl(blinded []byte, r []byte) (evaluated, proof []byte, err error) {
	n := len(blinded) / ElementSize
	in := make([]group.Element, n)
	out := make([]group.Element, n)
	for i := range in {
		e := grp.NewElement()
		if err := e.UnmarshalBinary(blinded[i*ElementSize : (i+1)*ElementSize]); err != nil || e.IsIdentity() {
			return nil, nil, fmt.Errorf("%w: element %d", ErrBadElement, i)
		}
		in[i] = e
		out[i] = grp.NewElement().Mul(e, k.k)
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
	pr, err := dleq.Prover{Params: dleqParams}.ProveBatchWithRandomnessRFC9497(k.k, k.pub.e, in, out, rs)
	if err != nil {
		return nil, nil, err
	}
	proof, err = pr.MarshalBinary()
	return evaluated, proof, err
}

// # Client side

// blindState is what a client keeps between blinding and finalizing: the
// inputs, blinds and blinded elements of one request.
type blindState struct {
	pub *OPRFPublicKey
	fin *oprf.FinalizeData
	req *oprf.EvaluationRequest
}

// oprfInput returns the OPRF input of a plain key: [OPRFInputLabel] then
// the key's 8 big-endian bytes.
func oprfInput(key uint64) []byte {
	b := make([]byte, len(OPRFInputLabel)+8)
	copy(b, OPRFInputLabel)
	binary.BigEndian.PutUint64(b[len(OPRFInputLabel):], key)
	return b
}

// blind blinds the inputs for evaluation under pub and returns the state
// and the concatenated blinded elements to send. blinds, if not nil, are
// fixed 32-byte scalars (test vectors only); nil means fresh random ones.
func blind(pub *OPRFPublicKey, inputs [][]byte, blinds [][]byte) (*blindState, []byte, error) {
	c := oprf.NewVerifiableClient(suite, pub.pk)
	var (
		fin *oprf.FinalizeData
		req *oprf.EvaluationRequest
		err error
	)
	if blinds == nil {
		fin, req, err = c.Blind(inputs)
	} else {
		bs := make([]oprf.Blind, len(blinds))
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
	return &blindState{pub: pub, fin: fin, req: req}, out, nil
}

// finalize checks the server's proof over the request and the evaluated
// elements against the public key, then unblinds and hashes: it returns
// the 64-byte OPRF output of every input.
func (st *blindState) finalize(evaluated, proof []byte) ([][]byte, error) {
	n := len(st.req.Elements)
	if len(evaluated) != n*ElementSize {
		return nil, fmt.Errorf("%w: %d evaluated bytes for %d elements", ErrBadElement, len(evaluated), n)
	}
	ev := &oprf.Evaluation{Elements: make([]oprf.Evaluated, n), Proof: new(dleq.Proof)}
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
	out, err := oprf.NewVerifiableClient(suite, st.pub.pk).Finalize(st.fin, ev)
	if errors.Is(err, oprf.ErrInvalidProof) {
		return nil, ErrProof
	}
	if err != nil {
		return nil, fmt.Errorf("checker: finalize: %w", err)
	}
	return out, nil
}

// # Sealing: F_k with the key in hand

// sealer computes F_k(x) = SHA-512(len(x) || x || 32 || k·H2G(x) ||
// "Finalize") directly, without blinding: 'phonecheck seal' holds the key.
// It does exactly what circl's FullEvaluate does (a test checks they agree
// on every input), minus the per-call allocations: the expander and DST,
// the output element and the hash state are made once per sealer. One
// sealer per goroutine; see [sealTags] for the parallel driver.
//
// Where the time goes (see BenchmarkSeal): hash-to-group is ~10 us (one
// expand_message_xmd, two Elligator maps, each an inverse square root),
// the variable-base scalar multiplication ~55 us (252 doublings whatever
// the window), the element encoding ~4 us (one more inverse square root)
// and the final SHA-512 under 1 us. The scalar is fixed but the base
// varies, so circl's fast fixed-base multiplication (MulGen, ~18 us) does
// not apply, and circl exposes neither a batch encoding (curve25519-dalek's
// double-and-compress shares one inversion across a batch) nor a
// multi-point multiplication. What remains is removing allocation and
// using every core.
type sealer struct {
	k     group.Scalar
	elem  group.Element
	h     hash.Hash
	input []byte
	sum   []byte
}

func (k *OPRFKey) newSealer() *sealer {
	in := make([]byte, len(OPRFInputLabel)+8)
	copy(in, OPRFInputLabel)
	return &sealer{k: k.k, elem: grp.NewElement(), h: sha512.New(), input: in, sum: make([]byte, 0, sha512.Size)}
}

// output returns the first 8 bytes of F_k(input of key), big-endian.
func (s *sealer) output(key uint64) uint64 {
	binary.BigEndian.PutUint64(s.input[len(OPRFInputLabel):], key)
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

// circlFullEvaluate is circl's own FullEvaluate, the reference the sealer
// is tested and benchmarked against.
func (k *OPRFKey) circlFullEvaluate(input []byte) ([]byte, error) {
	return oprf.NewVerifiableServer(suite, k.sk).FullEvaluate(input)
}
