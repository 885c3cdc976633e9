package checker

// The private (OPRF) index, sealing a plain index into one, and the wire
// format of private queries. No circl type appears here: the group
// operations and sealing's F_k are in the OPRF package (a seal path
// proven equal to circl's).

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/hashset"
)

// PrivateScheme is the key scheme of a private index: key =
// bucket<<(64-B) | tag, where bucket is the top B bits of the plain [Key]
// and tag the top 64-B bits of F_k([OPRFInputLabel] || 8 big-endian bytes
// of the plain key), F_k being the RFC 9497 VOPRF of [OPRFSuite] under the
// server's key.
const PrivateScheme = "phonecheck-voprf-r255-v1"

// DefaultBucketBits is B, the bucket width of a private index, when
// [SealOptions].BucketBits is 0: the 20 bits Have I Been Pwned uses.
const DefaultBucketBits = 20

// Header (Meta.Info) keys of a private index.
const (
	InfoBucketBits = "phonecheck.private.bucket_bits" // B, decimal
	InfoKeyID      = "phonecheck.private.key_id"      // 16 hex digits
	InfoPublicKey  = "phonecheck.private.public_key"  // 64 hex digits
	InfoSuite      = "phonecheck.private.suite"       // OPRFSuite
	InfoInput      = "phonecheck.private.input"       // how an OPRF input is made
	InfoSets       = "phonecheck.private.sets"        // JSON of []PrivateSet
	InfoPlainKeys  = "phonecheck.private.plain_keys"  // keys of the plain index sealed
	// InfoPadSeed seeds the decoys of padded buckets (64 hex digits):
	// SHA-256 of padSeedLabel and the secret key, so that re-sealing under
	// the same key gives the same decoys and the seed says nothing of the
	// key. Whoever knows it can tell decoys from real entries, which only
	// whoever holds the index can anyway; nothing serves it.
	InfoPadSeed = "phonecheck.private.pad_seed"
)

// padSeedLabel and padKeyLabel separate the hashes that make the padding
// key.
const (
	padSeedLabel = "phonecheck private padding seed v1\x00"
	padKeyLabel  = "phonecheck private padding v1\x00"
)

// Errors of the private index.
var (
	// ErrKeyMismatch is returned when a private index was sealed under
	// another key than the one given.
	ErrKeyMismatch = errors.New("checker: private index sealed under another key")
	// ErrNotPrivate is returned for an index that is not a private index.
	ErrNotPrivate = errors.New("checker: not a private index")
)

// PrivateSet is one set of datasets that holds some keys: provenance in a
// private index is a set id per key, an index into the index-wide list of
// sets that the key endpoint publishes. Keys counts the plain keys of the
// set; decoys draw their set ids with these weights, so that a decoy's set
// id says nothing about it being a decoy.
type PrivateSet struct {
	Datasets []int `json:"datasets"`
	Keys     int64 `json:"keys"`
}

// # Private index

// PrivateIndex is an open private index. It is safe for concurrent use by
// multiple goroutines.
type PrivateIndex struct {
	idx      *hashset.Reader
	owned    bool
	bits     int
	keyID    string
	datasets []Dataset
	sets     []PrivateSet
	cum      []int64 // cumulative Keys of sets, for decoy set ids
	// cumTotal is cum's last value and cumRecip 2^64/cumTotal, rounded
	// down, when cum increases from 1 (a sane header): decoySet then
	// takes its remainder by a multiplication.
	cumTotal, cumRecip uint64
	// setOf maps a set of the file (an index into idx.Sets()) to the
	// header's set id with the same datasets, or -1 if none has them.
	setOf []int32
	// padKey seeds the decoys of each bucket (see lookupBucket);
	// padFixed says it comes from the index (InfoPadSeed), not from a
	// random draw at open (an index sealed before the seed existed).
	padKey   [32]byte
	padFixed bool
	// bucketScratch recycles the scratch of bucket lookups (*bucketScratch).
	bucketScratch sync.Pool
}

// NewPrivate returns a PrivateIndex over an open private index. If key is
// not nil, the index must have been sealed under it ([ErrKeyMismatch]).
// Closing the PrivateIndex does not close idx.
func NewPrivate(idx *hashset.Reader, key *OPRFKey) (*PrivateIndex, error) {
	m := idx.Meta()
	if m.KeyScheme != PrivateScheme {
		return nil, fmt.Errorf("%w: key scheme %q (want %q)", ErrNotPrivate, m.KeyScheme, PrivateScheme)
	}
	b, err := strconv.Atoi(m.Info[InfoBucketBits])
	if err != nil || b < 1 || b > 32 {
		return nil, fmt.Errorf("%w: bucket bits %q", ErrNotPrivate, m.Info[InfoBucketBits])
	}
	if m.Info[InfoSuite] != OPRFSuite {
		return nil, fmt.Errorf("%w: suite %q (want %q)", ErrNotPrivate, m.Info[InfoSuite], OPRFSuite)
	}
	p := &PrivateIndex{idx: idx, bits: b, keyID: m.Info[InfoKeyID]}
	if key != nil && key.ID() != p.keyID {
		return nil, fmt.Errorf("%w: index key id %s, key file id %s", ErrKeyMismatch, p.keyID, key.ID())
	}
	if err := json.Unmarshal([]byte(m.Info[InfoSets]), &p.sets); err != nil || len(p.sets) > math.MaxUint16+1 {
		return nil, fmt.Errorf("%w: bad dataset sets in header", ErrNotPrivate)
	}
	var c int64
	byKey := map[string]uint16{}
	for i, s := range p.sets {
		for _, d := range s.Datasets {
			if d < 0 || d >= len(m.Datasets) {
				return nil, fmt.Errorf("%w: dataset set %d names dataset %d of %d", ErrNotPrivate, i, d, len(m.Datasets))
			}
		}
		byKey[setKey(s.Datasets)] = uint16(i)
		c += max(s.Keys, 1)
		p.cum = append(p.cum, c)
	}
	p.initCum()
	// A key's set id, by the datasets of its set in the file: a set of
	// the file that the header lacks makes its keys' buckets corrupt.
	for _, ds := range idx.Sets() {
		id, ok := byKey[setKey(ds)]
		if !ok || len(ds) == 0 {
			p.setOf = append(p.setOf, -1)
			continue
		}
		p.setOf = append(p.setOf, int32(id))
	}
	for _, d := range m.Datasets {
		p.datasets = append(p.datasets, Dataset{Name: d.Name, Date: d.Date, Source: d.Source})
	}
	if hs, ok := m.Info[InfoPadSeed]; ok {
		seed, err := hex.DecodeString(hs)
		if err != nil || len(seed) != sha256.Size {
			return nil, fmt.Errorf("%w: malformed padding seed in header", hashset.ErrCorrupt)
		}
		p.padKey = sha256.Sum256(append([]byte(padKeyLabel), seed...))
		p.padFixed = true
	} else if _, err := crand.Read(p.padKey[:]); err != nil {
		return nil, err
	}
	return p, nil
}

// DeterministicPadding reports whether the decoys of a padded bucket are a
// function of the index and the prefix (an index sealed with a padding
// seed), so that every server and every export of the index pads a bucket
// with the same decoys. For an older index they are drawn at random once
// per open: seal it again.
func (p *PrivateIndex) DeterministicPadding() bool { return p.padFixed }

// OpenPrivate opens the private index at path. A server passes its key:
// an index sealed under another key is refused ([ErrKeyMismatch]).
func OpenPrivate(path string, key *OPRFKey) (*PrivateIndex, error) {
	idx, err := hashset.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p, err := NewPrivate(idx, key)
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.owned = true
	return p, nil
}

// Close releases the index if OpenPrivate opened it.
func (p *PrivateIndex) Close() error {
	if p.owned {
		return p.idx.Close()
	}
	return nil
}

// Index returns the underlying index.
func (p *PrivateIndex) Index() *hashset.Reader { return p.idx }

// BucketBits returns B.
func (p *PrivateIndex) BucketBits() int { return p.bits }

// KeyID returns the id of the key the index was sealed under.
func (p *PrivateIndex) KeyID() string { return p.keyID }

// Datasets lists the datasets of the index, in index order.
func (p *PrivateIndex) Datasets() []Dataset { return p.datasets }

// Sets returns the index-wide list of dataset sets; set ids in responses
// index it.
func (p *PrivateIndex) Sets() []PrivateSet { return p.sets }

func setKey(ds []int) string {
	b := make([]byte, 0, 2*len(ds))
	for _, d := range ds {
		b = binary.BigEndian.AppendUint16(b, uint16(d))
	}
	return string(b)
}

// setIDBytes is the width of a set id on the wire: 0 when there is one
// set, 1 up to 256 sets, else 2.
func (p *PrivateIndex) setIDBytes() int {
	switch {
	case len(p.sets) <= 1:
		return 0
	case len(p.sets) <= 256:
		return 1
	}
	return 2
}

// PadTier returns the number of entries a padded answer for a prefix of
// the given bits holds when the real bucket holds m: the smallest tier
// above m, where the first tier is the expected bucket size plus six
// standard deviations (so nearly every bucket pads to the same size), and
// tiers double from there.
func (p *PrivateIndex) PadTier(m, bits int) int {
	lambda := float64(p.idx.Len()) / math.Exp2(float64(bits))
	t := int(math.Ceil(lambda+6*math.Sqrt(lambda))) + 8
	t = (t + 7) &^ 7
	for t < m {
		t *= 2
	}
	return t
}

// bucket is one answer's bucket section, decoded (a client's view of an
// answer; the server writes the section straight from the index, with
// appendBucket).
type bucket struct {
	bits    int      // prefix bits p
	entries []uint64 // low 64-p bits of each key, ascending
	sets    []uint16 // set id per entry, nil when there is one set
	idBytes int      // set id width on the wire
	padded  bool
}

// maxBucketEntries caps a bucket answer; a prefix so short that its range
// holds more is refused.
const maxBucketEntries = 1 << 20

// errPrefix is wrapped by bucket errors a client caused.
var errPrefix = errors.New("bad prefix")

// lookupBucket returns the entries of the keys whose top bits bits are
// prefix, padded with decoys to [PrivateIndex.PadTier] if pad: the
// bucket section appendBucket writes, decoded.
func (p *PrivateIndex) lookupBucket(prefix uint64, nbits int, pad bool) (*bucket, error) {
	sec, err := p.appendBucket(nil, prefix, nbits, pad)
	if err != nil {
		return nil, err
	}
	return parseBucket(sec, nbits, pad)
}

// appendBucket appends the bucket section of an answer (m, w, the packed
// entries, their set ids: see the wire format below) for the keys whose
// top bits bits are prefix, padded with decoys to [PrivateIndex.PadTier]
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
func (p *PrivateIndex) appendBucket(dst []byte, prefix uint64, nbits int, pad bool) ([]byte, error) {
	sc, _ := p.bucketScratch.Get().(*bucketScratch)
	if sc == nil {
		sc = new(bucketScratch)
	}
	defer func() {
		sc.pk.buf = nil // the caller's
		if sc.small() {
			p.bucketScratch.Put(sc)
		}
	}()
	start := len(dst)
	idBytes := p.setIDBytes()
	sc.pk = bitPacker{buf: append(dst, 0, 0, 0, 0, byte(idBytes)), w: uint(64 - nbits)}
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
		if exp := float64(p.idx.Len()) / math.Exp2(float64(nbits)); exp > maxBucketEntries/4 {
			return dst[:start], fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", errPrefix, nbits, exp)
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
	dst = sc.pk.flush()
	binary.BigEndian.PutUint32(dst[start:], uint32(m))
	return append(dst, sc.out...), nil
}

// bucketSizeHint is about the size of a bucket section (room for most to
// be appended without growing), at most 1 MiB.
func (p *PrivateIndex) bucketSizeHint(nbits int, pad bool) int {
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
// takes the total over maxBucketEntries.
func (p *PrivateIndex) packBucket(sc *bucketScratch, prefix uint64, nbits int, pad bool, hi uint64, have int) (int, error) {
	if nbits < 1 || nbits > p.bits {
		return 0, fmt.Errorf("%w: %d bits, this index takes 1..%d", errPrefix, nbits, p.bits)
	}
	if prefix>>nbits != 0 {
		return 0, fmt.Errorf("%w: prefix does not fit in %d bits", errPrefix, nbits)
	}
	if exp := float64(p.idx.Len()) / math.Exp2(float64(nbits)); exp > maxBucketEntries/4 {
		return 0, fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", errPrefix, nbits, exp)
	}
	keys, rids, err := p.idx.AppendRangeIDs(sc.keys[:0], sc.rids[:0], prefix, nbits)
	sc.keys, sc.rids = keys, rids
	if err != nil {
		return 0, err
	}
	if len(keys) > maxBucketEntries {
		return 0, fmt.Errorf("%w: %d entries under this prefix; use more bits", errPrefix, len(keys))
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
	if have >= 0 && have+n > maxBucketEntries {
		return 0, fmt.Errorf("%w: over %d entries under this prefix; use more bits", errPrefix, maxBucketEntries)
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
// distinct from each other and from the real entries (see appendBucket).
func (p *PrivateIndex) packPadded(sc *bucketScratch, prefix uint64, nbits int, mask uint64, keys []uint64, sets []uint32, want int, hi uint64) {
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
	pk      bitPacker // the answer's entries
	out     []byte    // the answer's set ids
	idBytes int       // their width
}

// small says whether the scratch is worth keeping for the next lookup.
func (sc *bucketScratch) small() bool {
	return cap(sc.keys) <= 1<<16 && cap(sc.ds) <= 1<<16 && cap(sc.out) <= 1<<17
}

// decoys returns the want decoys of a bucket, sorted by value. Each
// candidate takes two words of the stream, a value and a set id draw;
// a candidate that collides with a real entry (keys under mask,
// ascending) or an earlier candidate, about n²/2^(64-p) likely, is
// skipped. (packBucket takes the same steps, with the check for real
// entries in its merge.)
func (p *PrivateIndex) decoys(sc *bucketScratch, prefix uint64, nbits int, mask uint64, keys []uint64, want int) []decoy {
	ds := p.decoyCandidates(sc, prefix, nbits, mask, want)
	if !dupDecoys(ds) && !realDecoys(keys, ds, mask) {
		return ds
	}
	return p.decoysSlow(sc, prefix, nbits, mask, keys, want)
}

// decoySeed seeds the stream of a bucket's decoys.
func (p *PrivateIndex) decoySeed(prefix uint64, nbits int) [32]byte {
	var in [32 + 9]byte
	copy(in[:], p.padKey[:])
	binary.BigEndian.PutUint64(in[32:], prefix)
	in[40] = byte(nbits)
	return sha256.Sum256(in[:])
}

// decoyCandidates returns the first want candidates of a bucket's
// stream, sorted by value: its decoys if none collides.
func (p *PrivateIndex) decoyCandidates(sc *bucketScratch, prefix uint64, nbits int, mask uint64, want int) []decoy {
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
func (p *PrivateIndex) decoysSlow(sc *bucketScratch, prefix uint64, nbits int, mask uint64, keys []uint64, want int) []decoy {
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
	buf, acc, pn, w := sc.pk.buf, sc.pk.acc, sc.pk.n, sc.pk.w
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
	sc.pk.buf, sc.pk.acc, sc.pk.n = buf[:o], acc, pn
	sc.out = out[:io]
	return collides
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
func (p *PrivateIndex) initCum() {
	p.cumTotal, p.cumRecip = 0, 0
	if len(p.cum) > 1 && slices.IsSorted(p.cum) && p.cum[0] >= 1 && p.cum[len(p.cum)-1] >= 2 {
		p.cumTotal = uint64(p.cum[len(p.cum)-1])
		p.cumRecip, _ = bits.Div64(1, 0, p.cumTotal)
	}
}

// decoySet turns a random word into a set id drawn with the weights of
// the sets' key counts.
func (p *PrivateIndex) decoySet(r uint64) uint16 {
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

// bitPacker packs values of w bits (0 < w <= 64), most significant bit
// first, into buf.
type bitPacker struct {
	buf []byte
	acc uint64 // n pending bits, at the top
	n   uint
	w   uint
}

// putAll packs hi|v for each v of vals (hi|v < 1<<w).
func (b *bitPacker) putAll(vals []uint64, hi uint64) {
	buf, acc, n, w := b.buf, b.acc, b.n, b.w
	o := len(buf)
	// Whole words only: at most len(vals)*w+n bits, n < 64.
	buf = slices.Grow(buf, (len(vals)*int(w)+63)/64*8+8)
	buf = buf[:cap(buf)]
	for _, v := range vals {
		v |= hi
		if n+w < 64 {
			acc |= v << (64 - n - w)
			n += w
			continue
		}
		r := n + w - 64 // bits of v that do not fit
		binary.BigEndian.PutUint64(buf[o:], acc|v>>r)
		o += 8
		acc = v << (64 - r) // 0 when r == 0
		n = r
	}
	b.buf, b.acc, b.n = buf[:o], acc, n
}

// flush writes the pending bits, zero-padded to a byte, and returns buf.
func (b *bitPacker) flush() []byte {
	for ; b.n > 0; b.n -= min(b.n, 8) {
		b.buf = append(b.buf, byte(b.acc>>56))
		b.acc <<= 8
	}
	return b.buf
}

// # Sealing

// SealOptions configure [Seal].
type SealOptions struct {
	Key        *OPRFKey
	BucketBits int // B: 0 means DefaultBucketBits; 8..32
	Workers    int // goroutines computing F_k: 0 means one per core
	Created    string
	// Progress, if set, is called now and then with the plain keys done
	// and the total, from one goroutine.
	Progress func(done, total int64)
}

// SealReport says what [Seal] did.
type SealReport struct {
	PlainKeys  int64         // keys of the plain index
	Keys       int64         // keys of the private index
	Collisions int64         // plain keys that fell on another's private key (merged)
	Sets       int           // distinct dataset sets
	Bytes      int64         // file size
	Elapsed    time.Duration // computing F_k, sorting and writing
	PerSecond  float64       // plain keys sealed per second
	Workers    int
	BucketBits int
	KeyID      string
	// MeanBucket is the mean number of keys per bucket. Below about 1,
	// which buckets are empty says which prefixes hold exposed numbers:
	// serve such an index padded (the default) or seal with fewer bits.
	MeanBucket float64
}

// sealChunkBits splits the plain index into 1<<sealChunkBits ranges read
// one at a time, so that memory beyond the builder stays small.
const sealChunkBits = 12

// Seal reads every key of a plain index (built under [HashScheme]),
// computes its private key under opts.Key with opts.Workers goroutines,
// and writes the private index to w. Provenance carries over: each key
// keeps the datasets that hold it. Datasets' per-country counts are kept
// in their Stats as "country:CC".
//
// The private index needs the plain one, never the raw datasets; it is as
// sensitive as the plain index to whoever also holds the key, and reveals
// only bucket sizes to anyone else.
func Seal(ctx context.Context, plain *hashset.Reader, w io.Writer, opts SealOptions) (*SealReport, error) {
	b, rep, err := seal(ctx, plain, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := b.Write(w)
	return finishSeal(rep, st, err, start)
}

// SealFile is [Seal] writing the index to path atomically, owner-only (see
// hashset.Builder.WriteFile).
func SealFile(ctx context.Context, plain *hashset.Reader, path string, opts SealOptions) (*SealReport, error) {
	b, rep, err := seal(ctx, plain, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := b.WriteFile(path)
	return finishSeal(rep, st, err, start)
}

func finishSeal(rep *SealReport, st hashset.BuildStats, err error, start time.Time) (*SealReport, error) {
	if err != nil {
		return nil, err
	}
	rep.Elapsed += time.Since(start)
	rep.Keys = st.Unique
	rep.Collisions = rep.PlainKeys - st.Unique
	rep.Bytes = st.Bytes
	rep.MeanBucket = float64(st.Unique) / math.Exp2(float64(rep.BucketBits))
	return rep, nil
}

type sealJob struct {
	keys []uint64
	sets [][]int
	out  []uint64
}

func seal(ctx context.Context, plain *hashset.Reader, opts SealOptions) (*hashset.Builder, *SealReport, error) {
	start := time.Now()
	m := plain.Meta()
	if m.KeyScheme != keyscheme.Name {
		return nil, nil, fmt.Errorf("%w: %q (seal reads plain indexes, %q)", ErrScheme, m.KeyScheme, keyscheme.Name)
	}
	if opts.Key == nil {
		return nil, nil, errors.New("checker: seal: no key")
	}
	bb := opts.BucketBits
	if bb == 0 {
		bb = DefaultBucketBits
	}
	if bb < 8 || bb > 32 {
		return nil, nil, fmt.Errorf("checker: seal: bucket bits %d not in 8..32", bb)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// Pass 1: the dataset sets and their key counts, from the shared set
	// slices of the reader (cheap: no hashing).
	var sets []PrivateSet
	byKey := map[string]int{}
	for c := uint64(0); c < 1<<sealChunkBits; c++ {
		es, err := plain.Range(c, sealChunkBits)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range es {
			k := setKey(e.Datasets)
			i, ok := byKey[k]
			if !ok {
				i = len(sets)
				byKey[k] = i
				sets = append(sets, PrivateSet{Datasets: slices.Clone(e.Datasets)})
			}
			sets[i].Keys++
		}
	}
	if len(sets) > math.MaxUint16+1 {
		return nil, nil, fmt.Errorf("checker: seal: %d distinct dataset sets, more than %d", len(sets), math.MaxUint16+1)
	}
	setsJSON, _ := json.Marshal(sets)

	padSeed := opts.Key.k.SecretHash(padSeedLabel)
	info := map[string]string{
		InfoPadSeed:    hex.EncodeToString(padSeed[:]),
		InfoBucketBits: strconv.Itoa(bb),
		InfoKeyID:      opts.Key.ID(),
		InfoPublicKey:  fmt.Sprintf("%x", opts.Key.Public().Bytes()),
		InfoSuite:      OPRFSuite,
		InfoInput:      OPRFInputLabel + " || uint64be(" + keyscheme.Name + ")",
		InfoSets:       string(setsJSON),
		InfoPlainKeys:  strconv.FormatInt(plain.Len(), 10),
	}
	for k, v := range m.Info {
		if _, mine := info[k]; !mine && k != InfoDemo {
			info["plain."+k] = v
		}
	}
	if m.Info[InfoDemo] == "true" {
		info[InfoDemo] = "true"
	}
	b := hashset.NewBuilder(hashset.Options{KeyScheme: PrivateScheme, Info: info, Created: opts.Created, BloomFPR: -1})
	for _, d := range m.Datasets {
		nd := hashset.Dataset{Name: d.Name, Date: d.Date, Source: d.Source, Stats: map[string]int64{}}
		for k, v := range d.Stats {
			nd.Stats[k] = v
		}
		for cc, v := range d.Groups {
			nd.Stats["country:"+cc] = v
		}
		if _, err := b.AddDataset(nd); err != nil {
			return nil, nil, err
		}
	}

	// Pass 2: reader -> workers -> this goroutine, which owns the builder.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *sealJob, workers*2)
	done := make(chan *sealJob, workers*2)
	var readErr error
	go func() {
		defer close(jobs)
		for c := uint64(0); c < 1<<sealChunkBits; c++ {
			es, err := plain.Range(c, sealChunkBits)
			if err != nil {
				readErr = err
				return
			}
			for len(es) > 0 {
				n := min(len(es), 4096)
				j := &sealJob{keys: make([]uint64, n), sets: make([][]int, n), out: make([]uint64, n)}
				for i, e := range es[:n] {
					j.keys[i], j.sets[i] = e.Key, e.Datasets
				}
				es = es[n:]
				select {
				case jobs <- j:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := opts.Key.k.NewSealer()
			for j := range jobs {
				s.Outputs(j.keys, j.out)
				for i, k := range j.keys {
					j.out[i] = privateKey(k, j.out[i], bb)
				}
				select {
				case done <- j:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	var n int64
	total := plain.Len()
	var last time.Time
	for j := range done {
		for i, pk := range j.out {
			for _, d := range j.sets[i] {
				b.Add(pk, d, 0)
			}
		}
		n += int64(len(j.keys))
		if opts.Progress != nil && time.Since(last) > 100*time.Millisecond {
			opts.Progress(n, total)
			last = time.Now()
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if readErr != nil {
		return nil, nil, readErr
	}
	if n != total {
		return nil, nil, fmt.Errorf("checker: seal: read %d keys of %d", n, total)
	}
	if opts.Progress != nil {
		opts.Progress(n, total)
	}
	el := time.Since(start)
	return b, &SealReport{PlainKeys: total, Sets: len(sets), Elapsed: el, Workers: workers, BucketBits: bb,
		KeyID: opts.Key.ID(), PerSecond: float64(total) / el.Seconds()}, nil
}

// privateKey returns bucket<<(64-B) | tag: the top B bits of the plain key
// and the top 64-B bits of the OPRF output (its first 8 bytes, out).
func privateKey(plain, out uint64, b int) uint64 {
	return plain>>(64-b)<<(64-b) | out>>b
}

// sealKeys computes the private keys of plain keys with the given number
// of goroutines: Seal's inner loop, without the index around it, for
// benchmarks.
func (k *OPRFKey) sealKeys(keys []uint64, b, workers int) []uint64 {
	out := make([]uint64, len(keys))
	var next atomic.Int64
	const chunk = 64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := k.k.NewSealer()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(keys) {
					return
				}
				hi := min(lo+chunk, len(keys))
				s.Outputs(keys[lo:hi], out[lo:hi])
				for i := lo; i < hi; i++ {
					out[i] = privateKey(keys[i], out[i], b)
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// # Wire format
//
// A private query is one POST of a binary request; the answer is one
// binary response. Integers are big-endian (network order); elements are
// RFC 9497 SerializeElement (the 32-byte ristretto255 encoding), scalars
// SerializeScalar (32 bytes, little-endian).
//
// Request (POST /v1/private/query, Content-Type application/octet-stream):
//
//	off   size       field
//	0     1          version: 1
//	1     1          suite: 1 = ristretto255-SHA512, RFC 9497 VOPRF (mode 0x01)
//	2     1          p: prefix bits, 0..B; 0 = no bucket (evaluation only)
//	3     ceil(p/8)  prefix: top p bits of the plain key, right-aligned
//	+0    2          n: blinded elements, 0..max; 0 = no evaluation (bucket only)
//	+2    32*n       blinded elements
//
// p and n are not both 0. Padding is asked for with the request header
// "Add-Padding: true", as on the plain range endpoint (the server may pad
// always, and does by default).
//
// Response (200, Content-Type application/octet-stream):
//
//	off   size       field
//	0     1          version: 1
//	1     1          suite: 1
//	2     1          p: prefix bits, as asked
//	3     1          flags: bit 0 = padded with decoys
//	4     8          key id: first 8 bytes of SHA-256("phonecheck key id v1" 0x00
//	                 "ristretto255-SHA512" 0x00 || public key)
//	12    2          n: evaluated elements, as many as blinded ones
//	14    32*n       evaluated elements, in request order
//	+0    64 if n>0  proof: c || s, one batched DLEQ proof for all n
//	+0    4          m: bucket entries, real and decoy (0 when p = 0)
//	+4    1          w: set id bytes per entry: 0 (one dataset set), 1 or 2
//	+5    E          entries: m values of 64-p bits, the low 64-p bits of
//	                 each private key under the prefix, ascending, packed
//	                 most significant bit first; E = ceil(m*(64-p)/8), the
//	                 last byte zero-padded
//	+5+E  m*w        set id of each entry: an index into "sets" of
//	                 GET /v1/private/key (decoys draw theirs at random)
//
// So at p = B = 20 a bucket entry costs 44 bits plus w bytes: 6.5 bytes
// with a few dataset sets, 5.5 with one. Errors are JSON {"error": "..."}
// with 400 (malformed request), 413 (too many elements, body too large),
// 429 (rate limited, with Retry-After) or 500.
//
// Batches ([PrivateClient.OpenBatch], [PrivateClient.LookupBatch]) never
// send a prefix and elements together: evaluation-only requests (p = 0,
// n up to max_elements) and bucket-only requests (n = 0, one per distinct
// prefix), so the server learns the set of prefixes and the number of
// elements, and cannot pair an element with a prefix.
//
// # Static buckets (split deployment)
//
// Buckets are static: [ExportPrivate] writes each one as a file, for any
// web server, object store or CDN, and only evaluations need the server
// holding the key. Under the export's base URL:
//
//	/v1/private/key                the key document (JSON, [PrivateConfig])
//	                               with two more fields: "evaluate_url", the
//	                               base URL evaluations go to (absolute, or
//	                               relative to the export's base URL), and
//	                               "static_bucket_bits", the lengths p
//	                               whose buckets are files
//	/v1/private/bucket/<p>/<HEX>   the bucket of a prefix of p bits, HEX
//	                               being ceil(p/4) uppercase hex digits of
//	                               the right-aligned prefix (p = 20: 5
//	                               digits, "/v1/private/bucket/20/9E191")
//
// A bucket file is byte for byte the response a server gives a
// bucket-only request (n = 0) asking for padding:
//
//	off   size   field
//	0     1      version: 1
//	1     1      suite: 1
//	2     1      p
//	3     1      flags: 1 (padded; an export is always padded)
//	4     8      key id
//	12    2      n: 0 (no evaluation, so no proof either)
//	14    4      m: entries, real and decoy
//	18    1      w: set id bytes per entry
//	19    E      entries, packed as above
//	19+E  m*w    set ids
//
// The bytes are the same because the decoys are a deterministic function
// of the index and the prefix (see lookupBucket): the CDN and the server,
// or two servers, cannot be told apart, and their answers cannot be
// compared to strip the decoys. A client of a split deployment GETs the
// bucket from the base URL and POSTs an evaluation-only request (p = 0)
// to evaluate_url + [PrivateQueryPath]: the web server learns the prefix,
// the evaluation server blinded elements only, not even the prefix. The
// file does not name its prefix, and nothing signs the bucket contents:
// a web server serving wrong or altered files can make answers wrong, as
// a lying server can, but learns no more than the prefix; the proof on
// every evaluation still binds the evaluations to the published key.

const (
	wireVersion = 1
	wireSuite   = 1
	reqHeader   = 3 // version, suite, p
	respHeader  = 14
)

// Wire errors.
var (
	// ErrWire is wrapped by every error in decoding a request or response.
	ErrWire = errors.New("checker: malformed private query")
	// ErrTooMany is returned for a request with more elements than allowed.
	ErrTooMany = errors.New("checker: too many elements in one query")
	// ErrNoPrivateMode is returned by PrivateClient.Config when the key
	// endpoint answers with something that is not JSON (a static host's
	// page for any path): the server does not offer private mode.
	ErrNoPrivateMode = errors.New("checker: the server does not offer private mode")
)

// privateRequest is a decoded request.
type privateRequest struct {
	bits     int
	prefix   uint64
	elements []byte // n*32 bytes, not yet decoded as group elements
}

func (r *privateRequest) count() int { return len(r.elements) / ElementSize }

// maxRequestSize is the size of a request with n elements and the longest
// prefix.
func maxRequestSize(maxElements int) int64 {
	return reqHeader + 4 + 2 + int64(maxElements)*ElementSize
}

func appendRequest(dst []byte, r *privateRequest) []byte {
	dst = append(dst, wireVersion, wireSuite, byte(r.bits))
	pb := (r.bits + 7) / 8
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], r.prefix)
	dst = append(dst, buf[8-pb:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(r.count()))
	return append(dst, r.elements...)
}

// parseRequest decodes a request. It checks the layout only; elements are
// decoded by the OPRF layer, and the prefix against the index.
func parseRequest(b []byte, maxElements int) (*privateRequest, error) {
	if len(b) < reqHeader {
		return nil, fmt.Errorf("%w: %d bytes", ErrWire, len(b))
	}
	if b[0] != wireVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrWire, b[0], wireVersion)
	}
	if b[1] != wireSuite {
		return nil, fmt.Errorf("%w: suite %d, want %d (%s)", ErrWire, b[1], wireSuite, OPRFSuite)
	}
	r := &privateRequest{bits: int(b[2])}
	if r.bits > 32 {
		return nil, fmt.Errorf("%w: prefix of %d bits", ErrWire, r.bits)
	}
	pb := (r.bits + 7) / 8
	b = b[reqHeader:]
	if len(b) < pb+2 {
		return nil, fmt.Errorf("%w: truncated", ErrWire)
	}
	for _, c := range b[:pb] {
		r.prefix = r.prefix<<8 | uint64(c)
	}
	if r.bits < 64 && r.prefix>>r.bits != 0 {
		return nil, fmt.Errorf("%w: prefix does not fit in %d bits", ErrWire, r.bits)
	}
	n := int(binary.BigEndian.Uint16(b[pb:]))
	b = b[pb+2:]
	if n > maxElements {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooMany, n, maxElements)
	}
	if len(b) != n*ElementSize {
		return nil, fmt.Errorf("%w: %d bytes of elements for %d elements", ErrWire, len(b), n)
	}
	if n == 0 && r.bits == 0 {
		return nil, fmt.Errorf("%w: neither a prefix nor elements", ErrWire)
	}
	r.elements = b
	return r, nil
}

// privateResponse is a decoded response.
type privateResponse struct {
	bits      int
	padded    bool
	keyID     [KeyIDSize]byte
	evaluated []byte // n*32
	proof     []byte // 64, or nil when n = 0
	bucket    *bucket
}

func appendResponse(dst []byte, r *privateResponse) []byte {
	return appendBucketSection(appendResponseHead(dst, r), r.bucket, r.bits)
}

// appendResponseHead appends a response up to its bucket section: the
// header, the evaluated elements and the proof.
func appendResponseHead(dst []byte, r *privateResponse) []byte {
	var flags byte
	if r.padded {
		flags |= 1
	}
	dst = append(dst, wireVersion, wireSuite, byte(r.bits), flags)
	dst = append(dst, r.keyID[:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.evaluated)/ElementSize))
	dst = append(dst, r.evaluated...)
	return append(dst, r.proof...)
}

// appendBucketSection appends the bucket section of a response for a
// prefix of bits bits: m, w, the packed entries, their set ids (m = 0
// when bk is nil).
func appendBucketSection(dst []byte, bk *bucket, bits int) []byte {
	if bk == nil {
		bk = &bucket{}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(bk.entries)))
	dst = append(dst, byte(bk.idBytes))
	if len(bk.entries) > 0 {
		dst = packBits(dst, bk.entries, 64-bits)
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

// maxResponseEntries caps what a client accepts from a server.
const maxResponseEntries = 1 << 22

func parseResponse(b []byte) (*privateResponse, error) {
	if len(b) < respHeader {
		return nil, fmt.Errorf("%w: response of %d bytes", ErrWire, len(b))
	}
	if b[0] != wireVersion || b[1] != wireSuite {
		return nil, fmt.Errorf("%w: response version %d suite %d", ErrWire, b[0], b[1])
	}
	r := &privateResponse{bits: int(b[2]), padded: b[3]&1 != 0}
	if r.bits > 32 {
		return nil, fmt.Errorf("%w: response prefix of %d bits", ErrWire, r.bits)
	}
	copy(r.keyID[:], b[4:12])
	n := int(binary.BigEndian.Uint16(b[12:]))
	b = b[respHeader:]
	need := n * ElementSize
	if n > 0 {
		need += ProofSize
	}
	if len(b) < need+5 {
		return nil, fmt.Errorf("%w: response truncated", ErrWire)
	}
	r.evaluated = b[:n*ElementSize]
	if n > 0 {
		r.proof = b[n*ElementSize : need]
	}
	bk, err := parseBucket(b[need:], r.bits, r.padded)
	if err != nil {
		return nil, err
	}
	r.bucket = bk
	return r, nil
}

// parseBucket decodes the bucket section of a response for a prefix of
// bits bits: all of b, at least its 5 bytes of m and w.
func parseBucket(b []byte, bits int, padded bool) (*bucket, error) {
	if len(b) < 5 {
		return nil, fmt.Errorf("%w: response truncated", ErrWire)
	}
	m := int64(binary.BigEndian.Uint32(b))
	w := int(b[4])
	b = b[5:]
	if w > 2 || m > maxResponseEntries || (bits == 0 && m > 0) {
		return nil, fmt.Errorf("%w: %d entries with %d-byte set ids", ErrWire, m, w)
	}
	tb := 64 - bits
	e := (m*int64(tb) + 7) / 8
	if int64(len(b)) != e+m*int64(w) {
		return nil, fmt.Errorf("%w: %d bytes for %d entries", ErrWire, len(b), m)
	}
	bk := &bucket{bits: bits, idBytes: w, padded: padded}
	if m > 0 {
		bk.entries = unpackBits(b[:e], int(m), tb)
	}
	b = b[e:]
	if w > 0 {
		bk.sets = make([]uint16, m)
		for i := range bk.sets {
			if w == 1 {
				bk.sets[i] = uint16(b[i])
			} else {
				bk.sets[i] = binary.BigEndian.Uint16(b[2*i:])
			}
		}
	}
	return bk, nil
}

// packBits appends vals as a stream of w-bit values (0 < w <= 64), most
// significant bit first, zero-padded to a byte.
func packBits(dst []byte, vals []uint64, w int) []byte {
	pk := bitPacker{buf: dst, w: uint(w)}
	mask := ^uint64(0) >> (64 - w)
	for len(vals) > 0 {
		var chunk [64]uint64
		c := chunk[:min(len(vals), len(chunk))]
		for i := range c {
			c[i] = vals[i] & mask
		}
		pk.putAll(c, 0)
		vals = vals[len(c):]
	}
	return pk.flush()
}

// unpackBits reads n values of w bits packed by packBits.
func unpackBits(b []byte, n, w int) []uint64 {
	out := make([]uint64, n)
	pos := 0 // bit position
	for i := range out {
		var v uint64
		for rem := w; rem > 0; {
			byteI, off := pos/8, pos%8
			take := min(rem, 8-off)
			bitsv := uint64(b[byteI]>>(8-off-take)) & (1<<take - 1)
			v = v<<take | bitsv
			pos += take
			rem -= take
		}
		out[i] = v
	}
	return out
}
