package checker

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestFastSealerMatchesCircl is the differential test of the fast seal
// path: 20,480 inputs over 64 random keys, each output compared bit for
// bit with circl's FullEvaluate (through [sealer], which
// TestSealerMatchesCircl ties to FullEvaluate). Inputs are random bytes of
// random lengths (0-200) and the seal's own inputs (label || plain key),
// in batches of every size around the 64-element encoding batch (so also
// every remainder modulo 8 of the 8-way path). Where the CPU has AVX-512
// IFMA, both the 8-way path and the one-element fallback are checked.
func TestFastSealerMatchesCircl(t *testing.T) {
	t.Logf("8-way IFMA path: %v", useIFMA)
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
			k, err := GenerateOPRFKey()
			if err != nil {
				errs <- err.Error()
				return
			}
			ref, fast := k.newSealer(), k.newFastSealer()
			one := k.newFastSealer()
			one.ifma = nil
			fasts := []*fastSealer{fast}
			if fast.ifma != nil {
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
				n := min(len(inputs), 1+r.IntN(2*fastBatch+2))
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
					n := min(len(plain)-lo, 1+r.IntN(2*fastBatch+2))
					f.outputs(plain[lo:lo+n], out[lo:lo+n])
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
	data, err := os.ReadFile("testdata/oprf/rfc9497-ristretto255-voprf.json")
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
	k, err := DeriveOPRFKey(mustHex(t, v.Seed), mustHex(t, v.KeyInfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	one := k.newFastSealer()
	one.ifma = nil
	for _, s := range []*fastSealer{k.newFastSealer(), one} {
		for i, tv := range v.Vectors {
			got := s.full(tv.Input)
			for j := range tv.Input {
				if !bytes.Equal(got[j], tv.Output[j]) {
					t.Errorf("8-way %v, vector %d input %d: %x, want %x", s.ifma != nil, i, j, got[j], tv.Output[j])
				}
			}
		}
	}
}

// TestEncodeDoubledSpecial checks the batch encoding's fallback: points
// whose double is the identity (the identity, and the 2- and 4-torsion
// points) encode as 32 zero bytes without spoiling the shared inversion
// of the other points of the batch.
func TestEncodeDoubledSpecial(t *testing.T) {
	var u [64]byte
	pts := make([]extPoint, 9)
	for i := range pts {
		rand.Read(u[:])
		hashToGroup(&pts[i], &u)
	}
	want := make([][32]byte, len(pts))
	for i := range pts {
		want[i] = encodeElement(doubled(&pts[i]))
	}
	var id, t2, t4 extPoint // identity, (0, -1), (sqrt(-1), 0)
	id.Y.One()
	id.Z.One()
	t2.Y.Negate(feOne)
	t2.Z.One()
	t4.X.Set(feSqrtM1)
	t4.Z.One()
	pts[0], pts[4], pts[8] = id, t2, t4
	want[0], want[4], want[8] = [32]byte{}, [32]byte{}, [32]byte{}
	got := make([][32]byte, len(pts))
	encodeDoubled(got, pts, make([]fe, 7*len(pts)))
	for i := range pts {
		if got[i] != want[i] {
			t.Errorf("point %d: %x, want %x", i, got[i], want[i])
		}
	}
	if e := encodeElement(&id); e != ([32]byte{}) {
		t.Errorf("identity encodes as %x", e)
	}
}

func doubled(p *extPoint) *extPoint {
	var c cachedPoint
	var r p1p1
	var d extPoint
	c.fromExt(p)
	r.add(p, &c)
	d.fromP1P1(&r)
	return &d
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
		k, err := DeriveOPRFKey(s32[:], seed)
		if err != nil {
			t.Skip()
		}
		want, err := k.circlFullEvaluate(input)
		if err != nil {
			t.Skip()
		}
		one := k.newFastSealer()
		one.ifma = nil
		for _, s := range []*fastSealer{k.newFastSealer(), one} {
			got := s.full([][]byte{input, input})
			if !bytes.Equal(got[0], want) || !bytes.Equal(got[1], want) {
				t.Fatalf("fast (8-way %v) %x, circl %x", s.ifma != nil, got[0], want)
			}
		}
	})
}

// BenchmarkFastSeal compares, single core and in the same run, circl's
// FullEvaluate with the fast path (8-way where the CPU has AVX-512 IFMA,
// and then also the one-element path, fast-1way), and splits the fast
// path into its parts. Rounds alternate between the contenders; each figure is the
// median of its rounds (the machine is shared).
//
//	go test ./checker -run '^$' -bench BenchmarkFastSeal -benchtime 1x
func BenchmarkFastSeal(b *testing.B) {
	k, _ := GenerateOPRFKey()
	const n = 512
	keys := make([]uint64, n)
	inputs := make([][]byte, n)
	for i := range keys {
		keys[i] = mrand.Uint64()
		inputs[i] = oprfInput(keys[i])
	}
	out := make([]uint64, n)
	fs := k.newFastSealer()
	ref := k.newSealer()
	pts := make([]extPoint, n)
	var us [64]byte
	for i := range pts {
		binary.BigEndian.PutUint64(us[:], keys[i])
		hashToGroup(&pts[i], &us)
	}
	enc := make([][32]byte, n)
	scratch := make([]fe, 7*fastBatch)
	fs1 := k.newFastSealer()
	fs1.ifma = nil // the one-element path
	ifma := fs.ifma != nil
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
			m["fast"] = append(m["fast"], per(func() { fs.outputs(keys, out) }))
			if ifma {
				m["fast-1way"] = append(m["fast-1way"], per(func() { fs1.outputs(keys, out) }))
				// HashToGroup and multiplication, 8-way, on the last
				// batch's inputs.
				m["fast-h2g+mult-8way"] = append(m["fast-h2g+mult-8way"], per(func() {
					for lo := 0; lo < n; lo += fastBatch {
						fs.mult(fastBatch)
					}
				}))
			}
			m["fast-h2g"] = append(m["fast-h2g"], per(func() {
				var u [64]byte
				var p extPoint
				for _, in := range inputs {
					fs.expand(&u, in)
					hashToGroup(&p, &u)
				}
			}))
			m["fast-mult"] = append(m["fast-mult"], per(func() {
				var p extPoint
				for i := range pts {
					fs.key.mult(&p, &pts[i])
				}
			}))
			m["fast-encode-batch"] = append(m["fast-encode-batch"], per(func() {
				for lo := 0; lo < n; lo += fastBatch {
					encodeDoubled(enc[lo:lo+fastBatch], pts[lo:lo+fastBatch], scratch)
				}
			}))
			m["fast-encode-single"] = append(m["fast-encode-single"], per(func() {
				for i := range pts {
					enc[i] = encodeElement(&pts[i])
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
