// This program writes the assembly of the AVX-512 IFMA field arithmetic
// of the 8-way path of package r255, and the Go declarations of its
// functions:
//
//	go run . -out ../ifma_amd64.s -stubs ../ifma_stubs_amd64.go
//
// A field element of 8 lanes (fe8) is 5 limbs of radix 2^51, each limb a
// vector of 8 uint64 (one per lane), as filippo.io/edwards25519/field
// stores one element. Every function takes limbs below 2^52 (what
// VPMADD52LUQ/HUQ read in full) and returns limbs below 2^52.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

//go:generate go run . -out ../ifma_amd64.s -stubs ../ifma_stubs_amd64.go

var b strings.Builder

// stubs collects the Go declarations of the functions written.
var stubs strings.Builder

// text starts the function sig (its Go signature without "func ") with
// the given frame size, and records its Go declaration for the stubs file.
func text(sig, frame string) {
	name := sig[:strings.IndexByte(sig, '(')]
	fmt.Fprintf(&b, "// func %s\nTEXT ·%s(SB), NOSPLIT, %s\n", sig, name, frame)
	if d := docs[name]; d != "" {
		for _, line := range strings.Split(d, "\n") {
			stubs.WriteString(strings.TrimRight("// "+line, " ") + "\n")
		}
		stubs.WriteString("//\n")
	}
	fmt.Fprintf(&stubs, "//go:noescape\nfunc %s\n\n", sig)
}

func p(format string, args ...any) { fmt.Fprintf(&b, "\t"+format+"\n", args...) }

func z(i int) string { return fmt.Sprintf("Z%d", i) }

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
	carry([5]int{0, 1, 2, 3, 4}, mask, c19, t)
	storeAt(0, dst)
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

func main() {
	out := flag.String("out", "../ifma_amd64.s", "the assembly file to write")
	stubsOut := flag.String("stubs", "../ifma_stubs_amd64.go", "the Go declarations file to write")
	flag.Parse()
	const header = "// Code generated by command: go run . -out ../ifma_amd64.s -stubs ../ifma_stubs_amd64.go. DO NOT EDIT.\n\n"
	b.WriteString(header)
	b.WriteString("//go:build gc && !purego\n\n#include \"textflag.h\"\n\n")

	// ifmaMul: z = x*y.
	text("ifmaMul(z, x, y *fe8)", "$0-24")
	p("MOVQ z+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ y+16(FP), DX")
	load("", "SI", 0)
	load("", "DX", 5)
	consts(mask, c19)
	mul(false)
	store(L(0), "DI")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaSquare: z = x^(2^n), n >= 1, the limbs staying in registers.
	text("ifmaSquare(z, x *fe8, n int)", "$0-24")
	p("MOVQ z+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ n+16(FP), CX")
	load("", "SI", 0)
	consts(mask, c19)
	b.WriteString("sqloop:\n")
	sqInPlace = true
	mul(true)
	sqInPlace = false
	p("DECQ CX")
	p("JNZ sqloop")
	store(0, "DI")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaSquare2: z[k] = x[k]^(2^n) for k = 0, 1, n >= 1: two
	// independent chains of squarings, which the CPU overlaps (one chain
	// is bound by latency, not throughput).
	text("ifmaSquare2(z, x *[2]fe8, n int)", "$0-24")
	p("MOVQ z+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ n+16(FP), CX")
	consts(mask, c19)
	load("", "SI", 0)
	p("ADDQ $320, SI")
	load("", "SI", 5)
	b.WriteString("sq2loop:\n")
	// Both chains stay in registers, Z0-Z4 and Z5-Z9, each squared in
	// place.
	sqInPlace = true
	for k := range 2 {
		sqIn = 5 * k
		mul(true)
	}
	sqIn, sqInPlace = 0, false
	p("DECQ CX")
	p("JNZ sq2loop")
	store(0, "DI")
	p("ADDQ $320, DI")
	store(5, "DI")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaAdd: z = x+y.
	text("ifmaAdd(z, x, y *fe8)", "$0-24")
	p("MOVQ z+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ y+16(FP), DX")
	load("", "SI", 0)
	load("", "DX", 5)
	for i := range 5 {
		p("VPADDQ %s, %s, %s", z(5+i), z(i), z(i))
	}
	consts(mask, c19)
	carry([5]int{0, 1, 2, 3, 4}, mask, c19, t)
	store(0, "DI")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaSub: z = x-y, as x + 4p - y: 4p's limbs are 2^53-76 and
	// 2^53-4, above any limb of y (below 2^52).
	text("ifmaSub(z, x, y *fe8)", "$0-24")
	p("MOVQ z+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ y+16(FP), DX")
	load("", "SI", 0)
	load("", "DX", 5)
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
	consts(mask, c19)
	carry([5]int{0, 1, 2, 3, 4}, mask, c19, t)
	store(0, "DI")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaSelect: the table lookup of the multiplication, in registers.
	// dst = table[j] for the j whose mask (masks[j], j < 8) is all ones,
	// the identity (1, 1, 1, 0) if none is; then, if masks[8] is all
	// ones, the negation: YplusX and YminusX swapped, T2d = 4p - T2d,
	// carried. Every entry is read and combined whatever the masks.
	text("ifmaSelect(dst *cached8, table *[8]cached8, masks *[9]uint64)", "$0-24")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ table+8(FP), SI")
	p("MOVQ masks+16(FP), DX")
	p("MOVQ $1, R8")
	identityCached()
	for j := range 8 {
		p("VPBROADCASTQ %d(DX), Z31", 8*j)
		// z_i = mask ? entry : z_i, bitwise, as in ifmaSelectLanes.
		for i := range 20 {
			p("VPTERNLOGQ $0xb8, %d(SI), Z31, %s", 1280*j+64*i, z(i))
		}
	}
	p("VPBROADCASTQ 64(DX), Z31")
	selectTail()
	b.WriteString("\n")

	// ifmaSelectLanes: ifmaSelect with a digit of its own in each lane.
	// Lane l of dst = lane l of table[|x_l|-1] (the identity if x_l = 0),
	// negated if x_l < 0, for the 8 signed bytes x = digits[0..7], each in
	// [-8, 8]. The masks come from the digits by arithmetic alone (sign
	// by arithmetic shift, |x| = (x + sign) ^ sign, and for each entry j
	// ((|x| ^ j) - 1) >> 63, all ones exactly where |x| = j as |x| ^ j <
	// 16): no comparison, no branch, no k-register; every entry is read
	// in full and combined in every lane whatever the digits (a bitwise
	// select, VPTERNLOGQ).
	text("ifmaSelectLanes(dst *cached8, table *[8]cached8, digits *[8]int8)", "$0-24")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ table+8(FP), SI")
	p("MOVQ digits+16(FP), DX")
	p("VPMOVSXBQ (DX), Z30")
	p("VPSRAQ $63, Z30, Z29") // all ones where the digit is negative
	p("VPADDQ Z29, Z30, Z30")
	p("VPXORQ Z29, Z30, Z30") // |x|
	p("MOVQ $1, R8")
	p("VPBROADCASTQ R8, Z27")
	identityCached()
	for j := range 8 {
		p("MOVQ $%d, R8", j+1)
		p("VPBROADCASTQ R8, Z28")
		p("VPXORQ Z30, Z28, Z31")
		p("VPSUBQ Z27, Z31, Z31")
		p("VPSRAQ $63, Z31, Z31")
		// z_i = mask ? entry : z_i, bitwise (0xB8: B ? C : A, for
		// A = z_i, B = the mask, C = the entry read in full).
		for i := range 20 {
			p("VPTERNLOGQ $0xb8, %d(SI), Z31, %s", 1280*j+64*i, z(i))
		}
	}
	p("VMOVDQA64 Z29, Z31")
	selectTail()
	b.WriteString("\n")

	// ifmaTable: tab[i] = (i+1)·p as cached points, i < 8: the table of
	// the multiplications, as [cached8.fromExt] of p, then 7 times
	// [p1p18.add] of p and the previous entry, [ext8.fromP1P1] and
	// [cached8.fromExt], the same operations in the same order, without a
	// call each. s is scratch.
	text("ifmaTable(tab *[8]cached8, p *ext8, s *[8]fe8)", "$0-24")
	p("MOVQ tab+0(FP), DI")
	p("MOVQ p+8(FP), DX")
	p("MOVQ s+16(FP), SI")
	p("LEAQ ·fe8D2(SB), R9")
	consts(mask, c19)
	sc := func(k int) string { return fmt.Sprintf("%d(SI)", 320*k) }
	ent := func(i, c int) string { return fmt.Sprintf("%d(DI)", 1280*i+320*c) }
	// Entry 0: p cached.
	gadd(ent(0, 0), "320(DX)", "0(DX)")
	gsub(ent(0, 1), "320(DX)", "0(DX)")
	loadAt("640(DX)", 0)
	storeAt(0, ent(0, 2))
	gmul(ent(0, 3), "960(DX)", "0(R9)")
	// Entries 1..7 in a loop: R10 is entry 0, DI the previous entry.
	p("MOVQ DI, R10")
	p("MOVQ $7, CX")
	b.WriteString("tableloop:\n")
	prev := func(c int) string { return fmt.Sprintf("%d(DI)", 320*c) }
	next := func(c int) string { return fmt.Sprintf("%d(DI)", 1280+320*c) }
	// p1p1 = p + previous: p's Y+X and Y-X are entry 0's.
	gmul(sc(0), "0(R10)", prev(0))   // pp
	gmul(sc(1), "320(R10)", prev(1)) // mm
	gmul(sc(2), "960(DX)", prev(3))  // tt2d
	gmul(sc(3), "640(DX)", prev(2))  // zz2
	gadd(sc(3), sc(3), sc(3))
	gsub(sc(4), sc(0), sc(1)) // X
	gadd(sc(5), sc(0), sc(1)) // Y
	gadd(sc(6), sc(3), sc(2)) // Z
	gsub(sc(7), sc(3), sc(2)) // T
	// To extended, then cached.
	gmul(sc(0), sc(4), sc(7))   // X
	gmul(sc(1), sc(5), sc(6))   // Y
	gmul(next(2), sc(6), sc(7)) // Z
	gmul(sc(2), sc(4), sc(5))   // T
	gadd(next(0), sc(1), sc(0))
	gsub(next(1), sc(1), sc(0))
	gmul(next(3), sc(2), "0(R9)")
	p("ADDQ $1280, DI")
	p("DECQ CX")
	p("JNZ tableloop")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaPermute: lane l of every fe8 of dst = lane idx[l] of a's (idx
	// < 8) or lane idx[l]-8 of b's (idx >= 8): VPERMT2Q over the 160 fe8
	// limbs of a table. The indices are public (a fixed layout).
	text("ifmaPermute(dst, a, b *[8]cached8, idx *[8]uint64)", "$0-32")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ a+8(FP), SI")
	p("MOVQ b+16(FP), DX")
	p("MOVQ idx+24(FP), R8")
	p("VMOVDQU64 (R8), Z31")
	p("MOVQ $160, CX")
	b.WriteString("permloop:\n")
	p("VMOVDQU64 (SI), Z0")
	p("VPERMT2Q (DX), Z31, Z0")
	p("VMOVDQU64 Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, DX")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ permloop")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaDouble4: v = 16·v, four times [p1p18.double] of the p28 of v,
	// the same operations in the same order, without a call each.
	text("ifmaDouble4(v *p1p18, s *[8]fe8)", "$0-16")
	p("MOVQ v+0(FP), DI")
	p("MOVQ s+8(FP), SI")
	p("MOVQ $4, CX")
	consts(mask, c19)
	b.WriteString("dbl4loop:\n")
	X, Y, Z, T := "0(DI)", "320(DI)", "640(DI)", "960(DI)"
	// To p2: carried, as the squarings read them.
	gmul(sc(0), X, T)
	gmul(sc(1), Y, Z)
	gmul(sc(2), Z, T)
	// X = 2·X2·Y2 (the formula's (X2+Y2)^2 - X2^2 - Y2^2), carried once.
	// The squares stay uncarried: only sums and differences read them,
	// and those that are minuends start from the multiple of p their
	// difference needs.
	loadAt(sc(0), 0)
	loadAt(sc(1), 5)
	mulLazy(false, true)
	carryWith(regs(10), mask, c19, regs(22))
	storeAt(10, X)
	gsqInit(sc(3), sc(0), false, "")         // xx
	gsqInit(sc(4), sc(1), false, "fe8P2e10") // yy + 2^10·p
	gsqInit(sc(5), sc(2), true, "fe8P2")     // 2·Z^2 + 4p
	// Y = yy + xx, Z = yy - xx, T = zz2 - Z, each carried once, in
	// registers. Y and Z carry 2^10·p, T 4p: every limb stays below
	// 2^62.1.
	loadAt(sc(3), 0)                 // xx
	loadAt(sc(4), 5)                 // yy
	vadd(regs(10), regs(5), regs(0)) // Y
	vsub(regs(5), regs(5), regs(0))  // Z
	carryWith(regs(10), mask, c19, regs(22))
	storeAt(10, Y)
	carryWith(regs(5), mask, c19, regs(22))
	storeAt(5, Z)
	loadAt(sc(5), 0) // zz2
	vsub(regs(0), regs(0), regs(5))
	carryWith(regs(0), mask, c19, regs(22))
	storeAt(0, T)
	p("DECQ CX")
	p("JNZ dbl4loop")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaAddCached: v = v + m, as [ext8.fromP1P1] then [p1p18.add].
	text("ifmaAddCached(v *p1p18, m *cached8, s *[8]fe8)", "$0-24")
	p("MOVQ v+0(FP), DI")
	p("MOVQ m+8(FP), DX")
	p("MOVQ s+16(FP), SI")
	consts(mask, c19)
	// To extended: X and Y stay uncarried (only Y+X and Y-X read
	// them; Y starts from 2^10·p for the difference), Z and T are
	// carried (multiplied next).
	gmulInit(sc(0), X, T, "")         // ext X
	gmulInit(sc(1), Y, Z, "fe8P2e10") // ext Y + 2^10·p
	gmul(sc(2), Z, T)                 // ext Z
	gmul(sc(3), X, Y)                 // ext T
	loadAt(sc(0), 0)
	loadAt(sc(1), 5)
	vadd(regs(10), regs(5), regs(0)) // Y+X
	vsub(regs(5), regs(5), regs(0))  // Y-X
	carryWith(regs(10), mask, c19, regs(22))
	storeAt(10, sc(4))
	carryWith(regs(5), mask, c19, regs(22))
	storeAt(5, sc(5))
	// The four products stay uncarried, Z·Z doubled; pp and zz2 start
	// from 2^10·p for the differences.
	gmulInit(sc(6), sc(4), "0(DX)", "fe8P2e10") // pp
	gmulInit(sc(7), sc(5), "320(DX)", "")       // mm
	gmulInit(sc(4), sc(3), "960(DX)", "")       // tt2d
	loadAt(sc(2), 0)
	loadAt("640(DX)", 5)
	accInit = "fe8P2e9"
	mulLazy(false, true) // zz2 + 2^10·p
	accInit = ""
	// X = pp - mm, Y = pp + mm, Z = zz2 + tt2d, T = zz2 - tt2d.
	loadAt(sc(4), 0)                  // tt2d; zz2 in L0..L4 = Z10-Z14
	vadd(regs(15), regs(10), regs(0)) // Z
	vsub(regs(10), regs(10), regs(0)) // T
	carryWith(regs(15), mask, c19, regs(22))
	storeAt(15, Z)
	carryWith(regs(10), mask, c19, regs(22))
	storeAt(10, T)
	loadAt(sc(6), 0)                 // pp
	loadAt(sc(7), 5)                 // mm
	vadd(regs(10), regs(0), regs(5)) // Y
	vsub(regs(0), regs(0), regs(5))  // X
	carryWith(regs(10), mask, c19, regs(22))
	storeAt(10, Y)
	carryWith(regs(0), mask, c19, regs(22))
	storeAt(0, X)
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaBlend: z = a in the lanes where m is all ones, b in the others,
	// one VPTERNLOGQ a limb.
	text("ifmaBlend(z, a, b *fe8, m *mask8)", "$0-32")
	p("MOVQ z+0(FP), DI")
	p("MOVQ a+8(FP), SI")
	p("MOVQ b+16(FP), DX")
	p("MOVQ m+24(FP), R8")
	p("VMOVDQU64 (R8), Z31")
	for i := range 5 {
		p("VMOVDQU64 %d(DX), %s", 64*i, z(i))
		p("VPTERNLOGQ $0xb8, %d(SI), Z31, %s", 64*i, z(i))
		p("VMOVDQU64 %s, %d(DI)", z(i), 64*i)
	}
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaCanon: z = x reduced to [0, p), limbs below 2^51, as
	// fe8.canon lane by lane: one parallel carry (limbs below 2^51 + 19),
	// q = 1 if the value is p or above (the carry out of value + 19),
	// value + 19q, a serial carry, and the bit 255 dropped.
	text("ifmaCanon(z, x *fe8)", "$0-16")
	p("MOVQ z+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	load("", "SI", 0)
	consts(mask, c19)
	carry(regs(0), mask, c19, t)
	p("VPADDQ Z31, Z0, Z10") // q from limb 0 + 19
	p("VPSRLQ $51, Z10, Z10")
	for i := 1; i < 5; i++ {
		p("VPADDQ %s, Z10, Z10", z(i))
		p("VPSRLQ $51, Z10, Z10")
	}
	p("VPMADD52LUQ Z31, Z10, Z0") // + 19q
	for i := range 4 {
		p("VPSRLQ $51, %s, Z10", z(i))
		p("VPANDQ Z28, %s, %s", z(i), z(i))
		p("VPADDQ Z10, %s, %s", z(i+1), z(i+1))
	}
	p("VPANDQ Z28, Z4, Z4")
	store(0, "DI")
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")

	// ifmaCmov: dst = src if mask is all ones, dst if it is zero, for n
	// consecutive fe8 values; the same memory is touched either way.
	text("ifmaCmov(dst, src *fe8, n int, mask uint64)", "$0-32")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ src+8(FP), SI")
	p("MOVQ n+16(FP), CX")
	p("MOVQ mask+24(FP), R8")
	p("VPBROADCASTQ R8, Z31")
	p("IMULQ $5, CX")
	b.WriteString("cmovloop:\n")
	p("VMOVDQU64 (DI), Z0")
	p("VMOVDQU64 (SI), Z1")
	p("VPXORQ Z0, Z1, Z1")
	p("VPANDQ Z31, Z1, Z1")
	p("VPXORQ Z1, Z0, Z0")
	p("VMOVDQU64 Z0, (DI)")
	p("ADDQ $64, DI")
	p("ADDQ $64, SI")
	p("DECQ CX")
	p("JNZ cmovloop")
	p("VZEROUPPER")
	p("RET")

	if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
		panic(err)
	}
	decls := header + "//go:build gc && !purego\n\npackage r255\n\n" + strings.TrimSuffix(stubs.String(), "\n")
	if err := os.WriteFile(*stubsOut, []byte(decls), 0o644); err != nil {
		panic(err)
	}
}
