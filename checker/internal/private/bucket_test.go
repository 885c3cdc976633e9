package private

import (
	"bytes"
	"crypto/sha256"
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

// The bucket answer against the reference implementation (refIndex):
// every bucket of several indexes, at every prefix
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
	// 2^20 sub-buckets of 8 entries: over wire.MaxBucketEntries.
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
