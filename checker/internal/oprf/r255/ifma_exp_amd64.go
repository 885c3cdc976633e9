//go:build gc && !purego

package r255

// invertLane is field.Element.Invert on lane 0 of the narrow kernel:
// the same addition chain (255 squarings, 11 multiplications).
func invertLane(z, x *fe) {
	var a, t, z2, z9, z11, z2_5_0, z2_10_0, z2_20_0, z2_50_0, z2_100_0 fe8
	a.setLane(0, x)
	ifmaSquareY(&z2, &a, 1)           // 2
	ifmaSquareY(&t, &z2, 2)           // 8
	ifmaMulY(&z9, &t, &a)             // 9
	ifmaMulY(&z11, &z9, &z2)          // 11
	ifmaSquareY(&t, &z11, 1)          // 22
	ifmaMulY(&z2_5_0, &t, &z9)        // 31 = 2^5 - 2^0
	ifmaSquareY(&t, &z2_5_0, 5)       // 2^10 - 2^5
	ifmaMulY(&z2_10_0, &t, &z2_5_0)   // 2^10 - 2^0
	ifmaSquareY(&t, &z2_10_0, 10)     // 2^20 - 2^10
	ifmaMulY(&z2_20_0, &t, &z2_10_0)  // 2^20 - 2^0
	ifmaSquareY(&t, &z2_20_0, 20)     // 2^40 - 2^20
	ifmaMulY(&t, &t, &z2_20_0)        // 2^40 - 2^0
	ifmaSquareY(&t, &t, 10)           // 2^50 - 2^10
	ifmaMulY(&z2_50_0, &t, &z2_10_0)  // 2^50 - 2^0
	ifmaSquareY(&t, &z2_50_0, 50)     // 2^100 - 2^50
	ifmaMulY(&z2_100_0, &t, &z2_50_0) // 2^100 - 2^0
	ifmaSquareY(&t, &z2_100_0, 100)   // 2^200 - 2^100
	ifmaMulY(&t, &t, &z2_100_0)       // 2^200 - 2^0
	ifmaSquareY(&t, &t, 50)           // 2^250 - 2^50
	ifmaMulY(&t, &t, &z2_50_0)        // 2^250 - 2^0
	ifmaSquareY(&t, &t, 5)            // 2^255 - 2^5
	ifmaMulY(&t, &t, &z11)            // 2^255 - 21
	t.lane(z, 0)
}

// pow22523Lane is field.Element.Pow22523 (z = x^((p-5)/8)) on lane 0 of
// the narrow kernel: the same addition chain.
func pow22523Lane(z, x *fe) {
	var a, t0, t1, t2 fe8
	a.setLane(0, x)
	ifmaSquareY(&t0, &a, 1)    // x^2
	ifmaSquareY(&t1, &t0, 2)   // x^8
	ifmaMulY(&t1, &a, &t1)     // x^9
	ifmaMulY(&t0, &t0, &t1)    // x^11
	ifmaSquareY(&t0, &t0, 1)   // x^22
	ifmaMulY(&t0, &t1, &t0)    // x^31 = 2^5 - 1
	ifmaSquareY(&t1, &t0, 5)   // 2^10 - 2^5
	ifmaMulY(&t0, &t1, &t0)    // 2^10 - 1
	ifmaSquareY(&t1, &t0, 10)  // 2^20 - 2^10
	ifmaMulY(&t1, &t1, &t0)    // 2^20 - 1
	ifmaSquareY(&t2, &t1, 20)  // 2^40 - 2^20
	ifmaMulY(&t1, &t2, &t1)    // 2^40 - 1
	ifmaSquareY(&t1, &t1, 10)  // 2^50 - 2^10
	ifmaMulY(&t0, &t1, &t0)    // 2^50 - 1
	ifmaSquareY(&t1, &t0, 50)  // 2^100 - 2^50
	ifmaMulY(&t1, &t1, &t0)    // 2^100 - 1
	ifmaSquareY(&t2, &t1, 100) // 2^200 - 2^100
	ifmaMulY(&t1, &t2, &t1)    // 2^200 - 1
	ifmaSquareY(&t1, &t1, 50)  // 2^250 - 2^50
	ifmaMulY(&t0, &t1, &t0)    // 2^250 - 1
	ifmaSquareY(&t0, &t0, 2)   // 2^252 - 4
	ifmaMulY(&t0, &t0, &a)     // 2^252 - 3
	t0.lane(z, 0)
}
