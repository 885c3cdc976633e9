//go:build gc && !purego

package r255

// pow2250Lane sets t = a^(2^250-1) and z11 = a^11 on lane 0 of the
// narrow kernel: the common start of field.Element's inversion and
// Pow22523 chains.
func pow2250Lane(t, z11, a *fe8) {
	var z2, z9, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0 fe8
	ifmaSquareY(&z2, a, 1)           // 2
	ifmaSquareY(t, &z2, 2)           // 8
	ifmaMulY(&z9, t, a)              // 9
	ifmaMulY(z11, &z9, &z2)          // 11
	ifmaSquareY(t, z11, 1)           // 22
	ifmaMulY(&z2_5_0, t, &z9)        // 31 = 2^5 - 2^0
	ifmaSquareY(t, &z2_5_0, 5)       // 2^10 - 2^5
	ifmaMulY(&z2_10_0, t, &z2_5_0)   // 2^10 - 2^0
	ifmaSquareY(t, &z2_10_0, 10)     // 2^20 - 2^10
	ifmaMulY(&z2_20_0, t, &z2_10_0)  // 2^20 - 2^0
	ifmaSquareY(t, &z2_20_0, 20)     // 2^40 - 2^20
	ifmaMulY(t, t, &z2_20_0)         // 2^40 - 2^0
	ifmaSquareY(t, t, 10)            // 2^50 - 2^10
	ifmaMulY(&z2_50_0, t, &z2_10_0)  // 2^50 - 2^0
	ifmaSquareY(t, &z2_50_0, 50)     // 2^100 - 2^50
	ifmaMulY(&z2_100_0, t, &z2_50_0) // 2^100 - 2^0
	ifmaSquareY(t, &z2_100_0, 100)   // 2^200 - 2^100
	ifmaMulY(t, t, &z2_100_0)        // 2^200 - 2^0
	ifmaSquareY(t, t, 50)            // 2^250 - 2^50
	ifmaMulY(t, t, &z2_50_0)         // 2^250 - 2^0
}

// invertLane is field.Element.Invert on lane 0 of the narrow kernel:
// the same addition chain (255 squarings, 11 multiplications).
func invertLane(z, x *fe) {
	var a, t, z11 fe8
	a.setLane(0, x)
	pow2250Lane(&t, &z11, &a)
	ifmaSquareY(&t, &t, 5) // 2^255 - 2^5
	ifmaMulY(&t, &t, &z11) // 2^255 - 21
	t.lane(z, 0)
}

// pow22523Lane is field.Element.Pow22523 (z = x^((p-5)/8)) on lane 0 of
// the narrow kernel: the same addition chain.
func pow22523Lane(z, x *fe) {
	var a, t, z11 fe8
	a.setLane(0, x)
	pow2250Lane(&t, &z11, &a)
	ifmaSquareY(&t, &t, 2) // 2^252 - 4
	ifmaMulY(&t, &t, &a)   // 2^252 - 3
	t.lane(z, 0)
}
