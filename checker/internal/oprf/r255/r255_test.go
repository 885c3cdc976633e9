package r255

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/group"
)

// randomScalar returns a uniformly random scalar.
func randomScalar() *Scalar {
	var b [64]byte
	rand.Read(b[:])
	s, _ := new(Scalar).SetUniformBytes(b[:])
	return s
}

// testKey returns a random key.
func testKey(t testing.TB) *Key {
	t.Helper()
	k, err := NewKey(randomScalar().Bytes())
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

// scalarOf returns the scalar n mod l.
func scalarOf(v *big.Int) *Scalar {
	s, err := new(Scalar).SetCanonicalBytes(scalarLE(v))
	if err != nil {
		panic(err)
	}
	return s
}

// randomElementBytes returns the encoding of a random element.
func randomElementBytes() []byte {
	var u [64]byte
	rand.Read(u[:])
	var p extPoint
	hashToGroup(&p, &u)
	e := encodeElement(&p)
	return e[:]
}

var grp = group.Ristretto255

// randomElements returns n encodings of random ristretto255 elements, with
// some structured ones mixed in: the generator, its negation and small
// multiples, and repeats of an earlier element of the batch.
func randomElements(r *mrand.Rand, n int) []byte {
	out := make([]byte, 0, n*32)
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
			out = append(out, out[j*32:(j+1)*32]...)
			continue
		default:
			e = grp.RandomElement(rand.Reader)
		}
		b, _ := e.MarshalBinaryCompress()
		out = append(out, b...)
	}
	return out
}

// edgeKeys returns the keys 1, 2 and l-1, then n random ones.
func edgeKeys(t testing.TB, n int) []*Key {
	var keys []*Key
	for _, v := range []*big.Int{big.NewInt(1), big.NewInt(2), new(big.Int).Sub(groupOrder, big.NewInt(1))} {
		k, err := NewKey(scalarLE(v))
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for range n {
		keys = append(keys, testKey(t))
	}
	return keys
}

// TestSealBatchPaths: the 8-way seal path and the one-element path give
// the same encodings, for edge and random keys, random strings and
// strings whose halves are edge field elements, in batches of every size.
func TestSealBatchPaths(t *testing.T) {
	if !Lanes() {
		t.Skip("no 8-way path on this CPU")
	}
	r := mrand.New(mrand.NewPCG(16, 255))
	for ki, k := range edgeKeys(t, 8) {
		lanes, one := NewSealBatch(k.Half(), true), NewSealBatch(k.Half(), false)
		if !lanes.Lanes() || one.Lanes() {
			t.Fatal("paths not as asked")
		}
		for n := 1; n <= BatchSize; n += 1 + r.IntN(9) {
			for i := range n {
				var u [64]byte
				for j := range u {
					u[j] = byte(r.Uint32())
				}
				switch r.IntN(4) {
				case 0:
					clear(u[:32])
				case 1:
					copy(u[32:], bytes.Repeat([]byte{0xff}, 32))
				}
				lanes.SetInput(i, &u)
				one.SetInput(i, &u)
			}
			got, want := lanes.Encode(n), one.Encode(n)
			if !slices.Equal(got, want) {
				t.Fatalf("key %d, batch of %d: the 8-way path differs", ki, n)
			}
		}
	}
}

// TestEvalPaths: the 8-way evaluation and the one-lane path give the same
// encodings for one element and for batches, with edge and random keys,
// proof randomness and composite weights.
func TestEvalPaths(t *testing.T) {
	if !Lanes() {
		t.Skip("no 8-way path on this CPU")
	}
	r := mrand.New(mrand.NewPCG(9497, 16))
	lm1 := new(big.Int).Sub(groupOrder, big.NewInt(1))
	edge := []*Scalar{scalarOf(big.NewInt(0)), scalarOf(big.NewInt(1)), scalarOf(lm1)}
	sc1, sc8 := new(EvalScratch), new(EvalScratch)
	for ki, k := range edgeKeys(t, 20) {
		for _, n := range []int{1, 2, 3, 9, 17} {
			elems := randomElements(r, n)
			tt, dh := randomScalar(), randomScalar()
			if ki < len(edge) {
				tt, dh = edge[ki], edge[(ki+n)%len(edge)]
			}
			if sc1.Decode(elems) != -1 || sc8.Decode(elems) != -1 {
				t.Fatal("valid element refused")
			}
			if n == 1 {
				if *sc1.EvalOne(k, false) != *sc8.EvalOne(k, true) {
					t.Fatalf("key %d: EvalOne differs", ki)
				}
				if *sc1.ProveOne(k, dh, tt, nil) != *sc8.ProveOne(k, dh, tt, nil) {
					t.Fatalf("key %d: ProveOne differs", ki)
				}
			}
			ev1, ev8 := make([]byte, 32*n), make([]byte, 32*n)
			sc1.EvalBatch(k, false, ev1)
			sc8.EvalBatch(k, true, ev8)
			if !bytes.Equal(ev1, ev8) {
				t.Fatalf("key %d, %d elements: EvalBatch differs", ki, n)
			}
			ds := make([]Scalar, n)
			for i := range ds {
				ds[i] = *randomScalar()
			}
			if *sc1.ProveBatch(k, ds, tt, false) != *sc8.ProveBatch(k, ds, tt, true) {
				t.Fatalf("key %d, %d elements: ProveBatch differs", ki, n)
			}
		}
	}
}

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
// the same element, with or without hints of any kind: random strings,
// valid encodings and their
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
	for i := 0; i < len(valid); i += 32 {
		b := valid[i : i+32]
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
	var last [32]byte // the previous input's honest hint
	for _, b := range inputs {
		var p extPoint
		got := decodeElement(&p, b)
		want, enc := circlAccepts(b)
		if got != want {
			t.Fatalf("%x: decodeElement %v, circl %v", b, got, want)
		}
		// Hints change nothing but the work: the honest one (DecodeHint's
		// ok is the decoding's answer), its negation (the other square
		// root, negative), another input's, random bytes.
		honest, ok := DecodeHint(b)
		if ok != got {
			t.Fatalf("%x: DecodeHint ok %v, decodeElement %v", b, ok, got)
		}
		var neg fe
		if _, err := neg.SetBytes(honest[:]); err != nil {
			t.Fatal(err)
		}
		neg.Negate(&neg)
		for hi, hint := range [][]byte{honest[:], neg.Bytes(), last[:], randBytes()} {
			var q extPoint
			ok := decodeElementHint(&q, b, hint)
			same := p.X.Equal(&q.X) == 1 && p.Y.Equal(&q.Y) == 1 && p.Z.Equal(&q.Z) == 1 && p.T.Equal(&q.T) == 1
			if ok != got || got && !same {
				t.Fatalf("%x: hint %d (%x) changes the decoding", b, hi, hint)
			}
		}
		last = honest
		if got {
			accepted++
			if e := encodeElement(&p); !bytes.Equal(e[:], enc) || !bytes.Equal(enc, b) {
				t.Fatalf("%x: decodes to %x, circl %x", b, e, enc)
			}
		}
	}
	t.Logf("%d encodings, %d accepted, all as circl", len(inputs), accepted)
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
	id, t2, t4 := doubleToIdentity()
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

// doubleToIdentity returns the points whose double is the identity:
// the identity, (0, -1) and (sqrt(-1), 0).
func doubleToIdentity() (id, t2, t4 extPoint) {
	id.Y.One()
	id.Z.One()
	t2.Y.Negate(feOne)
	t2.Z.One()
	t4.X.Set(feSqrtM1)
	t4.Z.One()
	return id, t2, t4
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

// BenchmarkEvalParts times the parts of a one-element evaluation on the
// one-lane path, to see where the time goes: decoding, C's tables in 8
// and 4 chunks, constant- and variable-time products on them, a full
// constant-time multiplication, the fixed-base one and the batched
// encodings. (The hashing is the OPRF package's.)
//
//	go test ./checker/internal/oprf/r255 -run '^$' -bench BenchmarkEvalParts -benchtime 3000x
func BenchmarkEvalParts(b *testing.B) {
	k := testKey(b)
	elems := randomElementBytes()
	var p, q extPoint
	decodeElement(&p, elems)
	var tabs combTables
	d := k.half.digits
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			decodeElement(&p, elems)
		}
	})
	b.Run("build8", func(b *testing.B) {
		for b.Loop() {
			tabs.build(&p, 8)
		}
	})
	b.Run("build4", func(b *testing.B) {
		for b.Loop() {
			tabs.build(&p, 4)
		}
	})
	tabs.build(&p, 8)
	b.Run("mulCT8", func(b *testing.B) {
		for b.Loop() {
			tabs.mulCT(&q, &d)
		}
	})
	b.Run("mulVT8", func(b *testing.B) {
		for b.Loop() {
			tabs.mulVT(&q, &d)
		}
	})
	tabs.build(&p, 4)
	b.Run("mulCT4", func(b *testing.B) {
		for b.Loop() {
			tabs.mulCT(&q, &d)
		}
	})
	b.Run("fullmult", func(b *testing.B) {
		for b.Loop() {
			k.half.mult(&q, &p)
		}
	})
	b.Run("basemult", func(b *testing.B) {
		for b.Loop() {
			pointToExt(&q, new(edwards25519.Point).ScalarBaseMult(&k.k))
		}
	})
	pts := make([]extPoint, 4)
	enc := make([][32]byte, 4)
	sc := make([]fe, 28)
	for i := range pts {
		pts[i] = p
	}
	b.Run("encode4", func(b *testing.B) {
		for b.Loop() {
			encodeDoubled(enc, pts, sc)
		}
	})
	b.Run("encode1", func(b *testing.B) {
		for b.Loop() {
			encodeDoubled(enc[:1], pts[:1], sc)
		}
	})
}

// BenchmarkSealParts splits the seal path's arithmetic into its parts,
// per element: the map (HashToGroup after expand_message_xmd), the
// multiplication, the batched and the single encodings, and, where the CPU
// has it, the map and multiplication on the 8-way path. Each figure is the
// median of 7 rounds (the machine is shared).
//
//	go test ./checker/internal/oprf/r255 -run '^$' -bench BenchmarkSealParts -benchtime 1x
func BenchmarkSealParts(b *testing.B) {
	k := testKey(b)
	const n = 512
	pts := make([]extPoint, n)
	us := make([][64]byte, n)
	for i := range pts {
		binary.BigEndian.PutUint64(us[i][:], mrand.Uint64())
		hashToGroup(&pts[i], &us[i])
	}
	enc := make([][32]byte, n)
	scratch := make([]fe, 7*BatchSize)
	lanes := NewSealBatch(k.Half(), true)
	per := func(f func()) float64 {
		t := time.Now()
		f()
		return float64(time.Since(t).Nanoseconds()) / n
	}
	m := map[string][]float64{}
	for b.Loop() {
		for range 7 {
			if lanes.Lanes() {
				m["h2g+mult-8way"] = append(m["h2g+mult-8way"], per(func() {
					for lo := 0; lo < n; lo += BatchSize {
						for i := range BatchSize {
							lanes.SetInput(i, &us[lo+i])
						}
						lanes.mult(BatchSize)
					}
				}))
			}
			m["h2g"] = append(m["h2g"], per(func() {
				var p extPoint
				for i := range us {
					hashToGroup(&p, &us[i])
				}
			}))
			m["mult"] = append(m["mult"], per(func() {
				var p extPoint
				for i := range pts {
					k.half.mult(&p, &pts[i])
				}
			}))
			m["encode-batch"] = append(m["encode-batch"], per(func() {
				for lo := 0; lo < n; lo += BatchSize {
					encodeDoubled(enc[lo:lo+BatchSize], pts[lo:lo+BatchSize], scratch)
				}
			}))
			m["encode-single"] = append(m["encode-single"], per(func() {
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
	b.ReportMetric(0, "ns/op")
}
