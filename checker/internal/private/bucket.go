package private

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// ErrPrefix is wrapped by bucket errors a client caused.
var ErrPrefix = errors.New("bad prefix")

// lookupBucket returns the entries of the keys whose top bits bits are
// prefix, padded with decoys to [Index.PadTier] if pad: the
// bucket section [Index.AppendBucket] writes, decoded.
func (p *Index) lookupBucket(prefix uint64, nbits int, pad bool) (*wire.Bucket, error) {
	sec, err := p.AppendBucket(nil, prefix, nbits, pad)
	if err != nil {
		return nil, err
	}
	return wire.ParseBucket(sec, nbits, pad)
}

// AppendBucket appends the bucket section of an answer (m, w, the packed
// entries, their set ids: see the wire package) for the keys whose
// top bits bits are prefix, padded with decoys to [Index.PadTier]
// if pad. On an error it returns dst unchanged.
//
// Decoys are a deterministic function of the index's padding key and the
// prefix: the first n-m values of a ChaCha8 stream seeded with
// SHA-256(padKey || uint64be(prefix) || bits) that collide neither with a
// real entry nor with an earlier decoy, each with a set id drawn from the
// same stream. So a bucket is the same bytes from every server, replica
// and static export of the index, on every request: comparing two answers
// (a CDN's and a server's, two servers', two days') cannot strip the
// decoys, as it could if they were drawn afresh each time. And an update
// of the index that adds a real entry to a bucket drops that bucket's last
// decoy and keeps the others. These bytes are a contract, held by
// TestBucketAnswerMatchesReference to the code that first served them.
//
// Decoys exist at B bits only: a padded bucket of p < B bits is the union
// of its 2^(B-p) padded B-bit buckets, in order. Were a shorter bucket
// padded with its own decoys, the entries it shares with its sub-buckets
// would be exactly the real ones, and intersecting two lengths would strip
// every decoy. So every length shows the same decoys, and a p-bit answer
// holds as many entries as the sum of its sub-buckets' tiers.
func (p *Index) AppendBucket(dst []byte, prefix uint64, nbits int, pad bool) ([]byte, error) {
	sc, _ := p.bucketScratch.Get().(*bucketScratch)
	if sc == nil {
		sc = new(bucketScratch)
	}
	defer func() {
		sc.pk.Buf = nil // the caller's
		if sc.small() {
			p.bucketScratch.Put(sc)
		}
	}()
	start := len(dst)
	idBytes := p.setIDBytes()
	sc.pk = wire.BitPacker{Buf: wire.BeginBucketSection(dst, idBytes), W: uint(64 - nbits)}
	sc.out = sc.out[:0]
	sc.idBytes = idBytes
	m := 0
	if !pad || nbits >= p.bits || nbits < 1 || prefix>>nbits != 0 {
		n, err := p.packBucket(sc, prefix, nbits, pad, 0, -1)
		if err != nil {
			return dst[:start], err
		}
		m = n
	} else {
		if wire.BucketTooLarge(p.idx.Len(), nbits) {
			exp := float64(p.idx.Len()) / math.Exp2(float64(nbits))
			return dst[:start], fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", ErrPrefix, nbits, exp)
		}
		shift := p.bits - nbits
		for sub := prefix << shift; sub < (prefix+1)<<shift; sub++ {
			hi := (sub & (1<<shift - 1)) << (64 - p.bits)
			n, err := p.packBucket(sc, sub, p.bits, true, hi, m)
			if err != nil {
				return dst[:start], err
			}
			m += n
		}
	}
	dst = sc.pk.Flush()
	wire.EndBucketSection(dst[start:], m)
	return append(dst, sc.out...), nil
}

// BucketSizeHint is about the size of a bucket section (room for most to
// be appended without growing), at most 1 MiB.
func (p *Index) BucketSizeHint(nbits int, pad bool) int {
	if nbits < 1 || nbits > p.bits {
		return 5
	}
	var n float64
	if pad {
		n = float64(p.PadTier(0, p.bits)) * math.Exp2(float64(p.bits-nbits))
	} else {
		lambda := float64(p.idx.Len()) / math.Exp2(float64(nbits))
		n = lambda + 4*math.Sqrt(lambda) + 8
	}
	return int(min(5+8+n*(float64(64-nbits)/8+float64(p.setIDBytes())), 1<<20))
}

// packBucket packs one bucket, unpadded at any length or padded at B
// bits, into sc.pk (each value or'ed with hi) and its set ids into sc.out,
// and returns its number of entries. have >= 0 is the number of entries
// packed before, in a union of buckets: packBucket refuses a bucket that
// takes the total over wire.MaxBucketEntries.
func (p *Index) packBucket(sc *bucketScratch, prefix uint64, nbits int, pad bool, hi uint64, have int) (int, error) {
	if nbits < 1 || nbits > p.bits {
		return 0, fmt.Errorf("%w: %d bits, this index takes 1..%d", ErrPrefix, nbits, p.bits)
	}
	if prefix>>nbits != 0 {
		return 0, fmt.Errorf("%w: prefix does not fit in %d bits", ErrPrefix, nbits)
	}
	if wire.BucketTooLarge(p.idx.Len(), nbits) {
		exp := float64(p.idx.Len()) / math.Exp2(float64(nbits))
		return 0, fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", ErrPrefix, nbits, exp)
	}
	keys, rids, err := p.idx.AppendRangeIDs(sc.keys[:0], sc.rids[:0], prefix, nbits)
	sc.keys, sc.rids = keys, rids
	if err != nil {
		return 0, err
	}
	if len(keys) > wire.MaxBucketEntries {
		return 0, fmt.Errorf("%w: %d entries under this prefix; use more bits", ErrPrefix, len(keys))
	}
	// Set ids, in place of the file's; order; the keys become their low
	// bits (all share the prefix, so their order stays).
	mask := ^uint64(0) >> nbits
	sets := rids
	setOf := p.setOf
	var prev uint64
	for i, rid := range rids {
		if uint64(rid) >= uint64(len(setOf)) || setOf[rid] < 0 {
			return 0, fmt.Errorf("%w: a key's datasets are not in the header's sets", hashset.ErrCorrupt)
		}
		sets[i] = uint32(setOf[rid])
		k := keys[i]
		if i > 0 && k <= prev {
			return 0, fmt.Errorf("%w: keys out of order", hashset.ErrCorrupt)
		}
		prev = k
		keys[i] = k & mask
	}
	n := len(keys)
	if pad {
		n = p.PadTier(len(keys), nbits)
	}
	if have >= 0 && have+n > wire.MaxBucketEntries {
		return 0, fmt.Errorf("%w: over %d entries under this prefix; use more bits", ErrPrefix, wire.MaxBucketEntries)
	}
	keys = slices.Grow(keys, 1) // room for mergePack's sentinel
	sc.keys = keys
	sets = slices.Grow(sets, 1)
	sc.rids = sets
	p.packPadded(sc, prefix, nbits, mask, keys, sets, n-len(keys), hi)
	return n, nil
}

// packPadded packs the real entries of a bucket (keys, its low bits under
// mask, ascending, with their set ids; room for one more in each) and
// want decoys, merged, or'ed with hi. Decoys are want pseudorandom values
// distinct from each other and from the real entries (see AppendBucket).
func (p *Index) packPadded(sc *bucketScratch, prefix uint64, nbits int, mask uint64, keys []uint64, sets []uint32, want int, hi uint64) {
	var ds []decoy
	if want > 0 {
		ds = p.decoyCandidates(sc, prefix, nbits, mask, want)
	}
	pk, out := sc.pk, len(sc.out)
	if dupDecoys(ds) || sc.mergePack(keys, sets, ds, hi) {
		sc.pk, sc.out = pk, sc.out[:out]
		ds = p.decoysSlow(sc, prefix, nbits, mask, keys, want)
		sc.mergePack(keys, sets, ds, hi)
	}
}

type decoy struct {
	value uint64
	set   uint16
}

// bucketScratch is the scratch space of a bucket lookup.
type bucketScratch struct {
	keys    []uint64 // real keys of a bucket
	rids    []uint32 // and their sets in the file, then their set ids
	ds, tmp []decoy
	counts  []uint32
	rng     rand.ChaCha8
	pk      wire.BitPacker // the answer's entries
	out     []byte         // the answer's set ids
	idBytes int            // their width
}

// small says whether the scratch is worth keeping for the next lookup.
func (sc *bucketScratch) small() bool {
	return cap(sc.keys) <= 1<<16 && cap(sc.ds) <= 1<<16 && cap(sc.out) <= 1<<17
}

// mergePack packs the real entries (keys, below 2^64-1 and ascending,
// with their set ids) and the decoys (sorted), merged, each value or'ed
// with hi, into sc.pk and their set ids into sc.out; and says whether a
// decoy equals a real entry (then what it packed is no valid bucket).
// keys and sets must have room for one more element past their length:
// keys' holds a sentinel, so that the loop over real entries needs no
// bounds check.
func (sc *bucketScratch) mergePack(keys []uint64, sets []uint32, ds []decoy, hi uint64) (collides bool) {
	nk := len(keys)
	n := nk + len(ds)
	keys = keys[:nk+1]
	keys[nk] = math.MaxUint64
	sets = sets[:nk+1]
	// The packer's state and the set ids' in locals, the buffers grown
	// to what n entries take: whole words of entries, ids of idBytes
	// written as 2 bytes (the second overwritten by the next id when
	// idBytes is 1; all at one place when it is 0).
	buf, acc, pn, w := sc.pk.Buf, sc.pk.Acc, sc.pk.N, sc.pk.W
	o := len(buf)
	buf = slices.Grow(buf, (n*int(w)+63)/64*8+8)
	buf = buf[:cap(buf)]
	idb := sc.idBytes
	out := slices.Grow(sc.out, n*idb+2)
	io := len(out)
	out = out[:cap(out)]
	sh := uint(0)
	if idb == 1 {
		sh = 8
	}
	put := func(v uint64, s uint16) {
		v |= hi
		if pn+w < 64 {
			acc |= v << (64 - pn - w)
			pn += w
		} else {
			r := pn + w - 64 // bits of v that do not fit
			binary.BigEndian.PutUint64(buf[o:], acc|v>>r)
			o += 8
			acc = v << (64 - r) // 0 when r == 0
			pn = r
		}
		binary.BigEndian.PutUint16(out[io:], s<<sh)
		io += idb
	}
	i := 0
	for _, d := range ds {
		for keys[i] < d.value {
			put(keys[i], uint16(sets[i]))
			i++
		}
		collides = collides || keys[i] == d.value
		put(d.value, d.set)
	}
	for ; i < nk; i++ {
		put(keys[i], uint16(sets[i]))
	}
	sc.pk.Buf, sc.pk.Acc, sc.pk.N = buf[:o], acc, pn
	sc.out = out[:io]
	return collides
}
