// Package sha512x8 runs SHA-512's compression function on 8 messages at
// once, one per 64-bit lane of the AVX-512 registers, for the seal path,
// which hashes every key of an index three times (RFC 9380's
// expand_message_xmd twice, RFC 9497's Finalize once), each hash a single
// block after a shared prefix. The caller pads and lays out the blocks;
// this package only compresses. Without AVX-512F (or with purego) the
// same functions run one lane at a time in Go.
//
// Proven equal to crypto/sha512 by this package's tests, on both paths.
package sha512x8

import "math/bits"

// Lanes is the number of messages hashed at once.
const Lanes = 8

// State is 8 SHA-512 chaining values: word i of lane j is [i][j].
type State [8][Lanes]uint64

// Block is 8 message blocks: big-endian word i of lane j is [i][j].
type Block [16][Lanes]uint64

// iv is SHA-512's initial hash value (FIPS 180-4, 5.3.5).
var iv = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

// Reset sets every lane of s to SHA-512's initial hash value.
func (s *State) Reset() {
	for i, w := range iv {
		s.Set(i, w)
	}
}

// Set sets word i of every lane to w.
func (s *State) Set(i int, w uint64) {
	for j := range Lanes {
		s[i][j] = w
	}
}

// Compress runs the compression function of SHA-512 on every lane: lane
// j of s becomes the chaining value after block j of m.
func (s *State) Compress(m *Block) {
	if available {
		compress8(s, m, &k8)
		return
	}
	for j := range Lanes {
		compressLane(s, m, j)
	}
}

// Available reports whether Compress runs the 8 lanes at once.
func Available() bool { return available }

// k is SHA-512's round constants (FIPS 180-4, 4.2.3); k8 has K_t in
// every lane of k8[t], as the assembly reads them.
var k = [80]uint64{
	0x428a2f98d728ae22, 0x7137449123ef65cd, 0xb5c0fbcfec4d3b2f, 0xe9b5dba58189dbbc,
	0x3956c25bf348b538, 0x59f111f1b605d019, 0x923f82a4af194f9b, 0xab1c5ed5da6d8118,
	0xd807aa98a3030242, 0x12835b0145706fbe, 0x243185be4ee4b28c, 0x550c7dc3d5ffb4e2,
	0x72be5d74f27b896f, 0x80deb1fe3b1696b1, 0x9bdc06a725c71235, 0xc19bf174cf692694,
	0xe49b69c19ef14ad2, 0xefbe4786384f25e3, 0x0fc19dc68b8cd5b5, 0x240ca1cc77ac9c65,
	0x2de92c6f592b0275, 0x4a7484aa6ea6e483, 0x5cb0a9dcbd41fbd4, 0x76f988da831153b5,
	0x983e5152ee66dfab, 0xa831c66d2db43210, 0xb00327c898fb213f, 0xbf597fc7beef0ee4,
	0xc6e00bf33da88fc2, 0xd5a79147930aa725, 0x06ca6351e003826f, 0x142929670a0e6e70,
	0x27b70a8546d22ffc, 0x2e1b21385c26c926, 0x4d2c6dfc5ac42aed, 0x53380d139d95b3df,
	0x650a73548baf63de, 0x766a0abb3c77b2a8, 0x81c2c92e47edaee6, 0x92722c851482353b,
	0xa2bfe8a14cf10364, 0xa81a664bbc423001, 0xc24b8b70d0f89791, 0xc76c51a30654be30,
	0xd192e819d6ef5218, 0xd69906245565a910, 0xf40e35855771202a, 0x106aa07032bbd1b8,
	0x19a4c116b8d2d0c8, 0x1e376c085141ab53, 0x2748774cdf8eeb99, 0x34b0bcb5e19b48a8,
	0x391c0cb3c5c95a63, 0x4ed8aa4ae3418acb, 0x5b9cca4f7763e373, 0x682e6ff3d6b2b8a3,
	0x748f82ee5defb2fc, 0x78a5636f43172f60, 0x84c87814a1f0ab72, 0x8cc702081a6439ec,
	0x90befffa23631e28, 0xa4506cebde82bde9, 0xbef9a3f7b2c67915, 0xc67178f2e372532b,
	0xca273eceea26619c, 0xd186b8c721c0c207, 0xeada7dd6cde0eb1e, 0xf57d4f7fee6ed178,
	0x06f067aa72176fba, 0x0a637dc5a2c898a6, 0x113f9804bef90dae, 0x1b710b35131c471b,
	0x28db77f523047d84, 0x32caab7b40c72493, 0x3c9ebe0a15c9bebc, 0x431d67c49c100d4c,
	0x4cc5d4becb3e42b6, 0x597f299cfc657e2a, 0x5fcb6fab3ad6faec, 0x6c44198c4a475817,
}

var k8 = func() (r [80][Lanes]uint64) {
	for t, c := range k {
		for j := range Lanes {
			r[t][j] = c
		}
	}
	return r
}()

// compressLane is the compression function on lane j, as FIPS 180-4
// section 6.4.2 writes it.
func compressLane(s *State, m *Block, j int) {
	var w [80]uint64
	for t := range 16 {
		w[t] = m[t][j]
	}
	for t := 16; t < 80; t++ {
		v1, v2 := w[t-2], w[t-15]
		s1 := bits.RotateLeft64(v1, -19) ^ bits.RotateLeft64(v1, -61) ^ v1>>6
		s0 := bits.RotateLeft64(v2, -1) ^ bits.RotateLeft64(v2, -8) ^ v2>>7
		w[t] = s1 + w[t-7] + s0 + w[t-16]
	}
	a, b, c, d, e, f, g, h := s[0][j], s[1][j], s[2][j], s[3][j], s[4][j], s[5][j], s[6][j], s[7][j]
	for t := range 80 {
		t1 := h + (bits.RotateLeft64(e, -14) ^ bits.RotateLeft64(e, -18) ^ bits.RotateLeft64(e, -41)) + (e&f ^ ^e&g) + k[t] + w[t]
		t2 := (bits.RotateLeft64(a, -28) ^ bits.RotateLeft64(a, -34) ^ bits.RotateLeft64(a, -39)) + (a&b ^ a&c ^ b&c)
		h, g, f, e, d, c, b, a = g, f, e, d+t1, c, b, a, t1+t2
	}
	s[0][j] += a
	s[1][j] += b
	s[2][j] += c
	s[3][j] += d
	s[4][j] += e
	s[5][j] += f
	s[6][j] += g
	s[7][j] += h
}
