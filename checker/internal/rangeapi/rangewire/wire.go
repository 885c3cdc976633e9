// Package rangewire is the range API's wire format and documents, which
// a server, an export and every client share: it does no I/O and links no
// HTTP code, so that a browser build links it (the web page parses ranges
// with it, as the command does).
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
// where datasets are indexes into the datasets of /v1/datasets ([Info]),
// and index is that document's index.id: the index the answer came from,
// so that a client that read /v1/datasets before a reload can tell.
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
//
// The encoder that writes ranges from an index, for a server and for a
// static export, is in the rangeenc package below this one: it reads the
// index, which a client never links.
package rangewire

import (
	"errors"
	"fmt"
	"strconv"
)

// Prefix hex lengths a range query may use.
const (
	MinPrefixHex = 3
	MaxPrefixHex = 8
)

// MinPaddedEntries is the smallest padded range.
const MinPaddedEntries = 16

// ErrBadPrefix is returned for a prefix that is not 3 to 8 hex digits. Its
// text reaches users through the checker package, hence the prefix.
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

// Entry is one entry of a range response, as a client reads it.
type Entry struct {
	Key      uint64 // the full key: prefix and suffix
	Count    int    // datasets holding it; 0 for padding
	Datasets []int  // indexes into the server's datasets; nil when the response does not say (text form)
}

// ParseText parses a range in the text form. Entries with count 0
// (padding) are kept; the caller ignores them.
func ParseText(body []byte, prefixHex string) ([]Entry, error) {
	// A prefix of more than 16 digits made sufLen negative, and a line
	// without a colon then passed for one whose colon is at -1.
	if _, _, err := ParsePrefix(prefixHex); err != nil {
		return nil, err
	}
	var out []Entry
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
		out = append(out, Entry{Key: key, Count: cnt})
	}
	return out, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// parseKeyHex parses 16 hex digits.
func parseKeyHex(s string) (uint64, int, error) {
	if len(s) != 16 {
		return 0, 0, ErrBadPrefix
	}
	var k uint64
	for i := 0; i < 16; i++ {
		// Lower the case of letters only: c|0x20 alone would take the
		// control bytes 0x10..0x19 for the digits 0..9.
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			k = k<<4 | uint64(c-'0')
		case c|0x20 >= 'a' && c|0x20 <= 'f':
			k = k<<4 | uint64(c|0x20-'a'+10)
		default:
			return 0, 0, ErrBadPrefix
		}
	}
	return k, 64, nil
}
