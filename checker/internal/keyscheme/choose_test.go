package keyscheme

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

var (
	numUS = phone.Number{E164: "+14155550132", Region: "US", CountryCode: 1}
	numEG = phone.Number{E164: "+201001234567", Region: "EG", CountryCode: 20}
	numSG = phone.Number{E164: "+6561234567", Region: "SG", CountryCode: 65}
	numAW = phone.Number{E164: "+2975601234", Region: "AW", CountryCode: 297}
	numNU = phone.Number{E164: "+6837012", Region: "NU", CountryCode: 683}
	numXX = phone.Number{E164: "+999123456", Region: "XX", CountryCode: 999}
)

// private20 is what a live private server with 20-bit buckets takes.
var private20 = []int{LargerPrefixBits, 12, 16, 20}

// fakeSize is an answer size that names its length, to see it come back.
func fakeSize(bits int) int64 { return int64(1000 + bits) }

func TestChoose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		n      phone.Number
		k      float64
		offer  Offer
		bits   int
		short  bool
		larger int // 0: none
	}{
		{"US ladder", numUS, 0, Offer{}, 20, false, 0},
		{"US K=100", numUS, 100, Offer{}, 24, false, 0},
		{"US K=5e5", numUS, 5e5, Offer{}, 12, false, 0},
		{"US private", numUS, 0, Offer{Bits: private20, BucketBits: 20, Size: fakeSize}, 20, false, 8},
		{"US 12 and 16", numUS, 1000, Offer{Bits: []int{12, 16}}, 16, false, 0},
		{"EG ladder", numEG, 0, Offer{}, 16, false, 0},
		{"SG at 20 only", numSG, 1000, Offer{Bits: []int{20}}, 20, true, 0},
		{"AW ladder", numAW, 0, Offer{}, 12, true, 0},
		{"AW private", numAW, 0, Offer{Bits: private20, BucketBits: 20, Size: fakeSize}, 12, true, 8},
		{"AW private, size unknown", numAW, 0, Offer{Bits: private20, BucketBits: 20}, 12, true, 8},
		{"AW export of 12 and 20", numAW, 0, Offer{Bits: []int{12, 20}, BucketBits: 20}, 12, true, 0},
		{"NU private", numNU, 0, Offer{Bits: private20, BucketBits: 20}, 12, true, 8},
		{"unknown region", numXX, 0, Offer{Bits: private20, BucketBits: 20}, 12, true, 8},
		// Lengths off the ladder are never sent, but the bucket bits of a
		// private index, which every client of that server may send.
		{"off the ladder", numUS, 500, Offer{Bits: []int{10, 12, 16, 22}}, 16, false, 0},
		{"B off the ladder", numUS, 500, Offer{Bits: []int{10, 12, 16, 22}, BucketBits: 22}, 22, false, 0},
		// 8 bits is chosen only when the server takes nothing else.
		{"8 bits only", numUS, 0, Offer{Bits: []int{8}}, 8, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Choose(tc.n, tc.k, tc.offer)
			if err != nil {
				t.Fatal(err)
			}
			if c.Bits != tc.bits || c.Short != tc.short {
				t.Errorf("%d bits, short %v; want %d bits, short %v", c.Bits, c.Short, tc.bits, tc.short)
			}
			wantK := tc.k
			if wantK == 0 {
				wantK = DefaultMinAnonymity
			}
			if c.K != wantK || c.Region != tc.n.Region {
				t.Errorf("K %v region %q", c.K, c.Region)
			}
			if c.Known != (tc.n.Region != "XX") {
				t.Errorf("known %v", c.Known)
			}
			if want := Anonymity(tc.n, c.Bits); c.Anonymity != want {
				t.Errorf("anonymity %v, want %v", c.Anonymity, want)
			}
			if c.Known && c.Short != (c.Anonymity < c.K) {
				t.Errorf("short %v with anonymity %.1f of %v", c.Short, c.Anonymity, c.K)
			}
			if (c.Shortfall() == nil) != !c.Short || (c.Short && !errors.Is(c.Shortfall(), ErrAnonymity)) {
				t.Errorf("shortfall %v, short %v", c.Shortfall(), c.Short)
			}
			switch {
			case tc.larger == 0 && c.Larger != nil:
				t.Errorf("larger %+v, want none", *c.Larger)
			case tc.larger != 0 && c.Larger == nil:
				t.Errorf("no larger option, want %d bits", tc.larger)
			case tc.larger != 0:
				var wantBytes int64
				if tc.offer.Size != nil {
					wantBytes = fakeSize(tc.larger)
				}
				if l := c.Larger; l.Bits != tc.larger || l.Anonymity != Anonymity(tc.n, tc.larger) || l.Bytes != wantBytes {
					t.Errorf("larger %+v, want %d bits, %d bytes", *l, tc.larger, wantBytes)
				}
			}
		})
	}
}

// TestChooseSmallCountries pins the figures the issue names: Aruba's
// numbers share a 12-bit prefix with ~264 others and an 8-bit one with
// ~4,200; Niue's with ~3.
func TestChooseSmallCountries(t *testing.T) {
	c, _ := Choose(numAW, 0, Offer{Bits: private20, BucketBits: 20})
	if math.Round(c.Anonymity) != 264 || math.Round(c.Larger.Anonymity) != 4219 {
		t.Errorf("AW: %.1f at 12 bits, %.1f at 8", c.Anonymity, c.Larger.Anonymity)
	}
	if err := c.Shortfall(); err == nil || !strings.Contains(err.Error(), "AW has about 264 valid numbers per 12-bit prefix, fewer than 1000") {
		t.Errorf("AW shortfall: %v", err)
	}
	c, _ = Choose(numNU, 0, Offer{})
	if c.Anonymity < 3 || c.Anonymity > 3.3 {
		t.Errorf("NU: %.2f at 12 bits", c.Anonymity)
	}
	c, _ = Choose(numXX, 0, Offer{})
	if err := c.Shortfall(); !errors.Is(err, ErrAnonymity) || !strings.Contains(err.Error(), "not in the table") || c.Anonymity != 0 {
		t.Errorf("unknown region: %v, anonymity %v", err, c.Anonymity)
	}
}

func TestChooseBits(t *testing.T) {
	// The larger download, asked for: 8 bits keep an AW number among
	// ~4,200, above K; nothing shorter is on offer.
	c, err := ChooseBits(numAW, 8, 0, Offer{Bits: private20, BucketBits: 20})
	if err != nil || c.Bits != 8 || c.Short || c.Larger != nil {
		t.Errorf("AW at 8 bits: %+v %v", c, err)
	}
	// A longer length than Choose would pick is sent, and said short.
	c, err = ChooseBits(numAW, 20, 0, Offer{Bits: private20, BucketBits: 20})
	if err != nil || c.Bits != 20 || !c.Short || c.Larger == nil || c.Larger.Bits != 8 {
		t.Errorf("AW at 20 bits: %+v %v", c, err)
	}
	// A length the server does not take, or a client may not send.
	for _, tc := range []struct {
		bits  int
		offer Offer
		want  string
	}{
		{8, Offer{}, "8 bits; the server takes 12, 16, 20 or 24 bits"},
		{10, Offer{Bits: []int{10, 12}}, "10 bits; the server takes 12 bits"},
		{24, Offer{Bits: private20, BucketBits: 20}, "24 bits; the server takes 8, 12, 16 or 20 bits"},
	} {
		_, err := ChooseBits(numUS, tc.bits, 0, tc.offer)
		if !errors.Is(err, ErrNotOffered) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d bits of %v: %v, want %q", tc.bits, tc.offer.Bits, err, tc.want)
		}
	}
}

func TestChooseNothingOffered(t *testing.T) {
	for _, bits := range [][]int{{}, {10, 14, 32}} {
		if _, err := Choose(numUS, 0, Offer{Bits: bits}); !errors.Is(err, ErrNotOffered) {
			t.Errorf("%v: %v, want ErrNotOffered", bits, err)
		}
	}
}
