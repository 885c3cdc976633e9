package private

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// BenchmarkBucketLookup times a padded bucket answer (range, set ids,
// deterministic decoys, merge, and its encoding into the bytes the server
// writes) of ~390 real entries padded to 520, against, in the same run,
// reading the same range alone (the floor: x-range) and the reference
// implementation (the refIndex code), the code that served buckets
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
//	go test ./checker/internal/private -run '^$' -bench BenchmarkBucketLookup -benchtime 5000x -count 3
func BenchmarkBucketLookup(b *testing.B) {
	k, _ := oprf.GenerateKey()
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
	mapped, err := Open(path, k)
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
	readat, err := New(r, k)
	if err != nil {
		b.Fatal(err)
	}
	for _, ix := range []struct {
		name string
		ix   *Index
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

func benchBucketAnswer(b *testing.B, ix *Index, k *oprf.Key, cold bool) {
	ref := newRefIndex(ix)
	keyID := k.Public().IDBytes()
	head := &wire.Response{Bits: 8, Padded: true, KeyID: keyID}
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
			buf = wire.AppendResponseHead(buf[:0], head)
			buf, err = ix.AppendBucket(buf, prefix, 8, true)
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
			entries += int(binary.BigEndian.Uint32(buf[wire.ResponseHeaderSize:]))
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
