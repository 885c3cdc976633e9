package private

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// The bucket answer against the reference implementation of
// private_ref_test.go: every bucket of several indexes, at every prefix
// length, padded and not, byte for byte; and errors alike on corrupt
// indexes.

var testKeyID = [oprf.KeyIDSize]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4}

// fastAnswer is the response the server writes for a bucket-only request.
func fastAnswer(p *Index, prefix uint64, nbits int, pad bool) ([]byte, error) {
	head := wire.AppendResponseHead(nil, &wire.Response{Bits: nbits, Padded: pad, KeyID: testKeyID})
	out, err := p.AppendBucket(head, prefix, nbits, pad)
	if err != nil {
		if len(out) != len(head) {
			return nil, fmt.Errorf("%d bytes appended along with error %w", len(out)-len(head), err)
		}
		return nil, err
	}
	return out, nil
}

// handIndex describes a private index built directly (no sealing): any
// keys, any provenance, any order of the header's sets.
type handIndex struct {
	bits     int
	datasets int
	keys     []uint64 // distinct
	sets     [][]int  // datasets of each key (sorted, distinct)
	seed     [32]byte // padding seed
	// headerSets, if set, rewrites the header's list of sets (to drop
	// or reorder sets); weights, if set, gives each header set's Keys.
	headerSets func([][]int) [][]int
	weights    func(i int) int64
	mmap       bool // open a file (mapped) instead of reading a buffer
}

func (h handIndex) bytes(t testing.TB) []byte {
	t.Helper()
	// The header's sets: distinct dataset lists in key order, as Seal
	// finds them.
	var sets [][]int
	seen := map[string]bool{}
	order := make([]int, len(h.keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return compareU64(h.keys[a], h.keys[b]) })
	for _, i := range order {
		if k := fmt.Sprint(h.sets[i]); !seen[k] {
			seen[k] = true
			sets = append(sets, h.sets[i])
		}
	}
	if h.headerSets != nil {
		sets = h.headerSets(sets)
	}
	ps := make([]Set, len(sets))
	for i, s := range sets {
		ps[i] = Set{Datasets: s, Keys: 1}
		if h.weights != nil {
			ps[i].Keys = h.weights(i)
		}
	}
	setsJSON, err := json.Marshal(ps)
	if err != nil {
		t.Fatal(err)
	}
	b := hashset.NewBuilder(hashset.Options{KeyScheme: PrivateScheme, BloomFPR: -1, Info: map[string]string{
		InfoBucketBits: strconv.Itoa(h.bits),
		InfoSuite:      oprf.Suite,
		InfoKeyID:      "0123456789abcdef",
		InfoSets:       string(setsJSON),
		InfoPadSeed:    hex.EncodeToString(h.seed[:]),
	}})
	for d := range h.datasets {
		if _, err := b.AddDataset(hashset.Dataset{Name: "d" + strconv.Itoa(d)}); err != nil {
			t.Fatal(err)
		}
	}
	for i, k := range h.keys {
		for _, d := range h.sets[i] {
			b.Add(k, d, 0)
		}
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (h handIndex) build(t testing.TB) *Index {
	t.Helper()
	data := h.bytes(t)
	var r *hashset.Reader
	var err error
	if h.mmap {
		path := filepath.Join(t.TempDir(), "private.idx")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if r, err = hashset.Open(path); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
	} else if r, err = hashset.NewReader(bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	p, err := New(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// randomHand is a handIndex of n random keys under bits, each in a
// random nonempty subset of datasets datasets.
func randomHand(seed uint64, bits, n, datasets int) handIndex {
	rng := rand.New(rand.NewPCG(seed, 1))
	h := handIndex{bits: bits, datasets: datasets}
	for i := range h.seed {
		h.seed[i] = byte(rng.Uint32())
	}
	seen := map[uint64]bool{}
	for len(h.keys) < n {
		k := rng.Uint64()
		if seen[k] {
			continue
		}
		seen[k] = true
		var s []int
		for len(s) == 0 {
			for d := range datasets {
				if rng.IntN(3) == 0 || datasets == 1 {
					s = append(s, d)
				}
			}
		}
		h.keys = append(h.keys, k)
		h.sets = append(h.sets, s)
	}
	return h
}

// compareAnswers checks one bucket, fast against reference.
func compareAnswers(t *testing.T, p *Index, ref *refIndex, prefix uint64, nbits int, pad bool) bool {
	t.Helper()
	want, werr := ref.refAnswer(nil, prefix, nbits, pad, testKeyID)
	got, gerr := fastAnswer(p, prefix, nbits, pad)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Errorf("prefix %X/%d pad %v: error %v, reference %v", prefix, nbits, pad, gerr, werr)
		return false
	}
	if werr != nil && errors.Is(werr, hashset.ErrCorrupt) != errors.Is(gerr, hashset.ErrCorrupt) {
		t.Errorf("prefix %X/%d pad %v: error %v, reference %v", prefix, nbits, pad, gerr, werr)
		return false
	}
	if !bytes.Equal(got, want) {
		t.Errorf("prefix %X/%d pad %v: %d bytes, reference %d; first difference at %d", prefix, nbits, pad, len(got), len(want), byteDiff(got, want))
		return false
	}
	return true
}

func byteDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// compareAll compares every bucket at every length from 1 to B, padded
// and not.
func compareAll(t *testing.T, p *Index) {
	t.Helper()
	ref := newRefIndex(p)
	fails := 0
	for nbits := 1; nbits <= p.bits; nbits++ {
		for prefix := uint64(0); prefix < 1<<nbits; prefix++ {
			for _, pad := range []bool{false, true} {
				if !compareAnswers(t, p, ref, prefix, nbits, pad) {
					if fails++; fails > 10 {
						t.Fatal("too many differences")
					}
				}
			}
		}
	}
}

// TestBucketAnswerMatchesReference: every bucket of indexes with one set
// (no set ids), a few sets (1-byte ids) and over 256 (2-byte ids), dense
// and sparse, read through ReadAt and through a mapping.
func TestBucketAnswerMatchesReference(t *testing.T) {
	cases := []struct {
		name string
		h    handIndex
	}{
		{"one-set-B8", randomHand(1, 8, 3000, 1)},
		{"three-datasets-B12", randomHand(2, 12, 5000, 3)},
		{"many-sets-B10", randomHand(3, 10, 4000, 11)},
		{"sparse-B14", randomHand(4, 14, 700, 2)},
		{"tiny-B9", randomHand(5, 9, 3, 2)},
		{"empty-B8", randomHand(6, 8, 0, 1)},
	}
	mapped := randomHand(7, 11, 4000, 4)
	mapped.mmap = true
	cases = append(cases, struct {
		name string
		h    handIndex
	}{"mapped-B11", mapped})
	// Header sets in another order than the file's, with uneven weights
	// (zero included): set ids are by content, decoys draw by weight.
	shuffled := randomHand(8, 10, 3000, 5)
	shuffled.headerSets = func(s [][]int) [][]int {
		s = slices.Clone(s)
		rand.New(rand.NewPCG(8, 8)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
		return s
	}
	shuffled.weights = func(i int) int64 { return int64(i*i*7) % 1000 }
	cases = append(cases, struct {
		name string
		h    handIndex
	}{"shuffled-sets-B10", shuffled})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.h.build(t)
			if c.name == "many-sets-B10" && p.setIDBytes() != 2 {
				t.Fatalf("%d sets: want 2-byte set ids", len(p.sets))
			}
			compareAll(t, p)
		})
	}
}

// TestBucketAnswerSealed: a sealed index under a derived key, every bucket
// against the reference, and the digest of all its answers against the
// one recorded when the reference was the production code (so that the
// reference cannot drift either).
func TestBucketAnswerSealed(t *testing.T) {
	k, err := oprf.DeriveKey(bytes.Repeat([]byte{7}, 32), []byte("bucket answer golden"))
	if err != nil {
		t.Fatal(err)
	}
	nums := fictionalSpace()[:4000]
	p, _ := testPrivateIndex(t, k, 10, testDS{"leak-a", nums[:2500]}, testDS{"leak-b", nums[2000:]}, testDS{"leak-c", nums[3900:]})
	compareAll(t, p)
	h := sha256.New()
	for nbits := 1; nbits <= p.bits; nbits++ {
		for prefix := uint64(0); prefix < 1<<nbits; prefix++ {
			for _, pad := range []bool{false, true} {
				b, err := fastAnswer(p, prefix, nbits, pad)
				if err != nil {
					t.Fatal(err)
				}
				h.Write(b)
			}
		}
	}
	const golden = "4385558299b6ef1353ee25fec9ad5a48d93c3f886fbafbaee2d0df32eb1ed63a"
	if got := hex.EncodeToString(h.Sum(nil)); got != golden {
		t.Errorf("digest of every answer: %s, recorded %s", got, golden)
	}
}

// TestBucketAnswerWide: B = 32, where buckets are nearly all empty and
// short padded prefixes are unions of very many sub-buckets: the buckets
// of real keys and their neighbours at every length the union allows,
// and the error of a prefix whose union is too large.
func TestBucketAnswerWide(t *testing.T) {
	h := randomHand(9, 32, 2000, 3)
	p := h.build(t)
	ref := newRefIndex(p)
	for i, k := range h.keys[:40] {
		for nbits := 1; nbits <= 32; nbits++ {
			prefix := k >> (64 - nbits)
			for _, q := range []uint64{prefix, prefix ^ 1} {
				compareAnswers(t, p, ref, q, nbits, false)
				if nbits >= 22 || i < 2 && nbits >= 20 {
					compareAnswers(t, p, ref, q, nbits, true)
				}
			}
		}
	}
	// 2^20 sub-buckets of 8 entries: over maxBucketEntries.
	compareAnswers(t, p, ref, 0x5, 12, true)
	// Out of range: too many bits, a prefix that does not fit, no bits.
	compareAnswers(t, p, ref, 1, 33, true)
	compareAnswers(t, p, ref, 1<<12, 12, true)
	compareAnswers(t, p, ref, 1<<12, 12, false)
	compareAnswers(t, p, ref, 0, 0, true)
	compareAnswers(t, p, ref, 0, 0, false)
}

// TestBucketAnswerCrafted: buckets built to reach the rare paths: a real
// key equal to a decoy candidate (the decoys' slow path), a bucket larger
// than its first tier (padded to the next), keys at the ends of a bucket,
// and a key whose datasets are not among the header's sets.
func TestBucketAnswerCrafted(t *testing.T) {
	base := randomHand(10, 10, 2000, 3)
	p0 := base.build(t)
	const bits = 10
	mask := ^uint64(0) >> bits
	// The decoy candidates of a bucket, as the reference draws them.
	candidates := func(prefix uint64, n int) []uint64 {
		var in [32 + 9]byte
		copy(in[:], p0.padKey[:])
		in[32+7] = byte(prefix)
		in[32+6] = byte(prefix >> 8)
		in[40] = bits
		rng := rand.NewChaCha8(sha256.Sum256(in[:]))
		var out []uint64
		for range n {
			out = append(out, rng.Uint64()&mask)
			rng.Uint64()
		}
		return out
	}
	h := base
	h.keys, h.sets = slices.Clone(h.keys), slices.Clone(h.sets)
	add := func(k uint64, s []int) {
		if !slices.Contains(h.keys, k) {
			h.keys = append(h.keys, k)
			h.sets = append(h.sets, s)
		}
	}
	// Bucket 0x012: its first and fifth candidates are real keys.
	c := candidates(0x012, 5)
	add(0x012<<(64-bits)|c[0], []int{0})
	add(0x012<<(64-bits)|c[4], []int{1, 2})
	// Bucket 0x3FF: candidates 5 to 15 are real, so that the slow path
	// skips many.
	c = candidates(0x3FF, 40)
	for _, v := range c[5:16] {
		add(0x3FF<<(64-bits)|v, []int{2})
	}
	// Bucket 0x100: 200 keys, well past the first tier; the ends of
	// the bucket.
	rng := rand.New(rand.NewPCG(11, 11))
	for range 200 {
		add(0x100<<(64-bits)|rng.Uint64()&mask, []int{0, 1})
	}
	add(0x101<<(64-bits), []int{0})
	add(0x101<<(64-bits)|mask, []int{1})
	add(0x101<<(64-bits)|1, []int{2})
	add(0x101<<(64-bits)|mask-1, []int{0})
	p := h.build(t)
	ref := newRefIndex(p)
	if tier := p.PadTier(0, bits); tier > 200 {
		t.Fatalf("first tier %d: bucket 0x100 does not overflow it", tier)
	}
	// The first want candidates of 0x012 and 0x3FF hold real keys.
	for _, prefix := range []uint64{0x012, 0x3FF} {
		es, _ := p.idx.Range(prefix, bits)
		want := p.PadTier(len(es), bits) - len(es)
		collides := false
		for _, v := range candidates(prefix, want) {
			for _, e := range es {
				collides = collides || e.Key&mask == v
			}
		}
		if !collides {
			t.Errorf("bucket %03X: no real key among its first %d decoy candidates", prefix, want)
		}
	}
	for nbits := 1; nbits <= bits; nbits++ {
		for _, prefix := range []uint64{0x012, 0x3FF, 0x100, 0x101} {
			q := prefix >> (bits - nbits)
			compareAnswers(t, p, ref, q, nbits, true)
			compareAnswers(t, p, ref, q, nbits, false)
		}
	}

	// A set of the file missing from the header: ErrCorrupt, alike.
	missing := base
	missing.headerSets = func(s [][]int) [][]int { return s[1:] }
	pm := missing.build(t)
	refm := newRefIndex(pm)
	errs := 0
	for prefix := uint64(0); prefix < 1<<bits; prefix++ {
		compareAnswers(t, pm, refm, prefix, bits, true)
		compareAnswers(t, pm, refm, prefix, bits, false)
		if _, err := refm.refAnswer(nil, prefix, bits, true, testKeyID); err != nil {
			errs++
		}
	}
	for nbits := 1; nbits < bits; nbits++ {
		compareAnswers(t, pm, refm, 0, nbits, true)
	}
	if errs == 0 {
		t.Error("no bucket holds the missing set")
	}
}

// smallSpaceEntries draws a value space of 3 to 14 bits and sorted real
// entries filling at most half of it (40 at most): spaces where decoy
// candidates collide with each other and with the real entries.
func smallSpaceEntries(rng *rand.Rand) (vbits int, es []hashset.Entry) {
	vbits = 3 + rng.IntN(12)
	nreal := rng.IntN(min(40, 1<<vbits/2))
	for _, v := range rng.Perm(1 << vbits)[:nreal] {
		es = append(es, hashset.Entry{Key: uint64(v)})
	}
	slices.SortFunc(es, func(a, b hashset.Entry) int { return compareU64(a.Key, b.Key) })
	return vbits, es
}

// TestDecoysMatchReference: the decoys of buckets in small value spaces,
// where candidates collide with each other and with real entries (the
// slow path), against the reference's, for many real sets.
func TestDecoysMatchReference(t *testing.T) {
	p := randomHand(12, 12, 500, 3).build(t)
	ref := newRefIndex(p)
	rng := rand.New(rand.NewPCG(12, 12))
	slow := 0
	for round := range 3000 {
		vbits, es := smallSpaceEntries(rng)
		mask := uint64(1)<<vbits - 1
		nreal := len(es)
		want := 1 + rng.IntN(min(60, 1<<vbits-nreal))
		prefix := uint64(round)
		wantDs := ref.refDecoys(new(refBucketScratch), prefix, 12, mask, es, want)
		keys := make([]uint64, len(es))
		for i, e := range es {
			keys[i] = e.Key | rng.Uint64()&^mask // high bits are not compared
		}
		gotDs := p.decoys(new(bucketScratch), prefix, 12, mask, keys, want)
		if len(gotDs) != len(wantDs) {
			t.Fatalf("round %d: %d decoys, reference %d", round, len(gotDs), len(wantDs))
		}
		for i := range gotDs {
			if gotDs[i].value != wantDs[i].value || gotDs[i].set != wantDs[i].set {
				t.Fatalf("round %d (%d bits, %d real, %d decoys): decoy %d is %v, reference %v", round, vbits, nreal, want, i, gotDs[i], wantDs[i])
			}
		}
		// Was the slow path needed?
		cands := ref.refDecoys(new(refBucketScratch), prefix, 12, ^uint64(0), nil, want)
		for i := range cands {
			if v := cands[i].value & mask; v != wantDs[min(i, len(wantDs)-1)].value {
				slow++
				break
			}
		}
	}
	if slow < 100 {
		t.Errorf("only %d rounds took the slow path", slow)
	}
}

// TestBucketAnswerCorrupt: indexes with bytes of their directory, keys
// and set ids changed (sections whose checksums only Verify reads):
// every bucket gives the reference's bytes or the reference's error, and
// nothing panics.
func TestBucketAnswerCorrupt(t *testing.T) {
	h := randomHand(13, 8, 1500, 3)
	data := h.bytes(t)
	r0, err := hashset.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var secs []hashset.SectionInfo
	for _, s := range r0.Sections() {
		switch s.Name {
		case "DIR", "KEYS", "IDS":
			secs = append(secs, s)
		}
	}
	if len(secs) != 3 {
		t.Fatalf("sections %v", r0.Sections())
	}
	rng := rand.New(rand.NewPCG(13, 13))
	iters := 120
	if testing.Short() {
		iters = 30
	}
	for it := range iters {
		d := slices.Clone(data)
		for range 1 + rng.IntN(4) {
			s := secs[rng.IntN(len(secs))]
			off := s.Offset + rng.Int64N(s.Length)
			d[off] ^= byte(1 + rng.IntN(255))
		}
		checkCorruptAnswers(t, d, it, func(yield func(prefix uint64, nbits int) bool) {
			for nbits := 1; nbits <= 8; nbits++ {
				for q := range 1 << nbits {
					if !yield(uint64(q), nbits) {
						return
					}
				}
			}
		})
	}
}

func checkCorruptAnswers(t *testing.T, data []byte, it int, prefixes func(func(uint64, int) bool)) {
	t.Helper()
	r, err := hashset.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return
	}
	p, err := New(r, nil)
	if err != nil {
		return
	}
	ref := newRefIndex(p)
	for prefix, nbits := range prefixes {
		for _, pad := range []bool{false, true} {
			if !compareAnswers(t, p, ref, prefix, nbits, pad) {
				t.Fatalf("corruption %d", it)
			}
		}
	}
}

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
