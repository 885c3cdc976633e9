package browsertest

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// AssertNotSent fails t (with Errorf, once per finding) if any request in
// reqs carries any of the secrets in its URL, a header name or value (as
// the page set them and as they went on the wire) or its body.
//
// Each secret is looked for as its raw bytes, in lowercase and uppercase
// hex, and in base64 (standard and URL alphabets, padded or not, at any
// alignment inside a longer encoded string). A secret that is text with at
// least 6 digits is also looked for as its digits alone, in the text with
// the digits' separators (space, - . ( ) /) removed and with any script's
// digits read as ASCII: "+20 100 123-4567" -> "201001234567"; and, when it
// is a valid international phone number, as its national number
// ("1001234567"). URLs and header values are also searched URL-decoded.
//
// Derived forms shorter than 8 characters are not searched (too likely
// to match by chance); keep secrets long enough to be unique.
func AssertNotSent(t testing.TB, reqs []Request, secrets ...[]byte) {
	t.Helper()
	var needles []needle
	for i, s := range secrets {
		if len(s) == 0 {
			t.Errorf("browsertest: AssertNotSent: secret #%d is empty", i)
			continue
		}
		needles = append(needles, needlesFor(i, s)...)
	}
	for _, r := range reqs {
		for _, f := range fields(r) {
			for _, n := range needles {
				if n.digits {
					if bytes.Contains(digitsOf(f.value), n.b) {
						t.Errorf("browsertest: %s sends secret #%d (%s) in %s", r.String(), n.secret, n.form, f.where)
						break
					}
					continue
				}
				if bytes.Contains(f.value, n.b) {
					t.Errorf("browsertest: %s sends secret #%d (%s) in %s", r.String(), n.secret, n.form, f.where)
					break
				}
			}
		}
	}
}

type needle struct {
	secret int
	form   string // how it is encoded
	b      []byte
	digits bool // b is digits, to be found in digitsOf(the field)
}

type field struct {
	where string
	value []byte
}

// fields lists the places of r a secret must not be in.
func fields(r Request) []field {
	fs := []field{{"the URL", []byte(r.URL)}}
	if u, err := url.QueryUnescape(r.URL); err == nil && u != r.URL {
		fs = append(fs, field{"the URL (decoded)", []byte(u)})
	}
	if u, err := url.PathUnescape(r.URL); err == nil && u != r.URL {
		fs = append(fs, field{"the URL (decoded)", []byte(u)})
	}
	for _, h := range []struct {
		which string
		h     map[string][]string
	}{{"header", r.Header}, {"sent header", r.SentHeader}} {
		for k, vs := range h.h {
			fs = append(fs, field{fmt.Sprintf("the name of %s %s", h.which, k), []byte(k)})
			for _, v := range vs {
				fs = append(fs, field{fmt.Sprintf("%s %s", h.which, k), []byte(v)})
				if u, err := url.QueryUnescape(v); err == nil && u != v {
					fs = append(fs, field{fmt.Sprintf("%s %s (decoded)", h.which, k), []byte(u)})
				}
			}
		}
	}
	if len(r.Body) > 0 {
		fs = append(fs, field{"the body", r.Body})
	}
	return fs
}

func needlesFor(i int, s []byte) []needle {
	ns := []needle{{secret: i, form: "raw", b: s}}
	add := func(form, enc string) {
		if len(enc) >= 8 {
			ns = append(ns, needle{secret: i, form: form, b: []byte(enc)})
		}
	}
	add("hex", hex.EncodeToString(s))
	add("HEX", strings.ToUpper(hex.EncodeToString(s)))
	for _, e := range []struct {
		name string
		enc  *base64.Encoding
	}{{"base64", base64.RawStdEncoding}, {"base64url", base64.RawURLEncoding}} {
		// At offset k in a longer string, the secret's bytes fill the
		// 3-byte groups from the first whole one on: their characters
		// are the same whatever surrounds them.
		for k := range 3 {
			buf := append(make([]byte, k), s...)
			enc := e.enc.EncodeToString(buf)
			start := 0
			if k > 0 {
				start = 4
			}
			end := 4 * (len(buf) / 3)
			if end > start {
				add(fmt.Sprintf("%s at offset %d", e.name, k), enc[start:end])
			}
		}
	}
	if utf8.Valid(s) {
		digits := digitsOf(s)
		if len(digits) >= 6 {
			ns = append(ns, needle{secret: i, form: "digits", b: digits, digits: true})
			if nsn := nationalNumber(string(s)); len(nsn) >= 6 && nsn != string(digits) {
				ns = append(ns, needle{secret: i, form: "national number", b: []byte(nsn), digits: true})
			}
		}
	}
	return ns
}

// digitsOf returns b with the separators of a written number removed and
// digits of any script as ASCII digits, other characters kept: digits are
// contiguous in it if only separators stood between them. Bytes that are
// not UTF-8 are kept as they are.
func digitsOf(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && n <= 1:
			out = append(out, b[0])
		case strings.ContainsRune(" \t-.()/\u00a0", r):
		case unicode.IsDigit(r):
			out = append(out, byte('0'+digitValue(r)))
		default:
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// digitValue is the value of the decimal digit r of any script: Unicode
// puts each script's digits 0-9 in a row, some rows next to each other.
func digitValue(r rune) int {
	start := r
	for unicode.IsDigit(start - 1) {
		start--
	}
	return int(r-start) % 10
}

// nationalNumber is the national significant number of a valid
// international phone number ("+201001234567" -> "1001234567"), or "".
func nationalNumber(s string) string {
	if !strings.HasPrefix(strings.TrimSpace(s), "+") {
		return ""
	}
	n, err := phone.Normalize(s, "")
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(n.E164, "+"+strconv.Itoa(n.CountryCode))
}
