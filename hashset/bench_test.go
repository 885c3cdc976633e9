package hashset

// Benchmarks print their figure next to a baseline measured in the same run
// (b.ReportMetric). The 10M-key cases are skipped with -short. Run:
//
//	go test ./hashset/ -run '^$' -bench . -benchtime 3x
//	go test ./hashset/ -run '^$' -bench Contains

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchDir is this process's scratch directory for benchmark indexes,
// created on first use and removed by TestMain.
var (
	benchDirPath string
	benchDir     = sync.OnceValue(func() string {
		d, err := os.MkdirTemp("", "hashset-bench")
		if err != nil {
			panic(err)
		}
		benchDirPath = d
		return d
	})
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDirPath != "" {
		// Only this process's own directory: a concurrent run keeps its.
		os.RemoveAll(benchDirPath)
	}
	os.Exit(code)
}

func randomKeys(n int, seed uint64) []uint64 {
	rng := rand.New(rand.NewPCG(seed, 0))
	keys := make([]uint64, n)
	for i := range keys {
		keys[i] = rng.Uint64()
	}
	return keys
}

type benchIdx struct {
	path  string
	keys  []uint64
	bytes int64
}

var (
	benchMu    sync.Mutex
	benchCache = map[string]*benchIdx{}
)

// benchIndex builds (once per process) an index of n random keys in one
// dataset, with or without bloom.
func benchIndex(b *testing.B, n int, fpr float64) *benchIdx {
	benchMu.Lock()
	defer benchMu.Unlock()
	name := fmt.Sprintf("n%d-fpr%g.idx", n, fpr)
	if x, ok := benchCache[name]; ok {
		return x
	}
	keys := randomKeys(n, uint64(n))
	bl := NewBuilder(Options{BloomFPR: fpr})
	d, _ := bl.AddDataset(Dataset{Name: "bench"})
	for _, k := range keys {
		bl.Add(k, d, 0)
	}
	path := filepath.Join(benchDir(), name)
	st, err := bl.WriteFile(path)
	if err != nil {
		b.Fatal(err)
	}
	x := &benchIdx{path: path, keys: keys, bytes: st.Bytes}
	benchCache[name] = x
	return x
}

func sizes(b *testing.B) []int {
	if testing.Short() {
		return []int{1_000_000}
	}
	return []int{1_000_000, 10_000_000}
}

// BenchmarkSort: the builder's radix sort (keys + payload) against
// slices.Sort on the keys alone.
func BenchmarkSort(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("keys=%dM", n/1_000_000), func(b *testing.B) {
			src := randomKeys(n, 1)
			keys, vals := make([]uint64, n), make([]uint32, n)
			tk, tv := make([]uint64, n), make([]uint32, n)
			var radix, std time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				copy(keys, src)
				t0 := time.Now()
				radixSort(keys, vals, tk, tv)
				radix += time.Since(t0)
				copy(keys, src)
				t0 = time.Now()
				slices.Sort(keys)
				std += time.Since(t0)
			}
			per := float64(b.N) * float64(n)
			b.ReportMetric(float64(radix.Nanoseconds())/per, "radix-ns/key")
			b.ReportMetric(float64(std.Nanoseconds())/per, "slices.Sort-ns/key")
			b.ReportMetric(float64(std)/float64(radix), "speedup")
		})
	}
}

// BenchmarkContains: lookups in a mapped 1M-key index against a Go map
// holding the same keys.
func BenchmarkContains(b *testing.B) {
	const n = 1_000_000
	x := benchIndex(b, n, 0)
	r, err := Open(x.path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	m := make(map[uint64]uint32, n)
	for _, k := range x.keys {
		m[k] = 1
	}
	probes := map[string][]uint64{
		"hit":  x.keys[:1<<16],
		"miss": randomKeys(1<<16, 999),
	}
	for _, name := range []string{"hit", "miss"} {
		keys := probes[name]
		b.Run(name, func(b *testing.B) {
			found := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, ok := r.Contains(keys[i&(1<<16-1)]); ok {
					found++
				}
			}
			b.StopTimer()
			hashset := b.Elapsed()
			t0 := time.Now()
			mfound := 0
			for i := 0; i < b.N; i++ {
				if _, ok := m[keys[i&(1<<16-1)]]; ok {
					mfound++
				}
			}
			mapd := time.Since(t0)
			if found != mfound {
				b.Fatalf("found %d, map found %d", found, mfound)
			}
			b.ReportMetric(float64(mapd.Nanoseconds())/float64(b.N), "map-ns/op")
			b.ReportMetric(float64(hashset)/float64(mapd), "x-map")
		})
	}
}

// BenchmarkOpen: time to open (and close) an index, and its size per key
// with and without the bloom section.
func BenchmarkOpen(b *testing.B) {
	for _, n := range sizes(b) {
		b.Run(fmt.Sprintf("keys=%dM", n/1_000_000), func(b *testing.B) {
			x := benchIndex(b, n, 0)
			nob := benchIndex(b, n, -1)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := Open(x.path)
				if err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
			b.StopTimer()
			open := b.Elapsed()
			t0 := time.Now() // baseline: open and close the file, nothing else
			for i := 0; i < b.N; i++ {
				f, err := os.Open(x.path)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			base := time.Since(t0)
			b.ReportMetric(float64(open.Microseconds())/1000/float64(b.N), "open-ms")
			b.ReportMetric(float64(base.Microseconds())/1000/float64(b.N), "os.Open-ms")
			b.ReportMetric(float64(x.bytes)/float64(n), "bytes/key")
			b.ReportMetric(float64(nob.bytes)/float64(n), "bytes/key-nobloom")
		})
	}
}

// coldReaderAt stands for a file whose pages are not in memory: it counts
// reads and spends a fixed latency on each.
type coldReaderAt struct {
	r       io.ReaderAt
	reads   atomic.Int64
	latency time.Duration
}

func (c *coldReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads.Add(1)
	for t0 := time.Now(); time.Since(t0) < c.latency; {
	}
	return c.r.ReadAt(p, off)
}

// BenchmarkBloomColdCache: what the bloom section buys for absent keys when
// the keys are not in memory. "bloom" asks MayContain first (filter held in
// memory after the first call); "nobloom" goes straight to Contains.
func BenchmarkBloomColdCache(b *testing.B) {
	const n = 1_000_000
	x := benchIndex(b, n, 0)
	f, err := os.Open(x.path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	absent := randomKeys(1<<16, 4242)
	for _, mode := range []string{"bloom", "nobloom"} {
		b.Run(mode, func(b *testing.B) {
			cold := &coldReaderAt{r: f, latency: 20 * time.Microsecond}
			r, err := NewReader(cold, x.bytes)
			if err != nil {
				b.Fatal(err)
			}
			r.MayContain(0) // load the filter
			cold.reads.Store(0)
			found := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := absent[i&(1<<16-1)]
				if mode == "bloom" && !r.MayContain(k) {
					continue
				}
				if _, ok := r.Contains(k); ok {
					found++
				}
			}
			b.StopTimer()
			if found > 0 {
				b.Fatalf("%d absent keys found", found)
			}
			b.ReportMetric(float64(cold.reads.Load())/float64(b.N), "reads/op")
		})
	}
}

// BenchmarkContainsLarge: lookups in a 10M-key index (1M keys with -short),
// half hits and half misses over 1M probe keys in random order, so that
// nearly every lookup misses the caches and, on 4 KiB pages, the TLB. The
// modes: "mmap" (Contains on the file mapping, as after Open), "preload"
// (Contains after Reader.Preload), "mmap-batch" and "preload-batch"
// (ContainsBatch over 256 keys at a time). ns/op is per key; each mode is
// compared with "mmap" measured in the same run ("mmap-ns/op", "speedup").
//
//	go test ./hashset/ -run '^$' -bench ContainsLarge -benchtime 4000000x
func BenchmarkContainsLarge(b *testing.B) {
	n := sizes(b)[len(sizes(b))-1]
	x := benchIndex(b, n, -1)
	const nprobe = 1 << 20
	rng := rand.New(rand.NewPCG(5, 5))
	probes := randomKeys(nprobe, 77) // misses
	for i := 0; i < nprobe; i += 2 {
		probes[i] = x.keys[rng.IntN(len(x.keys))] // hits
	}
	base, err := Open(x.path)
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	pre, err := Open(x.path)
	if err != nil {
		b.Fatal(err)
	}
	defer pre.Close()
	t0 := time.Now()
	if err := pre.Preload(); err != nil {
		b.Fatal(err)
	}
	preloadTime := time.Since(t0)
	// Touch every page of the mapping once, as a long job would have.
	lookups(base, false, probes, nprobe*2)
	for _, mode := range []string{"mmap", "preload", "mmap-batch", "preload-batch"} {
		r := base
		if mode == "preload" || mode == "preload-batch" {
			r = pre
		}
		batched := mode == "mmap-batch" || mode == "preload-batch"
		b.Run(fmt.Sprintf("keys=%dM/%s", n/1_000_000, mode), func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			found, _ := lookups(r, batched, probes, b.N)
			b.StopTimer()
			mode := b.Elapsed()
			bfound, bd := lookups(base, false, probes, b.N)
			if found != bfound {
				b.Fatalf("found %d, mmap Contains found %d", found, bfound)
			}
			b.ReportMetric(float64(bd.Nanoseconds())/float64(b.N), "mmap-ns/op")
			b.ReportMetric(float64(bd)/float64(mode), "speedup")
			b.ReportMetric(float64(preloadTime.Microseconds())/1000, "preload-ms")
		})
	}
}

// lookups does n lookups of probes (cycling) and returns the keys found and
// the time taken.
func lookups(r *Reader, batched bool, probes []uint64, n int) (int, time.Duration) {
	const group = 256
	var sets [group][]int
	found := 0
	t0 := time.Now()
	for done := 0; done < n; {
		off := done % len(probes)
		k := min(n-done, group, len(probes)-off)
		if batched {
			found += r.ContainsBatch(probes[off:off+k], sets[:k])
		} else {
			for _, key := range probes[off : off+k] {
				if _, ok := r.Contains(key); ok {
					found++
				}
			}
		}
		done += k
	}
	return found, time.Since(t0)
}

// BenchmarkRangeLarge: AppendRangeIDs of random 20-bit prefixes (what the
// range endpoint asks), the ends found from an interpolated guess against
// a plain binary search of the bucket, in the same run.
//
//	go test ./hashset/ -run '^$' -bench RangeLarge -count 5
func BenchmarkRangeLarge(b *testing.B) {
	for _, n := range sizes(b) {
		x := benchIndex(b, n, -1)
		r, err := Open(x.path)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		prefixes := randomKeys(1<<16, 21)
		for i := range prefixes {
			prefixes[i] >>= 64 - 20
		}
		run := func(n int) (time.Duration, int) {
			var keys []uint64
			var ids []uint32
			total := 0
			t0 := time.Now()
			for i := range n {
				keys, ids, _ = r.AppendRangeIDs(keys[:0], ids[:0], prefixes[i%len(prefixes)], 20)
				total += len(keys)
			}
			return time.Since(t0), total
		}
		b.Run(fmt.Sprintf("keys=%dM", n/1_000_000), func(b *testing.B) {
			run(len(prefixes)) // touch the pages both passes read
			b.ResetTimer()
			d, got := run(b.N)
			b.StopTimer()
			binaryRangeSearch = true
			bd, want := run(b.N)
			binaryRangeSearch = false
			if got != want {
				b.Fatalf("found %d keys, the binary search %d", got, want)
			}
			b.ReportMetric(float64(bd.Nanoseconds())/float64(b.N), "binary-ns/op")
			b.ReportMetric(float64(bd)/float64(d), "speedup")
		})
	}
}

// BenchmarkOpenVerifyFile times what serve pays before an index goes live,
// on the index file named by $PHONECHECK_BENCH_INDEX (e.g. one written by
// bench/range/mkindex): Open alone, Open and VerifyChecksums (serve's
// check), and Open and Verify (the verify command's full walk).
func BenchmarkOpenVerifyFile(b *testing.B) {
	path := os.Getenv("PHONECHECK_BENCH_INDEX")
	if path == "" {
		b.Skip("set PHONECHECK_BENCH_INDEX to an index file")
	}
	for _, bc := range []struct {
		name   string
		verify func(*Reader) error
	}{
		{"open", func(*Reader) error { return nil }},
		{"open+checksums", func(r *Reader) error { return r.VerifyChecksums(context.Background(), 0) }},
		{"open+checksums-1core", func(r *Reader) error { return r.VerifyChecksums(context.Background(), 1) }},
		{"open+verify", (*Reader).Verify},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var size int64
			for b.Loop() {
				r, err := Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if err := bc.verify(r); err != nil {
					b.Fatal(err)
				}
				size = r.Size()
				r.Close()
			}
			b.SetBytes(size)
		})
	}
}
