package oprf

import (
	"bytes"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
)

// waitLen waits until p holds n nonces.
func waitLen(t *testing.T, p *NoncePool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("pool holds %d nonces, want %d", p.Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestNoncePoolMatchesCircl: an evaluation that takes a precomputed nonce
// gives circl's prover's bytes for that randomness, on every path; the
// nonce is wiped after its one use, and the client verifies the proof.
func TestNoncePoolMatchesCircl(t *testing.T) {
	r := mrand.New(mrand.NewPCG(21, 21))
	for _, lanes := range evalPaths() {
		k, _ := GenerateKey()
		p := k.StartNonces(1)
		waitLen(t, p, 1)
		for i := range 20 {
			elems := randomElements(r, 1)
			// Peek at the nonce the evaluation will take: the pool holds
			// one, and nothing refills it while busy is raised.
			p.busy.Add(1)
			nc := <-p.ch
			tb := nc.t.Bytes()
			p.ch <- nc
			p.busy.Add(-1)
			ev, proof, err := k.evaluateOn(elems, nil, nil, true, lanes)
			if err != nil {
				t.Fatal(err)
			}
			wantEv, wantProof, err := k.evaluateCircl(elems, tb)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ev, wantEv) || !bytes.Equal(proof, wantProof) {
				t.Fatalf("lanes %v, query %d: evaluation with a pooled nonce differs from circl's", lanes, i)
			}
			if *nc != (proofNonce{}) {
				t.Fatalf("lanes %v, query %d: the nonce was not wiped after its use", lanes, i)
			}
			waitLen(t, p, 1)
			if again := <-p.ch; again == nc {
				t.Fatalf("lanes %v, query %d: the pool handed out a used nonce again", lanes, i)
			} else {
				p.ch <- again
			}
		}
		if taken, inline := p.Stats(); taken != 20 || inline != 0 {
			t.Errorf("lanes %v: %d nonces taken and %d inline, want 20 and 0", lanes, taken, inline)
		}
		p.Stop()
	}
}

// TestNoncePool: the pool fills to its bound and no further, only while
// no evaluation is in progress; an evaluation that finds it empty (or
// stopped) computes its nonce inline and still proves; proofs verify
// either way and never repeat.
func TestNoncePool(t *testing.T) {
	k, _ := GenerateKey()
	p := k.StartNonces(8)
	waitLen(t, p, 8)
	time.Sleep(20 * time.Millisecond)
	if p.Len() != 8 {
		t.Fatalf("pool grew past its bound: %d nonces", p.Len())
	}

	inputs := [][]byte{Input(42)}
	seen := map[string]bool{}
	prove := func() {
		t.Helper()
		st, elems, err := Blind(k.Public(), inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, proof, err := k.Evaluate(elems, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Finalize(ev, proof); err != nil {
			t.Fatal(err)
		}
		if seen[string(proof)] {
			t.Fatal("a proof repeated")
		}
		seen[string(proof)] = true
	}
	// Busy: evaluations drain the pool and it does not refill.
	p.busy.Add(1)
	for range 8 {
		prove()
	}
	if p.Len() != 0 {
		t.Fatalf("%d nonces left after 8 evaluations of a pool of 8 while busy", p.Len())
	}
	prove()
	if taken, inline := p.Stats(); taken != 8 || inline != 1 {
		t.Fatalf("%d taken, %d inline; want 8 and 1", taken, inline)
	}
	time.Sleep(20 * time.Millisecond)
	if p.Len() != 0 {
		t.Fatalf("the pool refilled to %d while an evaluation was in progress", p.Len())
	}
	// Idle again: the next evaluation (inline: the pool is still
	// empty) wakes the filler as it ends.
	p.busy.Add(-1)
	prove()
	waitLen(t, p, 8)

	p.Stop()
	if p.Len() != 0 {
		t.Fatalf("%d nonces left after Stop", p.Len())
	}
	prove()
	if _, inline := p.Stats(); inline != 3 {
		t.Fatalf("%d inline evaluations, want 3 (two while empty, one after Stop)", inline)
	}
}

// BenchmarkNonces: what a precomputed nonce saves a one-element query
// (query-us with the pool kept full vs inline, alternating rounds, on
// the default path and the one-lane path), and what computing one ahead
// costs (fill-us, per nonce, in batches as the filler computes them).
// Times are the CPU time of the benchmark's thread (medians of 21
// rounds), which other processes on a shared machine disturb less than
// the wall clock.
//
//	go test ./checker/internal/oprf -run '^$' -bench BenchmarkNonces -benchtime 1x
func BenchmarkNonces(b *testing.B) {
	k, _ := GenerateKey()
	elems := randomElements(mrand.New(mrand.NewPCG(1, 2)), 1)
	const reps = 100
	for _, lanes := range evalPaths() {
		name := "onelane"
		if lanes {
			name = "8way"
		}
		b.Run(name, func(b *testing.B) {
			var inline, pooled, fill []float64
			p := &NoncePool{ch: make(chan *proofNonce, reps)}
			var ts [nonceBatch]r255.Scalar
			var encs [nonceBatch][32]byte
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			for b.Loop() {
				for range 21 {
					k.nonces.Store(nil)
					t0 := threadCPU()
					for range reps {
						k.evaluateOn(elems, nil, nil, true, lanes)
					}
					inline = append(inline, float64((threadCPU()-t0).Microseconds())/reps)
					t0 = threadCPU()
					for range reps / nonceBatch {
						for i := range ts {
							proofRandomness(&ts[i], nil)
						}
						r255.BaseEncodings(encs[:], ts[:])
						for i := range ts {
							p.ch <- &proofNonce{t: ts[i], t2: encs[i]}
						}
					}
					fill = append(fill, float64((threadCPU()-t0).Microseconds())/reps)
					k.nonces.Store(p)
					t0 = threadCPU()
					for range reps {
						k.evaluateOn(elems, nil, nil, true, lanes)
					}
					pooled = append(pooled, float64((threadCPU()-t0).Microseconds())/reps)
					k.nonces.Store(nil)
				}
			}
			b.ReportMetric(median(inline), "inline-query-us")
			b.ReportMetric(median(pooled), "pooled-query-us")
			b.ReportMetric(median(inline)-median(pooled), "saved-us")
			b.ReportMetric(median(fill), "fill-us/nonce")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}
