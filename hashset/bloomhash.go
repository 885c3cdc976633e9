package hashset

import "math/bits"

// bloomLocations appends to dst the k locations (before the modulo by m)
// that github.com/bits-and-blooms/bloom/v3 derives from a key's 8
// big-endian bytes: its murmur3 (x64, 128-bit) of the bytes and of the
// bytes followed by 1, combined as its location function does. The
// library's Locations allocates a slice per key, which was a third of
// filling a merge's filter (profiled); this is the same arithmetic for
// the one input length the index uses, held equal to the library by
// TestBloomLocationsMatchLibrary and FuzzBloomLocations.
func bloomLocations(dst []uint64, key uint64, k uint64) []uint64 {
	const c1, c2 = 0x87c37b91114253d5, 0x4cf5ad432745937f
	// The 8 bytes are one tail word, read little-endian.
	w := bits.ReverseBytes64(key)
	w *= c1
	w = bits.RotateLeft64(w, 31)
	w *= c2
	// murmur3 of the 8 bytes: the tail word in h1, length 8.
	h1, h2 := w^8, uint64(8)
	h1 += h2
	h2 += h1
	h1, h2 = bloomFmix64(h1), bloomFmix64(h2)
	h1 += h2
	h2 += h1
	// Of the 9 bytes key || 1: the 1 is the tail's ninth byte, in k2.
	k2 := uint64(1) * c2
	k2 = bits.RotateLeft64(k2, 33)
	k2 *= c1
	h3, h4 := w^9, k2^9
	h3 += h4
	h4 += h3
	h3, h4 = bloomFmix64(h3), bloomFmix64(h4)
	h3 += h4
	h4 += h3
	h := [4]uint64{h1, h2, h3, h4}
	for i := uint64(0); i < k; i++ {
		dst = append(dst, h[i%2]+i*h[2+(((i+(i%2))%4)/2)])
	}
	return dst
}

func bloomFmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
