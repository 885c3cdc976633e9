package checker

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nyaruka/phonenumbers"
	"github.com/phonecheck/phonecheck/hashset"
)

// BenchmarkBuild builds an index from a synthetic messy CSV of N rows and,
// in the same run, the naive baseline: the library's Parse +
// IsValidNumber + SHA-256 into a Go map, one goroutine. It reports, for
// both, numbers/s and peak heap, then bytes per number, open time and
// Contains ns/op (hit and miss) against the map, and the ratios.
//
//	go test ./checker -run '^$' -bench 'Build/1M' -benchtime 1x
//	PHONECHECK_BENCH_LARGE=1 go test ./checker -run '^$' -bench 'Build/10M' -benchtime 1x -timeout 30m
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("%dM", n/1_000_000), func(b *testing.B) {
			if n > 1_000_000 && os.Getenv("PHONECHECK_BENCH_LARGE") == "" {
				b.Skip("set PHONECHECK_BENCH_LARGE=1 to run 10M (several minutes)")
			}
			benchBuild(b, n)
		})
	}
}

func benchBuild(b *testing.B, n int) {
	dir := b.TempDir()
	data := filepath.Join(dir, "leak.csv")
	f, err := os.Create(data)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := Generate(f, GenOptions{Seed: 1, N: n, Region: "EG"}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "leak.idx")

	for b.Loop() {
		// phonecheck's build.
		runtime.GC()
		peak := watchPeakHeap()
		start := time.Now()
		bd, err := Ingest(context.Background(), BuildOptions{
			Datasets: []DatasetSpec{{Name: "bench", Region: "EG", Files: []string{data}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := bd.WriteFile(out)
		if err != nil {
			b.Fatal(err)
		}
		buildSec := time.Since(start).Seconds()
		buildPeak := peak()
		bd = nil

		// Naive baseline: same rows, library only, a map.
		runtime.GC()
		peak = watchPeakHeap()
		start = time.Now()
		m, rows := naiveBuild(b, data)
		naiveSec := time.Since(start).Seconds()
		naivePeak := peak()

		b.ReportMetric(float64(rep.Rows)/buildSec, "numbers/s")
		b.ReportMetric(float64(rows)/naiveSec, "naive-numbers/s")
		b.ReportMetric(naiveSec/buildSec, "build-speedup-x")
		b.ReportMetric(float64(buildPeak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(naivePeak)/(1<<20), "naive-peak-heap-MiB")
		b.ReportMetric(float64(rep.Bytes)/float64(rep.Unique), "index-bytes/number")
		b.ReportMetric(float64(mapBytes(len(m)))/float64(len(m)), "map-bytes/number")
		b.ReportMetric(float64(len(m)), "naive-unique")
		b.ReportMetric(float64(rep.Unique), "unique")

		// Open time: median of 21 opens of the file.
		var opens []time.Duration
		for range 21 {
			t0 := time.Now()
			r, err := hashset.Open(out)
			if err != nil {
				b.Fatal(err)
			}
			opens = append(opens, time.Since(t0))
			r.Close()
		}
		slices.Sort(opens)
		b.ReportMetric(float64(opens[len(opens)/2].Microseconds()), "open-us")

		// Contains vs map lookups, hits and misses.
		r, err := hashset.Open(out)
		if err != nil {
			b.Fatal(err)
		}
		keys := make([]uint64, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		const probes = 1 << 20
		hits := make([]uint64, probes)
		misses := make([]uint64, probes)
		for i := range hits {
			hits[i] = keys[rng.IntN(len(keys))]
			misses[i] = rng.Uint64()
		}
		idx := func(ks []uint64) float64 {
			t0 := time.Now()
			found := 0
			for _, k := range ks {
				if _, ok := r.Contains(k); ok {
					found++
				}
			}
			sink = found
			return float64(time.Since(t0).Nanoseconds()) / float64(len(ks))
		}
		mp := func(ks []uint64) float64 {
			t0 := time.Now()
			found := 0
			for _, k := range ks {
				if _, ok := m[k]; ok {
					found++
				}
			}
			sink = found
			return float64(time.Since(t0).Nanoseconds()) / float64(len(ks))
		}
		hi, mi, hm, mm := idx(hits), idx(misses), mp(hits), mp(misses)
		b.ReportMetric(hi, "contains-hit-ns")
		b.ReportMetric(mi, "contains-miss-ns")
		b.ReportMetric(hm, "map-hit-ns")
		b.ReportMetric(mm, "map-miss-ns")
		r.Close()
	}
}

var sink int

// naiveBuild is the baseline: the library on each row, SHA-256, a map.
func naiveBuild(b *testing.B, path string) (map[uint64]uint16, int) {
	in, err := OpenInput(path, InputOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	m := map[uint64]uint16{}
	rows := 0
	for {
		rec, err := in.Next()
		if err != nil {
			break
		}
		rows++
		e164, ok := libraryE164(rec.Raw, "EG")
		if !ok {
			continue
		}
		sum := sha256.Sum256([]byte(e164))
		m[binary.BigEndian.Uint64(sum[:8])] = 1
	}
	return m, rows
}

// mapBytes estimates a map[uint64]uint16's memory from the heap growth of
// building one (measured once per size class would be better; this is a
// fair order of magnitude: Go's swiss tables hold 8 slots per group with
// 7/8 max load).
func mapBytes(n int) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m := make(map[uint64]uint16)
	for i := range n {
		m[uint64(i)*0x9E3779B97F4A7C15] = 1
	}
	runtime.ReadMemStats(&after)
	sink = len(m)
	return int64(after.HeapAlloc - before.HeapAlloc)
}

// watchPeakHeap samples the live heap every 5 ms until the returned
// function is called, which returns the peak seen.
func watchPeakHeap() func() uint64 {
	var mu sync.Mutex
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// libraryE164 is the naive path the benchmarks measure against: the
// library's Parse, IsValidNumber and Format, with none of Normalize's
// cleaning.
func libraryE164(raw, region string) (string, bool) {
	pn, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(pn) {
		return "", false
	}
	return phonenumbers.Format(pn, phonenumbers.E164), true
}
