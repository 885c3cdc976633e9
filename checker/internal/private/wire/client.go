package wire

// The device's side of a query, without I/O: the caller sends the
// request's bytes however it likes (HTTP, a test's handler, a browser's
// fetch) and hands back the answer's.

import (
	"encoding/binary"
	"fmt"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
)

// PrivateKey returns bucket<<(64-B) | tag: the top B bits of the plain key
// and the top 64-B bits of the OPRF output (its first 8 bytes, out). A
// private index stores these keys; a client computes its number's to
// compare.
func PrivateKey(plain, out uint64, b int) uint64 {
	return plain>>(64-b)<<(64-b) | out>>b
}

// Query is a query in progress: the request to send, and what the client
// keeps to check and unblind the answer. A Query is used once.
type Query struct {
	Request Request
	pub     *oprf.PublicKey
	st      *oprf.BlindState // nil for a bucket-only query
	n       int
}

// NewQuery blinds the OPRF inputs of keys under pub and returns the
// query asking for their evaluation and, if bits > 0, for the bucket of
// prefix (bits bits). No key leaves the device: only the prefix and the
// blinded elements are in the request.
func NewQuery(pub *oprf.PublicKey, bits int, prefix uint64, keys []uint64) (*Query, error) {
	q := &Query{Request: Request{Bits: bits, Prefix: prefix}, pub: pub, n: len(keys)}
	if len(keys) > 0 {
		inputs := make([][]byte, len(keys))
		for i, k := range keys {
			inputs[i] = oprf.Input(k)
		}
		st, elems, err := oprf.Blind(pub, inputs, nil)
		if err != nil {
			return nil, err
		}
		q.st, q.Request.Elements = st, elems
	}
	return q, nil
}

// AddDecodeHints adds the blinded elements' decode hints to the request,
// for a server whose key document says it takes them ([Config]): one
// exponentiation here per element, one fewer on the server.
func (q *Query) AddDecodeHints() {
	if len(q.Request.Elements) > 0 {
		q.Request.Hints = oprf.DecodeHints(q.Request.Elements)
	}
}

// Check checks that resp answers the query under the expected key, for
// as many bits and elements as asked.
func (q *Query) Check(resp *Response) error {
	return CheckResponse(resp, q.pub, q.Request.Bits, q.n)
}

// Outputs checks resp ([Query.Check]), verifies the proof of its
// evaluations against the public key and unblinds them: the first 8
// bytes of each key's OPRF output, in order, as [PrivateKey] takes them.
func (q *Query) Outputs(resp *Response) ([]uint64, error) {
	if err := q.Check(resp); err != nil {
		return nil, err
	}
	if q.st == nil {
		return nil, nil
	}
	outs, err := q.st.Finalize(resp.Evaluated, resp.Proof)
	if err != nil {
		return nil, err
	}
	r := make([]uint64, len(outs))
	for i, o := range outs {
		r[i] = binary.BigEndian.Uint64(o[:8])
	}
	return r, nil
}

// CheckResponse checks that resp is an answer under pub for a prefix of
// bits bits and n elements.
func CheckResponse(resp *Response, pub *oprf.PublicKey, bits, n int) error {
	if resp.KeyID != pub.IDBytes() {
		return fmt.Errorf("%w: server answered under key %x, expected %s (the server's key changed: fetch its key again)", ErrKeyMismatch, resp.KeyID, pub.ID())
	}
	if resp.Bits != bits || len(resp.Evaluated) != n*oprf.ElementSize {
		return fmt.Errorf("%w: answer for %d bits and %d elements, asked %d and %d", ErrWire, resp.Bits, len(resp.Evaluated)/oprf.ElementSize, bits, n)
	}
	return nil
}

// Match compares a number's private key with a bucket: key is its plain
// key, out the first 8 bytes of its OPRF output, bucketBits the index's
// B, sets the dataset indexes of each set id (the key document's). It
// reports whether the number is in the bucket and, if so, the datasets
// holding it; an entry whose set id is out of range is an error (with
// exposed true).
func Match(bk *Bucket, key, out uint64, bucketBits int, sets [][]int) (exposed bool, datasets []int, err error) {
	want := PrivateKey(key, out, bucketBits) & (^uint64(0) >> bk.Bits)
	for i, e := range bk.Entries {
		if e != want {
			continue
		}
		switch {
		case bk.Sets != nil && int(bk.Sets[i]) < len(sets):
			return true, sets[bk.Sets[i]], nil
		case bk.Sets == nil && len(sets) > 0:
			return true, sets[0], nil
		}
		return true, nil, fmt.Errorf("%w: set id out of range", ErrWire)
	}
	return false, nil, nil
}
