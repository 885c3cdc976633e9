package r255

import (
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

// TestBaseEncodingsMatchCircl: the encodings BaseEncodings computes ahead
// are circl's encodings of t·G, for edge and random t, one at a time and
// in batches.
func TestBaseEncodingsMatchCircl(t *testing.T) {
	lm1 := new(big.Int).Sub(groupOrder, big.NewInt(1))
	ts := []Scalar{*scalarOf(big.NewInt(1)), *scalarOf(big.NewInt(2)), *scalarOf(lm1)}
	for range 29 {
		ts = append(ts, *randomScalar())
	}
	for _, n := range []int{1, 3, 8, len(ts)} {
		out := make([][32]byte, n)
		BaseEncodings(out, ts[:n])
		for i := range out {
			s := grp.NewScalar()
			if err := s.UnmarshalBinary(ts[i].Bytes()); err != nil {
				t.Fatal(err)
			}
			want, _ := grp.NewElement().MulGen(s).MarshalBinaryCompress()
			if string(out[i][:]) != string(want) {
				t.Fatalf("batch of %d, scalar %d: encoding of t·G differs from circl's", n, i)
			}
		}
	}
}

// TestProveOneWithBase: ProveOne given t2's encoding computed ahead
// returns the same four encodings as ProveOne computing it, on the
// one-lane path and, where the CPU has it, the 8-way path.
func TestProveOneWithBase(t *testing.T) {
	r := mrand.New(mrand.NewPCG(21, 9497))
	paths := []bool{false}
	if Lanes() {
		paths = append(paths, true)
	}
	sc := new(EvalScratch)
	for ki, k := range edgeKeys(t, 12) {
		for _, lanes := range paths {
			elems := randomElements(r, 1)
			tt, dh := randomScalar(), randomScalar()
			var t2 [1][32]byte
			BaseEncodings(t2[:], []Scalar{*tt})
			if sc.Decode(elems) != -1 {
				t.Fatal("valid element refused")
			}
			ev := *sc.EvalOne(k, lanes)
			want := *sc.ProveOne(k, dh, tt, nil)
			// t2 given ahead, or computed by ProveOne.
			for _, ahead := range []bool{true, false} {
				if sc.Decode(elems) != -1 {
					t.Fatal("valid element refused")
				}
				if *sc.EvalOne(k, lanes) != ev {
					t.Fatalf("key %d, lanes %v: EvalOne differs between two runs", ki, lanes)
				}
				t2enc := &t2[0]
				if !ahead {
					t2enc = nil
				}
				got := *sc.ProveOne(k, dh, tt, t2enc)
				if got != want {
					for i := range got {
						if got[i] != want[i] {
							t.Errorf("key %d, lanes %v, t2 ahead %v: point %d of the proof differs", ki, lanes, ahead, i)
						}
					}
				}
			}
			if want[2] != t2[0] {
				t.Fatalf("key %d, lanes %v: t2 computed inline is not BaseEncodings' t·G", ki, lanes)
			}
		}
	}
}
