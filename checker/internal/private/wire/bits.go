package wire

import (
	"encoding/binary"
	"slices"
)

// BitPacker packs values of W bits (0 < W <= 64), most significant bit
// first, into Buf: the entries of a bucket section. Its state is open so
// that a hot loop may keep it in locals and put it back.
type BitPacker struct {
	Buf []byte
	Acc uint64 // N pending bits, at the top
	N   uint
	W   uint
}

// PutAll packs hi|v for each v of vals (hi|v < 1<<W).
func (b *BitPacker) PutAll(vals []uint64, hi uint64) {
	buf, acc, n, w := b.Buf, b.Acc, b.N, b.W
	o := len(buf)
	// Whole words only: at most len(vals)*w+n bits, n < 64.
	buf = slices.Grow(buf, (len(vals)*int(w)+63)/64*8+8)
	buf = buf[:cap(buf)]
	for _, v := range vals {
		v |= hi
		if n+w < 64 {
			acc |= v << (64 - n - w)
			n += w
			continue
		}
		r := n + w - 64 // bits of v that do not fit
		binary.BigEndian.PutUint64(buf[o:], acc|v>>r)
		o += 8
		acc = v << (64 - r) // 0 when r == 0
		n = r
	}
	b.Buf, b.Acc, b.N = buf[:o], acc, n
}

// Flush writes the pending bits, zero-padded to a byte, and returns Buf.
func (b *BitPacker) Flush() []byte {
	for ; b.N > 0; b.N -= min(b.N, 8) {
		b.Buf = append(b.Buf, byte(b.Acc>>56))
		b.Acc <<= 8
	}
	return b.Buf
}

// PackBits appends vals as a stream of w-bit values (0 < w <= 64), most
// significant bit first, zero-padded to a byte.
func PackBits(dst []byte, vals []uint64, w int) []byte {
	pk := BitPacker{Buf: dst, W: uint(w)}
	mask := ^uint64(0) >> (64 - w)
	for len(vals) > 0 {
		var chunk [64]uint64
		c := chunk[:min(len(vals), len(chunk))]
		for i := range c {
			c[i] = vals[i] & mask
		}
		pk.PutAll(c, 0)
		vals = vals[len(c):]
	}
	return pk.Flush()
}

// UnpackBits reads n values of w bits packed by [PackBits].
func UnpackBits(b []byte, n, w int) []uint64 {
	out := make([]uint64, n)
	pos := 0 // bit position
	for i := range out {
		var v uint64
		for rem := w; rem > 0; {
			byteI, off := pos/8, pos%8
			take := min(rem, 8-off)
			bitsv := uint64(b[byteI]>>(8-off-take)) & (1<<take - 1)
			v = v<<take | bitsv
			pos += take
			rem -= take
		}
		out[i] = v
	}
	return out
}
