package checker

// The private (OPRF) index, sealing a plain index into one, and the wire
// format of private queries. No circl type appears here: the group
// operations are in oprf.go, and sealing's F_k in oprf_fast.go (a
// seal-only path proven equal to circl's).

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
	byKey    map[string]uint16
	bySlice  sync.Map // *int (a Reader's shared set slice) -> uint16
	// padKey seeds the decoys of each bucket (see lookupBucket);
	// padFixed says it comes from the index (InfoPadSeed), not from a
	// random draw at open (an index sealed before the seed existed).
	padKey   [32]byte
	padFixed bool
	// rangeBufs recycles the entries of a bucket lookup (*[]hashset.Entry).
	rangeBufs sync.Pool
	// bucketScratch recycles the rest of a lookup's scratch (*bucketScratch).
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
	p := &PrivateIndex{idx: idx, bits: b, keyID: m.Info[InfoKeyID], byKey: map[string]uint16{}}
	if key != nil && key.ID() != p.keyID {
		return nil, fmt.Errorf("%w: index key id %s, key file id %s", ErrKeyMismatch, p.keyID, key.ID())
	}
	if err := json.Unmarshal([]byte(m.Info[InfoSets]), &p.sets); err != nil || len(p.sets) > math.MaxUint16+1 {
		return nil, fmt.Errorf("%w: bad dataset sets in header", ErrNotPrivate)
	}
	var c int64
	for i, s := range p.sets {
		for _, d := range s.Datasets {
			if d < 0 || d >= len(m.Datasets) {
				return nil, fmt.Errorf("%w: dataset set %d names dataset %d of %d", ErrNotPrivate, i, d, len(m.Datasets))
			}
		}
		p.byKey[setKey(s.Datasets)] = uint16(i)
		c += max(s.Keys, 1)
		p.cum = append(p.cum, c)
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

func (p *PrivateIndex) setID(ds []int) (uint16, bool) {
	if len(ds) == 0 {
		return 0, false
	}
	if v, ok := p.bySlice.Load(&ds[0]); ok {
		return v.(uint16), true
	}
	id, ok := p.byKey[setKey(ds)]
	if ok {
		p.bySlice.Store(&ds[0], id)
	}
	return id, ok
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

// bucket is one answer's bucket section.
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
// prefix, padded with decoys to [PrivateIndex.PadTier] if pad.
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
// decoy and keeps the others.
//
// Decoys exist at B bits only: a padded bucket of p < B bits is the union
// of its 2^(B-p) padded B-bit buckets, in order. Were a shorter bucket
// padded with its own decoys, the entries it shares with its sub-buckets
// would be exactly the real ones, and intersecting two lengths would strip
// every decoy. So every length shows the same decoys, and a p-bit answer
// holds as many entries as the sum of its sub-buckets' tiers.
func (p *PrivateIndex) lookupBucket(prefix uint64, nbits int, pad bool) (*bucket, error) {
	if !pad || nbits >= p.bits || nbits < 1 || prefix>>nbits != 0 {
		return p.lookupOne(prefix, nbits, pad)
	}
	if exp := float64(p.idx.Len()) / math.Exp2(float64(nbits)); exp > maxBucketEntries/4 {
		return nil, fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", errPrefix, nbits, exp)
	}
	shift := p.bits - nbits
	b := &bucket{bits: nbits, idBytes: p.setIDBytes(), padded: true}
	for sub := prefix << shift; sub < (prefix+1)<<shift; sub++ {
		sb, err := p.lookupOne(sub, p.bits, true)
		if err != nil {
			return nil, err
		}
		if len(b.entries)+len(sb.entries) > maxBucketEntries {
			return nil, fmt.Errorf("%w: over %d entries under this prefix; use more bits", errPrefix, maxBucketEntries)
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
func (p *PrivateIndex) lookupOne(prefix uint64, nbits int, pad bool) (*bucket, error) {
	if nbits < 1 || nbits > p.bits {
		return nil, fmt.Errorf("%w: %d bits, this index takes 1..%d", errPrefix, nbits, p.bits)
	}
	if prefix>>nbits != 0 {
		return nil, fmt.Errorf("%w: prefix does not fit in %d bits", errPrefix, nbits)
	}
	if exp := float64(p.idx.Len()) / math.Exp2(float64(nbits)); exp > maxBucketEntries/4 {
		return nil, fmt.Errorf("%w: %d bits is too short for this index (about %.0f entries); use more bits", errPrefix, nbits, exp)
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
	if len(es) > maxBucketEntries {
		return nil, fmt.Errorf("%w: %d entries under this prefix; use more bits", errPrefix, len(es))
	}
	b := &bucket{bits: nbits, idBytes: p.setIDBytes(), padded: pad}
	mask := ^uint64(0) >> nbits
	n := len(es)
	if pad {
		n = p.PadTier(len(es), nbits)
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
	sc, _ := p.bucketScratch.Get().(*bucketScratch)
	if sc == nil {
		sc = new(bucketScratch)
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
			id, ok := p.setID(e.Datasets)
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
	decoys := p.decoys(sc, prefix, nbits, mask, es, n-len(es))
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

type decoy struct {
	value uint64
	set   uint16
}

// bucketScratch is the scratch space of a bucket lookup.
type bucketScratch struct {
	sets   []uint16
	ds     []decoy
	packed []uint64
	dsets  []uint16
}

// decoys returns the want decoys of a bucket, sorted by value. Each
// candidate takes two words of the stream, a value and a set id draw;
// a candidate that collides with a real entry or an earlier one, about
// n²/2^(64-p) likely, is skipped.
func (p *PrivateIndex) decoys(sc *bucketScratch, prefix uint64, nbits int, mask uint64, es []hashset.Entry, want int) []decoy {
	var in [32 + 9]byte
	copy(in[:], p.padKey[:])
	binary.BigEndian.PutUint64(in[32:], prefix)
	in[40] = byte(nbits)
	rng := rand.NewChaCha8(sha256.Sum256(in[:]))
	next := func() decoy { return decoy{value: rng.Uint64() & mask, set: p.decoySet(rng.Uint64())} }
	real := func(v uint64) bool {
		_, found := slices.BinarySearchFunc(es, v, func(e hashset.Entry, v uint64) int { return compareU64(e.Key&mask, v) })
		return found
	}
	// Fast path: the first want candidates, if none collides.
	ds := slices.Grow(sc.ds[:0], want)[:want]
	sc.ds = ds
	for i := range ds {
		ds[i] = next()
	}
	sc.sortDecoys(ds, 64-nbits)
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
	sc.sortDecoys(ds, 64-nbits)
	return ds
}

func byValue(a, b decoy) int { return compareU64(a.value, b.value) }

// sortDecoys sorts ds by value (vbits wide). When a value and an index
// into ds fit in 64 bits together, it sorts those as plain integers,
// several times faster than with a comparison function.
func (sc *bucketScratch) sortDecoys(ds []decoy, vbits int) {
	ib := bits.Len(uint(len(ds)))
	if vbits+ib > 64 || len(ds) < 2 {
		slices.SortFunc(ds, byValue)
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
		ds[k] = decoy{value: v >> ib, set: sc.dsets[v&m]}
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

// decoySet turns a random word into a set id drawn with the weights of
// the sets' key counts.
func (p *PrivateIndex) decoySet(r uint64) uint16 {
	if len(p.cum) <= 1 {
		return 0
	}
	x := int64(r % uint64(p.cum[len(p.cum)-1]))
	i, _ := slices.BinarySearch(p.cum, x+1)
	return uint16(min(i, len(p.cum)-1))
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
	if m.KeyScheme != HashScheme {
		return nil, nil, fmt.Errorf("%w: %q (seal reads plain indexes, %q)", ErrScheme, m.KeyScheme, HashScheme)
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

	sk, err := opts.Key.sk.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	padSeed := sha256.Sum256(append([]byte(padSeedLabel), sk...))
	info := map[string]string{
		InfoPadSeed:    hex.EncodeToString(padSeed[:]),
		InfoBucketBits: strconv.Itoa(bb),
		InfoKeyID:      opts.Key.ID(),
		InfoPublicKey:  fmt.Sprintf("%x", opts.Key.Public().Bytes()),
		InfoSuite:      OPRFSuite,
		InfoInput:      OPRFInputLabel + " || uint64be(" + HashScheme + ")",
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
			s := opts.Key.newFastSealer()
			for j := range jobs {
				s.outputs(j.keys, j.out)
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
			s := k.newFastSealer()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(keys) {
					return
				}
				hi := min(lo+chunk, len(keys))
				s.outputs(keys[lo:hi], out[lo:hi])
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
	var flags byte
	if r.padded {
		flags |= 1
	}
	dst = append(dst, wireVersion, wireSuite, byte(r.bits), flags)
	dst = append(dst, r.keyID[:]...)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(r.evaluated)/ElementSize))
	dst = append(dst, r.evaluated...)
	dst = append(dst, r.proof...)
	bk := r.bucket
	if bk == nil {
		bk = &bucket{}
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(bk.entries)))
	dst = append(dst, byte(bk.idBytes))
	if len(bk.entries) > 0 {
		dst = packBits(dst, bk.entries, 64-r.bits)
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
	b = b[need:]
	m := int64(binary.BigEndian.Uint32(b))
	w := int(b[4])
	b = b[5:]
	if w > 2 || m > maxResponseEntries || (r.bits == 0 && m > 0) {
		return nil, fmt.Errorf("%w: %d entries with %d-byte set ids", ErrWire, m, w)
	}
	tb := 64 - r.bits
	e := (m*int64(tb) + 7) / 8
	if int64(len(b)) != e+m*int64(w) {
		return nil, fmt.Errorf("%w: %d bytes for %d entries", ErrWire, len(b), m)
	}
	bk := &bucket{bits: r.bits, idBytes: w, padded: r.padded}
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
	r.bucket = bk
	return r, nil
}

// packBits appends vals as a stream of w-bit values, most significant bit
// first, zero-padded to a byte.
func packBits(dst []byte, vals []uint64, w int) []byte {
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
