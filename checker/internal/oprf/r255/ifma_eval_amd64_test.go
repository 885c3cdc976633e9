//go:build gc && !purego

package r255

import (
	"crypto/rand"
	"math/big"
	mrand "math/rand/v2"
	"testing"

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

// TestLaneDigits checks the recoding and the layouts of the two passes:
// every digit in range, and the lanes' scalars adding up to the scalars
// exactly (as integers, not modulo l): pass 1's lane 0 is k/2 and lane
// m is 2^(32m); in pass 2, lane 2p (chunks 0-3 on B_0..B_3) plus lane
// 2p+1 (chunks 4-7 on B_4..B_7) is scalar p, over edge and random
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
		var dig [8 * laneMaxTables * 8]int8
		laneStage2(&dig, &ds)
		for p := range 4 {
			sum := new(big.Int)
			for l := 2 * p; l < 2*p+2; l++ {
				for j := range 4 {
					var chunk [8]int8
					for w := range 8 {
						chunk[w] = dig[(w*4+j)*8+l]
					}
					v := digitsValue(chunk[:])
					sum.Add(sum, v.Lsh(v, uint(32*(4*(l%2)+j))))
				}
			}
			if sum.Cmp(scalars[i+p]) != 0 {
				t.Fatalf("pass 2, scalar %x: lanes sum to %x", scalars[i+p], sum)
			}
		}
		st1 := laneStage1(&ds[0])
		for l := range 8 {
			var d [64]int8
			for w := range 64 {
				d[w] = st1[w*8+l]
			}
			want := new(big.Int).Lsh(big.NewInt(1), uint(32*l))
			if l == 0 {
				want = scalars[i]
			}
			if digitsValue(d[:]).Cmp(want) != 0 {
				t.Fatalf("pass 1 lane %d: %x, want %x", l, digitsValue(d[:]), want)
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
// ifmaSelectLanes, laneMul.mult) lane by lane against the one-element
// point code: 8 different points a table, different digits in every
// lane and table, in the shapes of both passes (1 table, 64 windows; 4
// tables, 8 windows) and 2 tables of 16 windows; digits random, all 0,
// all 8, all -8, alternating, and the recodings of edge scalars.
func TestLaneMultMatchesOne(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(13, 14))
	edges := edgeScalars()
	l := new(laneMul)
	digitsFor := func(kind, n int) []int8 {
		d := make([]int8, n)
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
			full := radix16(scalarOf(edges[r.IntN(len(edges))]))
			off := 0
			if n < 64 {
				off = n * r.IntN(64/n)
			}
			copy(d, full[off:])
		}
		return d
	}
	cases := 0
	for it := range 60 {
		for _, shape := range []struct{ h, w int }{{1, 64}, {4, 8}, {2, 16}} {
			h, w := shape.h, shape.w
			var bases [laneMaxTables][8]extPoint
			for j := range h {
				bases[j] = lanePoints(r, (it+j)%2 == 0)
				var e ext8
				for ln := range 8 {
					e.X.setLane(ln, &bases[j][ln].X)
					e.Y.setLane(ln, &bases[j][ln].Y)
					e.Z.setLane(ln, &bases[j][ln].Z)
					e.T.setLane(ln, &bases[j][ln].T)
				}
				ifmaTable(&l.tab[j], &e, &l.scratch)
			}
			// digits[ln][j]: lane ln's digits on table j.
			var digits [8][laneMaxTables][]int8
			dig := make([]int8, w*h*8)
			for ln := range 8 {
				for j := range h {
					digits[ln][j] = digitsFor((it+ln+j)%6, w)
					for i := range w {
						dig[(i*h+j)*8+ln] = digits[ln][j][i]
					}
				}
			}
			l.mult(h, w, dig)
			for ln := range 8 {
				var want, got, term extPoint
				want.Y.One()
				want.Z.One()
				for j := range h {
					oneMul(&term, &bases[j][ln], digits[ln][j])
					addExt(&want, &want, &term)
				}
				extractLane(&got, &l.r, ln)
				if !sameExt(&got, &want) {
					t.Fatalf("iteration %d, %d tables of %d windows, lane %d: differs from the one-element code", it, h, w, ln)
				}
				cases++
			}
		}
	}
	t.Logf("%d lane products equal to the one-element code", cases)
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
// indices, and on pass 2's (lanePerm).
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
		if it < len(lanePerm) {
			idx = lanePerm[it]
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

// BenchmarkEvalLaneParts times the parts of the 8-way one-element
// evaluation: a table of 8 per-lane points,
// a per-lane lookup, pass 1 (its table and 64 windows), pass 2 (one
// table permuted into four, and 8 windows; and with four tables built
// instead, as it was), the lane extractions and pair additions, and the
// whole one-element multiplications and encodings (the proof's hashing
// aside) on the 8-way and one-lane paths.
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
		l.q.X.setLane(j, &c.X)
		l.q.Y.setLane(j, &c.Y)
		l.q.Z.setLane(j, &c.Z)
		l.q.T.setLane(j, &c.T)
	}
	b.Run("table", func(b *testing.B) {
		for b.Loop() {
			ifmaTable(&l.tab[0], &l.q, &l.scratch)
		}
	})
	var dig [8]int8
	b.Run("select", func(b *testing.B) {
		for b.Loop() {
			ifmaSelectLanes(&l.m, &l.tab[0], &dig)
		}
	})
	b.Run("pass1", func(b *testing.B) {
		for b.Loop() {
			ifmaTable(&l.tab[0], &l.q, &l.scratch)
			l.mult(1, 64, k.stage1[:])
		}
	})
	gt := laneGTables()
	b.Run("pass2", func(b *testing.B) {
		for b.Loop() {
			ifmaTable(&l.all, &l.q, &l.scratch)
			for j := range 4 {
				ifmaPermute(&l.tab[j], &l.all, &gt[j], &lanePerm[j])
			}
			l.mult(4, 8, k.stage1[:8*4*8])
		}
	})
	b.Run("pass2-4tables", func(b *testing.B) {
		for b.Loop() {
			for j := range 4 {
				ifmaTable(&l.tab[j], &l.q, &l.scratch)
			}
			l.mult(4, 8, k.stage1[:8*4*8])
		}
	})
	var pts [4]extPoint
	b.Run("extract+add", func(b *testing.B) {
		for b.Loop() {
			for j := range 8 {
				extractLane(&l.lanes[j], &l.r, j)
			}
			for j := range 4 {
				addExt(&pts[j], &l.lanes[2*j], &l.lanes[2*j+1])
			}
		}
	})
	sc := new(EvalScratch)
	t, dh := randomScalar(), randomScalar()
	for _, lanes := range []bool{true, false} {
		name := "evalOneLanes"
		if !lanes {
			name = "evalOne"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				sc.Decode(elems)
				sc.EvalOne(k, lanes)
				sc.ProveOne(k, dh, t, nil)
			}
		})
	}
}
