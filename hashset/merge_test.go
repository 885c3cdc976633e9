package hashset

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bits-and-blooms/bloom/v3"
)

// mds is a dataset of a merge test: its keys, each with its group.
type mds struct {
	name   string
	keys   []uint64
	groups []string
}

// buildMerge writes an index of datasets to dir/name and opens it.
func buildMerge(t *testing.T, dir, name string, fpr float64, dss ...mds) (string, *Reader) {
	t.Helper()
	b := NewBuilder(Options{KeyScheme: "test-v1", BloomFPR: fpr, Info: map[string]string{"go": "test"}, Created: "2026-12-06"})
	for _, d := range dss {
		i, err := b.AddDataset(Dataset{Name: d.name, Date: "2022-11", Source: "synthetic"})
		if err != nil {
			t.Fatal(err)
		}
		b.Dataset(i).Stats = map[string]int64{"rows": int64(len(d.keys))}
		for x, k := range d.keys {
			b.Add(k, i, b.Group(d.groups[x]))
		}
	}
	p := filepath.Join(dir, name)
	if _, err := b.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	r, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return p, r
}

// groupOf gives every key one group for good, as a country is to a number.
func groupOf(k uint64, names ...string) string { return names[k%uint64(len(names))] }

// mergeData returns seeded datasets: a and b share keys with c, and c and
// d share keys of a and b, whose groups are known (a's are all AA, b's BB).
func mergeData(n int) (a, b, c, d mds) {
	rng := rand.New(rand.NewPCG(20, uint64(n)))
	var aa, bb, fresh []uint64
	for range n {
		k := rng.Uint64() >> 1
		aa = append(aa, k-k%3) // group AA (k%3 == 0)
		k = rng.Uint64() >> 1
		bb = append(bb, k-k%3+1) // group BB
		fresh = append(fresh, rng.Uint64())
	}
	gs := func(keys []uint64) []string {
		var out []string
		for _, k := range keys {
			out = append(out, groupOf(k, "AA", "BB", "CC"))
		}
		return out
	}
	a = mds{"leak-a", aa, gs(aa)}
	b = mds{"leak-b", bb, gs(bb)}
	ck := slices.Concat(aa[:n/3], bb[n/2:], fresh[:n/2], aa[:10]) // repeats within too
	c = mds{"leak-c", ck, gs(ck)}
	var fresh2 []uint64
	for range n / 2 {
		fresh2 = append(fresh2, rng.Uint64())
	}
	dk := slices.Concat(fresh2, aa[:n/5], bb[n-n/5:])
	d = mds{"leak-d", dk, gs(dk)}
	return
}

func mergeFiles(t *testing.T, out string, fpr float64, rs ...*Reader) (MergeStats, error) {
	t.Helper()
	var in []MergeInput
	for i, r := range rs {
		in = append(in, MergeInput{Name: string(rune('A' + i)), Reader: r})
	}
	return MergeFile(context.Background(), out, in, MergeOptions{Info: map[string]string{"go": "test"}, Created: "2026-12-06", BloomFPR: fpr})
}

// TestMergeEqualsBuild: merging indexes gives the bytes of building the
// union at once, two-way and three-way, with and without bloom filter.
func TestMergeEqualsBuild(t *testing.T) {
	for _, fpr := range []float64{0.01, -1} {
		for _, n := range []int{1000, 40000} {
			dir := t.TempDir()
			a, b, c, d := mergeData(n)
			_, ab := buildMerge(t, dir, "ab.idx", fpr, a, b)
			_, rc := buildMerge(t, dir, "c.idx", fpr, c)
			_, rd := buildMerge(t, dir, "d.idx", fpr, d)

			wantP, _ := buildMerge(t, dir, "union2.idx", fpr, a, b, c)
			out := filepath.Join(dir, "merged2.idx")
			st, err := mergeFiles(t, out, fpr, ab, rc)
			if err != nil {
				t.Fatal(err)
			}
			sameFile(t, out, wantP)
			if st.InSeveral == 0 || st.GroupsUnknown != 0 || st.Meta.Groups == nil {
				t.Errorf("n=%d: %d keys in several inputs, %d of unknown group, groups %v", n, st.InSeveral, st.GroupsUnknown, st.Meta.Groups)
			}

			wantP, _ = buildMerge(t, dir, "union3.idx", fpr, a, b, c, d)
			out = filepath.Join(dir, "merged3.idx")
			if _, err := mergeFiles(t, out, fpr, ab, rc, rd); err != nil {
				t.Fatal(err)
			}
			sameFile(t, out, wantP)
			r, err := Open(out)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Verify(); err != nil {
				t.Error(err)
			}
			// A key of leak-a also in leak-c and leak-d has all three.
			k := a.keys[0]
			if ds, ok := r.Contains(k); !ok || !slices.Equal(ds, []int{0, 2, 3}) {
				t.Errorf("first key of leak-a: datasets %v, %v; want [0 2 3]", ds, ok)
			}
			r.Close()
		}
	}
}

func sameFile(t *testing.T, got, want string) {
	t.Helper()
	g, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g, w) {
		i := 0
		for i < min(len(g), len(w)) && g[i] == w[i] {
			i++
		}
		t.Errorf("merged file differs from the union built at once: %d vs %d bytes, first difference at byte %d", len(g), len(w), i)
	}
	fi, err := os.Stat(got)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("merged file mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestMergeGroupsUnknown: two inputs whose common keys belong to datasets
// of several countries each: the index-wide counts cannot be known and
// are left out; the per-dataset counts stay.
func TestMergeGroupsUnknown(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	var k1, k2 []uint64
	for range 3000 {
		k1 = append(k1, rng.Uint64())
	}
	k2 = append(k2, k1[:1000]...)
	for range 500 {
		k2 = append(k2, rng.Uint64())
	}
	gs := func(keys []uint64) (out []string) {
		for _, k := range keys {
			out = append(out, groupOf(k, "AA", "BB"))
		}
		return out
	}
	_, r1 := buildMerge(t, dir, "1.idx", 0, mds{"one", k1, gs(k1)})
	_, r2 := buildMerge(t, dir, "2.idx", 0, mds{"two", k2, gs(k2)})
	st, err := mergeFiles(t, filepath.Join(dir, "m.idx"), 0, r1, r2)
	if err != nil {
		t.Fatal(err)
	}
	if st.GroupsUnknown != 1000 || st.InSeveral != 1000 || st.Unique != 3500 {
		t.Errorf("unknown %d, in several %d, unique %d; want 1000, 1000, 3500", st.GroupsUnknown, st.InSeveral, st.Unique)
	}
	if st.Meta.Groups != nil {
		t.Errorf("index-wide groups %v, want none", st.Meta.Groups)
	}
	if g := st.Meta.Datasets[1].Groups; g["AA"]+g["BB"] != 1500 {
		t.Errorf("dataset two's groups %v, want 1500 keys in all", g)
	}
}

// TestMergeRefuses: a key scheme or a dataset name that differs, and a
// corrupt input, are errors naming the file; nothing is written.
func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	a, b, c, _ := mergeData(2000)
	ap, ra := buildMerge(t, dir, "a.idx", 0, a)
	_, rb := buildMerge(t, dir, "b.idx", 0, b)
	_, rc := buildMerge(t, dir, "c.idx", 0, c)
	_, ra2 := buildMerge(t, dir, "a2.idx", 0, a)

	other := NewBuilder(Options{KeyScheme: "other-v2"})
	i, _ := other.AddDataset(Dataset{Name: "x"})
	other.Add(7, i, 0)
	op := filepath.Join(dir, "other.idx")
	if _, err := other.WriteFile(op); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(op)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()

	// Flip one byte in the middle of b's keys.
	data, err := os.ReadFile(ap)
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := ra.h.section(secKeys)
	data[ks.Offset+ks.Length/2] ^= 0x40
	cp := filepath.Join(dir, "corrupt.idx")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rcor, err := Open(cp)
	if err != nil {
		t.Fatal(err)
	}
	defer rcor.Close()

	for _, tc := range []struct {
		name string
		in   []MergeInput
		want []string
		is   error
	}{
		{"scheme", []MergeInput{{"a.idx", ra}, {"other.idx", ro}}, []string{"other.idx", "key scheme"}, ErrMerge},
		{"same dataset", []MergeInput{{"a.idx", ra}, {"b.idx", rb}, {"a2.idx", ra2}}, []string{`"leak-a"`, "a.idx", "a2.idx"}, ErrMerge},
		{"corrupt", []MergeInput{{"b.idx", rb}, {"corrupt.idx", rcor}, {"c.idx", rc}}, []string{"corrupt.idx"}, ErrChecksum},
	} {
		out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-")+".idx")
		_, err := MergeFile(context.Background(), out, tc.in, MergeOptions{})
		if err == nil || !errors.Is(err, tc.is) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.is)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %s", tc.name, err, w)
			}
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: output exists after a refused merge", tc.name)
		}
	}
	noTemp(t, dir)
}

func noTemp(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestMergeStructureCorrupt: keys out of order under a valid checksum (a
// file whose CRCs were recomputed) are caught by the merge's own checks.
func TestMergeStructureCorrupt(t *testing.T) {
	dir := t.TempDir()
	a, b, _, _ := mergeData(3000)
	ap, ra := buildMerge(t, dir, "a.idx", -1, a)
	_, rb := buildMerge(t, dir, "b.idx", -1, b)
	data, err := os.ReadFile(ap)
	if err != nil {
		t.Fatal(err)
	}
	// Make a key equal to the one before it, in the first bucket holding
	// two keys: the directory still holds, the order does not.
	ks, _ := ra.h.section(secKeys)
	ds, _ := ra.h.section(secDir)
	w := int64(ra.w)
	pos := int64(-1)
	for bk := int64(0); bk < 1<<ra.b; bk++ {
		s, e := le.Uint32(data[ds.Offset+4*bk:]), le.Uint32(data[ds.Offset+4*bk+4:])
		if e-s >= 2 {
			pos = int64(s)
			break
		}
	}
	if pos < 0 {
		t.Fatal("no bucket holds two keys")
	}
	copy(data[ks.Offset+(pos+1)*w:], data[ks.Offset+pos*w:ks.Offset+(pos+1)*w])
	rewriteCRCs(t, data, ra)
	cp := filepath.Join(dir, "swapped.idx")
	if err := os.WriteFile(cp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rs, err := Open(cp)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	if rs.Verify() == nil {
		t.Fatal("Verify accepts the file")
	}
	out := filepath.Join(dir, "out.idx")
	_, err = MergeFile(context.Background(), out, []MergeInput{{"b.idx", rb}, {"swapped.idx", rs}}, MergeOptions{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "swapped.idx") {
		t.Errorf("error %v, want ErrCorrupt naming swapped.idx", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("output exists after a failed merge")
	}
	noTemp(t, dir)
}

// rewriteCRCs recomputes the section and header checksums of data, an
// index file laid out as r's.
func rewriteCRCs(t *testing.T, data []byte, r *Reader) {
	t.Helper()
	h := *r.h
	h.sections = slices.Clone(r.h.sections)
	for i, s := range h.sections {
		h.sections[i].CRC = crc(data[s.Offset : s.Offset+s.Length])
	}
	copy(data, h.marshal())
}

// TestMergeCancelled: a merge whose context ends leaves neither the output
// nor a temporary file.
func TestMergeCancelled(t *testing.T) {
	dir := t.TempDir()
	a, b, _, _ := mergeData(200000)
	_, ra := buildMerge(t, dir, "a.idx", 0, a)
	_, rb := buildMerge(t, dir, "b.idx", 0, b)
	out := filepath.Join(dir, "out.idx")
	for _, stop := range []int{1, 2} { // during the first pass, then the second
		ctx, cancel := context.WithCancel(context.Background())
		testHookMergeScan = func(pass int) {
			if pass == stop {
				cancel()
			}
		}
		_, err := MergeFile(ctx, out, []MergeInput{{"a.idx", ra}, {"b.idx", rb}}, MergeOptions{})
		testHookMergeScan = nil
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("stop in pass %d: error %v, want context.Canceled", stop, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("stop in pass %d: output exists", stop)
		}
		noTemp(t, dir)
	}
}

// TestMergeReaderAt: inputs read through ReadAt (not mapped) merge the same.
func TestMergeReaderAt(t *testing.T) {
	dir := t.TempDir()
	a, b, c, _ := mergeData(5000)
	ap, _ := buildMerge(t, dir, "ab.idx", 0, a, b)
	cp, _ := buildMerge(t, dir, "c.idx", 0, c)
	want, _ := buildMerge(t, dir, "union.idx", 0, a, b, c)
	var rs []*Reader
	for _, p := range []string{ap, cp} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	out := filepath.Join(dir, "m.idx")
	if _, err := mergeFiles(t, out, DefaultBloomFPR, rs...); err != nil {
		t.Fatal(err)
	}
	sameFile(t, out, want)
}

// TestBloomFillMatchesLibrary: the partitioned filling gives the words
// of the library's own filter, on filters of one region and of several,
// with batches that do not divide the keys.
func TestBloomFillMatchesLibrary(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{0, 1, 1000, 700_000} {
		keys := make([]uint64, n)
		for i := range keys {
			keys[i] = rng.Uint64()
		}
		for _, fpr := range []float64{0.01, 0.3} {
			mb, kb := bloom.EstimateParameters(uint(max(n, 1)), fpr)
			lib := bloom.New(mb, kb)
			var b [8]byte
			for _, k := range keys {
				binary.BigEndian.PutUint64(b[:], k)
				lib.Add(b[:])
			}
			want := lib.BitSet().Words()
			for _, workers := range []int{1, 3} {
				f := newBloomFill(nil, uint64(lib.Cap()), uint64(lib.K()), workers)
				f.Add(keys[:n/3])
				f.Add(keys[n/3:])
				got := f.Words()
				if len(want) < len(got) {
					want = append(want, make([]uint64, len(got)-len(want))...)
				}
				if !slices.Equal(got, want) {
					t.Errorf("n=%d fpr=%v workers=%d: words differ from the library's (m=%d k=%d)", n, fpr, workers, lib.Cap(), lib.K())
				}
			}
		}
	}
}
