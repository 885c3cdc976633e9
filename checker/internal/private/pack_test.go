package private

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// The pieces of the bucket path against their references: set id draws,
// the merge and packing of entries and decoys, and the size hint.

// TestDecoySet: the set id draw (a remainder by multiplication, a search)
// against the reference's (r % total, slices.BinarySearch), on counts
// that are even, odd, powers of two, near 2^63 and overflowing.
func TestDecoySet(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	counts := [][]int64{
		{1, 1}, {5, 0, 3}, {1 << 20, 1 << 20}, {3, 1<<62 - 1, 1 << 62}, {1<<63 - 1, 1},
		{1<<63 - 2, 1}, {7, 7, 7, 7, 7, 7, 7, 7, 7}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
	}
	for range 50 {
		c := make([]int64, 2+rng.IntN(300))
		for i := range c {
			c[i] = rng.Int64N(1 << rng.IntN(40))
		}
		counts = append(counts, c)
	}
	for _, c := range counts {
		p := &Index{}
		var sum int64
		for _, k := range c {
			sum += max(k, 1)
			p.cum = append(p.cum, sum)
		}
		p.initCum()
		ref := &refIndex{cum: p.cum}
		total := uint64(p.cum[len(p.cum)-1])
		rs := []uint64{0, 1, total - 1, total, total + 1, 2*total - 1, 2 * total, ^uint64(0), ^uint64(0) - 1, 1 << 63}
		for range 2000 {
			rs = append(rs, rng.Uint64())
		}
		for _, r := range rs {
			if got, want := p.decoySet(r), ref.refDecoySet(r); got != want {
				t.Fatalf("counts %v: decoySet(%d) = %d, reference %d", c, r, got, want)
			}
		}
	}
}

// TestMergePack: the merge and packing of real entries and decoys
// against a plain merge, packBits and a plain encoding of set ids, after
// what an earlier bucket packed (a union); and its collision check
// against a plain search, on small values that collide often.
func TestMergePack(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 15))
	collided := 0
	for round := range 5000 {
		vbits := 1 + rng.IntN(10)
		var keys []uint64
		for v := range uint64(1) << vbits {
			if rng.IntN(3) == 0 {
				keys = append(keys, v)
			}
		}
		if round%7 == 0 {
			keys = nil
		}
		sets := make([]uint32, len(keys))
		for i := range sets {
			sets[i] = uint32(rng.IntN(1 << 16))
		}
		ds := make([]decoy, rng.IntN(20))
		for i := range ds {
			ds[i] = decoy{value: rng.Uint64() & (1<<vbits - 1), set: uint16(rng.Uint32())}
		}
		slices.SortStableFunc(ds, byValue)
		ds = slices.CompactFunc(ds, func(a, b decoy) bool { return a.value == b.value })
		want := false
		for _, d := range ds {
			want = want || slices.Contains(keys, d.value)
		}
		// A union: values under hi, after an earlier bucket's entries.
		w := vbits + rng.IntN(64-vbits+1)
		var hi uint64
		if w > vbits {
			hi = (rng.Uint64() & (^uint64(0) >> (64 - (w - vbits)))) << vbits
		}
		idBytes := rng.IntN(3)
		earlier := make([]uint64, rng.IntN(5))
		for i := range earlier {
			earlier[i] = rng.Uint64() & (^uint64(0) >> (64 - w))
		}
		earlierIDs := make([]byte, idBytes*len(earlier))
		for i := range earlierIDs {
			earlierIDs[i] = byte(rng.Uint32())
		}
		sc := &bucketScratch{idBytes: idBytes, out: slices.Clone(earlierIDs)}
		sc.pk = wire.BitPacker{Buf: []byte{0xAA}, W: uint(w)}
		sc.pk.PutAll(earlier, 0)
		got := sc.mergePack(slices.Grow(slices.Clone(keys), 1), slices.Grow(slices.Clone(sets), 1), ds, hi)
		if got != want {
			t.Fatalf("round %d: collision %v, want %v (keys %v, decoys %v)", round, got, want, keys, ds)
		}
		if want {
			collided++
			continue
		}
		type e struct {
			v uint64
			s uint16
		}
		var all []e
		for i, k := range keys {
			all = append(all, e{k, uint16(sets[i])})
		}
		for _, d := range ds {
			all = append(all, e{d.value, d.set})
		}
		slices.SortFunc(all, func(a, b e) int { return compareU64(a.v, b.v) })
		vals := slices.Clone(earlier)
		ids := slices.Clone(earlierIDs)
		for _, x := range all {
			vals = append(vals, hi|x.v)
			switch idBytes {
			case 1:
				ids = append(ids, byte(x.s))
			case 2:
				ids = binary.BigEndian.AppendUint16(ids, x.s)
			}
		}
		if packed, wantPacked := sc.pk.Flush(), refPackBits([]byte{0xAA}, vals, w); !bytes.Equal(packed, wantPacked) {
			t.Fatalf("round %d (w %d): packed %x, want %x", round, w, packed, wantPacked)
		}
		if !bytes.Equal(sc.out, ids) {
			t.Fatalf("round %d (%d-byte ids): %x, want %x", round, idBytes, sc.out, ids)
		}
	}
	if collided < 500 || collided > 4500 {
		t.Errorf("%d rounds of 5000 collided", collided)
	}
}

// FuzzBucketAnswerReference: an index whose directory, keys and set ids
// the input overwrites (pairs of an offset into the three sections and a
// byte): every bucket at 1 to 6 bits, and a few at 8, give the
// reference's bytes or its error.
func FuzzBucketAnswerReference(f *testing.F) {
	data := randomHand(16, 8, 600, 3).bytes(f)
	r, err := hashset.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		f.Fatal(err)
	}
	var secs []hashset.SectionInfo
	for _, s := range r.Sections() {
		switch s.Name {
		case "DIR", "KEYS", "IDS":
			secs = append(secs, s)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0, 0, 0, 1})
	f.Add([]byte{0, 10, 0, 0xff, 1, 3, 2, 0x80})
	f.Add([]byte{2, 0, 0, 9, 2, 1, 0, 9})
	f.Fuzz(func(t *testing.T, edits []byte) {
		d := slices.Clone(data)
		for ; len(edits) >= 4; edits = edits[4:] {
			s := secs[int(edits[0])%len(secs)]
			off := s.Offset + int64(binary.BigEndian.Uint16(edits[1:]))%s.Length
			d[off] = edits[3]
		}
		checkCorruptAnswers(t, d, 0, func(yield func(prefix uint64, nbits int) bool) {
			for nbits := 1; nbits <= 6; nbits++ {
				for q := range 1 << nbits {
					if !yield(uint64(q), nbits) {
						return
					}
				}
			}
			for _, q := range []uint64{0, 1, 0x80, 0xfe, 0xff} {
				if !yield(q, 8) {
					return
				}
			}
		})
	})
}

// TestBucketSizeHint: the hint holds the sections of nearly every
// bucket, padded or not, at B bits and shorter.
func TestBucketSizeHint(t *testing.T) {
	p := randomHand(17, 10, 20_000, 3).build(t)
	for _, nbits := range []int{6, 8, 10} {
		for _, pad := range []bool{false, true} {
			hint, over := p.BucketSizeHint(nbits, pad), 0
			for prefix := range uint64(1) << nbits {
				sec, err := p.AppendBucket(nil, prefix, nbits, pad)
				if err != nil {
					t.Fatal(err)
				}
				if len(sec) > hint {
					over++
				}
			}
			if over > 1<<nbits/100 {
				t.Errorf("%d bits, pad %v: %d of %d sections larger than the hint (%d bytes)", nbits, pad, over, 1<<nbits, hint)
			}
		}
	}
}

// TestPackPaddedMatchesReference: the padded bucket path as the server
// takes it (candidates, the duplicate check, the merge that notes real
// collisions, the slow path and the merge again), in small value spaces
// where every kind of collision happens, against the reference's decoys,
// merge and packing, after an earlier bucket's entries.
func TestPackPaddedMatchesReference(t *testing.T) {
	p := randomHand(18, 12, 500, 3).build(t)
	ref := newRefIndex(p)
	rng := rand.New(rand.NewPCG(18, 18))
	var dup, real int
	for round := range 3000 {
		vbits, es := smallSpaceEntries(rng)
		mask := uint64(1)<<vbits - 1
		nreal := len(es)
		keys := make([]uint64, len(es), len(es)+1)
		sets := make([]uint32, len(es), len(es)+1)
		for i, e := range es {
			keys[i], sets[i] = e.Key, uint32(rng.IntN(len(p.sets)))
		}
		want := 1 + rng.IntN(min(60, 1<<vbits-nreal))
		prefix := uint64(round)
		w := 64 - 12
		hi := rng.Uint64() & (^uint64(0) >> 12) &^ mask
		idBytes := 1 + round%2
		sc := &bucketScratch{idBytes: idBytes, out: []byte{0xBB}}
		sc.pk = wire.BitPacker{Buf: []byte{0xAA}, W: uint(w)}
		sc.pk.PutAll([]uint64{hi | 1}, 0)
		p.packPadded(sc, prefix, 12, mask, keys, sets, want, hi)

		// The reference: its decoys, merged as lookupOne merges, packed.
		ds := ref.refDecoys(new(refBucketScratch), prefix, 12, mask, es, want)
		vals, ids := []uint64{hi | 1}, []byte{0xBB}
		add := func(v uint64, s uint16) {
			vals = append(vals, hi|v)
			if idBytes == 1 {
				ids = append(ids, byte(s))
			} else {
				ids = binary.BigEndian.AppendUint16(ids, s)
			}
		}
		i, j := 0, 0
		for i < len(es) || j < len(ds) {
			if j == len(ds) || i < len(es) && es[i].Key < ds[j].value {
				add(es[i].Key, uint16(sets[i]))
				i++
			} else {
				add(ds[j].value, ds[j].set)
				j++
			}
		}
		if got, want := sc.pk.Flush(), refPackBits([]byte{0xAA}, vals, w); !bytes.Equal(got, want) {
			t.Fatalf("round %d (%d bits, %d real, %d decoys): packed %x, reference %x", round, vbits, nreal, len(ds), got, want)
		}
		if !bytes.Equal(sc.out, ids) {
			t.Fatalf("round %d: set ids %x, reference %x", round, sc.out, ids)
		}
		// Which collisions did the candidates have?
		cands := ref.refDecoys(new(refBucketScratch), prefix, 12, ^uint64(0), nil, want)
		seen := map[uint64]bool{}
		var d, r bool
		for _, c := range cands {
			v := c.value & mask
			d = d || seen[v]
			seen[v] = true
			for _, e := range es {
				r = r || e.Key == v
			}
		}
		if d {
			dup++
		} else if r {
			real++
		}
	}
	if dup < 100 || real < 100 {
		t.Errorf("rounds whose candidates collided with each other: %d, with a real entry only: %d", dup, real)
	}
}
