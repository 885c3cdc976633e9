package hashset

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"testing"
)

// TestVerifyParts: Verify walks runs of directory buckets on several
// goroutines; whatever the number of runs, it accepts a sound index and
// gives the error a walk on one core gives, the one at the lowest
// position, for damage the checksums do not see (the section's CRC
// recomputed), wherever it is.
func TestVerifyParts(t *testing.T) {
	base := randomSpec(5, 20000, 3).bytes(t)
	r0, err := newReader(bytes.NewReader(base), base, int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	sec := map[uint32]int{}
	for i, s := range r0.Sections() {
		sec[s.ID] = i
	}
	// patch returns base with fn applied to section id's bytes and that
	// section's CRC fixed.
	patch := func(id uint32, fn func(p []byte)) []byte {
		d := bytes.Clone(base)
		i := sec[id]
		s := r0.Sections()[i]
		p := d[s.Offset : s.Offset+s.Length]
		fn(p)
		e := headerSize + i*tableEntrySize
		return patchHeader(d, func(h []byte) { binary.LittleEndian.PutUint32(h[e+4:], crc(p)) })
	}
	w, idw := r0.w, r0.idw
	if idw == 0 {
		t.Fatal("want an index with provenance ids")
	}
	swapKeys := func(at int) func([]byte) {
		return func(p []byte) {
			a, b := p[at*w:(at+1)*w], p[(at+1)*w:(at+2)*w]
			t := bytes.Clone(a)
			copy(a, b)
			copy(b, t)
		}
	}
	n := int(r0.Len())
	cases := map[string][]byte{
		"sound":                   base,
		"keys swapped, early":     patch(secKeys, swapKeys(3)),
		"keys swapped, late":      patch(secKeys, swapKeys(n-40)),
		"keys swapped, twice":     patch(secKeys, func(p []byte) { swapKeys(n / 2)(p); swapKeys(n / 3)(p) }),
		"provenance out of range": patch(secIDs, func(p []byte) { p[(n/2)*idw] = 0xff }),
		"directory decreasing": patch(secDir, func(p []byte) {
			i := len(p)/4/2 + 1
			binary.LittleEndian.PutUint32(p[i*4:], binary.LittleEndian.Uint32(p[(i-1)*4:])-1)
		}),
		"directory past the end": patch(secDir, func(p []byte) {
			binary.LittleEndian.PutUint32(p[(len(p)/4/3)*4:], uint32(n+5))
		}),
	}
	defer func(v int) { verifyParts = v }(verifyParts)
	for name, d := range cases {
		var want error
		for i, parts := range []int{1, 2, 7, 256, 1 << 20} {
			verifyParts = parts
			r, err := newReader(bytes.NewReader(d), d, int64(len(d)))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, workers := range []int{1, 3} {
				err = r.VerifyContext(context.Background(), workers)
				if name == "sound" {
					if err != nil {
						t.Errorf("%s, %d runs, %d workers: %v", name, parts, workers, err)
					}
					continue
				}
				if err == nil || !errors.Is(err, ErrCorrupt) {
					t.Errorf("%s, %d runs, %d workers: %v, want a corrupt index", name, parts, workers, err)
					continue
				}
				if i == 0 && workers == 1 {
					want = err
				} else if err.Error() != want.Error() {
					t.Errorf("%s, %d runs, %d workers: %q, one run gives %q", name, parts, workers, err, want)
				}
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r0.VerifyContext(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
