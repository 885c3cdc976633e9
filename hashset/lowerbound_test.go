package hashset

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLowerBound checks the guessed, galloping lowerBound against a plain
// binary search for every guess, on sorted buckets with keys of 44 and 48
// bits, and that on unsorted (corrupt) keys it stays inside [s, e].
func TestLowerBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for _, b := range []int{16, 20} {
		r := &Reader{b: b, sh: uint(64 - b), mask: 1<<(64-b) - 1, w: suffixBytes(b)}
		for _, n := range []int{1, 2, 3, 7, 150, 600} {
			for _, sorted := range []bool{true, false} {
				low := make([]uint64, n)
				for i := range low {
					low[i] = rng.Uint64() & r.mask
				}
				if sorted {
					slices.Sort(low)
				}
				const first = 5 // positions are absolute: keys hold them from first on
				keys := make([]byte, n*r.w+8)
				for i, v := range low {
					putUint(keys[i*r.w:], v, r.w)
				}
				want := func(s, e, target uint64) uint64 {
					i, _ := slices.BinarySearch(low[s-first:e-first], target)
					return s + uint64(i)
				}
				for trial := 0; trial < 200; trial++ {
					s := first + uint64(rng.IntN(n))
					e := s + uint64(rng.IntN(n-int(s-first)+1))
					var target uint64
					switch trial % 3 {
					case 0:
						target = low[rng.IntN(n)] // present
					case 1:
						target = low[rng.IntN(n)] + 1
					default:
						target = rng.Uint64() & r.mask
					}
					for guess := s - min(s, 2); guess <= e+2; guess++ {
						got := r.lowerBound(keys, first, s, e, target, guess)
						if got < s || got > e {
							t.Fatalf("b=%d n=%d: lowerBound(s=%d, e=%d, guess=%d) = %d, outside", b, n, s, e, guess, got)
						}
						if sorted {
							if w := want(s, e, target); got != w {
								t.Fatalf("b=%d n=%d: lowerBound(s=%d, e=%d, guess=%d) = %d, want %d", b, n, s, e, guess, got, w)
							}
						}
					}
				}
			}
		}
	}
}
