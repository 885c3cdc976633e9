package hashset

// radixSort sorts keys ascending and permutes vals alongside, stably (equal
// keys keep their insertion order, which the builder relies on to pick "the
// first" group of a key). tmpK and tmpV are scratch of the same length; the
// result is left in keys and vals.
//
// Large inputs get one most-significant-byte pass that scatters the keys
// into 256 buckets, then an LSD radix sort of each bucket on the remaining 7
// bytes, which runs in cache. Small inputs get a plain LSD radix sort. Each
// LSD sort builds all its 8-bit histograms in one pass, then scatters once
// per byte, skipping bytes whose value is the same in every key.
func radixSort(keys []uint64, vals []uint32, tmpK []uint64, tmpV []uint32) {
	n := len(keys)
	tmpK, tmpV = tmpK[:n], tmpV[:n]
	if n < 1<<16 {
		if !lsdSort(keys, vals, tmpK, tmpV, 8) {
			copy(keys, tmpK)
			copy(vals, tmpV)
		}
		return
	}
	var counts [256]int
	for _, k := range keys {
		counts[k>>56]++
	}
	var offs [257]int
	for i, c := range counts {
		offs[i+1] = offs[i] + c
	}
	next := offs
	for i, k := range keys {
		b := k >> 56
		o := next[b]
		tmpK[o] = k
		tmpV[o] = vals[i]
		next[b] = o + 1
	}
	for b := 0; b < 256; b++ {
		s, e := offs[b], offs[b+1]
		if !lsdSort(tmpK[s:e], tmpV[s:e], keys[s:e], vals[s:e], 7) {
			continue // result landed in keys[s:e]
		}
		copy(keys[s:e], tmpK[s:e])
		copy(vals[s:e], tmpV[s:e])
	}
}

// lsdSort sorts aK (with aV) on the low nbytes bytes, using bK, bV as the
// other buffer. It reports whether the result is in aK (true) or bK.
func lsdSort(aK []uint64, aV []uint32, bK []uint64, bV []uint32, nbytes int) bool {
	n := len(aK)
	if n < 2 {
		return true
	}
	if n <= 64 {
		insertionSort(aK, aV)
		return true
	}
	var counts [8][256]int
	for _, k := range aK {
		counts[0][byte(k)]++
		counts[1][byte(k>>8)]++
		counts[2][byte(k>>16)]++
		counts[3][byte(k>>24)]++
		counts[4][byte(k>>32)]++
		counts[5][byte(k>>40)]++
		counts[6][byte(k>>48)]++
		counts[7][byte(k>>56)]++
	}
	srcK, srcV, dstK, dstV := aK, aV, bK[:n], bV[:n]
	inA := true
	for d := 0; d < nbytes; d++ {
		shift := uint(8 * d)
		c := &counts[d]
		if c[byte(aK[0]>>shift)] == n {
			continue // every key has the same byte here
		}
		var offs [256]int
		sum := 0
		for i, v := range c {
			offs[i] = sum
			sum += v
		}
		sv := srcV[:n]
		for i, k := range srcK {
			b := byte(k >> shift)
			o := offs[b]
			dstK[o] = k
			dstV[o] = sv[i]
			offs[b] = o + 1
		}
		srcK, srcV, dstK, dstV = dstK, dstV, srcK, srcV
		inA = !inA
	}
	return inA
}

func insertionSort(keys []uint64, vals []uint32) {
	for i := 1; i < len(keys); i++ {
		k, v := keys[i], vals[i]
		j := i
		for ; j > 0 && keys[j-1] > k; j-- {
			keys[j], vals[j] = keys[j-1], vals[j-1]
		}
		keys[j], vals[j] = k, v
	}
}
