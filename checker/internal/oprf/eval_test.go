package oprf

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/circl/group"
	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
)

// randomElements returns n encodings of random ristretto255 elements, with
// some structured ones mixed in: the generator, its negation and small
// multiples, and repeats of an earlier element of the batch.
func randomElements(r *mrand.Rand, n int) []byte {
	out := make([]byte, 0, n*ElementSize)
	for i := range n {
		var e group.Element
		switch x := r.IntN(16); {
		case x == 0:
			e = grp.Generator()
		case x == 1:
			e = grp.NewElement().Neg(grp.Generator())
		case x == 2:
			e = grp.NewElement().Mul(grp.Generator(), grp.NewScalar().SetUint64(uint64(2+r.IntN(20))))
		case x == 3 && i > 0:
			j := r.IntN(i)
			out = append(out, out[j*ElementSize:(j+1)*ElementSize]...)
			continue
		default:
			e = grp.RandomElement(rand.Reader)
		}
		b, _ := e.MarshalBinaryCompress()
		out = append(out, b...)
	}
	return out
}

// TestEvaluateFastDifferential is the differential test of the fast
// evaluation: for random keys and edge keys (1, 2, l-1), random batches of
// 1, 2, 3, 17 and 128 elements and random or edge proof randomness (0, 1,
// l-1), the evaluated elements and the proof are byte for byte those of
// circl's prover (evaluateCircl), on both paths, with and without the
// proof.
func TestEvaluateFastDifferential(t *testing.T) {
	r := mrand.New(mrand.NewPCG(9497, 1))
	lm1 := new(big.Int).Sub(groupOrder, big.NewInt(1))
	edgeR := [][]byte{scalarLE(big.NewInt(0)), scalarLE(big.NewInt(1)), scalarLE(lm1)}
	keys := []*Key{
		keyFromScalar(t, scalarLE(big.NewInt(1))),
		keyFromScalar(t, scalarLE(big.NewInt(2))),
		keyFromScalar(t, scalarLE(lm1)),
	}
	perSize := map[int]int{1: 1000, 2: 200, 3: 100, 17: 20, 128: 6}
	if testing.Short() {
		perSize = map[int]int{1: 40, 2: 10, 3: 10, 17: 3, 128: 1}
	}
	cases := 0
	for _, n := range []int{1, 2, 3, 17, 128} {
		for c := range perSize[n] {
			var k *Key
			if c < len(keys) {
				k = keys[c]
			} else {
				var err error
				if k, err = GenerateKey(); err != nil {
					t.Fatal(err)
				}
			}
			elems := randomElements(r, n)
			var rb []byte
			if c%10 < len(edgeR) && c >= 10 {
				rb = edgeR[c%10]
			} else {
				rb, _ = grp.RandomScalar(rand.Reader).MarshalBinary()
			}
			wantEv, wantProof, err := k.evaluateCircl(elems, rb)
			if err != nil {
				t.Fatal(err)
			}
			var ev, proof []byte
			var hints []byte // every other case with the client's decode hints
			if c%2 == 1 {
				hints = DecodeHints(elems)
			}
			for _, lanes := range evalPaths() {
				ev, proof, err = k.evaluateOn(elems, hints, rb, true, lanes)
				if err != nil {
					t.Fatalf("n=%d: %v", n, err)
				}
				if !bytes.Equal(ev, wantEv) || !bytes.Equal(proof, wantProof) {
					t.Fatalf("n=%d 8-way %v key %x r %x elements %x: fast (%x, %x) differs from circl (%x, %x)",
						n, lanes, k.ev.Bytes(), rb, elems, ev, proof, wantEv, wantProof)
				}
			}
			bare, none, err := k.Evaluate(elems, nil, false)
			if err != nil || none != nil || !bytes.Equal(bare, wantEv) {
				t.Fatalf("n=%d: without proof: %x %x %v", n, bare, none, err)
			}
			cases++
		}
	}
	t.Logf("%d batches equal to circl's (8-way path too: %v)", cases, r255.Lanes())
}

// evalPaths lists the paths to test on this machine: the one-lane path,
// and the 8-way one if the CPU has it.
func evalPaths() []bool {
	if r255.Lanes() {
		return []bool{false, true}
	}
	return []bool{false}
}

// TestEvaluateOneLanePath runs the tests that go through k.Evaluate (RFC
// 9497 vectors, circl, verification, rejections, concurrency) with one-element queries on the one-lane path,
// and the client's against circl's with its multiplications one at a
// time; the default runs them on the 8-way path where the CPU has it.
func TestEvaluateOneLanePath(t *testing.T) {
	if !evalLanes {
		t.Skip("the one-lane path is the default here")
	}
	evalLanes = false
	defer func() { evalLanes = true }()
	t.Run("RFC9497Vectors", TestRFC9497Vectors)
	t.Run("MatchesCircl", TestEvaluateMatchesCircl)
	t.Run("Verifies", TestEvaluateFastVerifies)
	t.Run("RejectsLikeCircl", TestEvaluateFastRejectsLikeCircl)
	t.Run("Concurrent", TestEvaluateFastConcurrent)
	t.Run("ClientMatchesCircl", TestClientMatchesCircl)
	t.Run("NoncePoolMatchesCircl", TestNoncePoolMatchesCircl)
}

// TestEvaluateFastVerifies: with fresh randomness (crypto/rand), a client
// accepts the proofs and gets circl's FullEvaluate outputs, and proofs
// differ from call to call (the randomness is fresh).
func TestEvaluateFastVerifies(t *testing.T) {
	for _, n := range []int{1, 2, 3, 17, 128} {
		k, _ := GenerateKey()
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = Input(uint64(7*n + i))
		}
		st, elems, err := Blind(k.Public(), inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, proof, err := k.Evaluate(elems, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		_, proof2, _ := k.Evaluate(elems, nil, true)
		if bytes.Equal(proof, proof2) {
			t.Errorf("n=%d: two proofs with fresh randomness are equal", n)
		}
		outs, err := st.Finalize(ev, proof)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for i, o := range outs {
			want, _ := k.circlFullEvaluate(inputs[i])
			if !bytes.Equal(o, want) {
				t.Errorf("n=%d: output %d differs from FullEvaluate", n, i)
			}
		}
	}
}

// circlAccepts reports whether circl decodes b as an element the server
// accepts (canonical, not the identity), and its canonical re-encoding.
func circlAccepts(b []byte) (bool, []byte) {
	e := grp.NewElement()
	if err := e.UnmarshalBinary(b); err != nil || e.IsIdentity() {
		return false, nil
	}
	enc, _ := e.MarshalBinaryCompress()
	return true, enc
}

// TestEvaluateFastRejectsLikeCircl: a batch with one bad element among
// good ones is refused with ErrBadElement naming the same element as
// circl's path, wherever the bad element is.
func TestEvaluateFastRejectsLikeCircl(t *testing.T) {
	r := mrand.New(mrand.NewPCG(5, 5))
	k, _ := GenerateKey()
	rb, _ := grp.RandomNonZeroScalar(rand.Reader).MarshalBinary()
	pBig := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	var pLE [32]byte
	pBig.FillBytes(pLE[:])
	slices.Reverse(pLE[:])
	bads := [][]byte{make([]byte, 32), bytes.Repeat([]byte{0xff}, 32), pLE[:],
		append([]byte{1}, make([]byte, 31)...)}
	for range 100 {
		n := 1 + r.IntN(5)
		elems := randomElements(r, n)
		at := r.IntN(n)
		bad := bads[r.IntN(len(bads))]
		if r.IntN(2) == 0 { // a random string circl refuses
			for {
				bad = make([]byte, 32)
				for i := range bad {
					bad[i] = byte(r.Uint32())
				}
				if ok, _ := circlAccepts(bad); !ok {
					break
				}
			}
		}
		copy(elems[at*ElementSize:], bad)
		_, _, err := k.Evaluate(elems, rb, true)
		_, _, werr := k.evaluateCircl(elems, rb)
		if !errors.Is(err, ErrBadElement) || werr == nil || err.Error() != werr.Error() {
			t.Fatalf("bad element %x at %d of %d: fast %v, circl %v", bad, at, n, err, werr)
		}
		_, _, err = k.Evaluate(elems, nil, false)
		if err == nil || err.Error() != werr.Error() {
			t.Fatalf("without proof: %v, want %v", err, werr)
		}
	}
	// Malformed lengths and randomness.
	for _, b := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		if _, _, err := k.Evaluate(b, rb, true); !errors.Is(err, ErrBadElement) {
			t.Errorf("%d bytes: %v", len(b), err)
		}
	}
	good := randomElements(r, 1)
	for _, badR := range [][]byte{make([]byte, 31), pLE[:], bytes.Repeat([]byte{0xff}, 32)} {
		if _, _, err := k.Evaluate(good, badR, true); err == nil {
			t.Errorf("randomness %x accepted", badR)
		}
	}
}

// FuzzEvaluateMatchesCircl: for any request body, the fast evaluation
// and circl's agree: the same error, or the same bytes under the same
// randomness.
//
//	go test ./checker/internal/oprf -run '^$' -fuzz FuzzEvaluateMatchesCircl -fuzztime 60s
func FuzzEvaluateMatchesCircl(f *testing.F) {
	k, err := DeriveKey(bytes.Repeat([]byte{0x71}, 32), []byte("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3} {
		f.Add(randomElements(r, n), uint64(n))
	}
	f.Add(make([]byte, 32), uint64(0))
	f.Add(bytes.Repeat([]byte{0xff}, 32), uint64(1))
	if data, err := os.ReadFile("testdata/rfc9497-ristretto255-voprf.json"); err == nil {
		f.Add(data[:64], uint64(3))
	}
	f.Fuzz(func(t *testing.T, blinded []byte, rseed uint64) {
		if len(blinded) > 4*ElementSize {
			blinded = blinded[:4*ElementSize]
		}
		rb := scalarLE(new(big.Int).SetUint64(rseed * 0x9e3779b97f4a7c15))
		for _, lanes := range evalPaths() {
			ev, proof, err := k.evaluateOn(blinded, nil, rb, true, lanes)
			if len(blinded) == 0 || len(blinded)%ElementSize != 0 {
				if !errors.Is(err, ErrBadElement) {
					t.Fatalf("%d bytes: %v", len(blinded), err)
				}
				continue
			}
			wantEv, wantProof, werr := k.evaluateCircl(blinded, rb)
			if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
				t.Fatalf("%x (8-way %v): fast %v, circl %v", blinded, lanes, err, werr)
			}
			if !bytes.Equal(ev, wantEv) || !bytes.Equal(proof, wantProof) {
				t.Fatalf("%x: fast (8-way %v) differs from circl", blinded, lanes)
			}
		}
	})
}

// BenchmarkEvaluateFast is one query's server work (evaluation and batched
// DLEQ proof, fresh randomness) through the fast path and circl's prover,
// in the same run: rounds alternate between them, and each figure is the
// median of its rounds, so that load from other processes hits all alike.
// On an IFMA CPU, fast is the 8-way path and onelane the fast path
// without it (x-vs-onelane: how much faster the 8-way path is).
//
//	go test ./checker/internal/oprf -run '^$' -bench BenchmarkEvaluateFast -benchtime 1x
func BenchmarkEvaluateFast(b *testing.B) {
	k, _ := GenerateKey()
	rb, _ := grp.RandomNonZeroScalar(rand.Reader).MarshalBinary()
	for _, n := range []int{1, 2, 16, 128} {
		r := mrand.New(mrand.NewPCG(uint64(n), 0))
		elems := randomElements(r, n)
		reps := max(1, 200/n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var fast, one, circl []float64 // us per query
			timeIt := func(f func()) float64 {
				t := time.Now()
				for range reps {
					f()
				}
				return float64(time.Since(t).Microseconds()) / float64(reps)
			}
			for b.Loop() {
				for range 9 {
					fast = append(fast, timeIt(func() { k.Evaluate(elems, nil, true) }))
					if evalLanes {
						one = append(one, timeIt(func() { k.evaluateOn(elems, nil, nil, true, false) }))
					}
					circl = append(circl, timeIt(func() { k.evaluateCircl(elems, rb) }))
				}
			}
			med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
			b.ReportMetric(med(fast), "fast-us/query")
			b.ReportMetric(med(circl), "circl-us/query")
			b.ReportMetric(med(fast)/float64(n), "fast-us/elem")
			if len(one) > 0 {
				b.ReportMetric(med(one), "onelane-us/query")
				b.ReportMetric(med(one)/med(fast), "x-vs-onelane")
			}
			b.ReportMetric(med(circl)/med(fast), "x-vs-circl")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestEvaluateFastConcurrent: evaluations from several goroutines at once
// (sharing the pooled scratch and the key) give circl's bytes; run with
// -race.
func TestEvaluateFastConcurrent(t *testing.T) {
	k, _ := GenerateKey()
	r := mrand.New(mrand.NewPCG(3, 3))
	type job struct{ elems, rb, ev, proof []byte }
	var jobs []job
	for i := range 24 {
		elems := randomElements(r, 1+i%3)
		rb, _ := grp.RandomScalar(rand.Reader).MarshalBinary()
		ev, proof, err := k.evaluateCircl(elems, rb)
		if err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, job{elems, rb, ev, proof})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := range 3 * len(jobs) {
				j := jobs[(i+g*7)%len(jobs)]
				ev, proof, err := k.Evaluate(j.elems, j.rb, true)
				if err != nil || !bytes.Equal(ev, j.ev) || !bytes.Equal(proof, j.proof) {
					errs <- fmt.Sprintf("goroutine %d job %d: differs from circl (%v)", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestEvaluateMatchesCircl: the server's evaluation gives, byte for byte,
// the evaluated elements and proof of circl's own prover, for one element
// and for batches, and clients verify it.
func TestEvaluateMatchesCircl(t *testing.T) {
	for _, n := range []int{1, 2, 3, 17} {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = Input(uint64(1000*n + i))
		}
		st, elems, err := Blind(k.Public(), inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := grp.RandomNonZeroScalar(rand.Reader)
		rb, _ := r.MarshalBinary()
		ev, proof, err := k.Evaluate(elems, rb, true)
		if err != nil {
			t.Fatal(err)
		}
		wantEv, wantProof, err := k.evaluateCircl(elems, rb)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev, wantEv) || !bytes.Equal(proof, wantProof) {
			t.Errorf("n=%d: evaluate differs from circl's prover", n)
		}
		// Fresh randomness: still a proof the client accepts.
		ev, proof, err = k.Evaluate(elems, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		outs, err := st.Finalize(ev, proof)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		for i, o := range outs {
			want, _ := k.circlFullEvaluate(inputs[i])
			if !bytes.Equal(o, want) {
				t.Errorf("n=%d: output %d differs from FullEvaluate", n, i)
			}
		}
		// A proof under another key is refused.
		k2, _ := GenerateKey()
		ev2, proof2, _ := k2.Evaluate(elems, nil, true)
		if _, err := st.Finalize(ev2, proof2); err == nil {
			t.Errorf("n=%d: a proof under another key verified", n)
		}
	}
}
