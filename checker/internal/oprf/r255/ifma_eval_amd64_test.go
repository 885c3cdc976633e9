//go:build gc && !purego

package r255

import (
	"crypto/rand"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"filippo.io/edwards25519"
)

// digitsValue returns sum d[i]·16^i.
func digitsValue(d []int8) *big.Int {
	v := new(big.Int)
	for i := len(d) - 1; i >= 0; i-- {
		v.Lsh(v, 4).Add(v, big.NewInt(int64(d[i])))
	}
	return v
}

// edgeScalars are scalars whose digits take the recoding's edge cases:
// 0, 1, l-1, 2^128-1 and 2^128 (a half full, a carry into the upper
// half), 2^252-1 (the top digit 1 after a carry through every digit),
// and nibbles all 7 or all 8
// (every digit 7, or every digit -8 with a carry through the whole
// recoding).
func edgeScalars() []*big.Int {
	one := big.NewInt(1)
	lm1 := new(big.Int).Sub(groupOrder, one)
	p128 := new(big.Int).Lsh(one, 128)
	all := func(nib int64, n int) *big.Int {
		v := new(big.Int)
		for range n {
			v.Lsh(v, 4).Add(v, big.NewInt(nib))
		}
		return v
	}
	s := []*big.Int{
		big.NewInt(0), one, big.NewInt(8), big.NewInt(15), lm1,
		new(big.Int).Sub(p128, one), p128,
		new(big.Int).Add(new(big.Int).Lsh(one, 200), new(big.Int).Sub(p128, one)),
		new(big.Int).Sub(new(big.Int).Lsh(one, 252), one),
		all(7, 63), all(8, 63), all(8, 32), all(15, 32),
		new(big.Int).Sub(groupOrder, p128),
	}
	for _, v := range s {
		if v.Cmp(groupOrder) >= 0 {
			panic("edge scalar not below l")
		}
	}
	return s
}

// TestLaneDigits checks the recoding and the layouts of the two narrow
// passes: every digit in range, and the chunks adding up to the scalars
// exactly (as integers, not modulo l, table m scaled by 2^(64m)): in
// pass 1's comb, bytes 0-3 to k/2 and bytes 4-7 to zero; in pass 2, lane
// p to scalar p; over edge and random
// scalars.
func TestLaneDigits(t *testing.T) {
	r := mrand.New(mrand.NewPCG(11, 12))
	scalars := edgeScalars()
	for range 200 {
		var b [64]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		s, _ := new(edwards25519.Scalar).SetUniformBytes(b[:])
		be := s.Bytes()
		for i := range 16 {
			be[i], be[31-i] = be[31-i], be[i]
		}
		scalars = append(scalars, new(big.Int).SetBytes(be))
	}
	for i := 0; i+4 <= len(scalars); i++ {
		var ds [4][64]int8
		for p := range 4 {
			ds[p] = radix16(scalarOf(scalars[i+p]))
			for j, d := range ds[p] {
				if d < -8 || d > 8 || (j < 63 && d == 8) {
					t.Fatalf("%x: digit %d = %d", scalars[i+p], j, d)
				}
			}
			if digitsValue(ds[p][:]).Cmp(scalars[i+p]) != 0 {
				t.Fatalf("%x: radix16 gives %x", scalars[i+p], digitsValue(ds[p][:]))
			}
		}
		var dig2 [16 * 4 * 8]int8
		narrowDigits2(&dig2, &ds)
		for l := range 4 {
			sum := new(big.Int)
			for m := range 4 {
				var chunk [16]int8
				for w := range 16 {
					chunk[w] = dig2[(w*4+m)*8+l]
				}
				v := digitsValue(chunk[:])
				sum.Add(sum, v.Lsh(v, uint(64*m)))
			}
			if sum.Cmp(scalars[i+l]) != 0 {
				t.Fatalf("pass 2 lane %d: chunks sum to %x, want %x", l, sum, scalars[i+l])
			}
		}
		var digC [16 * 4 * 8]int8
		combDigits(&digC, &ds[0])
		for l := range 8 {
			sum := new(big.Int)
			for m := range 4 {
				var chunk [16]int8
				for w := range 16 {
					chunk[15-w] = digC[(w*4+m)*8+l]
				}
				v := digitsValue(chunk[:])
				sum.Add(sum, v.Lsh(v, uint(64*m)))
			}
			want := new(big.Int)
			if l < 4 {
				want = scalars[i]
			}
			if sum.Cmp(want) != 0 {
				t.Fatalf("pass 1 byte %d: chunks sum to %x, want %x", l, sum, want)
			}
		}
	}
}

// lanePoints returns 8 distinct points: decoded random elements (with
// a 4-torsion part, as clients' may have), multiples of the generator,
// and the identity in lane 7 of every other call.
func lanePoints(r *mrand.Rand, withIdentity bool) [8]extPoint {
	var ps [8]extPoint
	elems := randomElements(r, 8)
	for j := range ps {
		if !decodeElement(&ps[j], elems[j*32:(j+1)*32]) {
			var b [64]byte
			rand.Read(b[:])
			s, _ := new(edwards25519.Scalar).SetUniformBytes(b[:])
			pointToExt(&ps[j], new(edwards25519.Point).ScalarBaseMult(s))
		}
	}
	if withIdentity {
		ps[7] = extPoint{}
		ps[7].Y.One()
		ps[7].Z.One()
	}
	return ps
}

// oneMul sets v = (sum d[i]·16^i)·p with the one-element code
// ([combTables.mulCT]), exactly: the digits are not reduced mod l.
func oneMul(v, p *extPoint, d []int8) {
	var c combTables
	c.build(p, 1)
	var full [64]int8
	copy(full[:], d)
	c.mulCT(v, &full)
}

// sameExt reports whether p and q are the same point of the curve (not
// only of ristretto255): X1·Z2 = X2·Z1 and Y1·Z2 = Y2·Z1.
func sameExt(p, q *extPoint) bool {
	var a, b fe
	a.Multiply(&p.X, &q.Z)
	b.Multiply(&q.X, &p.Z)
	if a.Equal(&b) != 1 {
		return false
	}
	a.Multiply(&p.Y, &q.Z)
	b.Multiply(&q.Y, &p.Z)
	return a.Equal(&b) == 1
}

// TestLaneMultMatchesOne checks the per-lane multiplication (ifmaTable,
// ifmaSelectLanes, laneMul.mult, on the wide and the narrow kernel) lane
// by lane against the one-element point code: a different point and
// different digits in every lane; digits random, all 0, all 8, all -8,
// alternating, and the recodings of edge scalars.
func TestLaneMultMatchesOne(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(13, 14))
	edges := edgeScalars()
	l := new(laneMul)
	digitsFor := func(kind int) [64]int8 {
		var d [64]int8
		for i := range d {
			switch kind {
			case 0:
				d[i] = int8(r.IntN(17) - 8)
			case 1:
				d[i] = 0
			case 2:
				d[i] = 8
			case 3:
				d[i] = -8
			case 4:
				d[i] = int8(8 - 16*(i%2))
			}
		}
		if kind == 5 {
			d = radix16(scalarOf(edges[r.IntN(len(edges))]))
		}
		return d
	}
	cases := 0
	for it := range 60 {
		for _, narrow := range []bool{false, true} {
			bases := lanePoints(r, it%2 == 0)
			var digits [8][64]int8
			for ln := range 8 {
				setLanePoint(&l.base, ln, &bases[ln])
				digits[ln] = digitsFor((it + ln) % 6)
				for i := range 64 {
					l.dig64[i*8+ln] = digits[ln][i]
				}
			}
			l.mult(&l.dig64, narrow)
			lanes := 8
			if narrow {
				lanes = 4
			}
			for ln := range lanes {
				var want, got extPoint
				oneMul(&want, &bases[ln], digits[ln][:])
				extractLane(&got, &l.r, ln)
				if !sameExt(&got, &want) {
					t.Fatalf("iteration %d, narrow %v, lane %d: differs from the one-element code", it, narrow, ln)
				}
				cases++
			}
		}
	}
	t.Logf("%d lane products equal to the one-element code", cases)
}

// TestNarrowBases checks pass 1's bases: after
// [EvalScratch.evalOneNarrow], the bases of pass 2 are 2^(64m)·C, m < 4,
// computed by the one-element code, and Eval/2 and t2/2 are (k/2)·C and
// (t/2)·G.
func TestNarrowBases(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(23, 24))
	sc := new(EvalScratch)
	for ki, k := range edgeKeys(t, 6) {
		elems := randomElements(r, 1)
		if sc.Decode(elems) != -1 {
			t.Fatal("valid element refused")
		}
		tt, dh := randomScalar(), randomScalar()
		sc.evalOneNarrow(k)
		c := sc.c[0]
		var want, got extPoint
		for m := range 4 {
			var b [32]byte
			b[8*m] = 1 // 2^(64m)
			s, err := new(Scalar).SetCanonicalBytes(b[:])
			if err != nil {
				t.Fatal(err)
			}
			d := radix16(s)
			oneMul(&want, &c, d[:])
			extractLane(&got, &sc.narrow.bases, m)
			if !sameExt(&got, &want) {
				t.Fatalf("key %d: base %d is not 2^(64·%d)·C", ki, m, m)
			}
		}
		oneMul(&want, &c, k.half.digits[:])
		if !sameExt(&sc.e[0], &want) {
			t.Fatalf("key %d: Eval/2 is not (k/2)·C", ki)
		}
		sc.proveOneNarrow(k, dh, tt, true)
		var th Scalar
		th.Multiply(tt, scalarHalf)
		d := radix16(&th)
		oneMul(&want, &generator, d[:])
		if !sameExt(&sc.pts[2], &want) {
			t.Fatalf("key %d: t2/2 is not (t/2)·G", ki)
		}
	}
}

// TestIFMATableMatchesGo checks ifmaTable limb for limb against the Go
// table loop it fuses (as mult8 builds its table), on random limbs up to
// 2^52-1.
func TestIFMATableMatchesGo(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(15, 16))
	var scratch [8]fe8
	for range 100 {
		var q ext8
		for _, f := range []*fe8{&q.X, &q.Y, &q.Z, &q.T} {
			randFe8(r, f)
		}
		var want, got [8]cached8
		var acc p1p18
		var tmp ext8
		want[0].fromExt(&q)
		for i := 1; i < 8; i++ {
			acc.add(&q, &want[i-1])
			tmp.fromP1P1(&acc)
			want[i].fromExt(&tmp)
		}
		ifmaTable(&got, &q, &scratch)
		if got != want {
			t.Fatal("ifmaTable differs from the Go table loop")
		}
	}
}

// TestIFMAPermute checks ifmaPermute lane by lane on random tables and
// indices, and on the narrow pass 2's (narrowPack).
func TestIFMAPermute(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(19, 20))
	var a, b, got [8]cached8
	for it := range 50 {
		for _, tab := range []*[8]cached8{&a, &b} {
			for e := range tab {
				c := &tab[e]
				for _, f := range []*fe8{&c.YplusX, &c.YminusX, &c.Z, &c.T2d} {
					randFe8(r, f)
				}
			}
		}
		var idx [8]uint64
		for l := range idx {
			idx[l] = uint64(r.IntN(16))
		}
		if it < len(narrowPack) {
			idx = narrowPack[it]
		}
		ifmaPermute(&got, &a, &b, &idx)
		for e := range got {
			gs := []*fe8{&got[e].YplusX, &got[e].YminusX, &got[e].Z, &got[e].T2d}
			as := []*fe8{&a[e].YplusX, &a[e].YminusX, &a[e].Z, &a[e].T2d}
			bs := []*fe8{&b[e].YplusX, &b[e].YminusX, &b[e].Z, &b[e].T2d}
			for c := range gs {
				for i := range 5 {
					for l, x := range idx {
						want := as[c][i][x%8]
						if x >= 8 {
							want = bs[c][i][x-8]
						}
						if gs[c][i][l] != want {
							t.Fatalf("entry %d coordinate %d limb %d lane %d (index %d) differs", e, c, i, l, x)
						}
					}
				}
			}
		}
	}
}

// TestIFMASelectLanes checks the per-lane lookup against its definition
// ([selectCached] in each lane): every digit -8..8 in every lane, the
// lanes' digits different, on tables of limbs up to 2^52-1, every output
// limb below 2^52.
func TestIFMASelectLanes(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(17, 18))
	var table [8]cached8
	var got cached8
	for it := range 60 {
		for e := range table {
			c := &table[e]
			for _, f := range []*fe8{&c.YplusX, &c.YminusX, &c.Z, &c.T2d} {
				randFe8(r, f)
			}
		}
		for x := range 17 {
			var digits [8]int8
			for ln := range digits {
				digits[ln] = int8((x+ln*(1+it%5))%17 - 8)
			}
			ifmaSelectLanes(&got, &table, &digits)
			for ln, d := range digits {
				want := wantSelected(&table, d)
				if msg := cached8LaneDiff(&got, &want, ln); msg != "" {
					t.Fatalf("digit %d: %s", d, msg)
				}
			}
		}
	}
}

// median returns the median of v.
func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// BenchmarkEvalLaneParts times the parts of the one-element evaluation
// on the lane kernel, wide (8 lanes, ZMM) and narrow (lanes 0-3, YMM): a
// table of 8 per-lane points, a per-lane lookup, a pass of 64 windows
// (its table included; both kernels in alternating rounds, with their
// ratio); the narrow path's pass 1 (with its snapshots)
// and pass 2 (a table, two broadcasts, 16 windows of four lookups);
// and the whole one-element multiplications and encodings (the proof's
// hashing aside) on the narrow and one-lane paths, with their ratio.
//
//	go test ./checker/internal/oprf/r255 -run '^$' -bench BenchmarkEvalLaneParts -benchtime 3000x
func BenchmarkEvalLaneParts(b *testing.B) {
	if !useIFMA {
		b.Skip("no AVX-512 IFMA on this CPU")
	}
	k := testKey(b)
	elems := randomElementBytes()
	var c extPoint
	decodeElement(&c, elems)
	l := new(laneMul)
	for j := range 8 {
		setLanePoint(&l.base, j, &c)
	}
	for _, narrow := range []bool{false, true} {
		kind := map[bool]string{false: "wide", true: "narrow"}[narrow]
		table, sel := ifmaTable, ifmaSelectLanes
		if narrow {
			table, sel = ifmaTableY, ifmaSelectLanesY
		}
		b.Run("table-"+kind, func(b *testing.B) {
			for b.Loop() {
				table(&l.tab, &l.base, &l.scratch)
			}
		})
		var dig [8]int8
		b.Run("select-"+kind, func(b *testing.B) {
			for b.Loop() {
				sel(&l.m, &l.tab, &dig)
			}
		})
	}
	// A pass of 64 windows (its table included) on both kernels, in
	// alternating rounds: what one query's 4 lanes cost on each.
	b.Run("pass", func(b *testing.B) {
		var per [2][]float64 // us per pass: wide, narrow
		for b.Loop() {
			for i, narrow := range []bool{false, true} {
				start := time.Now()
				for range 20 {
					l.mult(&k.halves, narrow)
				}
				per[i] = append(per[i], float64(time.Since(start).Nanoseconds())/20e3)
			}
		}
		b.ReportMetric(median(per[0]), "wide-us/pass")
		b.ReportMetric(median(per[1]), "narrow-us/pass")
		b.ReportMetric(median(per[0])/median(per[1]), "x-narrow-vs-wide")
		b.ReportMetric(0, "ns/op")
	})
	sc := new(EvalScratch)
	t, dh := randomScalar(), randomScalar()
	sc.Decode(elems)
	b.Run("narrow-pass1", func(b *testing.B) {
		for b.Loop() {
			sc.evalOneNarrow(k)
		}
	})
	b.Run("narrow-pass2", func(b *testing.B) {
		for b.Loop() {
			sc.proveOneNarrow(k, dh, t, true)
		}
	})
	var per [2][]float64 // us per query: narrow, one-lane
	b.Run("evalOne", func(b *testing.B) {
		for b.Loop() {
			for i, lanes := range []bool{true, false} {
				start := time.Now()
				for range 50 {
					sc.Decode(elems)
					sc.EvalOne(k, lanes)
					sc.ProveOne(k, dh, t, nil)
				}
				per[i] = append(per[i], float64(time.Since(start).Microseconds())/50)
			}
		}
		b.ReportMetric(median(per[0]), "narrow-us/query")
		b.ReportMetric(median(per[1]), "onelane-us/query")
		b.ReportMetric(median(per[1])/median(per[0]), "x-vs-onelane")
		b.ReportMetric(0, "ns/op")
	})
}
