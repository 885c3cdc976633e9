package hashset

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// spec describes an index to build in a test: keys per dataset.
type spec struct {
	datasets [][]uint64
	bloomFPR float64
}

// ref is the expected content: key -> sorted dataset indexes.
type ref map[uint64][]int

func (s spec) ref() ref {
	m := ref{}
	for d, keys := range s.datasets {
		for _, k := range keys {
			if !slices.Contains(m[k], d) {
				m[k] = append(m[k], d)
			}
		}
	}
	for k := range m {
		slices.Sort(m[k])
	}
	return m
}

func (s spec) builder(t testing.TB) *Builder {
	b := NewBuilder(Options{KeyScheme: "test-v1", BloomFPR: s.bloomFPR, Info: map[string]string{"go": "test"}})
	g := b.Group("ZZ")
	for d, keys := range s.datasets {
		i, err := b.AddDataset(Dataset{Name: fmt.Sprintf("ds%d", d), Date: "2022-11"})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			b.Add(k, i, g)
		}
	}
	return b
}

func (s spec) bytes(t testing.TB) []byte {
	var buf bytes.Buffer
	if _, err := s.builder(t).Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// randomSpec makes n keys over nd datasets; about a tenth of the keys are
// shared by several datasets or repeated within one.
func randomSpec(seed uint64, n, nd int) spec {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := spec{datasets: make([][]uint64, nd)}
	var all []uint64
	for i := 0; i < n; i++ {
		d := rng.IntN(nd)
		var k uint64
		if len(all) > 0 && rng.IntN(10) == 0 {
			k = all[rng.IntN(len(all))]
		} else {
			k = rng.Uint64()
		}
		all = append(all, k)
		s.datasets[d] = append(s.datasets[d], k)
	}
	return s
}

// readers returns the same index through the three lookup paths: memory
// (as when mapped), io.ReaderAt, and a copy made by Preload.
func readers(t testing.TB, data []byte) map[string]*Reader {
	mem, err := newReader(bytes.NewReader(data), data, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	ra, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	pre, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pre.Preload(); err != nil {
		t.Fatal(err)
	}
	return map[string]*Reader{"mem": mem, "readerat": ra, "preloaded": pre}
}

func checkReader(t *testing.T, r *Reader, want ref, rng *rand.Rand) {
	t.Helper()
	if r.Len() != int64(len(want)) {
		t.Fatalf("Len = %d, want %d", r.Len(), len(want))
	}
	if err := r.Verify(); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	keys := make([]uint64, 0, len(want))
	for k, ds := range want {
		keys = append(keys, k)
		got, ok := r.Contains(k)
		if !ok || !slices.Equal(got, ds) {
			t.Fatalf("Contains(%05x...) = %v, %v; want %v", k>>44, got, ok, ds)
		}
		if !r.MayContain(k) {
			t.Fatalf("MayContain(%05x...) = false for a present key", k>>44)
		}
	}
	slices.Sort(keys)
	probes := slices.Clone(keys)
	for i := 0; i < 2000; i++ {
		k := rng.Uint64()
		if i%2 == 0 && len(keys) > 0 { // near misses: neighbours of present keys
			k = keys[rng.IntN(len(keys))] + uint64(rng.IntN(3)) - 1
		}
		probes = append(probes, k)
		if _, in := want[k]; in {
			continue
		}
		if got, ok := r.Contains(k); ok {
			t.Fatalf("Contains(absent %05x...) = %v, true", k>>44, got)
		}
	}
	rng.Shuffle(len(probes), func(i, j int) { probes[i], probes[j] = probes[j], probes[i] })
	sets := make([][]int, len(probes)+1)
	found := r.ContainsBatch(probes, sets)
	wantFound := 0
	for i, k := range probes {
		ds, in := want[k]
		if in {
			wantFound++
		}
		if (sets[i] != nil) != in || !slices.Equal(sets[i], ds) {
			t.Fatalf("ContainsBatch: key %05x...: %v, want %v", k>>44, sets[i], ds)
		}
	}
	if found != wantFound {
		t.Fatalf("ContainsBatch found %d, want %d", found, wantFound)
	}
	b := r.Meta().DirBits
	for _, bits := range []int{1, 2, 8, 12, 20, 24, 32, 64, b - 1, b, b + 1} {
		for j := 0; j < 5; j++ {
			var prefix uint64
			if j < 3 && len(keys) > 0 {
				prefix = keys[rng.IntN(len(keys))] >> (64 - bits)
			} else {
				prefix = rng.Uint64() >> (64 - bits)
			}
			got, err := r.Range(prefix, bits)
			if err != nil {
				t.Fatal(err)
			}
			var wantKeys []uint64
			for _, k := range keys {
				if k>>(64-bits) == prefix {
					wantKeys = append(wantKeys, k)
				}
			}
			if len(got) != len(wantKeys) {
				t.Fatalf("Range(bits=%d) returned %d keys, want %d", bits, len(got), len(wantKeys))
			}
			for i, e := range got {
				if e.Key != wantKeys[i] || !slices.Equal(e.Datasets, want[e.Key]) {
					t.Fatalf("Range(bits=%d)[%d] wrong", bits, i)
				}
			}
			ks, ids, err := r.AppendRangeIDs([]uint64{7}, []uint32{9}, prefix, bits)
			if err != nil {
				t.Fatal(err)
			}
			if len(ks) != len(wantKeys)+1 || len(ids) != len(ks) || ks[0] != 7 || ids[0] != 9 {
				t.Fatalf("AppendRangeIDs(bits=%d) returned %d keys and %d ids, want %d after one", bits, len(ks), len(ids), len(wantKeys))
			}
			for i, k := range ks[1:] {
				if k != wantKeys[i] || !slices.Equal(r.Sets()[ids[i+1]], want[k]) {
					t.Fatalf("AppendRangeIDs(bits=%d)[%d] wrong", bits, i)
				}
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 2, 100, 5000, 100_000} {
		for _, nd := range []int{1, 4} {
			for _, fpr := range []float64{0, -1} {
				name := fmt.Sprintf("n=%d/datasets=%d/fpr=%g", n, nd, fpr)
				t.Run(name, func(t *testing.T) {
					s := randomSpec(uint64(n*nd), n, nd)
					s.bloomFPR = fpr
					want := s.ref()
					data := s.bytes(t)
					for path, r := range readers(t, data) {
						t.Run(path, func(t *testing.T) {
							checkReader(t, r, want, rand.New(rand.NewPCG(1, 2)))
						})
					}
				})
			}
		}
	}
}

// TestManySets forces 2-byte provenance ids: 300 distinct dataset sets.
func TestManySets(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s := spec{datasets: make([][]uint64, 12)}
	for i := 0; i < 20000; i++ {
		k := rng.Uint64()
		mask := rng.IntN(1<<12-1) + 1
		for d := 0; d < 12; d++ {
			if mask&(1<<d) != 0 {
				s.datasets[d] = append(s.datasets[d], k)
			}
		}
	}
	data := s.bytes(t)
	for path, r := range readers(t, data) {
		t.Run(path, func(t *testing.T) {
			if r.Meta().SetIDBytes != 2 {
				t.Errorf("SetIDBytes = %d, want 2", r.Meta().SetIDBytes)
			}
			checkReader(t, r, s.ref(), rng)
		})
	}
}

// TestSkewed puts thousands of keys in one bucket, which exercises the
// bucket search and the io.ReaderAt narrowing.
func TestSkewed(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var keys []uint64
	for i := 0; i < 20000; i++ {
		k := 0xabcdef12<<32 | uint64(rng.Uint32())
		if i%3 == 0 {
			k = uint64(rng.Uint32()) // top bits zero: bucket 0
		}
		keys = append(keys, k)
	}
	s := spec{datasets: [][]uint64{keys}}
	for path, r := range readers(t, s.bytes(t)) {
		t.Run(path, func(t *testing.T) { checkReader(t, r, s.ref(), rng) })
	}
}

func TestEmpty(t *testing.T) {
	for _, fpr := range []float64{0, -1} {
		b := NewBuilder(Options{BloomFPR: fpr})
		path := filepath.Join(t.TempDir(), "empty.idx")
		st, err := b.WriteFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Bytes != r.Size() || r.Len() != 0 {
			t.Errorf("stats %+v, size %d, len %d", st, r.Size(), r.Len())
		}
		if _, ok := r.Contains(42); ok {
			t.Error("Contains on empty index")
		}
		if e, err := r.Range(1, 1); err != nil || len(e) != 0 {
			t.Errorf("Range = %v, %v", e, err)
		}
		if err := r.Verify(); err != nil {
			t.Error(err)
		}
		r.MayContain(42)
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestStats(t *testing.T) {
	b := NewBuilder(Options{})
	a, _ := b.AddDataset(Dataset{Name: "a"})
	c, _ := b.AddDataset(Dataset{Name: "c", Source: "fiction"})
	eg, us := b.Group("EG"), b.Group("US")
	b.Add(1, a, eg)
	b.Add(1, a, eg) // dup within a
	b.Add(1, c, us) // also in c: InSeveral; group of the key stays EG
	b.Add(2, a, us)
	b.Add(3, c, us)
	b.Add(3, c, us) // dup within c
	b.Add(3, c, us) // and again
	b.Dataset(c).Stats = map[string]int64{"rows": 7}
	var buf bytes.Buffer
	st, err := b.Write(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 7 || st.Unique != 3 || st.DupWithin != 3 || st.InSeveral != 1 || st.Bytes != int64(buf.Len()) {
		t.Errorf("stats = %+v", st)
	}
	wantPer := []DatasetStats{{"a", 3, 2, 1}, {"c", 4, 2, 2}}
	if !slices.Equal(st.PerDataset, wantPer) {
		t.Errorf("PerDataset = %+v, want %+v", st.PerDataset, wantPer)
	}
	r, err := NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	m := r.Meta()
	if m.Keys != 3 || m.Groups["EG"] != 1 || m.Groups["US"] != 2 || len(m.Groups) != 2 {
		t.Errorf("meta keys %d groups %v", m.Keys, m.Groups)
	}
	if d := m.Datasets[0]; d.Keys != 2 || d.Groups["EG"] != 1 || d.Groups["US"] != 1 {
		t.Errorf("dataset a = %+v", d)
	}
	if d := m.Datasets[1]; d.Keys != 2 || d.Groups["US"] != 2 || d.Stats["rows"] != 7 || d.Source != "fiction" {
		t.Errorf("dataset c = %+v", d)
	}
	if ds, ok := r.Contains(1); !ok || !slices.Equal(ds, []int{0, 1}) {
		t.Errorf("Contains(1) = %v %v", ds, ok)
	}
	if err := r.Verify(); err != nil {
		t.Error(err)
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder(Options{})
	if _, err := b.AddDataset(Dataset{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddDataset(Dataset{Name: "x"}); err == nil {
		t.Error("duplicate dataset name accepted")
	}
	for i := 1; i < MaxDatasets; i++ {
		if _, err := b.AddDataset(Dataset{Name: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.AddDataset(Dataset{Name: "one too many"}); err == nil {
		t.Error("dataset limit not enforced")
	}
	if b.Dataset(-1) != nil || b.Dataset(MaxDatasets) != nil || b.Dataset(0).Name != "x" {
		t.Error("Dataset(i) bounds")
	}
	b.Add(1, 0, 0)
	if b.Len() != 1 {
		t.Errorf("Len = %d", b.Len())
	}
	if _, err := b.Write(&bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(&bytes.Buffer{}); err == nil {
		t.Error("second Write succeeded")
	}

	b = NewBuilder(Options{})
	b.Add(1, 0, 0) // no dataset registered
	if _, err := b.Write(&bytes.Buffer{}); err == nil {
		t.Error("Add to an unregistered dataset not reported")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.idx")
	s := randomSpec(1, 1000, 2)
	if _, err := s.builder(t).WriteFile(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("perm = %v, want 0600", fi.Mode().Perm())
	}
	old, _ := os.ReadFile(path)

	testHookBeforeRename = func() error { return errors.New("simulated failure") }
	defer func() { testHookBeforeRename = nil }()
	if _, err := randomSpec(2, 1000, 2).builder(t).WriteFile(path); err == nil {
		t.Fatal("WriteFile succeeded despite the failure")
	}
	now, _ := os.ReadFile(path)
	if !bytes.Equal(old, now) {
		t.Error("failed WriteFile changed the existing file")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries after a failed write, want 1 (no temp file)", len(ents))
	}

	// A failed build (bad Add) also leaves nothing behind.
	testHookBeforeRename = nil
	b := NewBuilder(Options{})
	b.Add(1, 5, 0)
	if _, err := b.WriteFile(filepath.Join(dir, "y.idx")); err == nil {
		t.Fatal("WriteFile succeeded with an invalid Add")
	}
	ents, _ = os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries after a failed build, want 1", len(ents))
	}

	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkReader(t, r, s.ref(), rand.New(rand.NewPCG(5, 5)))
}

func TestRangeArgs(t *testing.T) {
	r := readers(t, randomSpec(1, 10, 1).bytes(t))["mem"]
	for _, c := range []struct {
		prefix uint64
		bits   int
	}{{0, 0}, {0, 65}, {2, 1}, {1 << 20, 20}, {0, -3}} {
		if _, err := r.Range(c.prefix, c.bits); err == nil {
			t.Errorf("Range(%d, %d) accepted", c.prefix, c.bits)
		}
	}
	if _, err := r.Range(^uint64(0), 64); err != nil {
		t.Error(err)
	}
}

func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 2, 50, 65, 1000, 100_000} {
		for _, gen := range []func() uint64{
			rng.Uint64,
			func() uint64 { return rng.Uint64() & 0xff00ff },   // constant bytes: skipped passes
			func() uint64 { return uint64(rng.IntN(5)) << 60 }, // many equal keys
		} {
			keys := make([]uint64, n)
			vals := make([]uint32, n)
			for i := range keys {
				keys[i], vals[i] = gen(), uint32(i)
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			radixSort(keys, vals, make([]uint64, n), make([]uint32, n))
			if !slices.Equal(keys, want) {
				t.Fatalf("n=%d: not sorted", n)
			}
			for i := 1; i < n; i++ {
				if keys[i] == keys[i-1] && vals[i] < vals[i-1] {
					t.Fatalf("n=%d: not stable", n)
				}
			}
		}
	}
}

func TestChooseDirBits(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want int
	}{{0, 8}, {1000, 8}, {1_000_000, 16}, {10_000_000, 16}, {100_000_000, 24}, {487_000_000, 24}, {maxKeys, 24}} {
		if got := chooseDirBits(c.n); got != c.want {
			t.Errorf("chooseDirBits(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// TestDeterministic: the same input gives the same bytes.
func TestDeterministic(t *testing.T) {
	s := randomSpec(4, 3000, 3)
	if !bytes.Equal(s.bytes(t), s.bytes(t)) {
		t.Error("two builds of the same input differ")
	}
}
