package main

// The parallel form: one point in the four lanes of a half (lanes 0-3
// and 4-7 of an fe8, two points a vector), its coordinates side by side,
// so that a doubling or an addition is two products of four lanes each
// (the parallel formulas of Hisil, Wong, Carter and Dawson, 2008) and a
// few lane permutations. A chain of operations on one point, which the
// lane-per-point form runs on one lane of four, fills every lane here.
//
// A point is completed ((X:Y:Z:T) with x = X/Z, y = Y/T) in lanes
// (0, 1, 2, 3) of its half; a table entry is cached (Y+X, Y-X, Z, 2dT).
// Products are carried (limbs below 2^52); the sums and differences
// between them add a multiple of p above the subtrahend's limbs (4p, 16p)
// and stay below 2^56 before their carry, which the next product reads.
//
// Where it pays: on one chain. A 64-window pass of two points (one a
// half, ZMM) ran 19.2 us against 21.8 for the lane-per-point pass on 4
// lanes: with every lane useful in both, the permutations cost about
// what the parallel formulas save. 192 doublings of one point on the
// narrow variant (YMM) take 6.1 us, where the lane-per-point kernel
// spends the same on one lane as on four.

import "fmt"

// Lane permutations within each half (VPERMQ's immediate, lane l taking
// lane sel[l]).
func perm(sel [4]int) int { return sel[0] | sel[1]<<2 | sel[2]<<4 | sel[3]<<6 }

// vperm sets dst = the permutation sel of src, limb by limb.
func vperm(sel [4]int, src, dst [5]int) {
	for i := range 5 {
		p("VPERMQ $0x%02x, %s, %s", perm(sel), z(src[i]), z(dst[i]))
	}
}

// multiple loads s·p (limb 0 (2^51-19)·s, the others (2^51-1)·s) into
// registers lo (limb 0) and hi (limbs 1-4).
func multiple(s uint64, lo, hi int) {
	p("MOVQ $0x%x, R8", (1<<51-19)*s)
	p("VPBROADCASTQ R8, %s", z(lo))
	p("MOVQ $0x%x, R8", (1<<51-1)*s)
	p("VPBROADCASTQ R8, %s", z(hi))
}

// vneg sets dst = s·p - src (lo, hi from [multiple]).
func vneg(lo, hi int, src, dst [5]int) {
	p("VPSUBQ %s, %s, %s", z(src[0]), z(lo), z(dst[0]))
	for i := 1; i < 5; i++ {
		p("VPSUBQ %s, %s, %s", z(src[i]), z(hi), z(dst[i]))
	}
}

// blend sets dst = m ? a : dst in the lanes of the mask register m.
func blend(m int, a, dst [5]int) {
	for i := range 5 {
		p("VPTERNLOGQ $0xb8, %s, %s, %s", z(a[i]), z(m), z(dst[i]))
	}
}

// laneMask loads the mask named sym (a [8]uint64 of package r255) into
// register r.
func laneMask(sym string, r int) { p("VMOVDQU64 ·%s(SB), %s", sym, z(r)) }

// parToProducts loads the completed point at acc into the product
// operands: x = (X, Y, Z, X), y = (T, Z, T, Y), whose product is the
// extended point (X·T, Y·Z, Z·T, X·Y) (its p2 in lanes 0-2).
func parToProducts(acc string) {
	loadAt(acc, 15)
	vperm([4]int{0, 1, 2, 0}, regs(15), regs(0))
	vperm([4]int{3, 2, 3, 1}, regs(15), regs(5))
}

// parDouble doubles the completed point in Z0-Z4, leaving the completed
// double in Z0-Z4 carried: p2 = (X·T, Y·Z, Z·T), r = (x², y², z², x·y)
// of it, then (2xy, y²+x², y²-x², 2z²-(y²-x²)). Z15-Z27 and Z29, Z30
// scratch.
func parDouble() {
	vperm([4]int{3, 2, 3, 1}, regs(0), regs(5))
	vperm([4]int{0, 1, 2, 0}, regs(0), regs(0))
	mul(false) // e = (X', Y', Z', ·) in Z10-Z14
	vperm([4]int{0, 1, 2, 0}, regs(10), regs(0))
	vperm([4]int{0, 1, 2, 1}, regs(10), regs(5))
	mul(false) // r = (x², y², z², xy) in Z10-Z14
	u, v, nv := regs(0), regs(5), regs(15)
	vperm([4]int{3, 1, 1, 2}, regs(10), u) // (xy, y², y², z²)
	vperm([4]int{3, 0, 0, 2}, regs(10), v) // (xy, x², x², z²)
	multiple(4, 20, 21)
	vneg(20, 21, v, nv)
	laneMask("parLane2", 30)
	blend(30, nv, v) // (xy, x², 4p-x², z²)
	vadd(u, u, v)    // w = (2xy, y²+x², y²-x²+4p, 2z²), limbs below 2^54
	vperm([4]int{0, 1, 2, 2}, u, v)
	multiple(16, 20, 21)
	vneg(20, 21, v, nv) // 16p - w2 in lane 3: 16p's limbs are above 2^54
	laneMask("parLane3", 30)
	for i := range 5 {
		p("VPANDQ %s, %s, %s", z(30), z(nv[i]), z(nv[i]))
	}
	vadd(u, u, nv)
	carryWith(u, mask, c19, regs(22))
}

// parAddCached sets the completed point at acc to acc + m, m the cached
// point at msel (one a half): the extended point (Xe, Ye, Ze, Te), then
// (Ye+Xe, Ye-Xe, Ze, Te)·m = (PP, MM, ZZ, TT2d), then (PP-MM, PP+MM,
// 2ZZ+TT2d, 2ZZ-TT2d), carried, stored at acc.
func parAddCached(acc, msel string) {
	parToProducts(acc)
	mul(false) // e in Z10-Z14
	a, bb, nb := regs(0), regs(15), regs(20)
	vperm([4]int{1, 1, 2, 3}, regs(10), a)  // (Ye, Ye, Ze, Te)
	vperm([4]int{0, 0, 0, 0}, regs(10), bb) // Xe
	multiple(4, 25, 26)
	vneg(25, 26, bb, nb)
	laneMask("parLane1", 30)
	blend(30, nb, bb) // (Xe, 4p-Xe, Xe, Xe)
	laneMask("parLane01", 30)
	for i := range 5 {
		p("VPANDQ %s, %s, %s", z(30), z(bb[i]), z(bb[i]))
	}
	vadd(a, a, bb)
	carryWith(a, mask, c19, regs(22))
	loadAt(msel, 5)
	mul(false) // (PP, MM, ZZ, TT2d) in Z10-Z14
	x, y, ny := regs(0), regs(5), regs(15)
	vperm([4]int{0, 0, 2, 2}, regs(10), x) // (PP, PP, ZZ, ZZ)
	laneMask("parLane23", 30)
	for i := range 5 {
		p("VPANDQ %s, %s, %s", z(30), z(x[i]), z(20+i))
		p("VPADDQ %s, %s, %s", z(20+i), z(x[i]), z(x[i]))
	} // (PP, PP, 2ZZ, 2ZZ)
	vperm([4]int{1, 1, 3, 3}, regs(10), y) // (MM, MM, TT2d, TT2d)
	multiple(4, 25, 26)
	vneg(25, 26, y, ny)
	laneMask("parLane03", 30)
	blend(30, ny, y)
	vadd(x, x, y)
	carryWith(x, mask, c19, regs(22))
	storeAt(0, acc)
}

// parSelect sets the cached point at dst, in each half, to d·table for
// that half's digit d in [-8, 8] (the digits' bytes 0-3 and 4-7, each
// half's byte repeated): entry |d|-1, the identity for 0, negated (Y+X
// and Y-X swapped, 4p - 2dT carried) for d < 0. Every entry is read in full
// whatever the digits; the masks come from the digits by arithmetic, as
// in ifmaSelectLanes.
func parSelect(dst, table, digits string) {
	digitAbs(digits)
	for i := range 5 {
		p("VMOVDQU64 ·fe8ParIdentity+%d(SB), %s", 64*i, z(i))
	}
	off, reg := 0, ""
	fmt.Sscanf(table, "%d(%s", &off, &reg)
	reg = reg[:len(reg)-1]
	for j := range 8 {
		digitMask(j, 26)
		for i := range 5 {
			p("VPTERNLOGQ $0xb8, %d(%s), Z26, %s", off+320*j+64*i, reg, z(i))
		}
	}
	// The negation: lanes (1, 0, 2, 3), lane 3 = 4p - lane 3, carried.
	vperm([4]int{1, 0, 2, 3}, regs(0), regs(5))
	multiple(4, 25, 26)
	vneg(25, 26, regs(0), regs(10))
	consts(mask, c19)
	carryWith(regs(10), mask, c19, regs(15))
	laneMask("parLane3", 30)
	blend(30, regs(10), regs(5))
	blend(29, regs(5), regs(0))
	storeAt(0, dst)
}

// genPar writes the parallel form's functions.
func genPar() {
	// ifmaCombP: n windows of a multiplication in the parallel form, two
	// points (one a half) at once: for each window, four doublings of
	// acc, then for each of the ntab tables (8 entries of 320 bytes each,
	// one after the other) acc += d·table for each half's digit d (8
	// bytes a table and window).
	text("ifmaCombP(acc *fe8, tables *fe8, dig *int8, n int, ntab int, s *fe8)", "$0-48")
	p("MOVQ acc+0(FP), DI")
	p("MOVQ dig+16(FP), R11")
	p("MOVQ n+24(FP), CX")
	p("MOVQ s+40(FP), SI")
	b.WriteString("pwindow:\n")
	consts(mask, c19)
	loadAt("0(DI)", 0)
	p("MOVQ $4, BX")
	b.WriteString("pdbl:\n")
	parDouble()
	p("DECQ BX")
	p("JNZ pdbl")
	storeAt(0, "0(DI)")
	p("MOVQ tables+8(FP), R12")
	p("MOVQ ntab+32(FP), R13")
	b.WriteString("ptable:\n")
	parSelect("0(SI)", "0(R12)", "(R11)")
	consts(mask, c19)
	parAddCached("0(DI)", "0(SI)")
	p("ADDQ $8, R11")
	p("ADDQ $2560, R12")
	p("DECQ R13")
	p("JNZ ptable")
	p("DECQ CX")
	p("JNZ pwindow")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaDoublesP: n doublings of the completed points of acc, n >= 1.
	text("ifmaDoublesP(acc *fe8, n int)", "$0-16")
	p("MOVQ acc+0(FP), DI")
	p("MOVQ n+8(FP), BX")
	consts(mask, c19)
	loadAt("0(DI)", 0)
	b.WriteString("pdbls:\n")
	parDouble()
	p("DECQ BX")
	p("JNZ pdbls")
	storeAt(0, "0(DI)")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaParToExt: the extended points of the completed points of acc.
	text("ifmaParToExt(dst, acc *fe8)", "$0-16")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ acc+8(FP), SI")
	consts(mask, c19)
	parToProducts("0(SI)")
	mul(false)
	storeAt(L(0), "0(DI)")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")
}
