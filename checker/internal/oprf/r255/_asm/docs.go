package main

// docs are the doc comments of the Go declarations the generator writes
// next to the assembly, by function name.
var docs = map[string]string{
	"ifmaMul":    `ifmaMul sets z = x·y.`,
	"ifmaSquare": `ifmaSquare sets z = x^(2^n), n >= 1.`,
	"ifmaSquare2": `ifmaSquare2 sets z[k] = x[k]^(2^n) for k = 0, 1, n >= 1, two
independent chains that the CPU overlaps.`,
	"ifmaAdd": `ifmaAdd sets z = x + y.`,
	"ifmaSub": `ifmaSub sets z = x - y (as x + 4p - y).`,
	"ifmaSelect": `ifmaSelect sets dst to the table entry whose mask (masks[:8]) is all
ones, to the identity if none is, and then negates it if masks[8] is
all ones. It reads every entry whatever the masks.`,
	"ifmaSelectLanes": `ifmaSelectLanes is ifmaSelect with a digit per lane: lane l of dst is
lane l of x_l·table (entry |x_l|, the identity for 0, negated for x_l
< 0), x = digits, each in [-8, 8]. The masks are computed from the
digits in the vector registers by arithmetic alone, and every entry is
read whatever the digits.`,
	"ifmaTable": `ifmaTable sets tab[i] = (i+1)·p, i < 8, lane by lane: the operations of
the table loop of [ifmaState.mult8] (cached8.fromExt, p1p18.add,
ext8.fromP1P1) in one call. s is scratch.`,
	"ifmaPermute": `ifmaPermute sets lane l of dst to lane idx[l] of a if idx[l] < 8, to
lane idx[l]-8 of b otherwise, idx[l] < 16, in every limb of the table.`,
	"ifmaSelectLanesYHi": `ifmaSelectLanesYHi is ifmaSelectLanesY on lanes 4-7 of the table: lane
l < 4 of dst is lane l+4 of x_l·table, x = digits[0..3] (YMM
registers; lanes 4-7 of dst are left as they were).`,
	"ifmaDouble4": `ifmaDouble4 sets v = 16·v: four times p1p18.double of the p28 of v.
s is scratch.`,
	"ifmaAddCached": `ifmaAddCached sets v = v + m: ext8.fromP1P1 of v, then p1p18.add.
s is scratch.`,
	"ifmaBlend": `ifmaBlend sets z to a in the lanes where m is all ones, to b in the
others (m is all ones or zero in each lane).`,
	"ifmaCanon": `ifmaCanon sets z to x reduced to [0, p) lane by lane, every limb below
2^51: the limbs fe8.canon returns.`,
	"ifmaCombP": `ifmaCombP runs n windows of a multiplication on two points in the
parallel form (one point a half, its coordinates in the half's four
lanes): for each window, four doublings of acc, then, for each of the
ntab tables of 8 cached entries (Y+X, Y-X, Z, 2dT) at tables, acc +=
d·table in each half for that half's digit d in [-8, 8]: 8 bytes of
dig a table and window, bytes 0-3 half 0's digit, 4-7 half 1's. Every
entry is read whatever the digits. s is scratch.`,
	"ifmaDoublesP": `ifmaDoublesP doubles the completed points of acc (one a half) n times,
n >= 1.`,
	"ifmaParToExt": `ifmaParToExt sets dst to the extended points (X·T, Y·Z, Z·T, X·Y) of
the completed points of acc, one a half.`,
	"ifmaCmov": `ifmaCmov sets the n consecutive fe8 at dst to those at src if mask is
all ones, and leaves them if it is zero.`,
}
