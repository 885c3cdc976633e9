package private

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// TestPrivatePaddingDeterministic: the decoys of a padded bucket are a
// function of the index (its padding seed, from the key) and the prefix:
// the same bytes on every lookup, from every open of the index, from a
// second seal of the same plain index under the same key; another key
// gives other decoys; and a bucket that gains a real entry keeps all its
// decoys but its last.
func TestPrivatePaddingDeterministic(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	nums := fictionalSpace()[:3000]
	seal := func(k *oprf.Key, nums []string) *Index {
		ix, _ := testPrivateIndex(t, k, 12, testDS{"leak-a", nums[:2000]}, testDS{"leak-b", nums[1500:]})
		if !ix.DeterministicPadding() {
			t.Fatal("a fresh seal has no padding seed")
		}
		return ix
	}
	a, b, other := seal(k, nums), seal(k, nums), seal(k2, nums)
	bucketOf := func(ix *Index, prefix uint64) []byte {
		bk, err := ix.lookupBucket(prefix, 12, true)
		if err != nil {
			t.Fatal(err)
		}
		return wire.AppendResponse(nil, &wire.Response{Bits: 12, Padded: true, Bucket: bk})
	}
	full := Key(nums[0]) >> 52
	for _, prefix := range []uint64{full, 0xABC, 0x001} {
		x := bucketOf(a, prefix)
		if !bytes.Equal(x, bucketOf(a, prefix)) || !bytes.Equal(x, bucketOf(b, prefix)) {
			t.Errorf("bucket %03X: two lookups or two seals under one key differ", prefix)
		}
		if bytes.Equal(x, bucketOf(other, prefix)) {
			t.Errorf("bucket %03X: the same bytes under another key", prefix)
		}
	}

	// One more exposed number in a bucket: its old decoys stay, but one.
	var extra string
	for _, e := range fictionalSpace()[3000:] {
		if Key(e)>>52 == full {
			extra = e
			break
		}
	}
	if extra == "" {
		t.Fatal("no fictional number in the bucket")
	}
	grown, _ := testPrivateIndex(t, k, 12, testDS{"leak-a", append(slices.Clone(nums[:2000]), extra)}, testDS{"leak-b", nums[1500:]})
	decoysOf := func(ix *Index) []uint64 {
		bk, err := ix.lookupBucket(full, 12, true)
		if err != nil {
			t.Fatal(err)
		}
		es, _ := ix.Reader().Range(full, 12)
		var real []uint64
		for _, e := range es {
			real = append(real, e.Key&(^uint64(0)>>12))
		}
		var ds []uint64
		for _, v := range bk.Entries {
			if !slices.Contains(real, v) {
				ds = append(ds, v)
			}
		}
		return ds
	}
	before, after := decoysOf(a), decoysOf(grown)
	if len(after) != len(before)-1 {
		t.Fatalf("%d decoys before, %d after one more real entry", len(before), len(after))
	}
	for _, d := range after {
		if !slices.Contains(before, d) {
			t.Errorf("a new decoy appeared after one more real entry")
		}
	}
}

// TestDecoysCollide drives the decoys' slow path: in a 5-bit space,
// candidates collide with each other and with real entries; the decoys
// are still distinct, never real, sorted, and the same on every call.
func TestDecoysCollide(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := testPrivateIndex(t, k, 12, testDS{"leak-a", fictionalSpace()[:100]})
	const mask = 1<<5 - 1
	keys := []uint64{3, 7, 20}
	ds := ix.decoys(new(bucketScratch), 0x123, 12, mask, keys, 25)
	if len(ds) != 25 {
		t.Fatalf("%d decoys, want 25", len(ds))
	}
	for i, d := range ds {
		if d.value > mask || d.value == 3 || d.value == 7 || d.value == 20 || i > 0 && d.value <= ds[i-1].value {
			t.Errorf("decoy %d: %d (real entries 3, 7, 20; after %v)", i, d.value, ds[:i])
		}
	}
	if again := ix.decoys(new(bucketScratch), 0x123, 12, mask, keys, 25); !slices.Equal(ds, again) {
		t.Errorf("two draws differ: %v, %v", ds, again)
	}
}

// TestSortDecoys: the bucket sort orders decoys as the comparison sort
// does, sets travelling with their values, on both of its paths.
func TestSortDecoys(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var sc bucketScratch
	for _, vbits := range []int{12, 44, 54, 60, 63} {
		for _, n := range []int{0, 1, 2, 3, 17, 500, 3000} {
			ds := make([]decoy, n)
			for i := range ds {
				ds[i] = decoy{value: rng.Uint64() >> (64 - vbits), set: uint16(rng.IntN(1 << 16))}
				if i > 0 && rng.IntN(4) == 0 {
					ds[i].value = ds[i-1].value // ties keep a set each
				}
			}
			want := slices.Clone(ds)
			slices.SortStableFunc(want, byValue)
			got := sc.sortDecoys(slices.Clone(ds), vbits)
			sc.ds = slices.Clone(ds) // sorted into the scratch's other buffer
			if inPlace := sc.sortDecoys(sc.ds, vbits); !slices.Equal(inPlace, got) {
				t.Fatalf("vbits %d n %d: sorting the scratch's decoys differs", vbits, n)
			}
			if !slices.EqualFunc(got, want, func(a, b decoy) bool { return a.value == b.value }) {
				t.Fatalf("vbits %d n %d: values out of order", vbits, n)
			}
			// Sets: the same multiset per value.
			count := map[decoy]int{}
			for i := range got {
				count[got[i]]++
				count[want[i]]--
			}
			for d, c := range count {
				if c != 0 {
					t.Fatalf("vbits %d n %d: decoy %v count off by %d", vbits, n, d, c)
				}
			}
		}
	}
}

// TestPaddingAcrossLengths: decoys survive comparing bucket lengths. The
// entries a short bucket shares with its sub-buckets must not be the real
// ones alone: a short padded bucket is exactly the union of its padded
// B-bit buckets, decoys included.
func TestPaddingAcrossLengths(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	nums := fictionalSpace()[:3000]
	ix, _ := testPrivateIndex(t, k, 12, testDS{"leak-a", nums[:2000]}, testDS{"leak-b", nums[1500:]})
	type entry struct {
		key uint64
		set uint16
	}
	entriesOf := func(prefix uint64, bits int) []entry {
		bk, err := ix.lookupBucket(prefix, bits, true)
		if err != nil {
			t.Fatal(err)
		}
		var out []entry
		for i, v := range bk.Entries {
			e := entry{key: prefix<<(64-bits) | v}
			if bk.Sets != nil {
				e.set = bk.Sets[i]
			}
			out = append(out, e)
		}
		return out
	}
	for _, short := range []int{4, 8, 11} {
		prefix := Key(nums[7]) >> (64 - short)
		got := entriesOf(prefix, short)
		var union []entry
		shift := 12 - short
		for sub := prefix << shift; sub < (prefix+1)<<shift; sub++ {
			union = append(union, entriesOf(sub, 12)...)
		}
		if !slices.Equal(got, union) {
			t.Errorf("%d-bit bucket: %d entries, not the union of its 12-bit buckets (%d)", short, len(got), len(union))
		}
		real, _ := ix.Reader().Range(prefix, short)
		if len(got) <= len(real) {
			t.Errorf("%d-bit bucket: %d entries for %d real: not padded", short, len(got), len(real))
		}
		for i := 1; i < len(got); i++ {
			if got[i].key <= got[i-1].key {
				t.Fatalf("%d-bit bucket: entries out of order", short)
			}
		}
	}
}

// TestCorruptPadSeed: a padding seed that does not decode is a corrupt
// index, not one sealed before seeds existed.
func TestCorruptPadSeed(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ix, _ := testPrivateIndex(t, k, 12, testDS{"leak-a", fictionalSpace()[:50]})
	m := ix.Reader().Meta()
	for _, bad := range []string{"zz", "abcd", ""} {
		m.Info[InfoPadSeed] = bad
		if _, err := New(ix.Reader(), k); !errors.Is(err, hashset.ErrCorrupt) {
			t.Errorf("seed %q: %v, want ErrCorrupt", bad, err)
		}
	}
}

// TestAnswerSize: the size a client estimates for an answer from what the
// key document and /v1/datasets say (keys, B, sets) is the size of the
// answers the index gives, padded exactly but for a bucket over its first
// tier, unpadded within a few per cent.
func TestAnswerSize(t *testing.T) {
	k, err := oprf.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	nums := fictionalSpace()[:20000]
	ix, _ := testPrivateIndex(t, k, 12, testDS{"leak-a", nums[:15000]}, testDS{"leak-b", nums[10000:]})
	keys, sets := ix.Reader().Len(), len(ix.Sets())
	for _, tc := range []struct {
		bits int
		pad  bool
		tol  float64
	}{{4, true, 0.01}, {8, true, 0.01}, {12, true, 0.01}, {4, false, 0.05}, {8, false, 0.25}} {
		prefix := Key(nums[3]) >> (64 - tc.bits)
		sec, err := ix.AppendBucket(nil, prefix, tc.bits, tc.pad)
		if err != nil {
			t.Fatal(err)
		}
		got := wire.ResponseHeaderSize + oprf.ElementSize + oprf.ProofSize + len(sec)
		est := wire.AnswerSize(keys, 12, tc.bits, sets, tc.pad)
		if d := math.Abs(float64(est)-float64(got)) / float64(got); d > tc.tol {
			t.Errorf("%d bits, padded %v: estimated %d bytes, the answer is %d", tc.bits, tc.pad, est, got)
		}
	}
}
