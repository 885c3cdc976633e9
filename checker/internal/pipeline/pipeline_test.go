package pipeline

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

type chunk struct {
	in  []int
	out []int
}

// counter reads chunks of up to size numbers from 0 to n-1, then ends
// with end (io.EOF or another error).
func counter(n, size int, end error) func(c *chunk) (bool, error) {
	next := 0
	return func(c *chunk) (bool, error) {
		c.in = c.in[:0]
		for len(c.in) < size && next < n {
			c.in = append(c.in, next)
			next++
		}
		if next == n {
			return len(c.in) > 0, end
		}
		return true, nil
	}
}

// squarer squares a chunk's numbers, sleeping at random so that chunks
// finish out of order; each worker counts its chunks in its own scratch.
func squarer(workersSeen *atomic.Int64) func() func(context.Context, *chunk) {
	return func() func(context.Context, *chunk) {
		workersSeen.Add(1)
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		return func(_ context.Context, c *chunk) {
			if rng.IntN(4) == 0 {
				time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
			}
			c.out = c.out[:0]
			for _, x := range c.in {
				c.out = append(c.out, x*x)
			}
		}
	}
}

func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Errorf("%d goroutines, %d before the run", runtime.NumGoroutine(), before)
}

func TestRunInOrder(t *testing.T) {
	for _, workers := range []int{1, 2, 7} {
		for _, n := range []int{0, 1, 99, 100, 101, 5000} {
			before := runtime.NumGoroutine()
			var seen atomic.Int64
			want := 0
			err := Run(context.Background(), Stages[chunk]{
				Workers:   workers,
				Read:      counter(n, 100, io.EOF),
				NewWorker: squarer(&seen),
				Emit: func(c *chunk) error {
					for i, x := range c.in {
						if x != want || c.out[i] != x*x {
							t.Fatalf("workers %d, n %d: got %d (%d), want %d", workers, n, x, c.out[i], want)
						}
						want++
					}
					return nil
				},
			})
			if err != nil || want != n {
				t.Errorf("workers %d, n %d: emitted %d, %v", workers, n, want, err)
			}
			if seen.Load() != int64(workers) {
				t.Errorf("workers %d: %d scratch spaces", workers, seen.Load())
			}
			checkNoLeak(t, before)
		}
	}
}

func TestRunReadError(t *testing.T) {
	boom := errors.New("boom")
	before := runtime.NumGoroutine()
	var seen atomic.Int64
	emitted := 0
	err := Run(context.Background(), Stages[chunk]{
		Workers:   3,
		Read:      counter(1050, 100, boom),
		NewWorker: squarer(&seen),
		Emit:      func(c *chunk) error { emitted += len(c.in); return nil },
	})
	if err != boom || emitted != 1050 {
		t.Errorf("got %v after %d; want boom after every row", err, emitted)
	}
	checkNoLeak(t, before)
}

func TestRunEmitError(t *testing.T) {
	stop := errors.New("stop")
	before := runtime.NumGoroutine()
	var seen atomic.Int64
	chunks := 0
	err := Run(context.Background(), Stages[chunk]{
		Workers:   2,
		Read:      counter(1_000_000, 100, io.EOF),
		NewWorker: squarer(&seen),
		Emit: func(c *chunk) error {
			chunks++
			if chunks == 5 {
				return stop
			}
			return nil
		},
	})
	if err != stop || chunks != 5 {
		t.Errorf("got %v after %d chunks", err, chunks)
	}
	checkNoLeak(t, before)
}

func TestRunCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	var seen atomic.Int64
	chunks := 0
	err := Run(ctx, Stages[chunk]{
		Workers:   2,
		Read:      counter(1_000_000, 100, io.EOF),
		NewWorker: squarer(&seen),
		Emit: func(c *chunk) error {
			chunks++
			if chunks == 3 {
				cancel()
			}
			return nil
		},
	})
	if !errors.Is(err, context.Canceled) || chunks != 3 {
		t.Errorf("got %v after %d chunks", err, chunks)
	}
	checkNoLeak(t, before)
}

func TestFor(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 10_000} {
		before := runtime.NumGoroutine()
		hits := make([]atomic.Int32, n)
		var scratch atomic.Int32
		err := For(context.Background(), n, 64, 3, func() func(lo, hi int) error {
			scratch.Add(1)
			return func(lo, hi int) error {
				if hi-lo > 64 || lo >= hi {
					t.Errorf("range [%d, %d)", lo, hi)
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
				return nil
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := range hits {
			if hits[i].Load() != 1 {
				t.Fatalf("n %d: item %d visited %d times", n, i, hits[i].Load())
			}
		}
		if scratch.Load() > 3 {
			t.Errorf("%d workers", scratch.Load())
		}
		checkNoLeak(t, before)
	}
}

func TestForError(t *testing.T) {
	boom := errors.New("boom")
	// One worker: the error stops the run at once, exactly. With two, the
	// other worker may be between its check of ctx and its call when the
	// error comes, and on a loaded machine a scheduler can let it run on
	// for a while before the cancel is seen: only "not to the end" is
	// certain there.
	for _, workers := range []int{1, 2} {
		var calls atomic.Int64
		err := For(context.Background(), 1_000_000, 10, workers, func() func(lo, hi int) error {
			return func(lo, hi int) error {
				calls.Add(1)
				if lo == 500 {
					return boom
				}
				return nil
			}
		})
		if err != boom {
			t.Errorf("%d workers: got %v", workers, err)
		}
		c := calls.Load()
		if workers == 1 && c != 51 {
			t.Errorf("1 worker: %d calls; the error at the 51st should stop the run there", c)
		}
		if c >= 100_000 {
			t.Errorf("%d workers: all %d calls made: the error did not stop the run", workers, c)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := For(ctx, 100, 1, 2, func() func(lo, hi int) error { return func(lo, hi int) error { return nil } }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
