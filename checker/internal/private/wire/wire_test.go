package wire

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
)

func TestPackBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for w := 1; w <= 64; w++ {
		for _, n := range []int{0, 1, 2, 7, 8, 9, 100} {
			vals := make([]uint64, n)
			for i := range vals {
				vals[i] = rng.Uint64() >> (64 - w)
			}
			packed := PackBits(nil, vals, w)
			if len(packed) != (n*w+7)/8 {
				t.Fatalf("w=%d n=%d: %d bytes", w, n, len(packed))
			}
			if got := UnpackBits(packed, n, w); n > 0 && !slices.Equal(got, vals) {
				t.Fatalf("w=%d n=%d: round trip differs", w, n)
			}
		}
	}
}

func TestWireRoundTrip(t *testing.T) {
	for _, bits := range []int{0, 1, 8, 12, 20, 31, 32} {
		prefix := uint64(0)
		if bits > 0 {
			prefix = uint64(rand.Uint32()) >> (32 - bits)
		}
		n := 3
		if bits == 32 {
			n = 0
		}
		req := &Request{Bits: bits, Prefix: prefix, Elements: bytes.Repeat([]byte{7}, n*oprf.ElementSize)}
		b := AppendRequest(nil, req)
		got, err := ParseRequest(b, 10)
		if err != nil {
			t.Fatalf("bits %d: %v", bits, err)
		}
		if got.Bits != bits || got.Prefix != prefix || !bytes.Equal(got.Elements, req.Elements) {
			t.Fatalf("bits %d: request round trip differs", bits)
		}
		if _, err := ParseRequest(b, 2); n > 2 && !errors.Is(err, ErrTooMany) {
			t.Errorf("bits %d: cap: %v", bits, err)
		}
		for i := range len(b) {
			if _, err := ParseRequest(b[:i], 10); err == nil {
				t.Errorf("bits %d: truncated to %d accepted", bits, i)
			}
		}
	}
	// With decode hints: they come back, and any other length than none
	// or one per element is refused.
	for _, n := range []int{1, 3} {
		req := &Request{Bits: 20, Prefix: 0xabcde, Elements: bytes.Repeat([]byte{7}, n*oprf.ElementSize),
			Hints: bytes.Repeat([]byte{9}, n*oprf.ElementSize)}
		b := AppendRequest(nil, req)
		got, err := ParseRequest(b, 10)
		if err != nil || !bytes.Equal(got.Elements, req.Elements) || !bytes.Equal(got.Hints, req.Hints) {
			t.Fatalf("n=%d: request with hints: %v", n, err)
		}
		plain := len(b) - n*oprf.ElementSize
		extended := append(bytes.Clone(b), bytes.Repeat([]byte{9}, oprf.ElementSize)...)
		for i := plain; i <= len(extended); i++ {
			got, err := ParseRequest(extended[:i], 10)
			switch {
			case i == plain && (err != nil || got.Hints != nil):
				t.Fatalf("n=%d: without hints: %v", n, err)
			case i == len(b) && err != nil:
				t.Fatalf("n=%d: with hints: %v", n, err)
			case i != plain && i != len(b) && err == nil:
				t.Fatalf("n=%d: %d bytes of hints for %d elements accepted", n, i-plain, n)
			}
		}
	}
	if _, err := ParseRequest(append(AppendRequest(nil, &Request{Bits: 20, Prefix: 1}), make([]byte, 32)...), 10); err == nil {
		t.Error("hints without elements accepted")
	}
	bad := [][]byte{{2, 1, 0, 0, 1}, {1, 2, 0, 0, 1}, {1, 1, 0, 0, 0}, {1, 1, 33, 0, 0, 0, 0, 0, 0}, {1, 1, 4, 0x10, 0, 0}}
	for _, b := range bad {
		if _, err := ParseRequest(b, 10); !errors.Is(err, ErrWire) {
			t.Errorf("% x: %v, want ErrWire", b, err)
		}
	}
}
