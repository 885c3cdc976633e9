package private

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
	"slices"
)

// decoys returns the want decoys of a bucket, sorted by value. Each
// candidate takes two words of the stream, a value and a set id draw;
// a candidate that collides with a real entry (keys under mask,
// ascending) or an earlier candidate, about n²/2^(64-p) likely, is
// skipped. (packBucket takes the same steps, with the check for real
// entries in its merge.)
func (p *Index) decoys(sc *bucketScratch, prefix uint64, nbits int, mask uint64, keys []uint64, want int) []decoy {
	ds := p.decoyCandidates(sc, prefix, nbits, mask, want)
	if !dupDecoys(ds) && !realDecoys(keys, ds, mask) {
		return ds
	}
	return p.decoysSlow(sc, prefix, nbits, mask, keys, want)
}

// decoySeed seeds the stream of a bucket's decoys.
func (p *Index) decoySeed(prefix uint64, nbits int) [32]byte {
	var in [32 + 9]byte
	copy(in[:], p.padKey[:])
	binary.BigEndian.PutUint64(in[32:], prefix)
	in[40] = byte(nbits)
	return sha256.Sum256(in[:])
}

// decoyCandidates returns the first want candidates of a bucket's
// stream, sorted by value: its decoys if none collides.
func (p *Index) decoyCandidates(sc *bucketScratch, prefix uint64, nbits int, mask uint64, want int) []decoy {
	rng := &sc.rng
	rng.Seed(p.decoySeed(prefix, nbits))
	ds := slices.Grow(sc.ds[:0], want)[:want]
	sc.ds = ds
	switch cum := p.cum; {
	case len(cum) <= 1:
		for i := range ds {
			ds[i] = decoy{value: rng.Uint64() & mask}
			rng.Uint64()
		}
	case len(cum) <= 16 && p.cumTotal != 0:
		// decoySet, inlined.
		total, recip := p.cumTotal, p.cumRecip
		cum = cum[:len(cum)-1]
		for i := range ds {
			v := rng.Uint64() & mask
			r := rng.Uint64()
			q, _ := bits.Mul64(r, recip)
			x := r - q*total
			if x >= total {
				x -= total
			}
			set := uint64(len(cum))
			for _, c := range cum {
				set -= (x - uint64(c)) >> 63
			}
			ds[i] = decoy{value: v, set: uint16(set)}
		}
	default:
		for i := range ds {
			v := rng.Uint64() & mask
			ds[i] = decoy{value: v, set: p.decoySet(rng.Uint64())}
		}
	}
	return sc.sortDecoys(ds, bits.Len64(mask))
}

// dupDecoys says whether two of the sorted decoys are equal.
func dupDecoys(ds []decoy) bool {
	for i := 1; i < len(ds); i++ {
		if ds[i].value == ds[i-1].value {
			return true
		}
	}
	return false
}

// realDecoys says whether a sorted decoy equals a real entry (keys under
// mask, ascending), by one merge walk.
func realDecoys(keys []uint64, ds []decoy, mask uint64) bool {
	j := 0
	for _, d := range ds {
		for j < len(keys) && keys[j]&mask < d.value {
			j++
		}
		if j < len(keys) && keys[j]&mask == d.value {
			return true
		}
	}
	return false
}

// decoysSlow is decoys when a candidate collides: the same stream from
// the start, skipping collisions.
func (p *Index) decoysSlow(sc *bucketScratch, prefix uint64, nbits int, mask uint64, keys []uint64, want int) []decoy {
	rng := &sc.rng
	rng.Seed(p.decoySeed(prefix, nbits))
	real := func(v uint64) bool {
		_, found := slices.BinarySearchFunc(keys, v, func(k, v uint64) int { return compareU64(k&mask, v) })
		return found
	}
	seen := make(map[uint64]bool, want)
	ds := slices.Grow(sc.ds[:0], want)
	for len(ds) < want {
		d := decoy{value: rng.Uint64() & mask}
		d.set = p.decoySet(rng.Uint64())
		if seen[d.value] || real(d.value) {
			continue
		}
		seen[d.value] = true
		ds = append(ds, d)
	}
	sc.ds = ds
	return sc.sortDecoys(ds, bits.Len64(mask))
}
func byValue(a, b decoy) int { return compareU64(a.value, b.value) }

// sortDecoys sorts ds by value (vbits wide), stably, and returns it:
// ds itself, or, when it is sc.ds, sc.ds's sorted copy (the new sc.ds).
// Decoys are uniform: a counting sort by their top bits into about half
// as many runs as decoys leaves each a few places from its own, and an
// insertion sort finishes.
func (sc *bucketScratch) sortDecoys(ds []decoy, vbits int) []decoy {
	n := len(ds)
	if n <= 24 {
		insertionSortDecoys(ds)
		return ds
	}
	vbits = max(vbits, 0)
	k := min(bits.Len(uint(n))-1, vbits)
	shift := uint(vbits - k)
	nb := 1 << k
	counts := slices.Grow(sc.counts[:0], nb+1)[:nb+1]
	sc.counts = counts
	clear(counts)
	top := uint64(nb - 1)
	for _, d := range ds {
		counts[min(d.value>>shift, top)+1]++
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	tmp := slices.Grow(sc.tmp[:0], n)[:n]
	for _, d := range ds {
		b := min(d.value>>shift, top)
		tmp[counts[b]] = d
		counts[b]++
	}
	insertionSortDecoys(tmp)
	if len(sc.ds) > 0 && &sc.ds[0] == &ds[0] {
		sc.ds, sc.tmp = tmp, ds[:0]
		return tmp
	}
	sc.tmp = tmp
	copy(ds, tmp)
	return ds
}

func insertionSortDecoys(ds []decoy) {
	for i := 1; i < len(ds); i++ {
		x := ds[i]
		j := i
		for j > 0 && ds[j-1].value > x.value {
			ds[j] = ds[j-1]
			j--
		}
		ds[j] = x
	}
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// initCum sets cumTotal and cumRecip from cum.
func (p *Index) initCum() {
	p.cumTotal, p.cumRecip = 0, 0
	if len(p.cum) > 1 && slices.IsSorted(p.cum) && p.cum[0] >= 1 && p.cum[len(p.cum)-1] >= 2 {
		p.cumTotal = uint64(p.cum[len(p.cum)-1])
		p.cumRecip, _ = bits.Div64(1, 0, p.cumTotal)
	}
}

// decoySet turns a random word into a set id drawn with the weights of
// the sets' key counts.
func (p *Index) decoySet(r uint64) uint16 {
	if len(p.cum) <= 1 {
		return 0
	}
	if p.cumTotal == 0 { // a header with overflowing counts
		x := int64(r % uint64(p.cum[len(p.cum)-1]))
		i, _ := slices.BinarySearch(p.cum, x+1)
		return uint16(min(i, len(p.cum)-1))
	}
	// x = r % cumTotal (Barrett: q is the quotient or one less), then
	// the first set whose cumulative count exceeds x.
	q, _ := bits.Mul64(r, p.cumRecip)
	x := r - q*p.cumTotal
	if x >= p.cumTotal {
		x -= p.cumTotal
	}
	cum := p.cum
	if len(cum) <= 16 {
		// The sets below, counted without branches: x - c underflows
		// (all are below 2^63) iff c > x.
		i := uint64(len(cum) - 1)
		for _, c := range cum[:len(cum)-1] {
			i -= (x - uint64(c)) >> 63
		}
		return uint16(i)
	}
	lo, hi := 0, len(cum)-1
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if uint64(cum[m]) > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return uint16(lo)
}
