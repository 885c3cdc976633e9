package oprf

import (
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"hash"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
	"github.com/phonecheck/phonecheck/checker/internal/sha512x8"
)

// Sealer computes F_k(x) = SHA-512(len(x) || x || 32 || k·H2G(x) ||
// "Finalize") directly, without blinding, for batches of inputs: what a
// server holding the key computes to seal an index. It does exactly what
// circl's FullEvaluate does (the tests compare them on every path), on
// package r255's seal path, minus the per-call allocations; and
// expand_message_xmd starts from the SHA-512 state after its 128-byte zero
// block, computed once. One per goroutine.
type Sealer struct {
	xmd     hash.Hash // SHA-512 for expand_message_xmd
	xmd0    []byte    // its marshaled state after the 128-byte zero block
	dstTail []byte    // DST || len(DST)
	fin     hash.Hash
	buf     []byte
	input   []byte
	batch   *r255.SealBatch
	hash8   *sealHash // the hashes 8 keys at a time (seal8.go); nil: one at a time
}

// NewSealer returns a sealer for k, on the 8-way path where the CPU has it.
func (k *Key) NewSealer() *Sealer { return k.newSealerOn(true) }

// newSealerOn is NewSealer, on the one-element path if not lanes.
func (k *Key) newSealerOn(lanes bool) *Sealer {
	s := &Sealer{xmd: sha512.New(), fin: sha512.New(), batch: r255.NewSealBatch(k.ev.Half(), lanes)}
	s.xmd.Write(make([]byte, sha512.BlockSize))
	s.xmd0, _ = s.xmd.(encoding.BinaryMarshaler).MarshalBinary()
	s.dstTail = append(append([]byte(nil), dstHashToGroup...), byte(len(dstHashToGroup)))
	s.input = append([]byte(nil), InputLabel...)
	s.input = append(s.input, make([]byte, 8)...)
	if lanes && sha512x8.Available() {
		s.hash8 = newSealHash()
	}
	return s
}

// expand sets u = expand_message_xmd(SHA-512, input, DST, 64) (RFC 9380
// section 5.3.1; one output block, so ell = 1).
func (s *Sealer) expand(u *[64]byte, input []byte) {
	s.xmd.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.xmd0)
	s.xmd.Write(input)
	s.buf = append(s.buf[:0], 0, 64, 0) // l_i_b_str = 64, then I2OSP(0, 1)
	s.buf = append(s.buf, s.dstTail...)
	s.xmd.Write(s.buf)
	b0 := s.xmd.Sum(s.buf[:0])
	b0 = append(b0, 1)
	b0 = append(b0, s.dstTail...)
	*u = sha512.Sum512(b0)
	s.buf = b0
}

// point hands element i of the batch, HashToGroup(input), to r255.
func (s *Sealer) point(i int, input []byte) {
	var u [64]byte
	s.expand(&u, input)
	s.batch.SetInput(i, &u)
}

// finalize returns SHA-512(len(x) || x || 32 || enc || "Finalize")
// appended to dst.
func (s *Sealer) finalize(dst []byte, input []byte, enc *[32]byte) []byte {
	var l [2]byte
	s.fin.Reset()
	binary.BigEndian.PutUint16(l[:], uint16(len(input)))
	s.fin.Write(l[:])
	s.fin.Write(input)
	binary.BigEndian.PutUint16(l[:], 32)
	s.fin.Write(l[:])
	s.fin.Write(enc[:])
	s.fin.Write([]byte("Finalize"))
	return s.fin.Sum(dst)
}

// Outputs sets out[i] to the first 8 bytes of F_k([Input] of keys[i]),
// big-endian.
func (s *Sealer) Outputs(keys, out []uint64) {
	if s.hash8 != nil {
		s.outputs8(keys, out)
		return
	}
	var sum [sha512.Size]byte
	for len(keys) > 0 {
		n := min(len(keys), r255.BatchSize)
		for i, key := range keys[:n] {
			binary.BigEndian.PutUint64(s.input[len(InputLabel):], key)
			s.point(i, s.input)
		}
		enc := s.batch.Encode(n)
		for i, key := range keys[:n] {
			binary.BigEndian.PutUint64(s.input[len(InputLabel):], key)
			out[i] = binary.BigEndian.Uint64(s.finalize(sum[:0], s.input, &enc[i]))
		}
		keys, out = keys[n:], out[n:]
	}
}

// full returns F_k of every input, 64 bytes each: Outputs for any inputs,
// in full. Inputs are at most 65535 bytes, as RFC 9497 requires.
func (s *Sealer) full(inputs [][]byte) [][]byte {
	res := make([][]byte, 0, len(inputs))
	for len(inputs) > 0 {
		n := min(len(inputs), r255.BatchSize)
		for i, in := range inputs[:n] {
			s.point(i, in)
		}
		enc := s.batch.Encode(n)
		for i, in := range inputs[:n] {
			res = append(res, s.finalize(make([]byte, 0, sha512.Size), in, &enc[i]))
		}
		inputs = inputs[n:]
	}
	return res
}
