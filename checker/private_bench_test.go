package checker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
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
// before (x-ref, how many times faster this is).
//
// The index is read through ReadAt (readat, as testPrivateIndex opens
// one) or mapped (mapped, as a server opens one). Iterations take turns
// in blocks of 256 buckets, one block answered, one range read, one
// answered by the reference, so that each runs in the caches it leaves
// (warm: a server answering bucket after bucket), or after 4 MiB of
// other memory went through them (cold: a server that did other work
// in between). The collector runs when the reference's garbage calls
// for it, as in a server; forcing it between blocks, or stopping it,
// measured worse (its work slows what runs beside it, on the other
// hardware thread, and fresh memory faults).
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
	for _, ix := range []struct {
		name string
		ix   *PrivateIndex
	}{{"readat", readat}, {"mapped", mapped}} {
		for _, cold := range []bool{false, true} {
			name := ix.name + "/warm"
			if cold {
				name = ix.name + "/cold"
			}
			b.Run(name, func(b *testing.B) { benchBucketAnswer(b, ix.ix, k, cold) })
		}
	}
}

func benchBucketAnswer(b *testing.B, ix *PrivateIndex, k *OPRFKey, cold bool) {
	ref := newRefIndex(ix)
	keyID := k.Public().idBytes()
	head := &privateResponse{bits: 8, padded: true, keyID: keyID}
	var spent [3]time.Duration // answer, range, reference
	var count [3]int
	var sums [256]uint32 // of the answers, checked against the reference's
	var es []hashset.Entry
	var buf, refBuf []byte
	var evict []byte
	if cold {
		evict = make([]byte, 4<<20)
	}
	entries, n := 0, 0
	runtime.GC()
	for b.Loop() {
		prefix := uint64(n % 256)
		phase := n / 256 % 3
		n++
		for i := 0; i < len(evict); i += 64 {
			evict[i]++
		}
		var err error
		t0 := time.Now()
		switch phase {
		case 0:
			buf = appendResponseHead(buf[:0], head)
			buf, err = ix.appendBucket(buf, prefix, 8, true)
		case 1:
			es, err = ix.idx.AppendRange(es[:0], prefix, 8)
		case 2:
			refBuf, err = ref.refAnswer(refBuf[:0], prefix, 8, true, keyID)
		}
		spent[phase] += time.Since(t0)
		count[phase]++
		if err != nil {
			b.Fatal(err)
		}
		switch phase {
		case 0:
			entries += int(binary.BigEndian.Uint32(buf[respHeader:]))
			sums[prefix] = crc32.ChecksumIEEE(buf)
		case 2:
			if crc32.ChecksumIEEE(refBuf) != sums[prefix] {
				b.Fatalf("bucket %02X: the answer differs from the reference's", prefix)
			}
		}
	}
	if count[2] == 0 {
		b.Fatal("run at least 513 iterations (-benchtime 5000x)")
	}
	per := func(i int) float64 { return float64(spent[i].Nanoseconds()) / float64(count[i]) }
	b.ReportMetric(per(0), "answer-ns/bucket")
	b.ReportMetric(per(2), "ref-answer-ns/bucket")
	b.ReportMetric(per(1), "range-ns/bucket")
	b.ReportMetric(per(0)/per(1), "x-range")
	b.ReportMetric(per(2)/per(0), "x-ref")
	b.ReportMetric(float64(entries)/float64(count[0]), "entries/bucket")
	b.ReportMetric(0, "ns/op")
}
