package oprf

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
)

// Proof nonces computed ahead. The DLEQ proof of a one-element query
// needs fresh randomness t and t2 = t·G, the generator's multiple, which
// depends on nothing the client sends: a [NoncePool] computes pairs (t,
// encoding of t·G) while the server has no evaluation in progress, and
// an evaluation takes one instead of computing it. Each t comes from
// crypto/rand, is handed to one evaluation only and wiped after it; the
// pool is bounded; an evaluation that finds it empty computes t and t·G
// inline, as without a pool.
//
// What it saves depends on the path ([NoncesPay]): on the one-lane path
// t·G is a fixed-base multiplication of its own, ~15 us of a ~135 us
// query; on the lane path it rides in a spare lane of a pass that runs
// anyway, and only the randomness, one encoding and a few scalar
// operations leave the query.

// NoncesPay reports whether a [NoncePool] pays on this CPU: it does on
// the one-lane path, where t·G leaves the query whole (~15 us less CPU a
// query for ~16 us spent ahead, while the server has nothing else to do:
// BenchmarkNonces, thread CPU, this project's shared 2-core machine), not
// on the lane path, where t·G rides in a spare lane of a pass that runs
// anyway: the query saved under 1 us for the same ~16 us ahead, and a
// busy server would lose them.
func NoncesPay() bool { return !evalLanes }

// proofNonce is one precomputed proof randomness.
type proofNonce struct {
	t  r255.Scalar
	t2 [ElementSize]byte // the encoding of t·G
}

// wipe clears n's secret (and its public half with it).
func (n *proofNonce) wipe() { *n = proofNonce{} }

// nonceBatch is how many nonces the filler computes between two looks at
// the evaluations in progress: their encodings share an inversion.
const nonceBatch = 4

// NoncePool holds up to a fixed number of precomputed proof nonces for
// one key's evaluations ([Key.StartNonces]). It is safe for concurrent
// use.
type NoncePool struct {
	ch   chan *proofNonce
	busy atomic.Int64  // evaluations in progress
	wake chan struct{} // an evaluation ended with the pool below full
	stop chan struct{}
	done chan struct{}
	once sync.Once

	taken, inline atomic.Uint64
}

// StartNonces starts a pool of up to size proof nonces for k's
// one-element evaluations, and the goroutine that fills it whenever no
// evaluation of k is in progress. Stop it with [NoncePool.Stop]. Only the
// last pool started is used.
func (k *Key) StartNonces(size int) *NoncePool {
	p := &NoncePool{
		ch:   make(chan *proofNonce, max(size, 1)),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	k.nonces.Store(p)
	p.wake <- struct{}{} // fill at once: nothing is in progress yet
	go p.fill()
	return p
}

// Stop ends the filler and wipes the nonces left in the pool. An
// evaluation that finds a stopped pool computes its nonce inline.
func (p *NoncePool) Stop() {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		for {
			select {
			case n := <-p.ch:
				n.wipe()
			default:
				return
			}
		}
	})
}

// Stats returns how many evaluations took a precomputed nonce, and how
// many found the pool empty and computed theirs inline.
func (p *NoncePool) Stats() (taken, inline uint64) { return p.taken.Load(), p.inline.Load() }

// Len returns the number of nonces ready.
func (p *NoncePool) Len() int { return len(p.ch) }

// begin marks an evaluation in progress and returns a nonce, or nil if
// none is ready.
func (p *NoncePool) begin() *proofNonce {
	p.busy.Add(1)
	select {
	case n := <-p.ch:
		p.taken.Add(1)
		return n
	default:
		p.inline.Add(1)
		return nil
	}
}

// end marks the evaluation done and, if it was the last in progress and
// the pool is not full, wakes the filler.
func (p *NoncePool) end() {
	if p.busy.Add(-1) == 0 && len(p.ch) < cap(p.ch) {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// fill computes nonces, nonceBatch at a time, while the pool has room
// and no evaluation is in progress.
func (p *NoncePool) fill() {
	defer close(p.done)
	var ts [nonceBatch]r255.Scalar
	var encs [nonceBatch][32]byte
	defer func() { clear(ts[:]) }()
	for {
		select {
		case <-p.stop:
			return
		case <-p.wake:
		}
		for p.busy.Load() == 0 && len(p.ch) < cap(p.ch) {
			select {
			case <-p.stop:
				return
			default:
			}
			m := min(nonceBatch, cap(p.ch)-len(p.ch))
			for i := range m {
				if err := proofRandomness(&ts[i], nil); err != nil {
					return // crypto/rand failed: evaluations compute theirs (and fail) inline
				}
			}
			r255.BaseEncodings(encs[:m], ts[:m])
			for i := range m {
				n := &proofNonce{t: ts[i], t2: encs[i]}
				ts[i] = r255.Scalar{}
				select {
				case p.ch <- n:
				default:
					n.wipe() // full after all
				}
			}
			runtime.Gosched()
		}
	}
}
