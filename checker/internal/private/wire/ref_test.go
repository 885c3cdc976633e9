package wire

// The hand-rolled encoders and decoders the cryptobyte ones replaced,
// copied verbatim from before the move (names prefixed "ref"): the
// differential test holds the two to the same bytes and the same errors,
// and the benchmark times both in the same run.
//
// Do not fix or speed up anything here: it is the specification.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
)

const refRespHeader = 14

func refAppendRequest(dst []byte, r *Request) []byte {
	dst = append(dst, Version, Suite, byte(r.Bits))
	pb := (r.Bits + 7) / 8
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], r.Prefix)
	dst = append(dst, buf[8-pb:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.Count()))
	return append(dst, r.Elements...)
}

func refParseRequest(b []byte, maxElements int) (*Request, error) {
	if len(b) < requestHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrWire, len(b))
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrWire, b[0], Version)
	}
	if b[1] != Suite {
		return nil, fmt.Errorf("%w: suite %d, want %d (%s)", ErrWire, b[1], Suite, oprf.Suite)
	}
	r := &Request{Bits: int(b[2])}
	if r.Bits > 32 {
		return nil, fmt.Errorf("%w: prefix of %d bits", ErrWire, r.Bits)
	}
	pb := (r.Bits + 7) / 8
	b = b[requestHeaderSize:]
	if len(b) < pb+2 {
		return nil, fmt.Errorf("%w: truncated", ErrWire)
	}
	for _, c := range b[:pb] {
		r.Prefix = r.Prefix<<8 | uint64(c)
	}
	if r.Bits < 64 && r.Prefix>>r.Bits != 0 {
		return nil, fmt.Errorf("%w: prefix does not fit in %d bits", ErrWire, r.Bits)
	}
	n := int(binary.BigEndian.Uint16(b[pb:]))
	b = b[pb+2:]
	if n > maxElements {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooMany, n, maxElements)
	}
	if len(b) != n*oprf.ElementSize {
		return nil, fmt.Errorf("%w: %d bytes of elements for %d elements", ErrWire, len(b), n)
	}
	if n == 0 && r.Bits == 0 {
		return nil, fmt.Errorf("%w: neither a prefix nor elements", ErrWire)
	}
	r.Elements = b
	return r, nil
}

func refAppendResponseHead(dst []byte, r *Response) []byte {
	var flags byte
	if r.Padded {
		flags |= 1
	}
	dst = append(dst, Version, Suite, byte(r.Bits), flags)
	dst = append(dst, r.KeyID[:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Evaluated)/oprf.ElementSize))
	dst = append(dst, r.Evaluated...)
	return append(dst, r.Proof...)
}

func refParseResponse(b []byte) (*Response, error) {
	if len(b) < refRespHeader {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrWire, len(b))
	}
	if b[0] != Version || b[1] != Suite {
		return nil, fmt.Errorf("%w: response version %d suite %d", ErrWire, b[0], b[1])
	}
	r := &Response{Bits: int(b[2]), Padded: b[3]&1 != 0}
	if r.Bits > 32 {
		return nil, fmt.Errorf("%w: response prefix of %d bits", ErrWire, r.Bits)
	}
	copy(r.KeyID[:], b[4:12])
	n := int(binary.BigEndian.Uint16(b[12:]))
	b = b[refRespHeader:]
	need := n * oprf.ElementSize
	if n > 0 {
		need += oprf.ProofSize
	}
	if len(b) < need+5 {
		return nil, fmt.Errorf("%w: response truncated", ErrWire)
	}
	r.Evaluated = b[:n*oprf.ElementSize]
	if n > 0 {
		r.Proof = b[n*oprf.ElementSize : need]
	}
	bk, err := refParseBucket(b[need:], r.Bits, r.Padded)
	if err != nil {
		return nil, err
	}
	r.Bucket = bk
	return r, nil
}

func refParseBucket(b []byte, bits int, padded bool) (*Bucket, error) {
	if len(b) < 5 {
		return nil, fmt.Errorf("%w: response truncated", ErrWire)
	}
	m := int64(binary.BigEndian.Uint32(b))
	w := int(b[4])
	b = b[5:]
	if w > 2 || m > MaxResponseEntries || (bits == 0 && m > 0) {
		return nil, fmt.Errorf("%w: %d entries with %d-byte set ids", ErrWire, m, w)
	}
	tb := 64 - bits
	e := (m*int64(tb) + 7) / 8
	if int64(len(b)) != e+m*int64(w) {
		return nil, fmt.Errorf("%w: %d bytes for %d entries", ErrWire, len(b), m)
	}
	bk := &Bucket{Bits: bits, IDBytes: w, Padded: padded}
	if m > 0 {
		bk.Entries = UnpackBits(b[:e], int(m), tb)
	}
	b = b[e:]
	if w > 0 {
		bk.Sets = make([]uint16, m)
		for i := range bk.Sets {
			if w == 1 {
				bk.Sets[i] = uint16(b[i])
			} else {
				bk.Sets[i] = binary.BigEndian.Uint16(b[2*i:])
			}
		}
	}
	return bk, nil
}

// randomResponse is a response with n elements and a bucket of m entries
// of p bits with w-byte set ids.
func randomResponse(rng *rand.Rand, p, n, m, w int) *Response {
	r := &Response{Bits: p, Padded: rng.IntN(2) == 1, Evaluated: make([]byte, n*oprf.ElementSize)}
	for i := range r.KeyID {
		r.KeyID[i] = byte(rng.Uint32())
	}
	for i := range r.Evaluated {
		r.Evaluated[i] = byte(rng.Uint32())
	}
	if n > 0 {
		r.Proof = bytes.Repeat([]byte{byte(n)}, oprf.ProofSize)
	}
	if p > 0 {
		bk := &Bucket{Bits: p, IDBytes: w, Padded: r.Padded}
		for range m {
			bk.Entries = append(bk.Entries, rng.Uint64()>>p)
			if w > 0 {
				bk.Sets = append(bk.Sets, uint16(rng.Uint32()>>(32-8*w)))
			}
		}
		r.Bucket = bk
	}
	return r
}

func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Error() == b.Error()
}

// TestWireMatchesReference: the cryptobyte encoders write the reference's
// bytes, and the decoders accept what it accepts, with the same error
// text on every truncation and every corrupted byte.
func TestWireMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 9))
	for _, p := range []int{0, 1, 7, 8, 12, 20, 32} {
		for _, n := range []int{0, 1, 3} {
			prefix := uint64(0)
			if p > 0 {
				prefix = rng.Uint64() >> (64 - p)
			}
			req := &Request{Bits: p, Prefix: prefix, Elements: bytes.Repeat([]byte{byte(n)}, n*oprf.ElementSize)}
			b := AppendRequest([]byte{0xAA}, req)
			if want := refAppendRequest([]byte{0xAA}, req); !bytes.Equal(b, want) {
				t.Fatalf("p=%d n=%d: request % x, reference % x", p, n, b, want)
			}
			b = b[1:]
			for i := 0; i <= len(b); i++ {
				for _, c := range [][]byte{b[:i], flip(b, i, rng)} {
					got, err := ParseRequest(c, 2)
					want, werr := refParseRequest(c, 2)
					if !sameError(err, werr) || err == nil && (got.Bits != want.Bits || got.Prefix != want.Prefix || !bytes.Equal(got.Elements, want.Elements)) {
						t.Fatalf("request % x: %v, reference %v", c, err, werr)
					}
				}
			}
			for _, w := range []int{0, 1, 2} {
				m := 0
				if p > 0 {
					m = rng.IntN(40)
				}
				r := randomResponse(rng, p, n, m, w)
				b := AppendResponse([]byte{0xAA}, r)
				want := refAppendResponseHead([]byte{0xAA}, r)
				want = AppendBucketSection(want, r.Bucket, r.Bits)
				if !bytes.Equal(b, want) {
					t.Fatalf("p=%d n=%d m=%d w=%d: response differs from the reference", p, n, m, w)
				}
				b = b[1:]
				for i := 0; i <= len(b); i += 1 + i/64 {
					for _, c := range [][]byte{b[:i], flip(b, i, rng)} {
						got, err := ParseResponse(c)
						want, werr := refParseResponse(c)
						if !sameError(err, werr) {
							t.Fatalf("response of %d bytes: %v, reference %v", len(c), err, werr)
						}
						if err == nil && (!bytes.Equal(AppendResponse(nil, got), AppendResponse(nil, want)) || got.Padded != want.Padded) {
							t.Fatalf("response of %d bytes: decoded differently", len(c))
						}
					}
				}
			}
		}
	}
}

// flip returns b with byte i (if any) changed.
func flip(b []byte, i int, rng *rand.Rand) []byte {
	c := bytes.Clone(b)
	if i < len(c) {
		c[i] ^= byte(1 + rng.IntN(255))
	}
	return c
}

// BenchmarkWire times the cryptobyte encoders and decoders against the
// hand-rolled reference, in the same run: the request a server parses,
// the head of the answer it writes, and the answer a client parses (a
// padded 20-bit bucket of 48 entries with 1-byte set ids).
func BenchmarkWire(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	req := AppendRequest(nil, &Request{Bits: 20, Prefix: 0x9E191, Elements: make([]byte, oprf.ElementSize)})
	resp := randomResponse(rng, 20, 1, 48, 1)
	answer := AppendResponse(nil, resp)
	buf := make([]byte, 0, 4096)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"ParseRequest/cryptobyte", func() { ParseRequest(req, 128) }},
		{"ParseRequest/ref", func() { refParseRequest(req, 128) }},
		{"AppendResponseHead/cryptobyte", func() { buf = AppendResponseHead(buf[:0], resp) }},
		{"AppendResponseHead/ref", func() { buf = refAppendResponseHead(buf[:0], resp) }},
		{"ParseResponse/cryptobyte", func() { ParseResponse(answer) }},
		{"ParseResponse/ref", func() { refParseResponse(answer) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.f()
			}
		})
	}
}
