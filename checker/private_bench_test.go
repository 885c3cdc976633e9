package checker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/hashset"
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
	cores := runtime.GOMAXPROCS(0)
	var circl, one, all []float64          // elements/s per round, wall clock
	var circlCPU, oneCPU, allCPU []float64 // CPU microseconds per element
	for b.Loop() {
		for range 7 {
			t, c := time.Now(), cpuTime()
			for _, in := range inputs {
				if _, err := k.circlFullEvaluate(in); err != nil {
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

func itoa(n int) string {
	return string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
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
			body := appendRequest(nil, &privateRequest{bits: 12, prefix: key >> 52, elements: elems})
			var respBytes, entries int
			for b.Loop() {
				req := httptest.NewRequest("POST", PrivateQueryPath, bytes.NewReader(body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code, rec.Body.String())
				}
				respBytes = rec.Body.Len()
				r, _ := parseResponse(rec.Body.Bytes())
				entries = len(r.bucket.entries)
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
			fixed := respHeader + ElementSize + ProofSize + 5
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "queries/s")
			b.ReportMetric(float64(len(body)), "req-bytes")
			b.ReportMetric(float64(respBytes), "resp-bytes")
			b.ReportMetric(float64(entries), "entries")
			b.ReportMetric(float64(respBytes-fixed)/float64(max(entries, 1)), "bytes/entry")
		})
	}
}

// BenchmarkBucketLookup times a padded bucket answer (range, set ids,
// deterministic decoys, merge, and its encoding into the bytes the server
// writes) of ~390 real entries padded to 520, against, in the same run,
// reading the same range alone (the floor: x-range) and the reference
// implementation of private_ref_test.go, the code that served buckets
// before (x-ref, how many times faster this is). The index is read
// through ReadAt (readat, as testPrivateIndex opens one) or mapped
// (mapped, as a server opens one).
//
//	go test ./checker -run '^$' -bench BenchmarkBucketLookup -benchtime 5000x -count 3
func BenchmarkBucketLookup(b *testing.B) {
	k, _ := GenerateOPRFKey()
	space := fictionalSpace()
	var nums []string
	for i := range 100_000 {
		nums = append(nums, space[i%len(space)]+string(rune('a'+i/len(space))))
	}
	plain := testPlainIndex(b, testDS{"a", nums[:60_000]}, testDS{"b", nums[50_000:]})
	path := filepath.Join(b.TempDir(), "private.idx")
	if _, err := SealFile(context.Background(), plain, path, SealOptions{Key: k, BucketBits: 8}); err != nil {
		b.Fatal(err)
	}
	mapped, err := OpenPrivate(path, k)
	if err != nil {
		b.Fatal(err)
	}
	defer mapped.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		b.Fatal(err)
	}
	readat, err := NewPrivate(r, k)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("readat", func(b *testing.B) { benchBucketAnswer(b, readat, k) })
	b.Run("mapped", func(b *testing.B) { benchBucketAnswer(b, mapped, k) })
}

func benchBucketAnswer(b *testing.B, ix *PrivateIndex, k *OPRFKey) {
	ref := newRefIndex(ix)
	keyID := k.Public().idBytes()
	var answer, refAnswer, floor time.Duration
	var es []hashset.Entry
	var buf, refBuf []byte
	n, entries := 0, 0
	// The collector runs between rounds of 256 buckets, not in them, so
	// that the reference's garbage does not slow the others down.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for b.Loop() {
		prefix := uint64(n % 256)
		if n++; prefix == 0 {
			runtime.GC()
		}
		head := &privateResponse{bits: 8, padded: true, keyID: keyID}
		t0 := time.Now()
		buf = appendResponseHead(buf[:0], head)
		var err error
		buf, err = ix.appendBucket(buf, prefix, 8, true)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		es, _ = ix.idx.AppendRange(es[:0], prefix, 8)
		t2 := time.Now()
		refBuf, err = ref.refAnswer(refBuf[:0], prefix, 8, true, keyID)
		if err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		answer += t1.Sub(t0)
		floor += t2.Sub(t1)
		refAnswer += t3.Sub(t2)
		if !bytes.Equal(buf, refBuf) {
			b.Fatalf("bucket %02X: the answer differs from the reference's", prefix)
		}
		entries += int(binary.BigEndian.Uint32(buf[respHeader:]))
	}
	b.ReportMetric(float64(answer.Nanoseconds())/float64(n), "answer-ns/bucket")
	b.ReportMetric(float64(refAnswer.Nanoseconds())/float64(n), "ref-answer-ns/bucket")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(n), "range-ns/bucket")
	b.ReportMetric(float64(answer)/float64(floor), "x-range")
	b.ReportMetric(float64(refAnswer)/float64(answer), "x-ref")
	b.ReportMetric(float64(entries)/float64(n), "entries/bucket")
}
