package hashset

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBuilderLarge adds more keys than one chunk holds, on the large-input
// sort path, with duplicates within and across datasets, and checks every
// key's provenance against a map.
func TestBuilderLarge(t *testing.T) {
	const n = 3*maxChunk/2 + 12345
	b := NewBuilder(Options{KeyScheme: "test", BloomFPR: -1})
	for _, name := range []string{"a", "b", "c"} {
		if _, err := b.AddDataset(Dataset{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	g := b.Group("g")
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[uint64][]int{}
	for range n {
		k := rng.Uint64() >> rng.IntN(8) // uneven top bytes
		if rng.IntN(4) == 0 && len(want) > 0 {
			k = k>>40 | 1 // more duplicates
		}
		d := rng.IntN(3)
		b.Add(k, d, g)
		if !slices.Contains(want[k], d) {
			want[k] = append(want[k], d)
		}
	}
	if b.Len() != n {
		t.Fatalf("Len = %d, want %d", b.Len(), n)
	}
	var buf bytes.Buffer
	st, err := b.Write(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if st.Unique != int64(len(want)) {
		t.Fatalf("unique %d, want %d", st.Unique, len(want))
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for k, ds := range want {
		got, ok := r.Contains(k)
		slices.Sort(ds)
		if !ok || !slices.Equal(got, ds) {
			t.Fatalf("Contains(%x) = %v, %v; want %v", k, got, ok, ds)
		}
	}
}
