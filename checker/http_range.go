package checker

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/phonecheck/phonecheck/hashset"
)

// Range responses: the wire format shared by [Server] and [Export].
//
// A range is named by a prefix of 3 to 8 hex digits of a key (12 to 32
// bits). The text form lists every key of the index that starts with the
// prefix, one per line, in Have I Been Pwned's range format:
//
//	SUFFIX:COUNT\r\n
//
// SUFFIX is the key's remaining 16-len(prefix) hex digits (uppercase),
// COUNT the number of datasets holding it. Lines are sorted by SUFFIX and
// separated by CRLF; the last line has no CRLF. The JSON form is
//
//	{"prefix":"ABCDE","index":"...","entries":[{"suffix":"...","count":2,"datasets":[0,3]},...]}
//
// where datasets are indexes into the datasets of /v1/datasets, and index
// is that document's index.id: the index the answer came from, so that a
// client that read /v1/datasets before a reload can tell.
//
// # Padding
//
// A padded range holds, besides the real entries, decoy entries with
// COUNT 0 up to a size tier ([PaddedSize]): the smallest number of the
// form m·2^e (m in 4..7) that is at least the number of real entries and
// at least [MinPaddedEntries]. So the size of a response says only which
// tier its bucket falls in, and a tier spans at most 25% of sizes. Decoy
// suffixes are drawn uniformly from the same range as real ones, never
// equal a real one, and are sorted in among them: only their count tells
// them apart, as in HIBP. Decoys are a deterministic function of the index
// and the prefix, so a padded range is the same bytes on every request,
// replica and export (a cache can keep it, and comparing two responses
// reveals nothing). In the padded text form every count is written with
// as many digits as the index's number of datasets has, zero-filled
// ("07" and "00" in an index of 10 to 99 datasets), so that every line
// has the same length whatever the real counts are; the JSON form is
// padded with trailing spaces to a size fixed by the tier.

// Prefix hex lengths a range query may use.
const (
	MinPrefixHex = 3
	MaxPrefixHex = 8
)

// MinPaddedEntries is the smallest padded range.
const MinPaddedEntries = 16

// ErrBadPrefix is returned for a prefix that is not 3 to 8 hex digits.
var ErrBadPrefix = errors.New("checker: prefix must be 3 to 8 hex digits")

// ParsePrefix parses a range prefix of 3 to 8 hex digits, either case.
func ParsePrefix(s string) (prefix uint64, bits int, err error) {
	if len(s) < MinPrefixHex || len(s) > MaxPrefixHex {
		return 0, 0, ErrBadPrefix
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, 0, ErrBadPrefix
		}
		prefix = prefix<<4 | uint64(v)
	}
	return prefix, 4 * len(s), nil
}

// PaddedSize returns the number of entries a padded range of n real
// entries holds.
func PaddedSize(n int) int {
	if n < MinPaddedEntries {
		n = MinPaddedEntries
	}
	for e := 0; ; e++ {
		for m := 4; m <= 7; m++ {
			if t := m << e; t >= n {
				return t
			}
		}
	}
}

// rangeEncoder turns index ranges into response bodies. It is safe for
// concurrent use; scratch space comes from the caller.
type rangeEncoder struct {
	idx      *hashset.Reader
	padKey   [32]byte
	datasets int
	index    string // /v1/datasets' index.id, in the JSON form
}

func newRangeEncoder(idx *hashset.Reader, id string) *rangeEncoder {
	return &rangeEncoder{idx: idx, padKey: sha256.Sum256([]byte("phonecheck range padding v1\x00" + id)),
		datasets: len(idx.Meta().Datasets)}
}

// indexID names the bytes of an index: the first 16 hex digits of a
// SHA-256 over its size and section checksums. It changes whenever the
// index does, and is what ETags are made of.
func indexID(idx *hashset.Reader) string {
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

// rangeScratch is per-request scratch space.
type rangeScratch struct {
	entries []hashset.Entry
	decoys  []uint64
	body    []byte
	rng     rand.ChaCha8 // the decoys' generator, reseeded per range
}

// load reads the range of prefix (bits long) into sc, with its decoys
// when pad is set.
func (e *rangeEncoder) load(sc *rangeScratch, prefix uint64, bits int, pad bool) error {
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
	want := PaddedSize(n) - n
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

// each calls f for every entry of the loaded range, real and decoy, in
// key order; datasets is nil for a decoy.
func (sc *rangeScratch) each(f func(key uint64, datasets []int)) {
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

// appendText appends the text form of the loaded range, each count
// zero-filled to width digits (see countWidth).
func (sc *rangeScratch) appendText(dst []byte, bits, width int) []byte {
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
func (e *rangeEncoder) countWidth(pad bool) int {
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

// appendJSON appends the JSON form of the loaded range. When pad is set,
// it is padded with spaces to jsonPaddedLen.
func (e *rangeEncoder) appendJSON(dst []byte, sc *rangeScratch, prefixHex string, bits int, pad bool) []byte {
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
		total := e.jsonPaddedLen(len(prefixHex), bits, len(sc.entries)+len(sc.decoys))
		for len(dst)-start < total {
			dst = append(dst, ' ')
		}
	}
	return dst
}

// jsonPaddedLen is the size of a padded JSON range of n entries: as if
// every entry were in every dataset.
func (e *rangeEncoder) jsonPaddedLen(prefixLen, bits, n int) int {
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

// ParseRangeText parses a range in the text form. Entries with count 0
// (padding) are kept; the caller ignores them.
func ParseRangeText(body []byte, prefixHex string) ([]RangeEntry, error) {
	var out []RangeEntry
	sufLen := 16 - len(prefixHex)
	for len(body) > 0 {
		line := body
		if i := indexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			continue
		}
		colon := indexByte(line, ':')
		if colon != sufLen {
			return nil, fmt.Errorf("checker: range: malformed line")
		}
		key, err := strconv.ParseUint(prefixHex+string(line[:colon]), 16, 64)
		if err != nil {
			return nil, fmt.Errorf("checker: range: malformed suffix")
		}
		cnt, err := strconv.Atoi(string(line[colon+1:]))
		if err != nil || cnt < 0 {
			return nil, fmt.Errorf("checker: range: malformed count")
		}
		out = append(out, RangeEntry{Key: key, Count: cnt})
	}
	return out, nil
}

// RangeEntry is one entry of a range response, as a client reads it.
type RangeEntry struct {
	Key      uint64 // the full key: prefix and suffix
	Count    int    // datasets holding it; 0 for padding
	Datasets []int  // indexes into the server's datasets; nil when the response does not say (text form)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
