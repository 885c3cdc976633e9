// Package pipeline runs long passes over input on every core.
//
// In [Run], one goroutine reads chunks of input, workers process them,
// and the caller receives them back in input order.
//
// [Run] is the shape of every long pass whose results one goroutine must
// take in turn: a build reading a dataset, a batch check reading
// subscribers, a seal feeding private keys to one index builder. [For] is
// the shape of a pass over a range of numbers with no order to keep, such
// as an export writing one file per prefix.
package pipeline

import (
	"context"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// Stages are the three steps of [Run], over chunks of type C.
type Stages[C any] struct {
	// Workers is the number of goroutines running Work; 0 means
	// GOMAXPROCS.
	Workers int
	// Ahead bounds the chunks read but not yet emitted; 0 means three per
	// worker.
	Ahead int
	// Read fills c, a chunk new or already emitted, with the next input,
	// on the reader goroutine. It reports whether c holds input to send.
	// An error ends the input after c: io.EOF at its clean end, any other
	// error is returned by Run once the chunks before it are emitted.
	Read func(c *C) (ok bool, err error)
	// NewWorker is called once on each worker goroutine and returns the
	// function that processes chunks there, so that each worker keeps
	// scratch space of its own across chunks.
	NewWorker func() func(ctx context.Context, c *C)
	// Emit receives every processed chunk in input order, on the goroutine
	// that called Run. An error stops the run. After Emit returns, c is
	// reused: Emit must keep nothing that points into it.
	Emit func(c *C) error
}

// slot is a chunk on its way through the pipeline.
type slot[C any] struct {
	c    C
	done chan struct{} // a worker sends once Work returned
}

// Run reads chunks with s.Read on a goroutine of its own, processes them
// on s.Workers goroutines, and emits them in input order on the calling
// goroutine. It returns the first of: an error from Emit, ctx's error if
// ctx is done before the input is, the error that ended the input (unless
// io.EOF). Every goroutine it started has exited when it returns.
func Run[C any](ctx context.Context, s Stages[C]) error {
	workers := s.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ahead := s.Ahead
	if ahead <= 0 {
		ahead = workers * 3
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *slot[C], workers*2)
	ordered := make(chan *slot[C], ahead)
	pool := sync.Pool{New: func() any { return &slot[C]{done: make(chan struct{}, 1)} }}
	var readErr error
	var readCanceled bool // the reader stopped because ctx was done
	go func() {           // reader
		defer close(work)
		defer close(ordered)
		for {
			sl := pool.Get().(*slot[C])
			ok, err := s.Read(&sl.c)
			if err != nil && err != io.EOF {
				readErr = err
			}
			if !ok {
				return
			}
			select {
			case work <- sl:
			case <-ctx.Done():
				readCanceled = true
				return
			}
			select {
			case ordered <- sl:
			case <-ctx.Done():
				readCanceled = true
				return
			}
			if err != nil {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			process := s.NewWorker()
			for sl := range work {
				process(ctx, &sl.c)
				sl.done <- struct{}{}
			}
		}()
	}
	var emitErr error
	for sl := range ordered {
		select {
		case <-sl.done:
		case <-ctx.Done():
		}
		if emitErr = ctx.Err(); emitErr != nil {
			break
		}
		if emitErr = s.Emit(&sl.c); emitErr != nil {
			break
		}
		pool.Put(sl)
	}
	// The reader may see ctx done, and close ordered, before this loop
	// does: the run was still cut short (readCanceled is written before
	// ordered is closed).
	if emitErr == nil && readCanceled {
		emitErr = parent.Err()
	}
	cancel()
	for range ordered { // let the reader and the workers finish
	}
	wg.Wait()
	if emitErr != nil {
		return emitErr
	}
	return readErr
}

// For calls the function that newWorker returns on [lo, hi) ranges of at
// most chunk items covering [0, n), from workers goroutines (0 means
// GOMAXPROCS), each calling newWorker once for scratch space of its own.
// The first error stops the rest and is returned; ctx's error is returned
// if ctx is done first.
func For(ctx context.Context, n, chunk, workers int, newWorker func() func(lo, hi int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if chunk <= 0 {
		chunk = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64
		once  sync.Once
		first error
		wg    sync.WaitGroup
	)
	for range min(workers, (n+chunk-1)/chunk) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := newWorker()
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				select {
				case <-ctx.Done():
					return
				default:
				}
				if err := f(lo, min(n, lo+chunk)); err != nil {
					once.Do(func() { first = err })
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
