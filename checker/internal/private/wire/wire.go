// Package wire implements the private mode's wire format and the device's
// side of a query (building a request, checking an answer, comparing it),
// with no I/O: transports send and receive the bytes.
//
// It is the client side of the private mode: a browser build links it,
// and it links neither the index nor any HTTP code. The server encodes its
// answers with it too.
//
// # Wire format
//
// A private query is one POST of a binary request; the answer is one
// binary response. Integers are big-endian (network order); elements are
// RFC 9497 SerializeElement (the 32-byte ristretto255 encoding), scalars
// SerializeScalar (32 bytes, little-endian).
//
// Request (POST /v1/private/query, Content-Type application/octet-stream):
//
//	off   size       field
//	0     1          version: 1
//	1     1          suite: 1 = ristretto255-SHA512, RFC 9497 VOPRF (mode 0x01)
//	2     1          p: prefix bits, 0..B; 0 = no bucket (evaluation only)
//	3     ceil(p/8)  prefix: top p bits of the plain key, right-aligned
//	+0    2          n: blinded elements, 0..max; 0 = no evaluation (bucket only)
//	+2    32*n       blinded elements
//	+0    0 or 32*n  decode hints, optional: for each element, the inverse
//	                 square root its decoding needs (RFC 9496 section 4.3.1),
//	                 as a field element; only to a server whose key document
//	                 says "decode_hints": true
//
// p and n are not both 0. A hint spares the server an exponentiation per
// element: it checks the hint with a squaring and a multiplication and
// ignores one that does not check. The hints say nothing the elements do
// not: anyone can compute them from the elements. Padding is asked for
// with the request header "Add-Padding: true", as on the plain range
// endpoint (the server may pad always, and does by default).
//
// Response (200, Content-Type application/octet-stream):
//
//	off   size       field
//	0     1          version: 1
//	1     1          suite: 1
//	2     1          p: prefix bits, as asked
//	3     1          flags: bit 0 = padded with decoys
//	4     8          key id: first 8 bytes of SHA-256("phonecheck key id v1" 0x00
//	                 "ristretto255-SHA512" 0x00 || public key)
//	12    2          n: evaluated elements, as many as blinded ones
//	14    32*n       evaluated elements, in request order
//	+0    64 if n>0  proof: c || s, one batched DLEQ proof for all n
//	+0    4          m: bucket entries, real and decoy (0 when p = 0)
//	+4    1          w: set id bytes per entry: 0 (one dataset set), 1 or 2
//	+5    E          entries: m values of 64-p bits, the low 64-p bits of
//	                 each private key under the prefix, ascending, packed
//	                 most significant bit first; E = ceil(m*(64-p)/8), the
//	                 last byte zero-padded
//	+5+E  m*w        set id of each entry: an index into "sets" of
//	                 GET /v1/private/key (decoys draw theirs at random)
//
// The part from m on is the bucket section ([AppendBucketSection],
// [ParseBucket]). So at p = B = 20 a bucket entry costs 44 bits plus w
// bytes: 6.5 bytes with a few dataset sets, 5.5 with one. Errors are JSON
// {"error": "..."} with 400 (malformed request), 413 (too many elements,
// body too large), 429 (rate limited, with Retry-After) or 500.
//
// Batches never send a prefix and elements together: evaluation-only
// requests (p = 0, n up to max_elements) and bucket-only requests (n = 0,
// one per distinct prefix), so the server learns the set of prefixes and
// the number of elements, and cannot pair an element with a prefix.
//
// # Static buckets (split deployment)
//
// Buckets are static: an export writes each one as a file, for any web
// server, object store or CDN, and only evaluations need the server
// holding the key. Under the export's base URL:
//
//	/v1/private/key                the key document (JSON) with two more
//	                               fields: "evaluate_url", the base URL
//	                               evaluations go to (absolute, or
//	                               relative to the export's base URL), and
//	                               "static_bucket_bits", the lengths p
//	                               whose buckets are files
//	/v1/private/bucket/<p>/<HEX>   the bucket of a prefix of p bits, HEX
//	                               being ceil(p/4) uppercase hex digits of
//	                               the right-aligned prefix (p = 20: 5
//	                               digits, "/v1/private/bucket/20/9E191")
//
// A bucket file is byte for byte the response a server gives a
// bucket-only request (n = 0) asking for padding:
//
//	off   size   field
//	0     1      version: 1
//	1     1      suite: 1
//	2     1      p
//	3     1      flags: 1 (padded; an export is always padded)
//	4     8      key id
//	12    2      n: 0 (no evaluation, so no proof either)
//	14    4      m: entries, real and decoy
//	18    1      w: set id bytes per entry
//	19    E      entries, packed as above
//	19+E  m*w    set ids
//
// The bytes are the same because the decoys are a deterministic function
// of the index and the prefix: the CDN and the server, or two servers,
// cannot be told apart, and their answers cannot be compared to strip the
// decoys. A client of a split deployment GETs the bucket from the base URL
// and POSTs an evaluation-only request (p = 0) to evaluate_url +
// /v1/private/query: the web server learns the prefix, the evaluation
// server blinded elements only, not even the prefix. The file does not
// name its prefix, and nothing signs the bucket contents: a web server
// serving wrong or altered files can make answers wrong, as a lying server
// can, but learns no more than the prefix; the proof on every evaluation
// still binds the evaluations to the published key.
//
// Requests and answers are encoded and decoded with
// golang.org/x/crypto/cryptobyte, as crypto/tls does: every read is
// bounds-checked, so a short or lying input is an error, never a panic.
// The one exception is the server writing a bucket section
// ([BeginBucketSection], [EndBucketSection]): its entry count is known
// only once the entries are packed, and a cryptobyte builder would copy
// every entry once more on the hot path; it is held to the cryptobyte
// decoder by the round-trip tests.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"golang.org/x/crypto/cryptobyte"
)

// Version and Suite are the first two bytes of every request and
// response: the wire version, and the suite id of [oprf.Suite].
const (
	Version = 1
	Suite   = 1
)

// Header sizes: a request up to its prefix (version, suite, p), a
// response up to its evaluated elements.
const (
	requestHeaderSize  = 3
	ResponseHeaderSize = 14
)

// Wire errors.
var (
	// ErrWire is wrapped by every error in decoding a request or response.
	ErrWire = errors.New("checker: malformed private query")
	// ErrTooMany is returned for a request with more elements than allowed.
	ErrTooMany = errors.New("checker: too many elements in one query")
	// ErrKeyMismatch is returned when a private index was sealed under
	// another key than the one given, and when a server answers under
	// another key than the client expects.
	ErrKeyMismatch = errors.New("checker: private index sealed under another key")
)

// Request is a decoded request.
type Request struct {
	Bits     int    // prefix bits p; 0 asks for no bucket
	Prefix   uint64 // the top Bits bits of the plain key, right-aligned
	Elements []byte // n*32 bytes, not yet decoded as group elements
	Hints    []byte // the elements' decode hints: n*32 bytes, or none (AppendRequest writes no other length)
}

// Count returns the number of blinded elements.
func (r *Request) Count() int { return len(r.Elements) / oprf.ElementSize }

// MaxRequestSize is the size of a request with maxElements elements, their
// decode hints and the longest prefix.
func MaxRequestSize(maxElements int) int64 {
	return requestHeaderSize + 4 + 2 + 2*int64(maxElements)*oprf.ElementSize
}

// AppendRequest appends the encoding of r to dst.
func AppendRequest(dst []byte, r *Request) []byte {
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8(Version)
	b.AddUint8(Suite)
	b.AddUint8(uint8(r.Bits))
	var prefix [8]byte
	binary.BigEndian.PutUint64(prefix[:], r.Prefix)
	b.AddBytes(prefix[8-(r.Bits+7)/8:])
	b.AddUint16(uint16(r.Count()))
	b.AddBytes(r.Elements)
	if len(r.Hints) == len(r.Elements) {
		b.AddBytes(r.Hints)
	}
	return b.BytesOrPanic()
}

// ParseRequest decodes a request. It checks the layout only; elements are
// decoded by the OPRF layer, and the prefix against the index. The
// request's Elements alias b.
func ParseRequest(b []byte, maxElements int) (*Request, error) {
	s := cryptobyte.String(b)
	var version, suite, bits uint8
	if !s.ReadUint8(&version) || !s.ReadUint8(&suite) || !s.ReadUint8(&bits) {
		return nil, fmt.Errorf("%w: %d bytes", ErrWire, len(b))
	}
	if version != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrWire, version, Version)
	}
	if suite != Suite {
		return nil, fmt.Errorf("%w: suite %d, want %d (%s)", ErrWire, suite, Suite, oprf.Suite)
	}
	r := &Request{Bits: int(bits)}
	if r.Bits > 32 {
		return nil, fmt.Errorf("%w: prefix of %d bits", ErrWire, r.Bits)
	}
	var prefix []byte
	var n uint16
	if !s.ReadBytes(&prefix, (r.Bits+7)/8) || !s.ReadUint16(&n) {
		return nil, fmt.Errorf("%w: truncated", ErrWire)
	}
	for _, c := range prefix {
		r.Prefix = r.Prefix<<8 | uint64(c)
	}
	if r.Prefix>>r.Bits != 0 {
		return nil, fmt.Errorf("%w: prefix does not fit in %d bits", ErrWire, r.Bits)
	}
	if int(n) > maxElements {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooMany, n, maxElements)
	}
	rest := len(s)
	ok := s.ReadBytes(&r.Elements, int(n)*oprf.ElementSize)
	if ok && n > 0 && len(s) == len(r.Elements) {
		s.ReadBytes(&r.Hints, len(s)) // one hint an element
	}
	if !ok || !s.Empty() {
		return nil, fmt.Errorf("%w: %d bytes of elements for %d elements", ErrWire, rest, n)
	}
	if n == 0 && r.Bits == 0 {
		return nil, fmt.Errorf("%w: neither a prefix nor elements", ErrWire)
	}
	return r, nil
}
