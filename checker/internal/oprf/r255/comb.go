package r255

// combChunks is the most chunks a [combTables] splits a scalar into.
const combChunks = 8

// combTables holds, for a base P and h chunks of w = 64/h radix-16 digits,
// the multiples 1..8 of P_j = 16^(w·j)·P, j < h, as cached points: a
// multiplication by any scalar is then a Straus sum over the h chunks,
// 4(w-1) doublings and 64 additions, instead of 252 doublings.
type combTables struct {
	h, w int
	t    [combChunks][8]cachedPoint
}

// build sets c to the tables of p in h chunks (h divides 64, h <=
// [combChunks]). p is public: building is the same sequence of
// operations whatever p is anyway.
func (c *combTables) build(p *extPoint, h int) {
	c.h, c.w = h, 64/h
	var cur extPoint = *p
	var acc p1p1
	var tmp extPoint
	var pp p2
	for j := range h {
		tab := &c.t[j]
		tab[0].fromExt(&cur)
		// 2·cur by doubling, then (i+1)·cur = i·cur + cur.
		pp = p2{cur.X, cur.Y, cur.Z}
		acc.double(&pp)
		tmp.fromP1P1(&acc)
		tab[1].fromExt(&tmp)
		for i := 2; i < 8; i++ {
			acc.add(&tmp, &tab[0])
			tmp.fromP1P1(&acc)
			tab[i].fromExt(&tmp)
		}
		if j == h-1 {
			break
		}
		pp = p2{cur.X, cur.Y, cur.Z}
		for range 4*c.w - 1 {
			acc.double(&pp)
			pp.fromP1P1(&acc)
		}
		acc.double(&pp)
		cur.fromP1P1(&acc)
	}
}

// mulCT sets v = s·P for the scalar of the digits d, in constant time
// with respect to d: a fixed sequence of doublings and additions, and
// constant-time lookups ([selectCached]).
func (c *combTables) mulCT(v *extPoint, d *[64]int8) {
	var acc p1p1
	var pp p2
	var m cachedPoint
	v.X.Zero()
	v.Y.One()
	v.Z.One()
	v.T.Zero()
	for i := c.w - 1; i >= 0; i-- {
		if i != c.w-1 {
			pp.fromP1P1(&acc)
			for range 3 {
				acc.double(&pp)
				pp.fromP1P1(&acc)
			}
			acc.double(&pp)
			v.fromP1P1(&acc)
		}
		for j := range c.h {
			selectCached(&m, &c.t[j], d[j*c.w+i])
			acc.add(v, &m)
			if j != c.h-1 || i == 0 {
				v.fromP1P1(&acc)
			}
		}
	}
}

// mulVT sets v = s·P for the scalar of the digits d, in variable time: d
// must be public (the composite weights).
func (c *combTables) mulVT(v *extPoint, d *[64]int8) {
	var acc p1p1
	var pp p2
	var m cachedPoint
	v.X.Zero()
	v.Y.One()
	v.Z.One()
	v.T.Zero()
	started := false
	for i := c.w - 1; i >= 0; i-- {
		if started {
			pp = p2{v.X, v.Y, v.Z}
			for range 3 {
				acc.double(&pp)
				pp.fromP1P1(&acc)
			}
			acc.double(&pp)
			v.fromP1P1(&acc)
		}
		for j := range c.h {
			x := d[j*c.w+i]
			switch {
			case x > 0:
				acc.add(v, &c.t[j][x-1])
			case x < 0:
				t := &c.t[j][-x-1]
				m.YplusX, m.YminusX, m.Z = t.YminusX, t.YplusX, t.Z
				m.T2d.Negate(&t.T2d)
				acc.add(v, &m)
			default:
				continue
			}
			v.fromP1P1(&acc)
			started = true
		}
	}
}
