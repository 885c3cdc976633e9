package private

// A reference implementation of the bucket answer: the code that served it
// before the bucket path was made fast, copied verbatim from the checker package at
// commit 4a96056 (setKey, setID, setIDBytes, PadTier, lookupBucket,
// lookupOne, decoys, sortDecoys, decoySet, the bucket half of
// appendResponse, packBits), with names prefixed "ref" and its per-index
// state in refIndex. The answer bytes are a contract: decoys are
// deterministic so that every server, replica and static export gives the
// same bytes for a bucket, and clients and CDN exports depend on that.
// TestBucketAnswerMatchesReference and FuzzBucketAnswerReference hold the
// fast path to these bytes, and BenchmarkBucketLookup times the fast path
// against this code in the same run.
//
// Do not fix or speed up anything here: it is the specification.

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// refIndex is the state Index held for bucket lookups at 4a96056.
type refIndex struct {
	idx           *hashset.Reader
	bits          int
	sets          []Set
	cum           []int64
	byKey         map[string]uint16
	bySlice       sync.Map
	padKey        [32]byte
	rangeBufs     sync.Pool
	bucketScratch sync.Pool
}

// newRefIndex takes what NewPrivate derived from the header (at 4a96056:
// byKey, cum, padKey) from p, recomputing byKey and cum as it did.
func newRefIndex(p *Index) *refIndex {
	r := &refIndex{idx: p.idx, bits: p.bits, sets: p.sets, byKey: map[string]uint16{}, padKey: p.padKey}
	var c int64
	for i, s := range p.sets {
		r.byKey[refSetKey(s.Datasets)] = uint16(i)
		c += max(s.Keys, 1)
		r.cum = append(r.cum, c)
	}
	return r
}

type refBucket struct {
	bits    int      // prefix bits p
	entries []uint64 // low 64-p bits of each key, ascending
	sets    []uint16 // set id per entry, nil when there is one set
	idBytes int      // set id width on the wire
	padded  bool
}

// refAnswer is the whole response to a bucket-only request (n = 0), or
// the lookup's error.
func (p *refIndex) refAnswer(dst []byte, prefix uint64, nbits int, pad bool, keyID [oprf.KeyIDSize]byte) ([]byte, error) {
	bk, err := p.refLookupBucket(prefix, nbits, pad)
	if err != nil {
		return nil, err
	}
	return refAppendResponse(dst, &wire.Response{Bits: nbits, Padded: pad, KeyID: keyID}, bk), nil
}

func refSetKey(ds []int) string {
	b := make([]byte, 0, 2*len(ds))
	for _, d := range ds {
		b = binary.BigEndian.AppendUint16(b, uint16(d))
	}
	return string(b)
}

func (p *refIndex) refSetID(ds []int) (uint16, bool) {
	if len(ds) == 0 {
		return 0, false
	}
	if v, ok := p.bySlice.Load(&ds[0]); ok {
		return v.(uint16), true
	}
	id, ok := p.byKey[refSetKey(ds)]
	if ok {
		p.bySlice.Store(&ds[0], id)
	}
	return id, ok
}

func (p *refIndex) refSetIDBytes() int {
	switch {
	case len(p.sets) <= 1:
		return 0
	case len(p.sets) <= 256:
		return 1
	}
	return 2
}

func (p *refIndex) refPadTier(m, bits int) int {
	lambda := float64(p.idx.Len()) / math.Exp2(float64(bits))
	t := int(math.Ceil(lambda+6*math.Sqrt(lambda))) + 8
	t = (t + 7) &^ 7
	for t < m {
		t *= 2
	}
	return t
}

func (p *refIndex) refLookupBucket(prefix uint64, nbits int, pad bool) (*refBucket, error) {
	if !pad || nbits >= p.bits || nbits < 1 || prefix>>nbits != 0 {
		return p.refLookupOne(prefix, nbits, pad)
	}
	if exp := float64(p.idx.Len()) / math.Exp2(float64(nbits)); exp > wire.MaxBucketEntries/4 {
		return nil, fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", ErrPrefix, nbits, exp)
	}
	shift := p.bits - nbits
	b := &refBucket{bits: nbits, idBytes: p.refSetIDBytes(), padded: true}
	for sub := prefix << shift; sub < (prefix+1)<<shift; sub++ {
		sb, err := p.refLookupOne(sub, p.bits, true)
		if err != nil {
			return nil, err
		}
		if len(b.entries)+len(sb.entries) > wire.MaxBucketEntries {
			return nil, fmt.Errorf("%w: over %d entries under this prefix; use more bits", ErrPrefix, wire.MaxBucketEntries)
		}
		hi := (sub & (1<<shift - 1)) << (64 - p.bits)
		for _, v := range sb.entries {
			b.entries = append(b.entries, hi|v)
		}
		if b.idBytes > 0 {
			b.sets = append(b.sets, sb.sets...)
		}
	}
	return b, nil
}

// lookupOne is lookupBucket for one bucket: unpadded at any length, or
// padded at B bits.
func (p *refIndex) refLookupOne(prefix uint64, nbits int, pad bool) (*refBucket, error) {
	if nbits < 1 || nbits > p.bits {
		return nil, fmt.Errorf("%w: %d bits, this index takes 1..%d", ErrPrefix, nbits, p.bits)
	}
	if prefix>>nbits != 0 {
		return nil, fmt.Errorf("%w: prefix does not fit in %d bits", ErrPrefix, nbits)
	}
	if exp := float64(p.idx.Len()) / math.Exp2(float64(nbits)); exp > wire.MaxBucketEntries/4 {
		return nil, fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", ErrPrefix, nbits, exp)
	}
	bufp, _ := p.rangeBufs.Get().(*[]hashset.Entry)
	if bufp == nil {
		bufp = new([]hashset.Entry)
	}
	es, err := p.idx.AppendRange((*bufp)[:0], prefix, nbits)
	defer func() {
		if cap(es) <= 1<<16 {
			*bufp = es[:0]
			p.rangeBufs.Put(bufp)
		}
	}()
	if err != nil {
		return nil, err
	}
	if len(es) > wire.MaxBucketEntries {
		return nil, fmt.Errorf("%w: %d entries under this prefix; use more bits", ErrPrefix, len(es))
	}
	b := &refBucket{bits: nbits, idBytes: p.refSetIDBytes(), padded: pad}
	mask := ^uint64(0) >> nbits
	n := len(es)
	if pad {
		n = p.refPadTier(len(es), nbits)
	}
	b.entries = make([]uint64, 0, n)
	if b.idBytes > 0 {
		b.sets = make([]uint16, 0, n)
	}
	add := func(v uint64, set uint16) {
		b.entries = append(b.entries, v)
		if b.sets != nil {
			b.sets = append(b.sets, set)
		}
	}
	sc, _ := p.bucketScratch.Get().(*refBucketScratch)
	if sc == nil {
		sc = new(refBucketScratch)
	}
	defer func() {
		if cap(sc.sets) <= 1<<16 && cap(sc.ds) <= 1<<16 {
			p.bucketScratch.Put(sc)
		}
	}()
	sets := slices.Grow(sc.sets[:0], len(es))[:len(es)]
	sc.sets = sets
	var last []int // entries of one set share its slice: look it up once
	var lastID uint16
	for i, e := range es {
		if len(e.Datasets) == 0 || len(e.Datasets) != len(last) || &e.Datasets[0] != &last[0] {
			id, ok := p.refSetID(e.Datasets)
			if !ok {
				return nil, fmt.Errorf("%w: a key's datasets are not in the header's sets", hashset.ErrCorrupt)
			}
			last, lastID = e.Datasets, id
		}
		sets[i] = lastID
		if i > 0 && e.Key <= es[i-1].Key {
			return nil, fmt.Errorf("%w: keys out of order", hashset.ErrCorrupt)
		}
	}
	if n == len(es) {
		for i, e := range es {
			add(e.Key&mask, sets[i])
		}
		return b, nil
	}
	// Decoys: n-len(es) pseudorandom values distinct from each other and
	// from the real entries (see above), merged into the real ones
	// (ascending, as the index keeps them).
	decoys := p.refDecoys(sc, prefix, nbits, mask, es, n-len(es))
	i, j := 0, 0
	for i < len(es) || j < len(decoys) {
		if j == len(decoys) || i < len(es) && es[i].Key&mask < decoys[j].value {
			add(es[i].Key&mask, sets[i])
			i++
		} else {
			add(decoys[j].value, decoys[j].set)
			j++
		}
	}
	return b, nil
}

type refDecoy struct {
	value uint64
	set   uint16
}

// bucketScratch is the scratch space of a bucket lookup.
type refBucketScratch struct {
	sets   []uint16
	ds     []refDecoy
	packed []uint64
	dsets  []uint16
}

// refDecoys returns the want decoys of a bucket, sorted by value. Each
// candidate takes two words of the stream, a value and a set id draw;
// a candidate that collides with a real entry or an earlier one, about
// n²/2^(64-p) likely, is skipped.
func (p *refIndex) refDecoys(sc *refBucketScratch, prefix uint64, nbits int, mask uint64, es []hashset.Entry, want int) []refDecoy {
	var in [32 + 9]byte
	copy(in[:], p.padKey[:])
	binary.BigEndian.PutUint64(in[32:], prefix)
	in[40] = byte(nbits)
	rng := rand.NewChaCha8(sha256.Sum256(in[:]))
	next := func() refDecoy { return refDecoy{value: rng.Uint64() & mask, set: p.refDecoySet(rng.Uint64())} }
	real := func(v uint64) bool {
		_, found := slices.BinarySearchFunc(es, v, func(e hashset.Entry, v uint64) int { return refCompareU64(e.Key&mask, v) })
		return found
	}
	// Fast path: the first want candidates, if none collides.
	ds := slices.Grow(sc.ds[:0], want)[:want]
	sc.ds = ds
	for i := range ds {
		ds[i] = next()
	}
	sc.refSortDecoys(ds, 64-nbits)
	// Collisions, by one merge walk over the sorted decoys and the real
	// entries (ascending under the mask: they share the prefix).
	ok := true
	j := 0
	for i, d := range ds {
		if i > 0 && d.value == ds[i-1].value {
			ok = false
			break
		}
		for j < len(es) && es[j].Key&mask < d.value {
			j++
		}
		if j < len(es) && es[j].Key&mask == d.value {
			ok = false
			break
		}
	}
	if ok {
		return ds
	}
	// Slow path: the same stream from the start, skipping collisions.
	rng = rand.NewChaCha8(sha256.Sum256(in[:]))
	seen := make(map[uint64]bool, want)
	ds = ds[:0]
	for len(ds) < want {
		d := next()
		if seen[d.value] || real(d.value) {
			continue
		}
		seen[d.value] = true
		ds = append(ds, d)
	}
	sc.refSortDecoys(ds, 64-nbits)
	return ds
}

func refByValue(a, b refDecoy) int { return refCompareU64(a.value, b.value) }

// sortDecoys sorts ds by value (vbits wide). When a value and an index
// into ds fit in 64 bits together, it sorts those as plain integers,
// several times faster than with a comparison function.
func (sc *refBucketScratch) refSortDecoys(ds []refDecoy, vbits int) {
	ib := bits.Len(uint(len(ds)))
	if vbits+ib > 64 || len(ds) < 2 {
		slices.SortFunc(ds, refByValue)
		return
	}
	sc.packed = slices.Grow(sc.packed[:0], len(ds))
	sc.dsets = slices.Grow(sc.dsets[:0], len(ds))
	for i, d := range ds {
		sc.packed = append(sc.packed, d.value<<ib|uint64(i))
		sc.dsets = append(sc.dsets, d.set)
	}
	slices.Sort(sc.packed)
	m := uint64(1)<<ib - 1
	for k, v := range sc.packed {
		ds[k] = refDecoy{value: v >> ib, set: sc.dsets[v&m]}
	}
}

func refCompareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// decoySet turns a random word into a set id drawn with the weights of
// the sets' key counts.
func (p *refIndex) refDecoySet(r uint64) uint16 {
	if len(p.cum) <= 1 {
		return 0
	}
	x := int64(r % uint64(p.cum[len(p.cum)-1]))
	i, _ := slices.BinarySearch(p.cum, x+1)
	return uint16(min(i, len(p.cum)-1))
}

func refAppendResponse(dst []byte, r *wire.Response, bk *refBucket) []byte {
	var flags byte
	if r.Padded {
		flags |= 1
	}
	dst = append(dst, wire.Version, wire.Suite, byte(r.Bits), flags)
	dst = append(dst, r.KeyID[:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.Evaluated)/oprf.ElementSize))
	dst = append(dst, r.Evaluated...)
	dst = append(dst, r.Proof...)
	if bk == nil {
		bk = &refBucket{}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(bk.entries)))
	dst = append(dst, byte(bk.idBytes))
	if len(bk.entries) > 0 {
		dst = refPackBits(dst, bk.entries, 64-r.Bits)
	}
	for i := range bk.entries {
		switch bk.idBytes {
		case 1:
			dst = append(dst, byte(bk.sets[i]))
		case 2:
			dst = binary.BigEndian.AppendUint16(dst, bk.sets[i])
		}
	}
	return dst
}

func refPackBits(dst []byte, vals []uint64, w int) []byte {
	var acc uint64 // holds nacc pending bits, right-aligned
	nacc := 0
	for _, v := range vals {
		v &= ^uint64(0) >> (64 - w)
		// Emit whole bytes of (acc, v) without overflowing acc.
		for rem := w; rem > 0; {
			take := min(rem, 56-nacc)
			acc = acc<<take | v>>(rem-take)&(1<<take-1)
			nacc += take
			rem -= take
			for nacc >= 8 {
				dst = append(dst, byte(acc>>(nacc-8)))
				nacc -= 8
			}
			acc &= 1<<nacc - 1
		}
	}
	if nacc > 0 {
		dst = append(dst, byte(acc<<(8-nacc)))
	}
	return dst
}
