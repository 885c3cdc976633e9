package wire

import (
	"encoding/binary"
	"fmt"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"golang.org/x/crypto/cryptobyte"
)

// Response is a decoded response.
type Response struct {
	Bits      int
	Padded    bool
	KeyID     [oprf.KeyIDSize]byte
	Evaluated []byte // n*32
	Proof     []byte // 64, or nil when n = 0
	Bucket    *Bucket
}

// Bucket is one answer's bucket section, decoded (a client's view of an
// answer; a server writes the section straight from its index, between
// [BeginBucketSection] and [EndBucketSection]).
type Bucket struct {
	Bits    int      // prefix bits p
	Entries []uint64 // low 64-p bits of each key, ascending
	Sets    []uint16 // set id per entry, nil when there is one set
	IDBytes int      // set id width on the wire
	Padded  bool
}

// AppendResponse appends the whole response r (its bucket section from
// r.Bucket, empty when nil).
func AppendResponse(dst []byte, r *Response) []byte {
	return AppendBucketSection(AppendResponseHead(dst, r), r.Bucket, r.Bits)
}

// AppendResponseHead appends a response up to its bucket section: the
// header, the evaluated elements and the proof.
func AppendResponseHead(dst []byte, r *Response) []byte {
	var flags uint8
	if r.Padded {
		flags |= 1
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8(Version)
	b.AddUint8(Suite)
	b.AddUint8(uint8(r.Bits))
	b.AddUint8(flags)
	b.AddBytes(r.KeyID[:])
	b.AddUint16(uint16(len(r.Evaluated) / oprf.ElementSize))
	b.AddBytes(r.Evaluated)
	b.AddBytes(r.Proof)
	return b.BytesOrPanic()
}

// AppendBucketSection appends the bucket section of a response for a
// prefix of bits bits: m, w, the packed entries, their set ids (m = 0
// when bk is nil).
func AppendBucketSection(dst []byte, bk *Bucket, bits int) []byte {
	if bk == nil {
		bk = &Bucket{}
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddUint32(uint32(len(bk.Entries)))
	b.AddUint8(uint8(bk.IDBytes))
	if len(bk.Entries) > 0 {
		b.AddBytes(PackBits(nil, bk.Entries, 64-bits))
	}
	for i := range bk.Entries {
		switch bk.IDBytes {
		case 1:
			b.AddUint8(uint8(bk.Sets[i]))
		case 2:
			b.AddUint16(bk.Sets[i])
		}
	}
	return b.BytesOrPanic()
}

// BeginBucketSection appends the head of a bucket section whose entries
// the caller packs right after it, with set ids of idBytes bytes: m is
// left 0 until [EndBucketSection] writes it, as only the packing counts
// the entries of a padded bucket.
func BeginBucketSection(dst []byte, idBytes int) []byte {
	return append(dst, 0, 0, 0, 0, byte(idBytes))
}

// EndBucketSection writes m into the head of the bucket section that
// starts at section[0].
func EndBucketSection(section []byte, m int) {
	binary.BigEndian.PutUint32(section, uint32(m))
}

// MaxResponseEntries caps the bucket entries a client accepts from a
// server.
const MaxResponseEntries = 1 << 22

// ParseResponse decodes a response. The response's Evaluated and Proof
// alias b.
func ParseResponse(b []byte) (*Response, error) {
	s := cryptobyte.String(b)
	var version, suite, bits, flags uint8
	var n uint16
	r := &Response{}
	if !s.ReadUint8(&version) || !s.ReadUint8(&suite) || !s.ReadUint8(&bits) || !s.ReadUint8(&flags) ||
		!s.CopyBytes(r.KeyID[:]) || !s.ReadUint16(&n) {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrWire, len(b))
	}
	if version != Version || suite != Suite {
		return nil, fmt.Errorf("%w: response version %d suite %d", ErrWire, version, suite)
	}
	r.Bits, r.Padded = int(bits), flags&1 != 0
	if r.Bits > 32 {
		return nil, fmt.Errorf("%w: response prefix of %d bits", ErrWire, r.Bits)
	}
	if !s.ReadBytes(&r.Evaluated, int(n)*oprf.ElementSize) || n > 0 && !s.ReadBytes(&r.Proof, oprf.ProofSize) {
		return nil, fmt.Errorf("%w: response truncated", ErrWire)
	}
	bk, err := ParseBucket(s, r.Bits, r.Padded)
	if err != nil {
		return nil, err
	}
	r.Bucket = bk
	return r, nil
}

// ParseBucket decodes the bucket section of a response for a prefix of
// bits bits: all of b, at least its 5 bytes of m and w.
func ParseBucket(b []byte, bits int, padded bool) (*Bucket, error) {
	s := cryptobyte.String(b)
	var m32 uint32
	var w8 uint8
	if !s.ReadUint32(&m32) || !s.ReadUint8(&w8) {
		return nil, fmt.Errorf("%w: response truncated", ErrWire)
	}
	m, w := int64(m32), int(w8)
	if bits < 0 || bits > 32 {
		// Entries are 64-bits bits wide: past 64 bits a few entries took
		// no bytes at all.
		return nil, fmt.Errorf("%w: bucket of %d bits", ErrWire, bits)
	}
	if w > 2 || m > MaxResponseEntries || (bits == 0 && m > 0) {
		return nil, fmt.Errorf("%w: %d entries with %d-byte set ids", ErrWire, m, w)
	}
	tb := 64 - bits
	e := (m*int64(tb) + 7) / 8
	rest := len(s)
	var packed []byte
	var ids cryptobyte.String
	if !s.ReadBytes(&packed, int(e)) || !s.ReadBytes((*[]byte)(&ids), int(m)*w) || !s.Empty() {
		return nil, fmt.Errorf("%w: %d bytes for %d entries", ErrWire, rest, m)
	}
	bk := &Bucket{Bits: bits, IDBytes: w, Padded: padded}
	if m > 0 {
		bk.Entries = UnpackBits(packed, int(m), tb)
	}
	if w > 0 {
		bk.Sets = make([]uint16, m)
		for i := range bk.Sets {
			if w == 1 {
				var id uint8
				ids.ReadUint8(&id)
				bk.Sets[i] = uint16(id)
			} else {
				ids.ReadUint16(&bk.Sets[i])
			}
		}
	}
	return bk, nil
}
