package keyscheme

import (
	"errors"
	"fmt"
	"slices"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// PrefixLengths are the prefix lengths, in bits, a client chooses from:
// 3, 4, 5 or 6 hex digits. A fixed short list rather than every length,
// because the length itself says something about the number: a client that
// always picks the longest length keeping K numbers of its own country
// would tell a server its country's size. With four lengths, a length only
// says "a country with at most this many valid numbers" (see [Anonymity]).
var PrefixLengths = []int{12, 16, 20, 24}

// LargerPrefixBits is the one length below [PrefixLengths] a client ever
// sends: the larger download, offered to a number whose country is too
// small for K even at 12 bits, and sent only when asked for. A private
// server answers it (a bucket of 8 bits: ~450 KB from a small index with
// 20-bit buckets, ~1.1 MB from one of ten million keys); the plain range
// API does not (3 hex digits at least).
const LargerPrefixBits = 8

// DefaultMinAnonymity is the default K of a range client's MinAnonymity: a range
// query must leave the number among at least K valid numbers of its own
// country.
const DefaultMinAnonymity = 1000

// ErrAnonymity is returned by [Choice.Shortfall] when no offered prefix
// length keeps a number among as many valid numbers of its country as
// asked, for a caller that refuses to send a shorter crowd.
var ErrAnonymity = errors.New("checker: no prefix length gives the anonymity asked for")

// ErrNotOffered is returned when the server takes none of the lengths a
// client may send, or not the one asked for.
var ErrNotOffered = errors.New("checker: prefix length not offered")

// Offer is what a server takes: the prefix lengths it answers and, if
// known, the size of its answers.
type Offer struct {
	// Bits are the lengths, in bits, the server answers; nil means
	// [PrefixLengths]. Only those of PrefixLengths, [LargerPrefixBits]
	// and BucketBits are ever sent: the set of lengths a client uses stays
	// small and fixed, whatever a server lists.
	Bits []int
	// BucketBits is a private index's bucket width B, which every client
	// of that server may send, on the ladder or not; 0 means none.
	BucketBits int
	// Size, if not nil, returns about how many bytes the server's answer
	// for a prefix of bits bits takes, or 0 if it cannot tell.
	Size func(bits int) int64
}

// Lengths returns the lengths of o a client may send, ascending.
func (o Offer) Lengths() []int {
	bits := o.Bits
	if bits == nil {
		bits = PrefixLengths
	}
	var ls []int
	for _, b := range bits {
		if slices.Contains(PrefixLengths, b) || b == LargerPrefixBits || (o.BucketBits > 0 && b == o.BucketBits) {
			ls = append(ls, b)
		}
	}
	slices.Sort(ls)
	return slices.Compact(ls)
}

// Choice is the prefix length a client sends for a number, and what it
// says to the number's owner.
type Choice struct {
	Bits int
	// Anonymity is the expected number of valid numbers of the number's
	// own country sharing the prefix ([Anonymity]); 0 when Known is false.
	Anonymity float64
	// Known reports whether the region is in the valid-number table.
	Known bool
	// Region is the region's key in that table: "AW", or "001/800" for a
	// non-geographic entity.
	Region string
	// K is the anonymity asked for.
	K float64
	// Short reports that Anonymity is below K, or not known: when the
	// length was chosen, no offered length reached K, and Bits is the
	// shortest one offered.
	Short bool
	// Larger is a shorter length the server also takes: a larger answer
	// that hides the number in a larger crowd. nil if there is none.
	Larger *Option
}

// Option is a prefix length on offer besides the one chosen.
type Option struct {
	Bits      int     `json:"bits"`
	Anonymity float64 `json:"anonymity"`       // as [Choice.Anonymity]
	Bytes     int64   `json:"bytes,omitempty"` // about how large the answer is; 0 if not known
}

// Choose returns the prefix length to send for n: the longest length of o
// (but [LargerPrefixBits], which is sent only when asked for) whose
// [Anonymity] is at least k (0 means [DefaultMinAnonymity]). It does not
// fail for lack of anonymity: if no length reaches k, or n's region is not
// in the table, it returns the shortest length with Short set, so that the
// number still gets an answer and its owner is told how small the crowd
// is; a caller that would rather send nothing refuses on
// [Choice.Shortfall]. The error, wrapping [ErrNotOffered], is for a server
// offering no length a client may send.
func Choose(n phone.Number, k float64, o Offer) (Choice, error) {
	ls := o.Lengths()
	var auto []int // the lengths chosen without being asked for
	for _, b := range ls {
		if b != LargerPrefixBits || b == o.BucketBits {
			auto = append(auto, b)
		}
	}
	if len(auto) == 0 {
		auto = ls // the server answers 8 bits only: that or nothing
	}
	if len(auto) == 0 {
		return Choice{}, fmt.Errorf("%w: the server offers none of the lengths %v (bits)", ErrNotOffered, append(slices.Clone(PrefixLengths), LargerPrefixBits))
	}
	c := newChoice(n, k)
	best := -1
	if c.Known {
		for _, b := range auto {
			if Anonymity(n, b) >= c.K {
				best = b
			}
		}
	}
	if best < 0 {
		best = auto[0]
	}
	c.setBits(n, best, ls, o)
	return c, nil
}

// ChooseBits returns the choice of a length the caller asked for, bits,
// with its anonymity against k as in [Choose]. The error, wrapping
// [ErrNotOffered], names the lengths o offers when bits is not one of
// them.
func ChooseBits(n phone.Number, bits int, k float64, o Offer) (Choice, error) {
	ls := o.Lengths()
	if !slices.Contains(ls, bits) {
		return Choice{}, fmt.Errorf("%w: %d bits; the server takes %s", ErrNotOffered, bits, bitsList(ls))
	}
	c := newChoice(n, k)
	c.setBits(n, bits, ls, o)
	return c, nil
}

func newChoice(n phone.Number, k float64) Choice {
	if k <= 0 {
		k = DefaultMinAnonymity
	}
	_, known := ValidNumbers(n)
	return Choice{Known: known, Region: anonymityKey(n.Region, n.CountryCode), K: k}
}

// setBits sets the length and what follows from it, ls being the lengths
// offered.
func (c *Choice) setBits(n phone.Number, bits int, ls []int, o Offer) {
	c.Bits, c.Anonymity = bits, Anonymity(n, bits)
	c.Short = !c.Known || c.Anonymity < c.K
	if b := LargerPrefixBits; b < bits && slices.Contains(ls, b) {
		c.Larger = &Option{Bits: b, Anonymity: Anonymity(n, b)}
		if o.Size != nil {
			c.Larger.Bytes = o.Size(b)
		}
	}
}

// Shortfall returns nil if the choice keeps the number among at least K
// valid numbers of its country, else an error wrapping [ErrAnonymity] that
// says by how much it falls short: for a caller that would rather send
// nothing than a smaller crowd.
func (c Choice) Shortfall() error {
	switch {
	case !c.Short:
		return nil
	case !c.Known:
		return fmt.Errorf("%w: region %s is not in the table", ErrAnonymity, c.Region)
	}
	return fmt.Errorf("%w: %s has about %.0f valid numbers per %d-bit prefix, fewer than %.0f",
		ErrAnonymity, c.Region, c.Anonymity, c.Bits, c.K)
}

// bitsList writes lengths as "8, 12 or 16 bits".
func bitsList(ls []int) string {
	switch len(ls) {
	case 0:
		return "no length a client may send"
	case 1:
		return fmt.Sprintf("%d bits", ls[0])
	}
	s := ""
	for i, b := range ls[:len(ls)-1] {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprint(b)
	}
	return fmt.Sprintf("%s or %d bits", s, ls[len(ls)-1])
}
