//go:build gc && !purego

package r255

import (
	mrand "math/rand/v2"
	"testing"
)

// TestHashToGroupLanes checks the client's 8-way map against the
// one-element hashToGroup, over group sizes that fill the lanes and leave
// some empty, on random inputs, zeros, and all ones.
func TestHashToGroupLanes(t *testing.T) {
	needIFMA(t)
	r := mrand.New(mrand.NewPCG(61, 62))
	for _, n := range []int{1, 2, 7, 8, 9, 20} {
		us := make([][64]byte, n)
		for i := range us {
			for j := range us[i] {
				us[i][j] = byte(r.Uint32())
			}
		}
		us[0] = [64]byte{}
		for j := range us[n-1] {
			us[n-1][j] = 0xff
		}
		got := make([]extPoint, n)
		if !hashToGroupLanes(got, us) {
			t.Fatal("hashToGroupLanes refused")
		}
		for i := range us {
			var want extPoint
			hashToGroup(&want, &us[i])
			if !sameExt(&got[i], &want) {
				t.Fatalf("n = %d: input %d maps to another point", n, i)
			}
		}
	}
}
