package privateapi

import (
	"slices"
	"testing"
)

// TestOffer: the lengths a one-number lookup may send each kind of
// private server, and whether it can say how large the answer is.
func TestOffer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		keys  int64
		want  []int
		sized bool
	}{
		{"live, B = 20", Config{BucketBits: 20}, 10_000_000, []int{8, 12, 16, 20}, true},
		{"live, keys not known", Config{BucketBits: 20}, 0, []int{8, 12, 16, 20}, false},
		{"live, B off the ladder", Config{BucketBits: 22}, 0, []int{8, 12, 16, 20, 22}, false},
		{"live, B = 12", Config{BucketBits: 12}, 0, []int{8, 12}, false},
		{"live, B = 8", Config{BucketBits: 8}, 0, []int{8}, false},
		// An 8-bit bucket of a 100M-key index would hold ~390,000
		// entries: the server refuses it, so it is not offered.
		{"live, too many keys for 8 bits", Config{BucketBits: 20}, 100_000_000, []int{12, 16, 20}, true},
		{"static export", Config{BucketBits: 20, EvaluateURL: "https://eval.example", StaticBucketBits: []int{12, 16, 20}}, 0, []int{12, 16, 20}, false},
		{"static export with 8", Config{BucketBits: 20, EvaluateURL: "https://eval.example", StaticBucketBits: []int{8, 12, 20}}, 5000, []int{8, 12, 20}, true},
	} {
		o := tc.cfg.Offer(tc.keys, true)
		if !slices.Equal(o.Bits, tc.want) || o.BucketBits != tc.cfg.BucketBits || (o.Size != nil) != tc.sized {
			t.Errorf("%s: offers %v (B %d, sized %v), want %v", tc.name, o.Bits, o.BucketBits, o.Size != nil, tc.want)
		}
		if !slices.Equal(o.Lengths(), tc.want) {
			t.Errorf("%s: a client sends %v", tc.name, o.Lengths())
		}
	}
}
