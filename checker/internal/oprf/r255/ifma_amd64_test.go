//go:build gc && !purego

package r255

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

func needIFMA(t testing.TB) {
	if !useIFMA {
		t.Skip("no AVX-512 IFMA on this CPU")
	}
}

// fe8Value returns lane j of x as an integer (not reduced).
func fe8Value(x *fe8, j int) *big.Int {
	v := new(big.Int)
	for i := 4; i >= 0; i-- {
		v.Lsh(v, 51).Add(v, new(big.Int).SetUint64(x[i][j]))
	}
	return v
}

// wantSelected is what a lookup of digit d in table gives, by its
// definition ([selectCached]): the entry |d| (the identity for 0),
// negated for d < 0.
func wantSelected(table *[8]cached8, d int8) cached8 {
	want := cached8Zero
	if d != 0 {
		want = table[max(d, -d)-1]
	}
	if d < 0 {
		want.YplusX, want.YminusX = want.YminusX, want.YplusX
		ifmaSub(&want.T2d, &fe8Zero, &want.T2d)
	}
	return want
}

// cached8LaneDiff checks lane j of got against lane j of want: every
// limb of got below 2^52 and every coordinate equal modulo p. It says
// what differs, or "".
func cached8LaneDiff(got, want *cached8, j int) string {
	pr := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	gs := []*fe8{&got.YplusX, &got.YminusX, &got.Z, &got.T2d}
	for c, w := range []*fe8{&want.YplusX, &want.YminusX, &want.Z, &want.T2d} {
		for i := range 5 {
			if gs[c][i][j] >= 1<<52 {
				return fmt.Sprintf("coordinate %d lane %d: limb not below 2^52", c, j)
			}
		}
		g, wv := fe8Value(gs[c], j), fe8Value(w, j)
		if g.Mod(g, pr).Cmp(wv.Mod(wv, pr)) != 0 {
			return fmt.Sprintf("coordinate %d lane %d differs", c, j)
		}
	}
	return ""
}

// randFe8 fills x with limbs below 2^52, the input bound of the 8-way
// arithmetic, favoring the extremes: 0, 2^51-1, 2^52-1, p's limbs.
func randFe8(r *mrand.Rand, x *fe8) {
	for i := range 5 {
		for j := range 8 {
			switch r.IntN(8) {
			case 0:
				x[i][j] = 0
			case 1:
				x[i][j] = 1<<52 - 1
			case 2:
				x[i][j] = 1<<51 - 1
			case 3:
				x[i][j] = 1<<51 - 19
			default:
				x[i][j] = r.Uint64() >> 12
			}
		}
	}
}

// TestIFMAFieldOps checks the assembly field operations lane by lane
// against math/big modulo p, on non-canonical inputs with limbs up to
// 2^52-1, and checks that every output limb stays below 2^52 (the bound
// the next operation needs) and that lane() matches field.Element.
func TestIFMAFieldOps(t *testing.T) {
	needIFMA(t)
	pr := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	r := mrand.New(mrand.NewPCG(1, 2))
	ops := []struct {
		name string
		f    func(z, x, y *fe8)
		ref  func(a, b *big.Int) *big.Int
	}{
		{"mul", ifmaMul, func(a, b *big.Int) *big.Int { return new(big.Int).Mul(a, b) }},
		{"add", ifmaAdd, func(a, b *big.Int) *big.Int { return new(big.Int).Add(a, b) }},
		{"sub", ifmaSub, func(a, b *big.Int) *big.Int { return new(big.Int).Sub(a, b) }},
		{"square", func(z, x, _ *fe8) { ifmaSquare(z, x, 1) }, func(a, _ *big.Int) *big.Int { return new(big.Int).Mul(a, a) }},
		{"square^3", func(z, x, _ *fe8) { ifmaSquare(z, x, 3) }, func(a, _ *big.Int) *big.Int { return new(big.Int).Exp(a, big.NewInt(8), nil) }},
	}
	var x, y, z fe8
	for it := range 20000 {
		randFe8(r, &x)
		randFe8(r, &y)
		if it%7 == 0 {
			y = x // squaring, and x - x
		}
		for _, op := range ops {
			op.f(&z, &x, &y)
			for j := range 8 {
				for i := range 5 {
					if z[i][j] >= 1<<52 {
						t.Fatalf("%s: limb %d = %#x, not below 2^52", op.name, i, z[i][j])
					}
				}
				want := op.ref(fe8Value(&x, j), fe8Value(&y, j))
				want.Mod(want, pr)
				got := fe8Value(&z, j)
				got.Mod(got, pr)
				if got.Cmp(want) != 0 {
					t.Fatalf("%s lane %d: %x, want %x", op.name, j, got, want)
				}
				var e fe
				z.lane(&e, j)
				b := e.Bytes()
				for k := range 16 {
					b[k], b[31-k] = b[31-k], b[k]
				}
				if new(big.Int).SetBytes(b).Cmp(want) != 0 {
					t.Fatalf("%s lane %d: lane() gives %x, want %x", op.name, j, b, want)
				}
			}
		}
		// Aliased output, as the point formulas use it.
		z = x
		ifmaMul(&z, &z, &z)
		var w fe8
		ifmaMul(&w, &x, &x)
		if z != w {
			t.Fatal("aliased mul differs")
		}
		// ifmaSquare2 is ifmaSquare twice (checked above against
		// math/big), aliased or not.
		n := 1 + it%5
		in := [2]fe8{x, y}
		var out [2]fe8
		ifmaSquare2(&out, &in, n)
		var w0, w1 fe8
		ifmaSquare(&w0, &x, n)
		ifmaSquare(&w1, &y, n)
		if out[0] != w0 || out[1] != w1 {
			t.Fatal("ifmaSquare2 differs from ifmaSquare")
		}
		ifmaSquare2(&in, &in, n)
		if in != out {
			t.Fatal("aliased ifmaSquare2 differs")
		}
	}
	// ifmaCmov.
	randFe8(r, &x)
	randFe8(r, &y)
	z = x
	ifmaCmov(&z, &y, 1, 0)
	if z != x {
		t.Error("cmov with mask 0 moved")
	}
	ifmaCmov(&z, &y, 1, ^uint64(0))
	if z != y {
		t.Error("cmov with mask 1 did not move")
	}
}

// TestIFMAMultMatchesOne checks that the 8-way multiplication gives, in
// every lane, the same projective coordinates as [HalfKey.mult], for
// random keys (and the keys 0, 1 and l-1) and random points, in groups
// of every size from 1 to 8 and beyond.
func TestIFMAMultMatchesOne(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(3, 4))
	var keys [][]byte
	for _, small := range []int64{0, 1, 2} {
		k := make([]byte, 32)
		k[0] = byte(small)
		keys = append(keys, k)
	}
	lm1 := new(big.Int).Sub(groupOrder, big.NewInt(1)).Bytes()
	k := make([]byte, 32)
	for i, c := range lm1 {
		k[len(lm1)-1-i] = c
	}
	keys = append(keys, k)
	for range 12 {
		keys = append(keys, randomScalar().Bytes())
	}
	s := new(ifmaState)
	for ki, key := range keys {
		fk := NewHalfKey(key)
		n := 1 + r.IntN(20)
		if ki < 8 {
			n = ki + 1
		}
		pts := make([]extPoint, n)
		want := make([]extPoint, n)
		var u [64]byte
		for i := range pts {
			rand.Read(u[:])
			hashToGroup(&pts[i], &u)
			fk.mult(&want[i], &pts[i])
		}
		s.multIFMA(fk, pts)
		for i := range pts {
			g, w := &pts[i], &want[i]
			if g.X.Equal(&w.X) != 1 || g.Y.Equal(&w.Y) != 1 || g.Z.Equal(&w.Z) != 1 || g.T.Equal(&w.T) != 1 {
				t.Fatalf("key %d point %d of %d differs", ki, i, n)
			}
		}
	}
}

// TestIFMAHashToGroupMatchesOne checks that the 8-way HashToGroup gives,
// in every lane, the same projective coordinates as [hashToGroup]: on
// random 64-byte strings, and on field-element halves that take the
// map's edge cases (0, 1, p-1, p, p+1 and 2^255-1 encodings, which are
// non-canonical or have the dropped top bit set, and values around them).
func TestIFMAHashToGroupMatchesOne(t *testing.T) {
	needIFMA(t)
	var halves [][32]byte
	le := func(v *big.Int) (b [32]byte) {
		v = new(big.Int).And(v, new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)))
		v.FillBytes(b[:])
		for k := range 16 {
			b[k], b[31-k] = b[31-k], b[k]
		}
		return b
	}
	pr := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	for _, d := range []int64{-2, -1, 0, 1, 2, 19} {
		halves = append(halves, le(big.NewInt(d+2)), le(new(big.Int).Add(pr, big.NewInt(d))),
			le(new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(d-1))))
	}
	var sqrtM1 [32]byte
	copy(sqrtM1[:], feSqrtM1.Bytes())
	halves = append(halves, [32]byte{}, sqrtM1)
	r := mrand.New(mrand.NewPCG(5, 6))
	var us [][64]byte
	for range 2000 {
		var u [64]byte
		rand.Read(u[:])
		switch r.IntN(4) {
		case 0:
			copy(u[:32], halves[r.IntN(len(halves))][:])
		case 1:
			copy(u[32:], halves[r.IntN(len(halves))][:])
		case 2:
			copy(u[:32], halves[r.IntN(len(halves))][:])
			copy(u[32:], halves[r.IntN(len(halves))][:])
		}
		us = append(us, u)
	}
	s := new(ifmaState)
	for lo := 0; lo < len(us); lo += 8 {
		n := min(8, len(us)-lo, 1+r.IntN(8))
		for j := range n {
			s.u[j] = us[lo+j]
		}
		s.hashToGroup8(0, n)
		for j := range n {
			var want, got extPoint
			hashToGroup(&want, &us[lo+j])
			s.q.X.lane(&got.X, j)
			s.q.Y.lane(&got.Y, j)
			s.q.Z.lane(&got.Z, j)
			s.q.T.lane(&got.T, j)
			if got.X.Equal(&want.X) != 1 || got.Y.Equal(&want.Y) != 1 || got.Z.Equal(&want.Z) != 1 || got.T.Equal(&want.T) != 1 {
				t.Fatalf("input %x: 8-way HashToGroup differs", us[lo+j])
			}
		}
		lo = lo - 8 + n
	}
}

// TestIFMASelect checks the table lookup for every digit -8..8 against
// its definition ([selectCached]): the entry |x| (the identity for 0),
// negated for x < 0, on tables of limbs up to 2^52-1.
func TestIFMASelect(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(7, 8))
	s := new(ifmaState)
	for range 50 {
		for e := range s.table {
			c := &s.table[e]
			for _, f := range []*fe8{&c.YplusX, &c.YminusX, &c.Z, &c.T2d} {
				randFe8(r, f)
			}
		}
		for x := int8(-8); x <= 8; x++ {
			s.selectCached8(x)
			want := wantSelected(&s.table, x)
			for j := range 8 {
				if msg := cached8LaneDiff(&s.m, &want, j); msg != "" {
					t.Fatalf("x=%d: %s", x, msg)
				}
			}
		}
	}
}

// TestIFMAFusedMatchesGo checks the assembly-fused steps of the
// multiplication against the Go point formulas they inline
// (ifmaDouble4: 4 doublings; ifmaAddCached: to extended, then the cached
// addition), on random limbs up to 2^52-1 and on every limb at 2^52-1:
// every coordinate equal modulo p, and every limb below 2^52. The fused
// steps carry less often than the Go formulas (products that only sums
// and differences read stay uncarried), so the limbs may differ where
// the values agree.
func TestIFMAFusedMatchesGo(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(9, 10))
	var scratch [8]fe8
	for it := range 2000 {
		var v p1p18
		var m cached8
		for _, f := range []*fe8{&v.X, &v.Y, &v.Z, &v.T, &m.YplusX, &m.YminusX, &m.Z, &m.T2d} {
			randFe8(r, f)
			if it == 0 {
				for i := range 5 {
					for j := range 8 {
						f[i][j] = 1<<52 - 1
					}
				}
			}
		}
		want := v
		var pp p28
		for range 4 {
			pp.fromP1P1(&want)
			want.double(&pp)
		}
		got := v
		ifmaDouble4(&got, &scratch)
		sameP1P1(t, "ifmaDouble4", &got, &want)
		var e ext8
		e.fromP1P1(&v)
		want.add(&e, &m)
		got = v
		ifmaAddCached(&got, &m, &scratch)
		sameP1P1(t, "ifmaAddCached", &got, &want)
	}
}

// sameP1P1 fails t unless got and want hold the same values modulo p,
// lane by lane, and every limb of got is below 2^52.
func sameP1P1(t *testing.T, name string, got, want *p1p18) {
	t.Helper()
	g := []*fe8{&got.X, &got.Y, &got.Z, &got.T}
	w := []*fe8{&want.X, &want.Y, &want.Z, &want.T}
	for c := range g {
		for j := range 8 {
			for i := range 5 {
				if g[c][i][j] >= 1<<52 {
					t.Fatalf("%s: coordinate %d lane %d limb %d = %#x, not below 2^52", name, c, j, i, g[c][i][j])
				}
			}
			var a, b fe
			g[c].lane(&a, j)
			w[c].lane(&b, j)
			if a.Equal(&b) != 1 {
				t.Fatalf("%s: coordinate %d lane %d differs from the Go formulas", name, c, j)
			}
		}
	}
}

// multIFMA, for tests, sets ps[i] = (k/2)·ps[i] for every i, 8 at a time; a last
// group of fewer than 8 fills its spare lanes with copies of its first
// point and drops their results.
func (s *ifmaState) multIFMA(fk *HalfKey, ps []extPoint) {
	for lo := 0; lo < len(ps); lo += 8 {
		g := ps[lo:min(lo+8, len(ps))]
		for j := range 8 {
			p := &g[0]
			if j < len(g) {
				p = &g[j]
			}
			s.q.X.setLane(j, &p.X)
			s.q.Y.setLane(j, &p.Y)
			s.q.Z.setLane(j, &p.Z)
			s.q.T.setLane(j, &p.T)
		}
		s.mult8(fk)
		s.store(g)
	}
}

// TestIFMAAsmGenerated checks that the assembly is what the generator
// under _asm writes: the tests above prove the generated code, so it must
// not be edited by hand.
func TestIFMAAsmGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	dir := t.TempDir()
	asm, stubs := filepath.Join(dir, "gen.s"), filepath.Join(dir, "gen.go")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "run", ".", "-out", asm, "-stubs", stubs)
	cmd.Dir = "_asm"
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the generator failed: %v\n%s", err, b)
	}
	for gen, have := range map[string]string{asm: "ifma_amd64.s", stubs: "ifma_stubs_amd64.go"} {
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(have)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go generate in _asm", have)
		}
	}
}

// TestEncode8MatchesDoubled checks the 8-way path's encodings against
// encodeDoubled on the same points, for every batch size up to
// BatchSize, with points whose double is the identity (the identity, the
// 2- and 4-torsion points) among random ones in some batches.
func TestEncode8MatchesDoubled(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(3, 4))
	var u [64]byte
	s := new(ifmaState)
	pts := make([]extPoint, BatchSize)
	id, t2, t4 := doubleToIdentity()
	for n := 1; n <= BatchSize; n++ {
		for i := range pts[:n] {
			for k := range u {
				u[k] = byte(r.Uint32())
			}
			hashToGroup(&pts[i], &u)
		}
		if n%3 == 0 {
			pts[r.IntN(n)], pts[r.IntN(n)], pts[r.IntN(n)] = id, t2, t4
		}
		for i := range pts[:n] {
			res := &s.enc.res[i/8]
			res.X.setLane(i%8, &pts[i].X)
			res.Y.setLane(i%8, &pts[i].Y)
			res.Z.setLane(i%8, &pts[i].Z)
			res.T.setLane(i%8, &pts[i].T)
		}
		want := make([][32]byte, n)
		encodeDoubled(want, pts[:n], make([]fe, 7*n))
		got := make([][32]byte, n)
		s.encode8(got)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("batch of %d, element %d: %x, want %x", n, i, got[i], want[i])
			}
		}
	}
}

// TestIFMACanon checks ifmaCanon against fe8.canon, lane by lane, on
// random limbs below 2^52 (favoring the extremes) and on p, p+1, 2p-1
// and 2^255-1 written in canonical-width limbs.
func TestIFMACanon(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(5, 6))
	var x, z fe8
	const m = 1<<51 - 1
	specials := [][5]uint64{
		{m - 18, m, m, m, m},       // p
		{m - 17, m, m, m, m},       // p + 1
		{m, m, m, m, m},            // 2^255 - 1
		{m - 19, m, m, m, m},       // p - 1
		{2*m - 37, 2 * m, m, m, m}, // above 2p, limbs above 2^51
		{1<<52 - 1, 1<<52 - 1, 1<<52 - 1, 1<<52 - 1, 1<<52 - 1},
	}
	for it := range 20000 {
		randFe8(r, &x)
		if it < len(specials) {
			for i := range 5 {
				x[i][it%8] = specials[it][i]
			}
		}
		ifmaCanon(&z, &x)
		for j := range 8 {
			l0, l1, l2, l3, l4 := x.canon(j)
			if got := [5]uint64{z[0][j], z[1][j], z[2][j], z[3][j], z[4][j]}; got != [5]uint64{l0, l1, l2, l3, l4} {
				t.Fatalf("lane %d of %v: %x, want %x", j, x, got, [5]uint64{l0, l1, l2, l3, l4})
			}
		}
	}
}

// TestIFMABlend checks ifmaBlend against the lane-by-lane definition.
func TestIFMABlend(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(7, 8))
	var a, b, z fe8
	for range 1000 {
		randFe8(r, &a)
		randFe8(r, &b)
		var m mask8
		for j := range m {
			m[j] = -uint64(r.IntN(2))
		}
		ifmaBlend(&z, &a, &b, &m)
		for i := range 5 {
			for j := range 8 {
				want := b[i][j]
				if m[j] != 0 {
					want = a[i][j]
				}
				if z[i][j] != want {
					t.Fatalf("limb %d lane %d: %#x, want %#x", i, j, z[i][j], want)
				}
			}
		}
	}
}
