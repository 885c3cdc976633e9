package hashset

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzReader: arbitrary bytes must never make NewReader, the lookups or
// Verify panic. Seeded with the fixtures in testdata/.
func FuzzReader(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*.idx"))
	for _, p := range paths {
		if d, err := os.ReadFile(p); err == nil {
			f.Add(d)
		}
	}
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		var keys []uint64
		for i := 0; i+8 <= len(data) && len(keys) < 64; i += 37 {
			keys = append(keys, binary.LittleEndian.Uint64(data[i:]))
		}
		keys = append(keys, 0, ^uint64(0))
		rs, err := openBoth(data)
		if err != nil {
			return
		}
		for _, r := range rs {
			exercise(r, keys)
		}
	})
}

// FuzzRoundTrip: keys taken from the fuzz input, spread over datasets by
// their low bits, must read back exactly.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{}, uint8(1), false)
	f.Add([]byte("0123456789abcdef0123456789abcdefXXXXXXXX"), uint8(3), true)
	f.Add(bytes.Repeat([]byte{0xff, 0, 0, 0, 0, 0, 0, 1}, 40), uint8(2), false)
	f.Fuzz(func(t *testing.T, data []byte, nd uint8, bloom bool) {
		nd = nd%8 + 1
		s := spec{datasets: make([][]uint64, nd), bloomFPR: -1}
		if bloom {
			s.bloomFPR = 0.1
		}
		for i := 0; i+8 <= len(data); i += 8 {
			k := binary.BigEndian.Uint64(data[i:])
			d := int(data[i+7]) % int(nd)
			s.datasets[d] = append(s.datasets[d], k)
		}
		want := s.ref()
		for path, r := range readers(t, s.bytes(t)) {
			if err := r.Verify(); err != nil {
				t.Fatalf("%s: Verify: %v", path, err)
			}
			for k, ds := range want {
				got, ok := r.Contains(k)
				if !ok || !slices.Equal(got, ds) {
					t.Fatalf("%s: Contains = %v, %v; want %v", path, got, ok, ds)
				}
			}
			all, err := r.Range(0, 1)
			if err != nil {
				t.Fatal(err)
			}
			all, err = r.AppendRange(all, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != len(want) {
				t.Fatalf("%s: Range returned %d keys, want %d", path, len(all), len(want))
			}
			for i, e := range all {
				if i > 0 && e.Key <= all[i-1].Key {
					t.Fatalf("%s: Range not strictly increasing", path)
				}
				if !slices.Equal(e.Datasets, want[e.Key]) {
					t.Fatalf("%s: Range datasets wrong", path)
				}
			}
		}
	})
}
