package main

// The field arithmetic the generated functions are made of: a product
// of two fe8 in registers (mulOut: multiply-adds into columns, the
// reduction, the carry), the steps on memory operands that the fused
// functions chain (gmul, gsq, gadd, gsub and their lazy forms), and the
// table lookup's tail.

import (
	"fmt"
	"strings"
)

// carry propagates the carries of limbs r[0..4], each below 2^61, in
// one parallel step: limb i keeps its low 51 bits plus the carry of limb
// i-1 (below 2^10), limb 0 plus 19 times the carry of limb 4, so every
// limb ends below 2^52. mask holds 2^51-1 and c19 holds 19 in every lane;
// Z5-Z9 (y, consumed by then) are scratch.
func carry(r [5]int, mask, c19, _ int) {
	carryWith(r, mask, c19, [5]int{5, 6, 7, 8, 9})
}

func carryWith(r [5]int, mask, c19 int, scratch [5]int) {
	for i := range 5 {
		p("VPSRLQ $51, %s, %s", z(r[i]), z(scratch[i]))
	}
	for i := range 5 {
		p("VPANDQ %s, %s, %s", z(mask), z(r[i]), z(r[i]))
	}
	for i := 1; i < 5; i++ {
		p("VPADDQ %s, %s, %s", z(scratch[i-1]), z(r[i]), z(r[i]))
	}
	// 19 times a carry below 2^10 fits in the 52 bits of VPMADD52LUQ.
	p("VPMADD52LUQ %s, %s, %s", z(c19), z(scratch[4]), z(r[0]))
}

// Registers of mul: x in Z0-Z4, y in Z5-Z9 (unused when squaring),
// columns L0..L8 in Z10-Z18 and H1..H9 in Z19-Z27, 2^51-1 in Z28, 19 in
// Z31, Z29 scratch.
const mask, c19, t = 28, 31, 29

func L(m int) int { return 10 + m }     // Z10..Z18 for m = 0..8
func H(m int) int { return 19 + m - 1 } // Z19..Z27 for m = 1..9

// mul leaves x*y (x*x if square) in L0..L4. Products of limbs below 2^52
// split in a low half (bits 0-51, weight 2^(51(i+j))) and a high half
// (bits 52-103, weight 2·2^(51(i+j+1))): columns L0..L8 and H1..H9, each
// a sum of at most 5 halves below 2^52. C_m = L_m + 2·H_m < 15·2^52, and
// R_m = C_m + 19·C_{m+5} < 2^61 (2^255 = 19 mod p). A square computes
// the 10 products x_i·x_j, i < j, once and doubles them.
//
// The bound is tighter, by column: R_0 < 267·2^52 < 2^60.1 is the
// largest (C_0 < 2^52, C_5 < 14·2^52). A product that only sums and
// differences read can stay uncarried ([mulLazy]): they add a multiple
// of p above the subtrahend's limbs, and one carry of the result (any
// limbs below 2^63: carries below 2^12) brings every limb below 2^52.
func mul(square bool) { mulOut(square, true, false) }

// mulLazy is mul without the final carry, the limbs R_m < 2^60.1 left in
// L0..L4, doubled (below 2^61.1) if double.
func mulLazy(square, double bool) { mulOut(square, false, double) }

// sqIn is where a square reads x: Z0-Z4, or Z5-Z9 for the second chain
// of ifmaSquare2.
var sqIn = 0

// accInit, if set, names an fe8 (a multiple of p, package r255's
// fe8P2...) that a lazy product starts from instead of zero: the
// multiple a later difference needs, added for free (doubled with the
// product if double).
var accInit = ""

func mulOut(square, carried, double bool) {
	x := func(i int) string { return z(i) }
	if square {
		x = func(i int) string { return z(sqIn + i) }
	}
	for m := 0; m <= 8; m++ {
		if m < 5 && accInit != "" {
			// A square doubles L1..L7 on the way: it starts from the
			// variant with limbs 1-4 halved (the name ending in "h").
			sym := accInit
			if square {
				sym += "h"
			}
			p("VMOVDQU64 ·%s+%d(SB), %s", sym, 64*m, z(L(m)))
			continue
		}
		p("VPXORQ %s, %s, %s", z(L(m)), z(L(m)), z(L(m)))
	}
	for m := 1; m <= 9; m++ {
		p("VPXORQ %s, %s, %s", z(H(m)), z(H(m)), z(H(m)))
	}
	col8 := L(8) // the register that ends with C_8
	if square {
		// Cross products x_i·x_j, i < j, once: low halves in L1..L7, high
		// halves in H2..H8. Diagonal halves: low in L0, L2, ..., L8, high
		// in H1, H3, ..., H9. C_m = 2·Lc_m + Ld_m + 2·(2·Hc_m + Hd_m):
		// H doubled, plus the diagonal high halves; then L + H doubled,
		// plus the diagonal low halves.
		for i := range 5 {
			for j := i + 1; j < 5; j++ {
				p("VPMADD52LUQ %s, %s, %s", x(j), x(i), z(L(i+j)))
				p("VPMADD52HUQ %s, %s, %s", x(j), x(i), z(H(i+j+1)))
			}
		}
		for m := 2; m <= 8; m++ {
			p("VPADDQ %s, %s, %s", z(H(m)), z(H(m)), z(H(m)))
		}
		for i := range 5 {
			p("VPMADD52HUQ %s, %s, %s", x(i), x(i), z(H(2*i+1)))
		}
		for m := 1; m <= 7; m++ {
			p("VPADDQ %s, %s, %s", z(H(m)), z(L(m)), z(L(m)))
		}
		col8 = H(8) // L8 holds no cross product
		for m := 1; m <= 7; m++ {
			p("VPADDQ %s, %s, %s", z(L(m)), z(L(m)), z(L(m)))
		}
		p("VPADDQ %s, %s, %s", z(H(8)), z(H(8)), z(H(8)))
		p("VPADDQ %s, %s, %s", z(H(9)), z(H(9)), z(H(9)))
		for i := range 4 {
			p("VPMADD52LUQ %s, %s, %s", x(i), x(i), z(L(2*i)))
		}
		p("VPMADD52LUQ %s, %s, %s", x(4), x(4), z(col8))
	} else {
		for i := range 5 {
			for j := range 5 {
				p("VPMADD52LUQ %s, %s, %s", z(5+j), z(i), z(L(i+j)))
				p("VPMADD52HUQ %s, %s, %s", z(5+j), z(i), z(H(i+j+1)))
			}
		}
		for m := 1; m <= 8; m++ {
			p("VPSLLQ $1, %s, %s", z(H(m)), z(H(m)))
			p("VPADDQ %s, %s, %s", z(H(m)), z(L(m)), z(L(m)))
		}
		p("VPSLLQ $1, %s, %s", z(H(9)), z(H(9)))
	}
	for m := range 5 {
		hi := L(m + 5)
		switch m + 5 {
		case 8:
			hi = col8
		case 9:
			hi = H(9)
		}
		p("VPMULLQ %s, %s, %s", z(c19), z(hi), z(t))
		dst := L(m)
		if sqInPlace {
			dst = sqIn + m
		}
		p("VPADDQ %s, %s, %s", z(t), z(L(m)), z(dst))
	}
	out := [5]int{L(0), L(1), L(2), L(3), L(4)}
	if sqInPlace {
		out = regs(sqIn)
	}
	if double {
		for m := range 5 {
			p("VPADDQ %s, %s, %s", z(out[m]), z(out[m]), z(out[m]))
		}
	}
	if carried {
		// H1..H5 are free by now; Z5-Z9 may hold ifmaSquare2's second chain.
		carryWith(out, mask, c19, [5]int{H(1), H(2), H(3), H(4), H(5)})
	}
}

// sqInPlace, for a square, leaves the result in the registers it read
// x from (sqIn..sqIn+4) instead of L0..L4: x is dead once the last
// product is issued, and a chain of squarings needs no moves.
var sqInPlace = false

// loadAt loads the fe8 at the memory operand m ("off(REG)") into
// registers first..first+4.
func loadAt(m string, first int) {
	off, reg := 0, ""
	fmt.Sscanf(strings.Replace(m, "(", " ", 1), "%d %s", &off, &reg)
	reg = strings.TrimSuffix(reg, ")")
	for i := range 5 {
		p("VMOVDQU64 %d(%s), %s", off+64*i, reg, z(first+i))
	}
}

func storeAt(first int, m string) {
	off, reg := 0, ""
	fmt.Sscanf(strings.Replace(m, "(", " ", 1), "%d %s", &off, &reg)
	reg = strings.TrimSuffix(reg, ")")
	for i := range 5 {
		p("VMOVDQU64 %s, %d(%s)", z(first+i), off+64*i, reg)
	}
}

// gmul, gsq, gadd and gsub are ifmaMul, ifmaSquare(·, ·, 1), ifmaAdd
// and ifmaSub on memory operands, inline; mask and c19 must be loaded.
func gmul(dst, a, b string) {
	loadAt(a, 0)
	loadAt(b, 5)
	mul(false)
	storeAt(L(0), dst)
}

func gsq(dst, a string) {
	loadAt(a, 0)
	mul(true)
	storeAt(L(0), dst)
}

// gmulLazy and gsqLazy are gmul and gsq without the final carry
// ([mulLazy]), the square doubled if double.
func gmulLazy(dst, a, b string) {
	loadAt(a, 0)
	loadAt(b, 5)
	mulLazy(false, false)
	storeAt(L(0), dst)
}

func gsqLazy(dst, a string, double bool) {
	loadAt(a, 0)
	mulLazy(true, double)
	storeAt(L(0), dst)
}

// gmulInit and gsqInit are gmulLazy and gsqLazy starting from the
// multiple of p named init ([accInit]).
func gmulInit(dst, a, b, init string) {
	accInit = init
	gmulLazy(dst, a, b)
	accInit = ""
}

func gsqInit(dst, a string, double bool, init string) {
	accInit = init
	gsqLazy(dst, a, double)
	accInit = ""
}

func regs(first int) [5]int { return [5]int{first, first + 1, first + 2, first + 3, first + 4} }

// vadd sets dst = a + b and vsub dst = a - b, limb by limb, no carry.
func vadd(dst, a, b [5]int) {
	for i := range 5 {
		p("VPADDQ %s, %s, %s", z(b[i]), z(a[i]), z(dst[i]))
	}
}

func vsub(dst, a, b [5]int) {
	for i := range 5 {
		p("VPSUBQ %s, %s, %s", z(b[i]), z(a[i]), z(dst[i]))
	}
}

func gadd(dst, a, b string) {
	loadAt(a, 0)
	loadAt(b, 5)
	for i := range 5 {
		p("VPADDQ %s, %s, %s", z(5+i), z(i), z(i))
	}
	carry([5]int{0, 1, 2, 3, 4}, mask, c19, t)
	storeAt(0, dst)
}

func gsub(dst, a, b string) {
	loadAt(a, 0)
	loadAt(b, 5)
	sub4p()
	carry([5]int{0, 1, 2, 3, 4}, mask, c19, t)
	storeAt(0, dst)
}

// sub4p sets Z0-Z4 = Z0-Z4 + 4p - Z5-Z9, uncarried (Z10, Z11 scratch):
// 4p's limbs are 2^53-76 and 2^53-4, above any limb below 2^52.
func sub4p() {
	p("MOVQ $0x1fffffffffffb4, R8")
	p("VPBROADCASTQ R8, Z10")
	p("MOVQ $0x1ffffffffffffc, R8")
	p("VPBROADCASTQ R8, Z11")
	p("VPADDQ Z10, Z0, Z0")
	for i := 1; i < 5; i++ {
		p("VPADDQ Z11, %s, %s", z(i), z(i))
	}
	for i := range 5 {
		p("VPSUBQ %s, %s, %s", z(5+i), z(i), z(i))
	}
}

// sumDiff sets the registers from sum to a + b and a to a - b (a holds
// a multiple of p above b's limbs), carries both, and stores the sum at
// sumDst and the difference at diffDst; the carried difference stays in
// a. Z22-Z26 are scratch.
func sumDiff(a, b, sum int, sumDst, diffDst string) {
	vadd(regs(sum), regs(a), regs(b))
	vsub(regs(a), regs(a), regs(b))
	carryWith(regs(sum), mask, c19, regs(22))
	storeAt(sum, sumDst)
	carryWith(regs(a), mask, c19, regs(22))
	storeAt(a, diffDst)
}

func load(reg, base string, first int) {
	for i := range 5 {
		p("VMOVDQU64 %d(%s), %s", 64*i, base, z(first+i))
	}
}

func store(first int, base string) {
	for i := range 5 {
		p("VMOVDQU64 %s, %d(%s)", z(first+i), 64*i, base)
	}
}

func consts(mask, c19 int) {
	p("MOVQ $0x7ffffffffffff, R8")
	p("VPBROADCASTQ R8, %s", z(mask))
	p("MOVQ $19, R8")
	p("VPBROADCASTQ R8, %s", z(c19))
}

// digitAbs loads the 8 signed digit bytes at src, one a lane, and leaves
// |d| in Z30, all ones where d < 0 in Z29, and 1 in Z27: what digitMask
// reads. The masks come from the digits by arithmetic alone (sign by
// arithmetic shift, |d| = (d + sign) ^ sign): no comparison, no branch.
func digitAbs(src string) {
	p("VPMOVSXBQ %s, Z30", src)
	p("VPSRAQ $63, Z30, Z29") // all ones where the digit is negative
	p("VPADDQ Z29, Z30, Z30")
	p("VPXORQ Z29, Z30, Z30") // |d|
	p("MOVQ $1, R8")
	p("VPBROADCASTQ R8, Z27")
}

// digitMask sets register dst to all ones in the lanes where |d| (Z30,
// from digitAbs) is j+1, zero in the others: ((|d| ^ (j+1)) - 1) >> 63,
// as |d| ^ (j+1) < 16. Z28 is scratch.
func digitMask(j, dst int) {
	p("MOVQ $%d, R8", j+1)
	p("VPBROADCASTQ R8, Z28")
	p("VPXORQ Z30, Z28, %s", z(dst))
	p("VPSUBQ Z27, %s, %s", z(dst), z(dst))
	p("VPSRAQ $63, %s, %s", z(dst), z(dst))
}

// selectTail ends ifmaSelect and ifmaSelectLanes: with the selected
// entry in Z0-Z19 and the negation mask in Z31, YplusX and YminusX
// swapped and T2d = 4p - T2d (carried) where negating, then stored.
// identityCached sets Z0-Z19 to the cached identity (YplusX = YminusX =
// Z = 1, T2d = 0), R8 holding 1: where a table lookup starts.
func identityCached() {
	for i := range 20 {
		if i%5 == 0 && i < 15 {
			p("VPBROADCASTQ R8, %s", z(i))
		} else {
			p("VPXORQ %s, %s, %s", z(i), z(i), z(i))
		}
	}
}

func selectTail() {
	for i := range 5 {
		tmp := z(20 + i)
		p("VPXORQ %s, %s, %s", z(i), z(5+i), tmp)
		p("VPANDQ Z31, %s, %s", tmp, tmp)
		p("VPXORQ %s, %s, %s", tmp, z(i), z(i))
		p("VPXORQ %s, %s, %s", tmp, z(5+i), z(5+i))
	}
	for i := range 15 {
		p("VMOVDQU64 %s, %d(DI)", z(i), 64*i)
	}
	// nt = 4p - T2d in Z20-Z24, carried; then T2d = nt where negating.
	p("MOVQ $0x1fffffffffffb4, R8")
	p("VPBROADCASTQ R8, Z25")
	p("MOVQ $0x1ffffffffffffc, R8")
	p("VPBROADCASTQ R8, Z26")
	p("VPSUBQ Z15, Z25, Z20")
	for i := 1; i < 5; i++ {
		p("VPSUBQ %s, Z26, %s", z(15+i), z(20+i))
	}
	consts(mask, 30)
	carryWith([5]int{20, 21, 22, 23, 24}, mask, 30, [5]int{0, 1, 2, 3, 4})
	for i := range 5 {
		p("VPXORQ %s, %s, %s", z(15+i), z(20+i), z(20+i))
		p("VPANDQ Z31, %s, %s", z(20+i), z(20+i))
		p("VPXORQ %s, %s, %s", z(20+i), z(15+i), z(15+i))
	}
	for i := 15; i < 20; i++ {
		p("VMOVDQU64 %s, %d(DI)", z(i), 64*i)
	}
	p("VZEROUPPER")
	p("RET")
}
