package oprf

import (
	"bytes"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/oprf/r255"
)

// TestFastSealerMatchesCircl is the differential test of the fast seal
// path: 20,480 inputs over 64 random keys, each output compared bit for
// bit with circl's FullEvaluate (through the reference sealer, which
// TestSealerMatchesCircl ties to FullEvaluate). Inputs are random bytes of
// random lengths (0-200) and the seal's own inputs (label || plain key),
// in batches of every size around the 64-element encoding batch (so also
// every remainder modulo 8 of the 8-way path). Where the CPU has AVX-512
// IFMA, both the 8-way path and the one-element fallback are checked.
func TestFastSealerMatchesCircl(t *testing.T) {
	t.Logf("8-way IFMA path: %v", r255.Lanes())
	const keys, perKey = 64, 320
	if testing.Short() {
		t.Skip("20k scalar multiplications twice")
	}
	var wg sync.WaitGroup
	errs := make(chan string, keys)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for ki := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := mrand.New(mrand.NewPCG(uint64(ki), 0x5ea1))
			k, err := GenerateKey()
			if err != nil {
				errs <- err.Error()
				return
			}
			ref, fast := k.newSealer(), k.NewSealer()
			one := k.newSealerOn(false)
			fasts := []*Sealer{fast}
			if fast.batch.Lanes() {
				fasts = append(fasts, one)
			}
			// Half random byte strings, checked with full...
			var inputs [][]byte
			for range perKey / 2 {
				in := make([]byte, r.IntN(201))
				for j := range in {
					in[j] = byte(r.Uint32())
				}
				inputs = append(inputs, in)
			}
			for len(inputs) > 0 {
				n := min(len(inputs), 1+r.IntN(2*r255.BatchSize+2))
				var got [][][]byte
				for _, f := range fasts {
					got = append(got, f.full(inputs[:n]))
				}
				for i, in := range inputs[:n] {
					want := ref.full(in)
					for p := range got {
						if !bytes.Equal(got[p][i], want) {
							errs <- fmt.Sprintf("key %s, path %d: full differs", k.ID(), p)
							return
						}
					}
				}
				inputs = inputs[n:]
			}
			// ...half plain keys, checked with outputs.
			plain := make([]uint64, perKey/2)
			for j := range plain {
				plain[j] = r.Uint64()
			}
			for fi, f := range fasts {
				out := make([]uint64, len(plain))
				for lo := 0; lo < len(plain); {
					n := min(len(plain)-lo, 1+r.IntN(2*r255.BatchSize+2))
					f.Outputs(plain[lo:lo+n], out[lo:lo+n])
					lo += n
				}
				for j, p := range plain {
					if want := ref.output(p); out[j] != want {
						errs <- fmt.Sprintf("key %s, path %d: output differs", k.ID(), fi)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestFastSealerRFC9497Vectors runs the fast path on the inputs of the RFC
// 9497 ristretto255-SHA512 VOPRF vectors and compares with their outputs.
func TestFastSealerRFC9497Vectors(t *testing.T) {
	data, err := os.ReadFile("testdata/rfc9497-ristretto255-voprf.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Seed    string `json:"seed"`
		KeyInfo string `json:"keyInfo"`
		Vectors []struct {
			Input  hexList `json:"Input"`
			Output hexList `json:"Output"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	k, err := DeriveKey(mustHex(t, v.Seed), mustHex(t, v.KeyInfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	one := k.newSealerOn(false)
	for _, s := range []*Sealer{k.NewSealer(), one} {
		for i, tv := range v.Vectors {
			got := s.full(tv.Input)
			for j := range tv.Input {
				if !bytes.Equal(got[j], tv.Output[j]) {
					t.Errorf("8-way %v, vector %d input %d: %x, want %x", s.batch.Lanes(), i, j, got[j], tv.Output[j])
				}
			}
		}
	}
}

// FuzzFastSealer compares the fast path with circl's FullEvaluate on
// arbitrary inputs under keys derived from arbitrary seeds.
func FuzzFastSealer(f *testing.F) {
	f.Add([]byte("seed"), []byte(""))
	f.Add([]byte{0}, []byte("phonecheck-voprf-v1:\x00\x00\x00\x00\x00\x00\x00\x01"))
	f.Add(bytes.Repeat([]byte{0xff}, 40), bytes.Repeat([]byte{0xa5}, 300))
	f.Fuzz(func(t *testing.T, seed, input []byte) {
		var s32 [32]byte
		copy(s32[:], seed)
		k, err := DeriveKey(s32[:], seed)
		if err != nil {
			t.Skip()
		}
		want, err := k.circlFullEvaluate(input)
		if err != nil {
			t.Skip()
		}
		one := k.newSealerOn(false)
		for _, s := range []*Sealer{k.NewSealer(), one} {
			got := s.full([][]byte{input, input})
			if !bytes.Equal(got[0], want) || !bytes.Equal(got[1], want) {
				t.Fatalf("fast (8-way %v) %x, circl %x", s.batch.Lanes(), got[0], want)
			}
		}
	})
}

// BenchmarkFastSeal compares, single core and in the same run, circl's
// FullEvaluate and the circl-based reference sealer with the fast path
// (8-way where the CPU has AVX-512 IFMA, and then also the one-element
// path, fast-1way), and times expand_message_xmd, the fast path's hashing
// part (package r255's BenchmarkSealParts splits its arithmetic). Rounds
// alternate between the contenders; each figure is the median of its
// rounds (the machine is shared).
//
//	go test ./checker/internal/oprf -run '^$' -bench BenchmarkFastSeal -benchtime 1x
func BenchmarkFastSeal(b *testing.B) {
	k, _ := GenerateKey()
	const n = 512
	keys := make([]uint64, n)
	inputs := make([][]byte, n)
	for i := range keys {
		keys[i] = mrand.Uint64()
		inputs[i] = Input(keys[i])
	}
	out := make([]uint64, n)
	fs := k.NewSealer()
	ref := k.newSealer()
	fs1 := k.newSealerOn(false) // the one-element path
	ifma := fs.batch.Lanes()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	per := func(f func()) float64 {
		t := time.Now()
		f()
		return float64(time.Since(t).Nanoseconds()) / n
	}
	m := map[string][]float64{}
	for b.Loop() {
		for range 7 {
			m["circl-FullEvaluate"] = append(m["circl-FullEvaluate"], per(func() {
				for _, in := range inputs {
					k.circlFullEvaluate(in)
				}
			}))
			m["sealer(circl)"] = append(m["sealer(circl)"], per(func() {
				for _, key := range keys {
					ref.output(key)
				}
			}))
			m["fast"] = append(m["fast"], per(func() { fs.Outputs(keys, out) }))
			if ifma {
				m["fast-1way"] = append(m["fast-1way"], per(func() { fs1.Outputs(keys, out) }))
			}
			m["fast-expand"] = append(m["fast-expand"], per(func() {
				var u [64]byte
				for _, in := range inputs {
					fs.expand(&u, in)
				}
			}))
		}
	}
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	for name, v := range m {
		b.ReportMetric(med(v), name+"-ns/elem")
	}
	b.ReportMetric(med(m["circl-FullEvaluate"])/med(m["fast"]), "x-fast-vs-circl")
	if ifma {
		b.ReportMetric(med(m["circl-FullEvaluate"])/med(m["fast-1way"]), "x-fast-1way-vs-circl")
		b.ReportMetric(med(m["fast-1way"])/med(m["fast"]), "x-fast-vs-1way")
	}
	b.ReportMetric(1e9/med(m["circl-FullEvaluate"]), "circl-FullEvaluate-elem/s")
	b.ReportMetric(1e9/med(m["fast"]), "fast-elem/s")
	if ifma {
		b.ReportMetric(1e9/med(m["fast-1way"]), "fast-1way-elem/s")
	}
	b.ReportMetric(0, "ns/op")
}
