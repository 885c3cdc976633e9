package wire

import (
	"math"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
)

// The sizes of bucket answers, from what a client knows of the index (its
// keys, its bucket bits B, its dataset sets): so that it can say how large
// a shorter prefix's answer is before asking for it, and the server
// pads and refuses by the same rules.

// MaxBucketEntries caps the entries of a bucket answer. A server refuses a
// prefix so short that its bucket is expected to hold more than a quarter
// of that ([BucketTooLarge]).
const MaxBucketEntries = 1 << 20

// BucketTooLarge reports whether a server refuses buckets of bits bits
// from an index of keys keys: more than MaxBucketEntries/4 expected.
func BucketTooLarge(keys int64, bits int) bool {
	return float64(keys)/math.Exp2(float64(bits)) > MaxBucketEntries/4
}

// SetIDBytes is the width w of a set id on the wire for an index of sets
// dataset sets: 0 when there is one set, 1 up to 256 sets, else 2.
func SetIDBytes(sets int) int {
	switch {
	case sets <= 1:
		return 0
	case sets <= 256:
		return 1
	}
	return 2
}

// PadTier returns the entries of a padded bucket of bits bits from an
// index of keys keys whose real bucket holds m: the smallest tier above m,
// where the first tier is the expected bucket size plus six standard
// deviations (so nearly every bucket pads to the same size), and tiers
// double from there.
func PadTier(keys int64, m, bits int) int {
	lambda := float64(keys) / math.Exp2(float64(bits))
	t := int(math.Ceil(lambda+6*math.Sqrt(lambda))) + 8
	t = (t + 7) &^ 7
	for t < m {
		t *= 2
	}
	return t
}

// AnswerSize returns about how many bytes a one-number answer with a
// bucket of p bits takes (one evaluation, its proof, the bucket section)
// from an index of keys keys with B-bit buckets and sets dataset sets,
// padded or not. A padded bucket of p < B bits is the union of its B-bit
// buckets, each padded to its first tier.
func AnswerSize(keys int64, B, p, sets int, padded bool) int64 {
	var m float64
	if padded {
		m = float64(PadTier(keys, 0, B)) * math.Exp2(float64(B-p))
	} else {
		m = float64(keys) / math.Exp2(float64(p))
	}
	head := ResponseHeaderSize + oprf.ElementSize + oprf.ProofSize + 5
	return int64(float64(head) + math.Ceil(m*float64(64-p)/8) + m*float64(SetIDBytes(sets)))
}
