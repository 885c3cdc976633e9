package hashset

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/bits-and-blooms/bloom/v3"
)

// bloomFill, added to from several goroutines at once (as the builder's
// partitions do), sets the bits the library's Add sets, for filters of
// several sizes and false positive rates.
func TestBloomFillConcurrentMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		n   int
		fpr float64
	}{{1, 0.01}, {17, 0.5}, {1000, 0.01}, {100_000, 0.001}, {300_000, 0.05}} {
		keys := make([]uint64, tc.n)
		for i := range keys {
			keys[i] = rng.Uint64()
		}
		m, k := bloomSize(int64(tc.n), tc.fpr)
		f := bloom.New(uint(m), uint(k))
		var buf [8]byte
		for _, key := range keys {
			binary.BigEndian.PutUint64(buf[:], key)
			f.Add(buf[:])
		}
		want := f.BitSet().Words()
		fill := newBloomFill(nil, m, k, 2)
		var wg sync.WaitGroup
		for part := range slices.Chunk(keys, max(1, tc.n/4+1)) {
			wg.Go(func() { fill.Add(part) })
		}
		wg.Wait()
		words := fill.Words()
		if len(want) < len(words) {
			want = append(want, make([]uint64, len(words)-len(want))...)
		}
		if !slices.Equal(words, want) {
			diff := 0
			for i := range words {
				if words[i] != want[i] {
					diff++
				}
			}
			t.Errorf("n=%d fpr=%v: %d of %d words differ from the library's", tc.n, tc.fpr, diff, len(words))
		}
	}
}
