package private

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
)

// checkDrained fails t unless the goroutines started since before have
// exited.
func checkDrained(t *testing.T, before int) {
	t.Helper()
	for range 200 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("%d goroutines, %d before", runtime.NumGoroutine(), before)
}

// TestSealWorkers: the sealed bytes do not depend on the number of
// workers, and SealKeys computes the keys Seal adds.
func TestSealWorkers(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	nums := fictionalSpace()[:10000]
	plain := testPlainIndex(t, testDS{"leak-a", nums})
	var want []byte
	for _, workers := range []int{1, 2, 5} {
		var buf bytes.Buffer
		rep, err := Seal(context.Background(), plain, &buf, SealOptions{Key: k, BucketBits: 16, Workers: workers, Created: "2026-01-01"})
		if err != nil {
			t.Fatal(err)
		}
		if rep.PlainKeys != int64(len(nums)) || rep.Workers != workers {
			t.Errorf("workers %d: report %+v", workers, rep)
		}
		if want == nil {
			want = buf.Bytes()
		} else if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("workers %d: sealed bytes differ from 1 worker's", workers)
		}
	}
	keys := make([]uint64, 300)
	for i := range keys {
		keys[i] = Key(nums[i])
	}
	one, all := SealKeys(k, keys, 16, 1), SealKeys(k, keys, 16, 0)
	s := k.NewSealer()
	for i := range keys {
		var out [1]uint64
		sealInto(s, keys[i:i+1], out[:], 16)
		if one[i] != out[0] || all[i] != out[0] {
			t.Fatalf("key %d: SealKeys %x (1 worker), %x (all), one at a time %x", i, one[i], all[i], out[0])
		}
	}
}

// TestSealCancel: a seal cancelled midway, or before it starts, returns
// the context's error and leaves no goroutine behind.
func TestSealCancel(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	plain := testPlainIndex(t, testDS{"leak-a", fictionalSpace()[:40000]})
	for _, when := range []string{"midway", "before"} {
		before := runtime.NumGoroutine()
		ctx, cancel := context.WithCancel(context.Background())
		var calls int
		opts := SealOptions{Key: k, Workers: 3, Progress: func(done, total int64) {
			calls++
			if done >= total {
				t.Errorf("%s: progress reached %d of %d", when, done, total)
			}
			cancel()
		}}
		if when == "before" {
			cancel()
		}
		var buf bytes.Buffer
		_, err := Seal(ctx, plain, &buf, opts)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err %v, want context.Canceled", when, err)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written", when, buf.Len())
		}
		if when == "midway" && calls != 1 {
			t.Errorf("%s: progress called %d times, want once", when, calls)
		}
		// Cancelled before it began, a seal reports nothing.
		if when == "before" && calls != 0 {
			t.Errorf("%s: progress called %d times after the cancel", when, calls)
		}
		checkDrained(t, before)
		cancel()
	}
}
