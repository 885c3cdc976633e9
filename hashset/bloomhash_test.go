package hashset

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/bits-and-blooms/bloom/v3"
)

func libLocations(key uint64, k uint) []uint64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], key)
	return bloom.Locations(b[:], k)
}

// TestBloomLocationsMatchLibrary: the hand-written locations are the
// library's, for random keys, edge keys and every k a filter uses.
func TestBloomLocationsMatchLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	keys := []uint64{0, 1, 1 << 63, ^uint64(0), 0x0102030405060708}
	for range 20000 {
		keys = append(keys, rng.Uint64())
	}
	for _, key := range keys {
		for k := uint(1); k <= maxBloomK; k += 7 {
			if got, want := bloomLocations(nil, key, uint64(k)), libLocations(key, k); !slices.Equal(got, want) {
				t.Fatalf("k=%d: locations differ from the library's", k)
			}
		}
	}
}

func FuzzBloomLocations(f *testing.F) {
	f.Add(uint64(0), uint8(7))
	f.Add(^uint64(0), uint8(1))
	f.Fuzz(func(t *testing.T, key uint64, k uint8) {
		kk := uint(k%maxBloomK) + 1
		if got, want := bloomLocations(nil, key, uint64(kk)), libLocations(key, kk); !slices.Equal(got, want) {
			t.Fatalf("k=%d: locations differ from the library's", kk)
		}
	})
}
