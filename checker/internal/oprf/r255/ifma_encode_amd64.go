//go:build gc && !purego

package r255

// The seal batch's encodings on the 8-way path: [encodeDoubled]'s
// formulas (curve25519-dalek's double_and_compress_batch) on the
// multiplication's results as they come out of the lanes, 8 elements
// an operation, instead of extracting every point and encoding it one
// field operation at a time. The batch's inversion stays one: the
// products e·f·g·h are chained through the groups lane by lane, the 8
// lane totals are inverted together (one field inversion, Montgomery's
// trick), and the chain is walked back. Same values as encodeDoubled,
// so the same bytes (the OPRF package's tests compare every batch size
// with circl, and this package's with the one-element path).

import "encoding/binary"

// encLanes is the working memory of the 8-way encodings: per group of 8
// elements, the formulas' e, f, g, h, e·g, f·h, their product (1 where
// it is zero: those elements are encoded on their own), and the chained
// products.
type encLanes struct {
	res     [BatchSize / 8]ext8 // the multiplication's results, (k/2)·P
	e, f, g [BatchSize / 8]fe8
	h       [BatchSize / 8]fe8
	eg, fh  [BatchSize / 8]fe8
	efgh    [BatchSize / 8]fe8
	acc     [BatchSize / 8]fe8
	special [BatchSize / 8]mask8
}

var (
	fe8InvSqrtAMinusD = broadcast8(feInvSqrtAMinusD)
)

// encode8 sets out[i] to the encoding of 2·res(i), i < len(out), where
// res(i) is lane i%8 of s.enc.res[i/8].
func (s *ifmaState) encode8(out [][32]byte) {
	el := &s.enc
	groups := (len(out) + 7) / 8
	var xx, yy, zz, dtt fe8
	for g := range groups {
		p := &el.res[g]
		ifmaSquare(&xx, &p.X, 1)
		ifmaSquare(&yy, &p.Y, 1)
		ifmaSquare(&zz, &p.Z, 1)
		ifmaSquare(&dtt, &p.T, 1)
		ifmaMul(&dtt, &dtt, &fe8D)
		ifmaAdd(&el.e[g], &p.Y, &p.Y)
		ifmaMul(&el.e[g], &el.e[g], &p.X) // 2XY
		ifmaAdd(&el.f[g], &zz, &dtt)      // Z² + dT²
		ifmaAdd(&el.g[g], &yy, &xx)       // Y² + X²
		ifmaSub(&el.h[g], &zz, &dtt)      // Z² - dT²
		ifmaMul(&el.eg[g], &el.e[g], &el.g[g])
		ifmaMul(&el.fh[g], &el.f[g], &el.h[g])
		ifmaMul(&el.efgh[g], &el.eg[g], &el.fh[g])
		// 2·P is the identity (or a point the batch formula does not
		// cover): 1 in the chain, encoded on its own below. Never seen
		// outside tests.
		el.special[g] = equal8(&el.efgh[g], &fe8Zero)
		select8(&el.efgh[g], &fe8One, &el.efgh[g], &el.special[g])
		if g == 0 {
			el.acc[0] = el.efgh[0]
		} else {
			ifmaMul(&el.acc[g], &el.acc[g-1], &el.efgh[g])
		}
	}
	// The inverses of the 8 lane totals, with one inversion.
	var tot [8]fe
	var pre [8]fe
	for j := range 8 {
		el.acc[groups-1].lane(&tot[j], j)
		if j == 0 {
			pre[0].Set(&tot[0])
		} else {
			pre[j].Multiply(&pre[j-1], &tot[j])
		}
	}
	var inv, mine fe
	invert(&inv, &pre[7])
	var invTot fe8
	for j := 7; j >= 0; j-- {
		if j > 0 {
			mine.Multiply(&inv, &pre[j-1])
			inv.Multiply(&inv, &tot[j])
		} else {
			mine.Set(&inv)
		}
		invTot.setLane(j, &mine)
	}
	var m, zInv, tInv, tmp, minusE, fSqrtA, ee, gg, hh, magic, sv fe8
	for g := groups - 1; g >= 0; g-- {
		// m = 1/efgh of this group, lane by lane; invTot becomes the
		// inverse of the chain up to the group before.
		if g > 0 {
			ifmaMul(&m, &invTot, &el.acc[g-1])
			ifmaMul(&invTot, &invTot, &el.efgh[g])
		} else {
			m = invTot
		}
		ifmaMul(&zInv, &el.eg[g], &m)
		ifmaMul(&tInv, &el.fh[g], &m)
		ifmaMul(&tmp, &el.eg[g], &zInv)
		neg1 := isNegative8(&tmp)
		ifmaSub(&minusE, &fe8Zero, &el.e[g])
		ifmaMul(&fSqrtA, &el.f[g], &fe8SqrtM1)
		select8(&ee, &el.g[g], &el.e[g], &neg1)
		select8(&gg, &minusE, &el.g[g], &neg1)
		select8(&hh, &fSqrtA, &el.h[g], &neg1)
		select8(&magic, &fe8SqrtM1, &fe8InvSqrtAMinusD, &neg1)
		ifmaMul(&tmp, &hh, &ee)
		ifmaMul(&tmp, &tmp, &zInv)
		neg2 := isNegative8(&tmp)
		var ng fe8
		ifmaSub(&ng, &fe8Zero, &gg)
		select8(&gg, &ng, &gg, &neg2)
		ifmaMul(&tmp, &gg, &tInv)
		ifmaMul(&tmp, &magic, &tmp)
		ifmaSub(&sv, &hh, &gg)
		ifmaMul(&sv, &sv, &tmp)
		absolute8(&sv, &sv)
		ifmaCanon(&sv, &sv)
		lo := 8 * g
		for j := range min(8, len(out)-lo) {
			if el.special[g][j] != 0 {
				var p, d extPoint
				el.res[g].X.lane(&p.X, j)
				el.res[g].Y.lane(&p.Y, j)
				el.res[g].Z.lane(&p.Z, j)
				el.res[g].T.lane(&p.T, j)
				var c cachedPoint
				var r p1p1
				c.fromExt(&p)
				r.add(&p, &c)
				d.fromP1P1(&r)
				out[lo+j] = encodeElement(&d)
				continue
			}
			sv.packLane(&out[lo+j], j)
		}
	}
}

// packLane sets b to the little-endian encoding of lane j, whose limbs
// are canonical (ifmaCanon's).
func (r *fe8) packLane(b *[32]byte, j int) {
	l0, l1, l2, l3, l4 := r[0][j], r[1][j], r[2][j], r[3][j], r[4][j]
	binary.LittleEndian.PutUint64(b[0:8], l0|l1<<51)
	binary.LittleEndian.PutUint64(b[8:16], l1>>13|l2<<38)
	binary.LittleEndian.PutUint64(b[16:24], l2>>26|l3<<25)
	binary.LittleEndian.PutUint64(b[24:32], l3>>39|l4<<12)
}
