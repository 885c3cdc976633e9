// Package keyscheme maps a phone number to its index key (the hash scheme),
// to the prefix a range query sends, and chooses that prefix's length from
// how many valid numbers of the country share it.
package keyscheme

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrScheme is returned for an index, or a server's index, built under
// another scheme than [Name]. Its text reaches users through the checker
// package, hence the prefix.
var ErrScheme = errors.New("checker: index uses another hash scheme")

// Name names the function from a phone number to an index key. It is
// recorded in every index header; a reader refuses an index built under
// another scheme.
//
// sha256-e164-v1: SHA-256 of the E.164 string in ASCII (e.g. "+14155550132",
// no newline), first 8 bytes read as a big-endian uint64. So the key's top
// bits are the hash's first hex digits: anyone can compute a prefix with
//
//	printf '%s' +14155550132 | sha256sum | cut -c1-5
//
// This is a plain hash. It hides nothing from someone who can hash every
// valid number (see the package documentation); it only makes keys uniform.
const Name = "sha256-e164-v1"

// Key returns the index key of a number in E.164 form, under [Name].
func Key(e164 string) uint64 { return KeyBytes([]byte(e164)) }

// KeyBytes is [Key] on bytes, for the hot loops that hold the E.164 form in
// a scratch buffer.
func KeyBytes(e164 []byte) uint64 {
	sum := sha256.Sum256(e164)
	return binary.BigEndian.Uint64(sum[:8])
}

// Prefix returns the top bits of key as hex digits, bits/4 of them, the
// form a range query sends. bits must be a multiple of 4 between 4 and 64.
func Prefix(key uint64, bits int) string {
	return fmt.Sprintf("%0*X", bits/4, key>>(64-bits))
}
