package checker

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/phone"
)

// BenchmarkBatch checks N synthetic messy numbers (plain text, default mix,
// read with region EG; in gen's realistic shape mix, and in its uniform
// one, where vanity letters, Unicode separators, extensions, tel: URIs and
// the rest each take an equal share) against an index of N numbers, end
// to end: read,
// normalize, hash, look up, write CSV results to a file. In the same run it
// measures the naive baseline on the first rows of the same input: one
// goroutine reading the same Input, Normalize (the library's Parse +
// IsValidNumber), SHA-256 ([Key]) and Contains. It reports numbers/s for
// both and their ratio, and numbers/s again with the index preloaded
// (hashset.Reader.Preload), measured after the rest.
//
//	go test ./checker -run '^$' -bench 'Batch/1M' -benchtime 1x
//	PHONECHECK_BENCH_LARGE=1 go test ./checker -run '^$' -bench 'Batch/10M' -benchtime 3x -timeout 30m
func BenchmarkBatch(b *testing.B) {
	sizes := []int{1_000_000}
	if os.Getenv("PHONECHECK_BENCH_LARGE") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		for _, shapes := range []string{"realistic", "uniform"} {
			b.Run(fmt.Sprintf("%dM/%s", n/1_000_000, shapes), func(b *testing.B) { benchBatch(b, n, shapes) })
		}
	}
}

func benchBatch(b *testing.B, n int, shapes string) {
	dir := b.TempDir()
	write := func(name string, opts GenOptions) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Generate(f, opts); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		return p
	}
	leak := write("leak.txt", GenOptions{Seed: 1, N: n, Format: "txt", Region: "EG"})
	in := write("subscribers.txt", GenOptions{Seed: 2, N: n, Format: "txt", Region: "EG", MixShapes: shapes})
	bd, err := Ingest(context.Background(), BuildOptions{Datasets: []DatasetSpec{{Name: "leak", Region: "EG", Files: []string{leak}}}})
	if err != nil {
		b.Fatal(err)
	}
	idx := filepath.Join(dir, "leak.idx")
	if _, err := bd.WriteFile(idx); err != nil {
		b.Fatal(err)
	}
	c, err := Open(idx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()

	run := func() *BatchSummary {
		bt, err := c.OpenBatch(in, BatchOptions{Region: "EG"})
		if err != nil {
			b.Fatal(err)
		}
		defer bt.Close()
		out, err := os.Create(filepath.Join(dir, "results.csv"))
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		w := bufio.NewWriterSize(out, 1<<20)
		sum, err := bt.Run(context.Background(), w)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		if sum.Rows != int64(n) || sum.Written != int64(n) {
			b.Fatalf("%d rows, %d written; want %d", sum.Rows, sum.Written, n)
		}
		return sum
	}
	run() // warm the page cache and the fast path's tables

	b.ResetTimer()
	var sum *BatchSummary
	for b.Loop() {
		sum = run()
	}
	b.StopTimer()
	rate := float64(n) * float64(b.N) / b.Elapsed().Seconds()

	// The naive baseline, on the first rows of the same input.
	baseN := min(n, 100_000)
	inp, err := OpenInput(in, InputOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer inp.Close()
	t0 := time.Now()
	exposed := 0
	for range baseN {
		rec, err := inp.Next()
		if err != nil {
			b.Fatal(err)
		}
		if nb, err := phone.Normalize(rec.Raw, "EG"); err == nil {
			if _, ok := c.Index().Contains(Key(nb.E164)); ok {
				exposed++
			}
		}
	}
	base := float64(baseN) / time.Since(t0).Seconds()

	// The same runs with the index preloaded (as BatchOptions.Preload).
	if err := c.Index().Preload(); err != nil {
		b.Fatal(err)
	}
	t0 = time.Now()
	for range b.N {
		run()
	}
	pre := float64(n) * float64(b.N) / time.Since(t0).Seconds()

	b.ReportMetric(rate, "numbers/s")
	b.ReportMetric(base, "baseline-numbers/s")
	b.ReportMetric(rate/base, "speedup")
	b.ReportMetric(pre, "preload-numbers/s")
	b.ReportMetric(100*float64(sum.Exposed)/float64(sum.Rows), "exposed-%")
	b.ReportMetric(100*float64(sum.FastPath)/float64(sum.Rows), "fast-%")
}
