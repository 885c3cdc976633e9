package hashset

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkMerge merges a new leak of 1/5 the size into an index (a tenth
// of the new keys already there), against building the same union with a
// Builder from its keys (a rebuild without the normalizing a real one
// does), in the same run. b.N merges; keys/s are of the result.
func BenchmarkMerge(b *testing.B) {
	for _, n := range []int{1 << 20, 5 << 20} {
		dir := b.TempDir()
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		big, small := make([]uint64, n), make([]uint64, n/5)
		for i := range big {
			big[i] = rng.Uint64()
		}
		for i := range small {
			if i%10 == 0 {
				small[i] = big[rng.IntN(n)]
			} else {
				small[i] = rng.Uint64()
			}
		}
		build := func(path string, names []string, dss ...[]uint64) *Reader {
			bl := NewBuilder(Options{KeyScheme: "test-v1"})
			for d, keys := range dss {
				i, _ := bl.AddDataset(Dataset{Name: names[d]})
				for _, k := range keys {
					bl.Add(k, i, 0)
				}
			}
			if _, err := bl.WriteFile(path); err != nil {
				b.Fatal(err)
			}
			r, err := Open(path)
			if err != nil {
				b.Fatal(err)
			}
			return r
		}
		rb := build(filepath.Join(dir, "big.idx"), []string{"big"}, big)
		rs := build(filepath.Join(dir, "small.idx"), []string{"small"}, small)
		b.Run(fmt.Sprintf("merge/keys=%d+%d", n, n/5), func(b *testing.B) {
			out := filepath.Join(dir, "out.idx")
			for range b.N {
				if _, err := MergeFile(context.Background(), out, []MergeInput{{"big", rb}, {"small", rs}}, MergeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*float64(n+n/5)/b.Elapsed().Seconds(), "keys/s")
			os.Remove(out)
		})
		b.Run(fmt.Sprintf("rebuild/keys=%d+%d", n, n/5), func(b *testing.B) {
			out := filepath.Join(dir, "union.idx")
			for range b.N {
				build(out, []string{"big", "small"}, big, small).Close()
			}
			b.ReportMetric(float64(b.N)*float64(n+n/5)/b.Elapsed().Seconds(), "keys/s")
			os.Remove(out)
		})
		rb.Close()
		rs.Close()
	}
}
