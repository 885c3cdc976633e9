package checker

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
)

// keyFromScalar returns the key of the little-endian scalar raw.
func keyFromScalar(t testing.TB, raw []byte) *OPRFKey {
	t.Helper()
	sk := new(oprf.PrivateKey)
	if err := sk.UnmarshalBinary(suite, raw); err != nil {
		t.Fatal(err)
	}
	k, err := newOPRFKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// scalarLE returns the 32-byte little-endian encoding of n mod l.
func scalarLE(n *big.Int) []byte {
	n = new(big.Int).Mod(n, groupOrder)
	var b [32]byte
	n.FillBytes(b[:])
	slices.Reverse(b[:])
	return b[:]
}

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
// evaluation (oprf_eval.go): for random keys and edge keys (1, 2, l-1),
// random batches of 1, 2, 3, 17 and 128 elements and random or edge proof
// randomness (0, 1, l-1), the evaluated elements and the proof are byte
// for byte those of circl's prover (evaluateCircl) and of the previous
// go-ristretto path (evaluateR255), with and without the proof.
func TestEvaluateFastDifferential(t *testing.T) {
	r := mrand.New(mrand.NewPCG(9497, 1))
	lm1 := new(big.Int).Sub(groupOrder, big.NewInt(1))
	edgeR := [][]byte{scalarLE(big.NewInt(0)), scalarLE(big.NewInt(1)), scalarLE(lm1)}
	keys := []*OPRFKey{
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
			var k *OPRFKey
			if c < len(keys) {
				k = keys[c]
			} else {
				var err error
				if k, err = GenerateOPRFKey(); err != nil {
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
			for _, lanes := range evalPaths() {
				ev, proof, err = k.evaluateFastOn(elems, rb, true, lanes)
				if err != nil {
					t.Fatalf("n=%d: %v", n, err)
				}
				if !bytes.Equal(ev, wantEv) || !bytes.Equal(proof, wantProof) {
					t.Fatalf("n=%d 8-way %v key %x r %x elements %x: fast (%x, %x) differs from circl (%x, %x)",
						n, lanes, k.ev.k.Bytes(), rb, elems, ev, proof, wantEv, wantProof)
				}
			}
			oldEv, oldProof, err := k.evaluateR255(elems, rb, true)
			if err != nil || !bytes.Equal(ev, oldEv) || !bytes.Equal(proof, oldProof) {
				t.Fatalf("n=%d: fast differs from evaluateR255 (%v)", n, err)
			}
			bare, none, err := k.evaluateFast(elems, nil, false)
			if err != nil || none != nil || !bytes.Equal(bare, wantEv) {
				t.Fatalf("n=%d: without proof: %x %x %v", n, bare, none, err)
			}
			cases++
		}
	}
	t.Logf("%d batches equal to circl's (8-way path for one element too: %v)", cases, useIFMA)
}

// evalPaths lists the one-element paths to test on this machine: the
// one-lane path, and the 8-way one (oprf_eval_ifma_amd64.go) if the CPU
// has it.
func evalPaths() []bool {
	if useIFMA {
		return []bool{false, true}
	}
	return []bool{false}
}

// TestEvaluateOneLanePath runs the tests that go through k.evaluate or
// k.evaluateFast (RFC 9497 vectors, circl, verification, rejections,
// concurrency) with one-element queries on the one-lane path; the
// default runs them on the 8-way path where the CPU has it.
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
}

// TestEvaluateFastVerifies: with fresh randomness (crypto/rand), a client
// accepts the proofs and gets circl's FullEvaluate outputs, and proofs
// differ from call to call (the randomness is fresh).
func TestEvaluateFastVerifies(t *testing.T) {
	for _, n := range []int{1, 2, 3, 17, 128} {
		k, _ := GenerateOPRFKey()
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = oprfInput(uint64(7*n + i))
		}
		st, elems, err := blind(k.Public(), inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		ev, proof, err := k.evaluateFast(elems, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		_, proof2, _ := k.evaluateFast(elems, nil, true)
		if bytes.Equal(proof, proof2) {
			t.Errorf("n=%d: two proofs with fresh randomness are equal", n)
		}
		outs, err := st.finalize(ev, proof)
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

// TestDecodeElementMatchesCircl: decodeElement accepts exactly the
// encodings circl accepts (canonical, non-identity), and decodes them to
// the same element: random strings, valid encodings and their
// non-canonical variants (top bit set, s + p, the negative p - s, bit
// flips), the identity and p, which is 0 non-canonically.
func TestDecodeElementMatchesCircl(t *testing.T) {
	r := mrand.New(mrand.NewPCG(9496, 2))
	var inputs [][]byte
	randBytes := func() []byte {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	pBig := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	le := func(n *big.Int) []byte {
		var b [32]byte
		n.FillBytes(b[:])
		slices.Reverse(b[:])
		return b[:]
	}
	for range 20000 {
		inputs = append(inputs, randBytes())
		b := randBytes()
		b[31] &= 0x7f
		b[0] &^= 1
		inputs = append(inputs, b) // canonical-looking: ~1/2 decode
	}
	valid := randomElements(r, 2000)
	for i := 0; i < len(valid); i += ElementSize {
		b := valid[i : i+ElementSize]
		inputs = append(inputs, b)
		top := slices.Clone(b)
		top[31] |= 0x80
		inputs = append(inputs, top)
		be := slices.Clone(b)
		slices.Reverse(be)
		s := new(big.Int).SetBytes(be)
		inputs = append(inputs, le(new(big.Int).Sub(pBig, s))) // -s: odd, negative
		flip := slices.Clone(b)
		flip[r.IntN(32)] ^= 1 << r.IntN(8)
		inputs = append(inputs, flip)
	}
	for s := range int64(40) {
		inputs = append(inputs, le(big.NewInt(s)))
		if s < 19 {
			inputs = append(inputs, le(new(big.Int).Add(pBig, big.NewInt(s)))) // s + p < 2^255
		}
	}
	inputs = append(inputs, make([]byte, 32), bytes.Repeat([]byte{0xff}, 32), le(pBig))
	accepted := 0
	for _, b := range inputs {
		var p extPoint
		got := decodeElement(&p, b)
		want, enc := circlAccepts(b)
		if got != want {
			t.Fatalf("%x: decodeElement %v, circl %v", b, got, want)
		}
		if got {
			accepted++
			if e := encodeElement(&p); !bytes.Equal(e[:], enc) || !bytes.Equal(enc, b) {
				t.Fatalf("%x: decodes to %x, circl %x", b, e, enc)
			}
		}
	}
	t.Logf("%d encodings, %d accepted, all as circl", len(inputs), accepted)
}

// TestEvaluateFastRejectsLikeCircl: a batch with one bad element among
// good ones is refused with ErrBadElement naming the same element as
// circl's path, wherever the bad element is.
func TestEvaluateFastRejectsLikeCircl(t *testing.T) {
	r := mrand.New(mrand.NewPCG(5, 5))
	k, _ := GenerateOPRFKey()
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
		_, _, err := k.evaluateFast(elems, rb, true)
		_, _, werr := k.evaluateCircl(elems, rb)
		if !errors.Is(err, ErrBadElement) || werr == nil || err.Error() != werr.Error() {
			t.Fatalf("bad element %x at %d of %d: fast %v, circl %v", bad, at, n, err, werr)
		}
		_, _, err = k.evaluateFast(elems, nil, false)
		if err == nil || err.Error() != werr.Error() {
			t.Fatalf("without proof: %v, want %v", err, werr)
		}
	}
	// Malformed lengths and randomness.
	for _, b := range [][]byte{nil, make([]byte, 31), make([]byte, 33)} {
		if _, _, err := k.evaluateFast(b, rb, true); !errors.Is(err, ErrBadElement) {
			t.Errorf("%d bytes: %v", len(b), err)
		}
	}
	good := randomElements(r, 1)
	for _, badR := range [][]byte{make([]byte, 31), pLE[:], bytes.Repeat([]byte{0xff}, 32)} {
		if _, _, err := k.evaluateFast(good, badR, true); err == nil {
			t.Errorf("randomness %x accepted", badR)
		}
	}
}

// FuzzEvaluateMatchesCircl: for any request body, the fast evaluation
// and circl's agree: the same error, or the same bytes under the same
// randomness.
//
//	go test ./checker -run '^$' -fuzz FuzzEvaluateMatchesCircl -fuzztime 60s
func FuzzEvaluateMatchesCircl(f *testing.F) {
	k, err := DeriveOPRFKey(bytes.Repeat([]byte{0x71}, 32), []byte("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3} {
		f.Add(randomElements(r, n), uint64(n))
	}
	f.Add(make([]byte, 32), uint64(0))
	f.Add(bytes.Repeat([]byte{0xff}, 32), uint64(1))
	if data, err := os.ReadFile("testdata/oprf/rfc9497-ristretto255-voprf.json"); err == nil {
		f.Add(data[:64], uint64(3))
	}
	f.Fuzz(func(t *testing.T, blinded []byte, rseed uint64) {
		if len(blinded) > 4*ElementSize {
			blinded = blinded[:4*ElementSize]
		}
		rb := scalarLE(new(big.Int).SetUint64(rseed * 0x9e3779b97f4a7c15))
		for _, lanes := range evalPaths() {
			ev, proof, err := k.evaluateFastOn(blinded, rb, true, lanes)
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
// DLEQ proof, fresh randomness) through the fast path, the previous
// go-ristretto path and circl's prover, in the same run: rounds alternate
// between them, and each figure is the median of its rounds, so that
// load from other processes hits all alike. On an IFMA CPU, fast is
// the 8-way path (oprf_eval_ifma_amd64.go) and onelane the fast path
// without it (x-vs-onelane: how much faster the 8-way path is).
//
//	go test ./checker -run '^$' -bench BenchmarkEvaluateFast -benchtime 1x
func BenchmarkEvaluateFast(b *testing.B) {
	k, _ := GenerateOPRFKey()
	rb, _ := grp.RandomNonZeroScalar(rand.Reader).MarshalBinary()
	for _, n := range []int{1, 2, 16, 128} {
		r := mrand.New(mrand.NewPCG(uint64(n), 0))
		elems := randomElements(r, n)
		reps := max(1, 200/n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			var fast, one, old, circl []float64 // us per query
			timeIt := func(f func()) float64 {
				t := time.Now()
				for range reps {
					f()
				}
				return float64(time.Since(t).Microseconds()) / float64(reps)
			}
			for b.Loop() {
				for range 9 {
					fast = append(fast, timeIt(func() { k.evaluateFast(elems, nil, true) }))
					if evalLanes {
						one = append(one, timeIt(func() { k.evaluateFastOn(elems, nil, true, false) }))
					}
					old = append(old, timeIt(func() { k.evaluateR255(elems, nil, true) }))
					circl = append(circl, timeIt(func() { k.evaluateCircl(elems, rb) }))
				}
			}
			med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
			b.ReportMetric(med(fast), "fast-us/query")
			b.ReportMetric(med(old), "old-us/query")
			b.ReportMetric(med(circl), "circl-us/query")
			b.ReportMetric(med(fast)/float64(n), "fast-us/elem")
			if len(one) > 0 {
				b.ReportMetric(med(one), "onelane-us/query")
				b.ReportMetric(med(one)/med(fast), "x-vs-onelane")
			}
			b.ReportMetric(med(old)/med(fast), "x-vs-old")
			b.ReportMetric(med(circl)/med(fast), "x-vs-circl")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkPrivateQueryFastVsOld is BenchmarkPrivateQuery's padded
// one-number query through the handler (no network), from one and from
// two goroutines at once, with evaluate on the fast path and on the
// previous one, alternating rounds in the same run: queries/s of each
// (medians) and the ratio.
//
//	go test ./checker -run '^$' -bench BenchmarkPrivateQueryFastVsOld -benchtime 1x
func BenchmarkPrivateQueryFastVsOld(b *testing.B) {
	k, _ := GenerateOPRFKey()
	space := fictionalSpace()
	var nums []string
	for i := range 100_000 {
		nums = append(nums, space[i%len(space)]+string(rune('a'+i/len(space))))
	}
	ix, _ := testPrivateIndex(b, k, 12, testDS{"a", nums[:60_000]}, testDS{"b", nums[50_000:]})
	h, _ := NewPrivateHandler(ix, k, PrivateHandlerOptions{Rate: -1})
	key := Key(nums[7])
	_, elems, _ := blind(k.Public(), [][]byte{oprfInput(key)}, nil)
	body := appendRequest(nil, &privateRequest{bits: 12, prefix: key >> 52, elements: elems})
	query := func() {
		req := httptest.NewRequest("POST", PrivateQueryPath, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			panic(rec.Body.String())
		}
	}
	const reps = 300
	// round returns the queries/s of conns goroutines querying at once.
	round := func(old bool, conns int) float64 {
		evaluateWithR255 = old
		defer func() { evaluateWithR255 = false }()
		t := time.Now()
		var wg sync.WaitGroup
		for range conns {
			wg.Go(func() {
				for range reps {
					query()
				}
			})
		}
		wg.Wait()
		return float64(conns*reps) / time.Since(t).Seconds()
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	for _, conns := range []int{1, 2} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			var fast, old []float64
			for b.Loop() {
				for range 7 {
					fast = append(fast, round(false, conns))
					old = append(old, round(true, conns))
				}
			}
			b.ReportMetric(med(fast), "fast-queries/s")
			b.ReportMetric(med(old), "old-queries/s")
			b.ReportMetric(med(fast)/med(old), "x-vs-old")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// TestEvaluateFastConcurrent: evaluations from several goroutines at once
// (sharing the pooled scratch and the key) give circl's bytes; run with
// -race.
func TestEvaluateFastConcurrent(t *testing.T) {
	k, _ := GenerateOPRFKey()
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
				ev, proof, err := k.evaluateFast(j.elems, j.rb, true)
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
