package checker

import (
	"context"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// BenchmarkSealFile is 'phonecheck seal' end to end (reading the plain
// index, F_k on the workers, ordering by bucket, the spill and the
// write) on one worker and on every core, rounds alternating so that
// load from other processes hits both alike; each figure is the median
// of its rounds. On a shared machine the wall-clock ratio is bounded by
// the cores the others leave; the CPU time per key says whether the work
// itself grew.
//
//	go test ./checker -run '^$' -bench BenchmarkSealFile -benchtime 1x
func BenchmarkSealFile(b *testing.B) {
	k, _ := GenerateOPRFKey()
	c := testIndex(b, 100000, "seal")
	dir := b.TempDir()
	cores := runtime.GOMAXPROCS(0)
	var one, all, oneCPU, allCPU []float64
	for b.Loop() {
		for range 7 {
			for _, w := range []int{1, cores} {
				t, cpu := time.Now(), cpuTime()
				rep, err := SealFile(context.Background(), c.Index(), filepath.Join(dir, "p.idx"), SealOptions{Key: k, Workers: w})
				if err != nil {
					b.Fatal(err)
				}
				rate := float64(rep.PlainKeys) / time.Since(t).Seconds()
				us := float64((cpuTime() - cpu).Microseconds()) / float64(rep.PlainKeys)
				if w == 1 {
					one, oneCPU = append(one, rate), append(oneCPU, us)
				} else {
					all, allCPU = append(all, rate), append(allCPU, us)
				}
			}
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(med(oneCPU), "1worker-cpu-us/key")
	b.ReportMetric(med(allCPU), "allcores-cpu-us/key")
	b.ReportMetric(med(one), "1worker-keys/s")
	b.ReportMetric(med(all), "allcores-keys/s")
	b.ReportMetric(med(all)/med(one), "x-allcores-vs-1")
	b.ReportMetric(float64(cores), "cores")
	b.ReportMetric(0, "ns/op")
}
