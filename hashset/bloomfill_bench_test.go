package hashset

import (
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// BenchmarkBloomFill fills a filter larger than the caches: N keys
// (PHONECHECK_BLOOM_BENCH_KEYS, default 50M) at 1%, on every core.
func BenchmarkBloomFill(b *testing.B) {
	n := 50_000_000
	if s := os.Getenv("PHONECHECK_BLOOM_BENCH_KEYS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n <= 0 {
			b.Fatalf("PHONECHECK_BLOOM_BENCH_KEYS: want a positive count")
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = rng.Uint64()
	}
	m, k := bloomSize(int64(n), 0.01)
	for b.Loop() {
		f := newBloomFill(nil, m, k, 0)
		f.Add(keys)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/key")
}
