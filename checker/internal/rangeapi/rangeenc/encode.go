// Package rangeenc writes an index's ranges in the range API's wire
// format: the answers of a server and the files of a static export.
//
// The format itself, padding included, is described in package rangeapi,
// which a client links without the index reader this package needs.
package rangeenc

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/hashset"
)

// Encoder turns an index's ranges into response bodies. It is safe for
// concurrent use; scratch space comes from the caller ([Scratch]).
type Encoder struct {
	idx      *hashset.Reader
	padKey   [32]byte
	datasets int
	index    string // the JSON form's "index": /v1/datasets' index.id
}

// NewEncoder returns an Encoder over idx. padID seeds the decoys of
// padded ranges ([PadID], so that replicas, exports and versions of an
// index pad alike); index is the index id the JSON form names, "" for
// none.
func NewEncoder(idx *hashset.Reader, padID, index string) *Encoder {
	return &Encoder{idx: idx, padKey: sha256.Sum256([]byte("phonecheck range padding v1\x00" + padID)),
		datasets: len(idx.Meta().Datasets), index: index}
}

// PadID is what seeds the decoys of a plain index's padded ranges: its
// key scheme, the same for every version of the index. Not its [IndexID]:
// then a new version (a leak merged in) changed the decoys of every
// range, so that every padded file of an export changed and a sync tool
// uploaded them all, and comparing two versions' answers for a range
// stripped its decoys (what both hold is the real entries). With a seed
// that stays, a range that gains a real entry drops one decoy and keeps
// the others. The decoys of a plain range were never secret (the index
// id is published): padding hides a range's size on the wire, nothing
// from whoever can hash the numbers.
func PadID(idx *hashset.Reader) string { return idx.Meta().KeyScheme }

// IndexID names the bytes of an index: the first 16 hex digits of a
// SHA-256 over its size and section checksums. It changes whenever the
// index does, and is what ETags are made of.
func IndexID(idx *hashset.Reader) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(idx.Size()))
	h.Write(b[:])
	for _, s := range idx.Sections() {
		binary.LittleEndian.PutUint32(b[:4], s.ID)
		binary.LittleEndian.PutUint32(b[4:], s.CRC)
		h.Write(b[:])
		binary.LittleEndian.PutUint64(b[:], uint64(s.Length))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Scratch is the space one range takes while it is encoded: give each
// goroutine its own (a server pools them). The zero value is ready.
type Scratch struct {
	entries []hashset.Entry
	decoys  []uint64
	body    []byte
	rng     rand.ChaCha8 // the decoys' generator, reseeded per range
}

// Reusable reports whether sc is worth keeping for another range: not
// after a huge one made it huge.
func (sc *Scratch) Reusable() bool {
	return cap(sc.body) <= 1<<20 && cap(sc.entries) <= 1<<16
}

// Load reads the range of prefix (bits long) into sc, with its decoys
// when pad is set, for [Encoder.Text] or [Encoder.JSON] to write.
func (e *Encoder) Load(sc *Scratch, prefix uint64, bits int, pad bool) error {
	var err error
	sc.entries, err = e.idx.AppendRange(sc.entries[:0], prefix, bits)
	if err != nil {
		return err
	}
	sc.decoys = sc.decoys[:0]
	if !pad {
		return nil
	}
	n := len(sc.entries)
	want := rangeapi.PaddedSize(n) - n
	if want == 0 {
		return nil
	}
	// seed = SHA-256(padKey || prefix || bits)
	var in [32 + 9]byte
	copy(in[:], e.padKey[:])
	binary.BigEndian.PutUint64(in[32:], prefix)
	in[40] = byte(bits)
	rng := &sc.rng
	rng.Seed(sha256.Sum256(in[:]))
	sufBits := 64 - bits
	mask := ^uint64(0) >> uint(bits)
	if sufBits == 64 {
		mask = ^uint64(0)
	}
	for len(sc.decoys) < want {
		need := want - len(sc.decoys)
		for range need {
			sc.decoys = append(sc.decoys, prefix<<uint(sufBits)|rng.Uint64()&mask)
		}
		slices.Sort(sc.decoys)
		sc.decoys = slices.Compact(sc.decoys)
		// Drop decoys equal to a real key (merge walk; both sorted).
		j := 0
		out := sc.decoys[:0]
		for _, d := range sc.decoys {
			for j < n && sc.entries[j].Key < d {
				j++
			}
			if j < n && sc.entries[j].Key == d {
				continue
			}
			out = append(out, d)
		}
		sc.decoys = out
	}
	return nil
}

const hexUpper = "0123456789ABCDEF"

func appendSuffix(dst []byte, key uint64, bits int) []byte {
	for sh := 64 - bits - 4; sh >= 0; sh -= 4 {
		dst = append(dst, hexUpper[key>>uint(sh)&0xF])
	}
	return dst
}

// appendPrefixHex appends prefix, bits long, as bits/4 uppercase hex digits.
func appendPrefixHex(dst []byte, prefix uint64, bits int) []byte {
	for sh := bits - 4; sh >= 0; sh -= 4 {
		dst = append(dst, hexUpper[prefix>>uint(sh)&0xF])
	}
	return dst
}

// each calls f for every entry of the loaded range, real and decoy, in
// key order; datasets is nil for a decoy.
func (sc *Scratch) each(f func(key uint64, datasets []int)) {
	i, j := 0, 0
	for i < len(sc.entries) || j < len(sc.decoys) {
		if j == len(sc.decoys) || i < len(sc.entries) && sc.entries[i].Key < sc.decoys[j] {
			f(sc.entries[i].Key, sc.entries[i].Datasets)
			i++
		} else {
			f(sc.decoys[j], nil)
			j++
		}
	}
}

// Text returns the text form of the range loaded into sc (bits long,
// padded or not as it was loaded), in sc's space: valid until sc's next
// use.
func (e *Encoder) Text(sc *Scratch, bits int, pad bool) []byte {
	sc.body = sc.appendText(sc.body[:0], bits, e.countWidth(pad))
	return sc.body
}

// appendText appends the text form of the loaded range, each count
// zero-filled to width digits (see countWidth).
func (sc *Scratch) appendText(dst []byte, bits, width int) []byte {
	first := true
	sc.each(func(key uint64, ds []int) {
		if !first {
			dst = append(dst, '\r', '\n')
		}
		first = false
		dst = appendSuffix(dst, key, bits)
		dst = append(dst, ':')
		for w := decimalLen(len(ds)); w < width; w++ {
			dst = append(dst, '0')
		}
		dst = strconv.AppendInt(dst, int64(len(ds)), 10)
	})
	return dst
}

// countWidth is the width of the counts of a text range: as many digits
// as the largest possible count has when padded, so that a line's length
// does not tell a decoy (count 0) from an entry in 10 or more datasets;
// unpadded, counts take the digits they need.
func (e *Encoder) countWidth(pad bool) int {
	if !pad {
		return 1
	}
	return decimalLen(e.datasets)
}

// decimalLen is the number of decimal digits of n >= 0.
func decimalLen(n int) int {
	d := 1
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// JSON returns the JSON form of the range loaded into sc, named by
// prefixHex (uppercase), in sc's space as [Encoder.Text] does. When pad
// is set, it is padded with spaces to [Encoder.PaddedJSONLen].
func (e *Encoder) JSON(sc *Scratch, prefixHex string, bits int, pad bool) []byte {
	sc.body = e.appendJSON(sc.body[:0], sc, prefixHex, bits, pad)
	return sc.body
}

func (e *Encoder) appendJSON(dst []byte, sc *Scratch, prefixHex string, bits int, pad bool) []byte {
	start := len(dst)
	dst = append(dst, `{"prefix":"`...)
	dst = append(dst, prefixHex...)
	if e.index != "" {
		dst = append(dst, `","index":"`...)
		dst = append(dst, e.index...)
	}
	dst = append(dst, `","entries":[`...)
	first := true
	sc.each(func(key uint64, ds []int) {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"suffix":"`...)
		dst = appendSuffix(dst, key, bits)
		dst = append(dst, `","count":`...)
		dst = strconv.AppendInt(dst, int64(len(ds)), 10)
		dst = append(dst, `,"datasets":[`...)
		for i, d := range ds {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, int64(d), 10)
		}
		dst = append(dst, "]}"...)
	})
	dst = append(dst, "]}"...)
	if pad {
		total := e.PaddedJSONLen(len(prefixHex), bits, len(sc.entries)+len(sc.decoys))
		for len(dst)-start < total {
			dst = append(dst, ' ')
		}
	}
	return dst
}

// PaddedJSONLen is the size of a padded JSON range of n entries under a
// prefix of prefixLen hex digits (bits long): as if every entry were in
// every dataset.
func (e *Encoder) PaddedJSONLen(prefixLen, bits, n int) int {
	ids := 0
	for d := 0; d < e.datasets; d++ {
		ids += len(strconv.Itoa(d)) + 1
	}
	if ids > 0 {
		ids--
	}
	entry := len(`{"suffix":"","count":,"datasets":[]},`) + (64-bits)/4 + len(strconv.Itoa(e.datasets)) + ids
	head := len(`{"prefix":"","entries":[]}`) + prefixLen
	if e.index != "" {
		head += len(`,"index":""`) + len(e.index)
	}
	return head + n*entry
}
