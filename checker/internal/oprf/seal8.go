package oprf

import (
	"crypto/sha512"
	"encoding/binary"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
	"github.com/phonecheck/phonecheck/checker/internal/sha512x8"
)

// sealHash is the SHA-512 side of [Sealer.Outputs] on 8 keys at once
// (package sha512x8), where the CPU has it: each of the three hashes of a
// key is one block after a shared prefix, for inputs [Input](key).
//
//   - expand_message_xmd's b_0 = H(Z_pad || msg || I2OSP(64, 2) || 0 ||
//     DST'): Z_pad (one zero block) is compressed once, into xmd0; the
//     second block is blk0, the key's 8 bytes at keyOff0.
//   - b_1 = H(b_0 || 1 || DST'): blk1, b_0's 8 words then constants. b_1
//     is the 64 bytes HashToGroup maps.
//   - Finalize = H(I2OSP(len(x), 2) || x || I2OSP(32, 2) || enc ||
//     "Finalize"): blkF, the key at keyOffF and the encoding at encOff;
//     the output is the first 8 bytes, the first word of the state.
//
// The constant words of each block are written once; a key writes the
// (at most two) words its bytes fall in, which the templates hold as zero.
type sealHash struct {
	xmd0             sha512x8.State
	st               sha512x8.State
	blk0, blk1, blkF sha512x8.Block
	keyOff0, keyOffF int
	tmpl0, tmplF     [16]uint64
}

// newSealHash returns the layout for the seal's inputs, or nil if one of
// them would not fit a block (never, for the label and DST of this
// package).
func newSealHash() *sealHash {
	h := &sealHash{keyOff0: len(InputLabel), keyOffF: 2 + len(InputLabel)}
	dstTail := append(append([]byte(nil), dstHashToGroup...), byte(len(dstHashToGroup)))
	in := Input(0)
	// blk0: msg || l_i_b_str || 0 || DST', after the 128-byte zero block.
	m0 := append(append(append([]byte(nil), in...), 0, 64, 0), dstTail...)
	// blk1: b_0 (64 bytes, set per key) || 1 || DST'.
	m1 := append(append(make([]byte, 64), 1), dstTail...)
	// blkF: I2OSP(len(x), 2) || x || I2OSP(32, 2) || enc || "Finalize".
	mF := binary.BigEndian.AppendUint16(nil, uint16(len(in)))
	mF = append(mF, in...)
	mF = binary.BigEndian.AppendUint16(mF, 32)
	encOff := len(mF)
	mF = append(mF, make([]byte, 32)...)
	mF = append(mF, "Finalize"...)
	var ok0, ok1, okF bool
	var tmpl1 [16]uint64
	h.tmpl0, ok0 = lastBlock(m0, sha512.BlockSize)
	tmpl1, ok1 = lastBlock(m1, 0)
	h.tmplF, okF = lastBlock(mF, 0)
	if !ok0 || !ok1 || !okF || encOff != 32 {
		return nil
	}
	for i := range 16 {
		h.blk0[i] = broadcast(h.tmpl0[i])
		h.blk1[i] = broadcast(tmpl1[i])
		h.blkF[i] = broadcast(h.tmplF[i])
	}
	var zero sha512x8.Block
	h.xmd0.Reset()
	h.xmd0.Compress(&zero)
	return h
}

func broadcast(w uint64) (r [sha512x8.Lanes]uint64) {
	for j := range r {
		r[j] = w
	}
	return r
}

// lastBlock pads msg, which follows prefix bytes already compressed, into
// one block of big-endian words.
func lastBlock(msg []byte, prefix int) (w [16]uint64, ok bool) {
	if len(msg) > sha512.BlockSize-17 {
		return w, false
	}
	var b [sha512.BlockSize]byte
	copy(b[:], msg)
	b[len(msg)] = 0x80
	binary.BigEndian.PutUint64(b[120:], uint64(prefix+len(msg))*8)
	for i := range w {
		w[i] = binary.BigEndian.Uint64(b[8*i:])
	}
	return w, true
}

// setKey writes the big-endian key at byte off of lane j of blk, whose
// template tmpl holds zeros there.
func setKey(blk *sha512x8.Block, tmpl *[16]uint64, j, off int, key uint64) {
	w, sh := off/8, uint(off%8)*8
	if sh == 0 {
		blk[w][j] = key
		return
	}
	blk[w][j] = tmpl[w] | key>>sh
	blk[w+1][j] = tmpl[w+1] | key<<(64-sh)
}

// points hands HashToGroup of keys[i] (at most 8) to batch as elements
// lo+i.
func (h *sealHash) points(batch *r255.SealBatch, lo int, keys []uint64) {
	for j, key := range keys {
		setKey(&h.blk0, &h.tmpl0, j, h.keyOff0, key)
	}
	h.st = h.xmd0
	h.st.Compress(&h.blk0) // b_0
	copy(h.blk1[:8], h.st[:])
	h.st.Reset()
	h.st.Compress(&h.blk1) // b_1
	var u [64]byte
	for j := range keys {
		for i := range 8 {
			binary.BigEndian.PutUint64(u[8*i:], h.st[i][j])
		}
		batch.SetInput(lo+j, &u)
	}
}

// finalize sets out[i] to the first 8 bytes of Finalize of keys[i] (at
// most 8) and its encoding enc[i].
func (h *sealHash) finalize(out, keys []uint64, enc [][32]byte) {
	for j, key := range keys {
		setKey(&h.blkF, &h.tmplF, j, h.keyOffF, key)
		for i := range 4 {
			h.blkF[4+i][j] = binary.BigEndian.Uint64(enc[j][8*i:])
		}
	}
	h.st.Reset()
	h.st.Compress(&h.blkF)
	for j := range keys {
		out[j] = h.st[0][j]
	}
}

// outputs8 is [Sealer.Outputs] with the hashes 8 keys at a time.
func (s *Sealer) outputs8(keys, out []uint64) {
	for len(keys) > 0 {
		n := min(len(keys), r255.BatchSize)
		for lo := 0; lo < n; lo += sha512x8.Lanes {
			s.hash8.points(s.batch, lo, keys[lo:min(lo+sha512x8.Lanes, n)])
		}
		enc := s.batch.Encode(n)
		for lo := 0; lo < n; lo += sha512x8.Lanes {
			hi := min(lo+sha512x8.Lanes, n)
			s.hash8.finalize(out[lo:hi], keys[lo:hi], enc[lo:hi])
		}
		keys, out = keys[n:], out[n:]
	}
}
