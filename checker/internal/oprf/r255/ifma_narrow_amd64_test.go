//go:build gc && !purego

package r255

import (
	mrand "math/rand/v2"
	"testing"
	"unsafe"
)

// lanesOf returns the uint64 words of v (a struct of fe8), grouped by
// limb vector: words[i][j] is lane j of limb vector i.
func lanesOf[T any](v *T) [][8]uint64 {
	n := int(unsafe.Sizeof(*v)) / 64
	return unsafe.Slice((*[8]uint64)(unsafe.Pointer(v)), n)
}

// randLanes fills every limb vector of v with limbs below 2^52.
func randLanes[T any](r *mrand.Rand, v *T) {
	ws := lanesOf(v)
	for i := range ws {
		x := fe8{ws[i]}
		randFe8(r, &x)
		ws[i] = x[0]
	}
}

// sameNarrow reports where narrow (a narrow kernel's output) differs from
// wide (the wide kernel's on the same input) in lanes 0-3, or from
// before (the output's memory before the narrow call) in lanes 4-7.
func sameNarrow[T any](narrow, wide, before *T) string {
	n, w, b := lanesOf(narrow), lanesOf(wide), lanesOf(before)
	for i := range n {
		for j := range 8 {
			want := w[i][j]
			if j >= 4 {
				want = b[i][j]
			}
			if n[i][j] != want {
				return "limb vector " + string(rune('0'+i%10)) + ", lane " + string(rune('0'+j))
			}
		}
	}
	return ""
}

// TestNarrowKernelMatchesWide checks each narrow (YMM) function against
// its wide (ZMM) original on the same random inputs: the same words in
// lanes 0-3 (the same instructions), lanes 4-7 of the output left as
// they were.
func TestNarrowKernelMatchesWide(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(25, 26))
	var s [8]fe8
	for it := range 40 {
		{
			var x, y, zw, zn fe8
			randLanes(r, &x)
			randLanes(r, &y)
			randLanes(r, &zn)
			before := zn
			ifmaMul(&zw, &x, &y)
			ifmaMulY(&zn, &x, &y)
			if msg := sameNarrow(&zn, &zw, &before); msg != "" {
				t.Fatalf("iteration %d: ifmaMulY differs at %s", it, msg)
			}
		}
		{
			var vw, vn p1p18
			randLanes(r, &vw)
			randLanes(r, &vn)
			before := vn
			for j := range 4 {
				copyLanes(&vn, &vw, j)
			}
			ifmaDouble4(&vw, &s)
			ifmaDouble4Y(&vn, &s)
			if msg := sameNarrow(&vn, &vw, &before); msg != "" {
				t.Fatalf("iteration %d: ifmaDouble4Y differs at %s", it, msg)
			}
			var m cached8
			randLanes(r, &m)
			randLanes(r, &vn)
			vw, before = vn, vn
			ifmaAddCached(&vw, &m, &s)
			ifmaAddCachedY(&vn, &m, &s)
			if msg := sameNarrow(&vn, &vw, &before); msg != "" {
				t.Fatalf("iteration %d: ifmaAddCachedY differs at %s", it, msg)
			}
		}
		{
			var p ext8
			var tw, tn [8]cached8
			randLanes(r, &p)
			randLanes(r, &tn)
			before := tn
			ifmaTable(&tw, &p, &s)
			ifmaTableY(&tn, &p, &s)
			if msg := sameNarrow(&tn, &tw, &before); msg != "" {
				t.Fatalf("iteration %d: ifmaTableY differs at %s", it, msg)
			}
			var dig [8]int8
			for j := range dig {
				dig[j] = int8(r.IntN(17) - 8)
			}
			var cw, cn cached8
			randLanes(r, &cn)
			bc := cn
			ifmaSelectLanes(&cw, &tw, &dig)
			ifmaSelectLanesY(&cn, &tw, &dig)
			if msg := sameNarrow(&cn, &cw, &bc); msg != "" {
				t.Fatalf("iteration %d: ifmaSelectLanesY differs at %s", it, msg)
			}
			// The high variant: lanes 4-7 of the table, and of the wide
			// lookup with the digits there, in lanes 0-3.
			var hi [8]int8
			copy(hi[4:], dig[:4])
			ifmaSelectLanes(&cw, &tw, &hi)
			ws := lanesOf(&cw)
			for i := range ws {
				copy(ws[i][:4], ws[i][4:])
			}
			randLanes(r, &cn)
			bc = cn
			ifmaSelectLanesYHi(&cn, &tw, &dig)
			if msg := sameNarrow(&cn, &cw, &bc); msg != "" {
				t.Fatalf("iteration %d: ifmaSelectLanesYHi differs at %s", it, msg)
			}
		}
	}
}

// copyLanes sets lane j of every limb vector of dst to src's.
func copyLanes[T any](dst, src *T, j int) {
	d, s := lanesOf(dst), lanesOf(src)
	for i := range d {
		d[i][j] = s[i][j]
	}
}
