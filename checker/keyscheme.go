package checker

import (
	"io"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// HashScheme names the function from a phone number to an index key
// (SHA-256 of the E.164 string, top 8 bytes, big-endian). It is recorded
// in every index header; a reader refuses an index built under another
// scheme. It is a plain hash: it hides nothing from someone who can hash
// every valid number (see the package documentation).
const HashScheme = keyscheme.Name

// Key returns the index key of a number in E.164 form, under [HashScheme].
func Key(e164 string) uint64 { return keyscheme.Key(e164) }

// PrefixLengths are the prefix lengths, in bits, a [Client] chooses from:
// 3, 4, 5 or 6 hex digits. Four lengths only, because the length itself
// says something about the number's country.
var PrefixLengths = keyscheme.PrefixLengths

// DefaultMinAnonymity is the default K of [ClientOptions.MinAnonymity]: a range
// query must leave the number among at least K valid numbers of its own
// country.
const DefaultMinAnonymity = keyscheme.DefaultMinAnonymity

// LargerPrefixBits is the one length below [PrefixLengths] a client ever
// sends: the larger download offered to a number whose country is too
// small for K even at 12 bits, sent only when asked for. A private server
// answers it; the plain range API does not.
const LargerPrefixBits = keyscheme.LargerPrefixBits

// ErrAnonymity is returned when no offered prefix length keeps a number
// among as many valid numbers of its country as asked, by a client told to
// refuse rather than send a smaller crowd ([PrefixChoice.Shortfall]).
var ErrAnonymity = keyscheme.ErrAnonymity

// ErrPrefixNotOffered is returned when a server takes none of the prefix
// lengths a client may send, or not the one asked for.
var ErrPrefixNotOffered = keyscheme.ErrNotOffered

// PrefixOffer is what a server takes: its prefix lengths (nil:
// [PrefixLengths]; only those, [LargerPrefixBits] and a private index's
// BucketBits are ever sent) and, if known, the size of its answers.
type PrefixOffer = keyscheme.Offer

// PrefixChoice is the prefix length a client sends for a number, with the
// anonymity it gives (valid numbers of the country sharing the prefix),
// whether that falls short of K, and the larger download on offer if any.
type PrefixChoice = keyscheme.Choice

// PrefixOption is a prefix length on offer besides the one chosen: its
// anonymity and about how large its answer is (0: not known).
type PrefixOption = keyscheme.Option

// ChoosePrefix returns the longest length of offer that keeps n among at
// least k valid numbers of its country (k 0: [DefaultMinAnonymity]). It
// never fails for lack of anonymity: with no length reaching k it returns
// the shortest, Short set, so that the number gets an answer and its
// owner is told; [PrefixChoice.Shortfall] is for callers that would rather
// refuse. The error wraps [ErrPrefixNotOffered].
func ChoosePrefix(n phone.Number, k float64, offer PrefixOffer) (PrefixChoice, error) {
	return keyscheme.Choose(n, k, offer)
}

// ChoosePrefixBits is [ChoosePrefix] for a length the caller asked for:
// an error wrapping [ErrPrefixNotOffered], naming what offer takes, if
// bits is not one of them.
func ChoosePrefixBits(n phone.Number, bits int, k float64, offer PrefixOffer) (PrefixChoice, error) {
	return keyscheme.ChooseBits(n, bits, k, offer)
}

// AnonymityRow is one line of the valid-number table.
type AnonymityRow = keyscheme.AnonymityRow

// AnonymityTable returns the shipped valid-number table, sorted by key.
func AnonymityTable() []AnonymityRow { return keyscheme.AnonymityTable() }

// ComputeValidNumbers counts, from the phonenumbers metadata, the valid
// numbers of each region (all of them if regions is empty).
func ComputeValidNumbers(regions ...string) ([]AnonymityRow, error) {
	return keyscheme.ComputeValidNumbers(regions...)
}

// WriteAnonymityGo writes rows as the Go source of the shipped table.
func WriteAnonymityGo(w io.Writer, rows []AnonymityRow) error {
	return keyscheme.WriteAnonymityGo(w, rows)
}

// Prefix returns the top bits of key as uppercase hex digits, bits/4 of
// them: the form a range query sends. bits must be a multiple of 4
// between 4 and 64.
func Prefix(key uint64, bits int) string { return keyscheme.Prefix(key, bits) }
