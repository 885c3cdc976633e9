package hashset

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fixtures in testdata/")

// smallIndex is a small index with three datasets and a bloom section.
func smallIndex(t testing.TB) ([]byte, ref) {
	s := randomSpec(11, 300, 3)
	return s.bytes(t), s.ref()
}

// open tries both lookup paths. It returns the readers that opened.
func openBoth(data []byte) ([]*Reader, error) {
	var rs []*Reader
	mem, err1 := newReader(bytes.NewReader(data), data, int64(len(data)))
	if err1 == nil {
		rs = append(rs, mem)
	}
	ra, err2 := NewReader(bytes.NewReader(data), int64(len(data)))
	if err2 == nil {
		rs = append(rs, ra)
	}
	if (err1 == nil) != (err2 == nil) {
		panic("the two paths disagree on opening")
	}
	return rs, err1
}

// exercise runs every lookup on r; it must not panic, and ContainsBatch
// must agree with Contains, before and after Preload (which may fail). It
// returns Verify's error.
func exercise(r *Reader, keys []uint64) error {
	for _, k := range keys {
		r.Contains(k)
		r.MayContain(k)
	}
	sameBatch(r, keys)
	if err := r.Preload(); err == nil {
		sameBatch(r, keys)
	} else if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrCorrupt) {
		panic(fmt.Sprintf("Preload: %v is neither ErrChecksum nor ErrCorrupt", err))
	}
	for _, bits := range []int{1, 7, 8, 13, 20, 24, 25, 32, 64} {
		for _, k := range keys[:min(len(keys), 3)] {
			sameRange(r, k>>(64-bits), bits)
		}
	}
	r.Sections()
	r.Meta()
	return r.Verify()
}

// sameRange panics unless AppendRangeIDs reads what Range reads: the
// same keys, each with the index in Sets of the very slice Range gives.
func sameRange(r *Reader, prefix uint64, bits int) {
	es, err := r.Range(prefix, bits)
	keys, ids, err2 := r.AppendRangeIDs(nil, nil, prefix, bits)
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
		panic(fmt.Sprintf("AppendRangeIDs: %v, Range: %v", err2, err))
	}
	if len(keys) != len(es) || len(ids) != len(es) {
		panic(fmt.Sprintf("AppendRangeIDs: %d keys and %d ids, Range %d entries", len(keys), len(ids), len(es)))
	}
	for i, e := range es {
		if keys[i] != e.Key || ids[i] >= uint32(len(r.Sets())) || &r.Sets()[ids[i]][0] != &e.Datasets[0] {
			panic(fmt.Sprintf("AppendRangeIDs disagrees with Range at entry %d", i))
		}
	}
}

// sameBatch panics unless ContainsBatch answers what Contains answers.
func sameBatch(r *Reader, keys []uint64) {
	sets := make([][]int, len(keys))
	found := r.ContainsBatch(keys, sets)
	n := 0
	for i, k := range keys {
		ds, ok := r.Contains(k)
		if ok {
			n++
		}
		if ok != (sets[i] != nil) || !slices.Equal(ds, sets[i]) {
			panic(fmt.Sprintf("ContainsBatch disagrees with Contains on key %d: %v, want %v, %v", i, sets[i], ds, ok))
		}
	}
	if n != found {
		panic(fmt.Sprintf("ContainsBatch found %d, Contains %d", found, n))
	}
}

// mustFail checks that data is rejected by Open or by Verify, without
// panicking, and that lookups in between do not panic.
func mustFail(t *testing.T, what string, data []byte, keys []uint64) {
	t.Helper()
	rs, err := openBoth(data)
	if err != nil {
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrVersion) && !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v is none of the sentinels", what, err)
		}
		return
	}
	for _, r := range rs {
		if err := exercise(r, keys); err == nil {
			t.Errorf("%s: opened and verified", what)
		}
	}
}

func refKeys(m ref) []uint64 {
	var keys []uint64
	for k := range m {
		keys = append(keys, k, k+1)
	}
	return keys
}

func TestTruncated(t *testing.T) {
	data, want := smallIndex(t)
	keys := refKeys(want)
	r := readers(t, data)["mem"]
	cuts := []int{0, 1, 7, 8, 63, 64, int(r.h.tableEnd) - 1, int(r.h.tableEnd)}
	for _, s := range r.Sections() {
		cuts = append(cuts, int(s.Offset), int(s.Offset+s.Length)-1, int(s.Offset+s.Length))
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 200; i++ {
		cuts = append(cuts, rng.IntN(len(data)))
	}
	for _, c := range cuts {
		if c >= len(data) || c < 0 {
			continue
		}
		mustFail(t, "truncated", data[:c:c], keys)
	}
}

func TestBitFlips(t *testing.T) {
	data, want := smallIndex(t)
	keys := refKeys(want)
	rng := rand.New(rand.NewPCG(2, 2))
	flips := 3000
	if testing.Short() {
		flips = 300
	}
	for i := 0; i < flips; i++ {
		d := bytes.Clone(data)
		bit := rng.IntN(len(d) * 8)
		if i < 64*8 { // every bit of the header
			bit = i
		}
		d[bit/8] ^= 1 << (bit % 8)
		mustFail(t, "bit flip", d, keys)
	}
}

func TestForeign(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	for name, data := range map[string][]byte{
		"empty":  {},
		"zeros":  make([]byte, 1000),
		"zeros8": make([]byte, 8),
		"gzip":   {0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59},
		"random": random,
		"text":   []byte("phone,country\n+447700900123,GB\n"),
	} {
		_, err := NewReader(bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: err = %v, want ErrFormat", name, err)
		}
	}
	// A future version is reported as such.
	data, _ := smallIndex(t)
	d := patchHeader(data, func(h []byte) { binary.LittleEndian.PutUint32(h[8:], 2) })
	if _, err := NewReader(bytes.NewReader(d), int64(len(d))); !errors.Is(err, ErrVersion) {
		t.Errorf("version 2: err = %v, want ErrVersion", err)
	}
	// A missing file.
	if _, err := Open(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}

// patchHeader returns a copy of data with the header changed by fn and its
// CRC recomputed, so that the change reaches the checks behind the CRC.
func patchHeader(data []byte, fn func(h []byte)) []byte {
	d := bytes.Clone(data)
	tableEnd := binary.LittleEndian.Uint32(d[12:])
	fn(d)
	if int(tableEnd) <= len(d) {
		binary.LittleEndian.PutUint32(d[headerCRCOff:], headerChecksum(d[:tableEnd]))
	}
	return d
}

// hugeFields lists header patches that set a length or count to a huge or
// inconsistent value.
func hugeFields(data []byte) map[string][]byte {
	pu64 := func(off int, v uint64) []byte {
		return patchHeader(data, func(h []byte) { binary.LittleEndian.PutUint64(h[off:], v) })
	}
	pu32 := func(off int, v uint32) []byte {
		return patchHeader(data, func(h []byte) { binary.LittleEndian.PutUint32(h[off:], v) })
	}
	pu8 := func(off int, v byte) []byte { return patchHeader(data, func(h []byte) { h[off] = v }) }
	out := map[string][]byte{
		"filesize":      pu64(16, 1<<62),
		"keys":          pu64(24, 1<<40),
		"keys+1":        pu64(24, binary.LittleEndian.Uint64(data[24:])+1),
		"dirbits":       pu8(32, 60),
		"dirbits-small": pu8(32, 2),
		"suffix":        pu8(33, 1),
		"idw":           pu8(34, 4),
		"nsec":          pu32(36, 1<<30),
		"nsec0":         pu32(36, 0),
		"bloom-m":       pu64(40, 1<<60),
		"bloom-m-small": pu64(40, 64),
		"bloom-k":       pu32(48, 1<<20),
		"sets":          pu32(52, 1<<31),
		"datasets":      pu32(56, 1<<20),
		"tableEnd":      pu32(12, 1<<31),
	}
	nsec := int(binary.LittleEndian.Uint32(data[36:]))
	for i := 0; i < nsec; i++ {
		e := headerSize + i*tableEntrySize
		out["sec-off-"+string(rune('0'+i))] = pu64(e+8, 1<<62)
		out["sec-len-"+string(rune('0'+i))] = pu64(e+16, 1<<62)
		out["sec-len1-"+string(rune('0'+i))] = pu64(e+16, binary.LittleEndian.Uint64(data[e+16:])+1)
		out["sec-id-"+string(rune('0'+i))] = pu32(e, 99)
	}
	return out
}

func TestHugeFields(t *testing.T) {
	data, want := smallIndex(t)
	keys := refKeys(want)
	for name, d := range hugeFields(data) {
		t.Run(name, func(t *testing.T) { mustFail(t, name, d, keys) })
	}
}

// TestCorruptSections damages section contents and fixes their CRCs, so
// that the structural checks of Open, Verify and the lookups see the damage.
func TestCorruptSections(t *testing.T) {
	data, want := smallIndex(t)
	keys := refKeys(want)
	r := readers(t, data)["mem"]
	rng := rand.New(rand.NewPCG(4, 4))
	for i, s := range r.Sections() {
		if s.Length == 0 {
			continue
		}
		for j := 0; j < 200; j++ {
			d := bytes.Clone(data)
			p := d[s.Offset : s.Offset+s.Length]
			for n := rng.IntN(4) + 1; n > 0; n-- {
				p[rng.IntN(len(p))] ^= byte(rng.IntN(255) + 1)
			}
			e := headerSize + i*tableEntrySize
			d = patchHeader(d, func(h []byte) { binary.LittleEndian.PutUint32(h[e+4:], crc(p)) })
			// Must not panic; may or may not be detected (a damaged
			// suffix can still be sorted), so only run the lookups.
			if rs, err := openBoth(d); err == nil {
				for _, r := range rs {
					exercise(r, keys)
				}
			}
		}
	}
}

// Fixtures in testdata/ seed FuzzReader and pin the format: valid.idx must
// be what today's builder writes for the same input.
var fixtures = map[string]func(t testing.TB) []byte{
	"valid.idx": func(t testing.TB) []byte { d, _ := smallIndex(t); return d },
	"truncated.idx": func(t testing.TB) []byte {
		d, _ := smallIndex(t)
		return d[:len(d)/2]
	},
	"bitflip.idx": func(t testing.TB) []byte {
		d, _ := smallIndex(t)
		d[len(d)-100] ^= 0x10
		return d
	},
	"hugelen.idx": func(t testing.TB) []byte {
		d, _ := smallIndex(t)
		return hugeFields(d)["sec-len-3"]
	},
	"unsorted.idx": func(t testing.TB) []byte { // KEYS swapped, CRC fixed: only Verify sees it
		d, _ := smallIndex(t)
		r := readers(t, d)["mem"]
		for i, s := range r.Sections() {
			if s.ID == secKeys {
				p := d[s.Offset : s.Offset+s.Length]
				w := r.w
				for x := 0; x < w; x++ {
					p[x], p[len(p)-w+x] = p[len(p)-w+x], p[x]
				}
				e := headerSize + i*tableEntrySize
				d = patchHeader(d, func(h []byte) { binary.LittleEndian.PutUint32(h[e+4:], crc(p)) })
			}
		}
		return d
	},
	"empty.idx": func(t testing.TB) []byte {
		return spec{}.bytes(t)
	},
}

func TestFixtures(t *testing.T) {
	for name, gen := range fixtures {
		path := filepath.Join("testdata", name)
		want := gen(t)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFixtures -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the builder writes now; if the format changed on purpose, bump FormatVersion and run -update", name)
		}
		r, err := Open(path)
		if err == nil {
			err = r.Verify()
			r.Close()
		}
		valid := name == "valid.idx" || name == "empty.idx"
		if valid && err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !valid && err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
