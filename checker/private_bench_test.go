package checker

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
)

// BenchmarkSeal measures sealing (F_k of every plain key, the key in hand)
// against circl's FullEvaluate on one core, in the same run: rounds
// alternate between circl single-core, the sealer single-core and the
// sealer on every core (GOMAXPROCS), and each figure is the median of its
// rounds, so that load from other processes hits all three alike.
//
//	go test ./checker -run '^$' -bench BenchmarkSeal -benchtime 1x
func BenchmarkSeal(b *testing.B) {
	k, _ := GenerateOPRFKey()
	const n = 600
	keys := make([]uint64, n)
	inputs := make([][]byte, n)
	for i := range keys {
		keys[i] = Key(fictionalSpace()[i])
		inputs[i] = oprfInput(keys[i])
	}
	srv := circlServer(b, k)
	cores := runtime.GOMAXPROCS(0)
	var circl, one, all []float64          // elements/s per round, wall clock
	var circlCPU, oneCPU, allCPU []float64 // CPU microseconds per element
	for b.Loop() {
		for range 7 {
			t, c := time.Now(), cpuTime()
			for _, in := range inputs {
				if _, err := srv.FullEvaluate(in); err != nil {
					b.Fatal(err)
				}
			}
			circl = append(circl, n/time.Since(t).Seconds())
			circlCPU = append(circlCPU, float64((cpuTime()-c).Microseconds())/n)
			t, c = time.Now(), cpuTime()
			k.sealKeys(keys, 20, 1)
			one = append(one, n/time.Since(t).Seconds())
			oneCPU = append(oneCPU, float64((cpuTime()-c).Microseconds())/n)
			t, c = time.Now(), cpuTime()
			k.sealKeys(keys, 20, cores)
			all = append(all, n/time.Since(t).Seconds())
			allCPU = append(allCPU, float64((cpuTime()-c).Microseconds())/n)
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(med(circlCPU), "circl-cpu-us/elem")
	b.ReportMetric(med(oneCPU), "seal-1core-cpu-us/elem")
	b.ReportMetric(med(allCPU), "seal-allcores-cpu-us/elem")
	b.ReportMetric(med(circl), "circl-1core-elem/s")
	b.ReportMetric(med(one), "seal-1core-elem/s")
	b.ReportMetric(med(all), "seal-allcores-elem/s")
	b.ReportMetric(med(one)/med(circl), "x-1core-vs-circl")
	b.ReportMetric(med(all)/med(circl), "x-allcores-vs-circl")
	b.ReportMetric(float64(cores), "cores")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEvaluate is the server's work for one query of n blinded
// elements, with and without the batched DLEQ proof: what verifiability
// costs.
func BenchmarkEvaluate(b *testing.B) {
	k, _ := GenerateOPRFKey()
	for _, n := range []int{1, 16, 128} {
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = oprfInput(uint64(i))
		}
		_, elems, _ := blind(k.Public(), inputs, nil)
		for _, proof := range []bool{false, true} {
			name := "noproof"
			if proof {
				name = "proof"
			}
			b.Run(fmt.Sprintf("%s/n=%d", name, n), func(b *testing.B) {
				for b.Loop() {
					if _, _, err := k.evaluate(elems, nil, proof); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/float64(n), "us/element")
			})
		}
	}
}

// BenchmarkPrivateQuery is one single-number query through the handler
// (no network): parse, rate limiter, evaluation with proof, bucket with
// padding, encoding; and the bytes on the wire. The index holds 100k keys
// at B = 12 (about 24 keys a bucket, like 487M keys at B = 20 holds 465).
func BenchmarkPrivateQuery(b *testing.B) {
	k, _ := GenerateOPRFKey()
	space := fictionalSpace()
	var nums []string
	for i := range 100_000 {
		nums = append(nums, space[i%len(space)]+string(rune('a'+i/len(space))))
	}
	ix, _ := testPrivateIndex(b, k, 12, testDS{"a", nums[:60_000]}, testDS{"b", nums[50_000:]})
	for _, pad := range []bool{false, true} {
		name := "unpadded"
		if pad {
			name = "padded"
		}
		b.Run(name, func(b *testing.B) {
			h, _ := NewPrivateHandler(ix, k, PrivateHandlerOptions{Rate: -1, PadOnlyWhenAsked: !pad})
			key := Key(nums[7])
			_, elems, _ := blind(k.Public(), [][]byte{oprfInput(key)}, nil)
			body := wire.AppendRequest(nil, &wire.Request{Bits: 12, Prefix: key >> 52, Elements: elems})
			var respBytes, entries int
			for b.Loop() {
				req := httptest.NewRequest("POST", PrivateQueryPath, bytes.NewReader(body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
				respBytes = rec.Body.Len()
				r, _ := wire.ParseResponse(rec.Body.Bytes())
				entries = len(r.Bucket.Entries)
			}
			elapsed := b.Elapsed()
			// Baseline, same run: the evaluation with its proof alone,
			// the cryptographic floor of a query.
			b.StopTimer()
			start := time.Now()
			for range b.N {
				if _, _, err := k.evaluate(elems, nil, true); err != nil {
					b.Fatal(err)
				}
			}
			crypto := time.Since(start)
			b.ReportMetric(float64(crypto.Microseconds())/float64(b.N), "evaluate-us")
			b.ReportMetric(elapsed.Seconds()/crypto.Seconds(), "x-evaluate")
			fixed := wire.ResponseHeaderSize + oprf.ElementSize + oprf.ProofSize + 5
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "queries/s")
			b.ReportMetric(float64(len(body)), "req-bytes")
			b.ReportMetric(float64(respBytes), "resp-bytes")
			b.ReportMetric(float64(entries), "entries")
			b.ReportMetric(float64(respBytes-fixed)/float64(max(entries, 1)), "bytes/entry")
		})
	}
}
