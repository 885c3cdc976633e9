package hashset

import (
	"bytes"
	"context"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func TestCRC32Combine(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	p := make([]byte, 10000)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	for _, cut := range []int{0, 1, 7, 64, 4999, 9999, 10000} {
		a, b := p[:cut], p[cut:]
		if got, want := crc32Combine(crc(a), crc(b), int64(len(b))), crc(p); got != want {
			t.Errorf("cut %d: combined %08x, want %08x", cut, got, want)
		}
	}
	if got := crc32Combine(0, 0, 0); got != crc32.Checksum(nil, castagnoli) {
		t.Errorf("empty: %08x", got)
	}
}

// TestVerifyChecksumsBitFlips flips every bit of a small index, one at a
// time: Open or VerifyChecksums must reject each, on both read paths,
// with chunks smaller than the sections so that their CRCs are combined.
func TestVerifyChecksumsBitFlips(t *testing.T) {
	defer func(c int64) { verifyChunk = c }(verifyChunk)
	verifyChunk = 37
	data, _ := smallIndex(t)
	for _, rd := range readers(t, data) {
		if err := rd.VerifyChecksums(context.Background(), 3); err != nil {
			t.Fatalf("intact index: %v", err)
		}
	}
	step := 1
	if testing.Short() {
		step = 13
	}
	for bit := 0; bit < len(data)*8; bit += step {
		d := bytes.Clone(data)
		d[bit/8] ^= 1 << (bit % 8)
		rs, err := openBoth(d)
		if err != nil {
			continue
		}
		for _, r := range rs {
			err := r.VerifyChecksums(context.Background(), 3)
			if !errors.Is(err, ErrChecksum) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("bit %d (byte %d): VerifyChecksums = %v", bit, bit/8, err)
			}
		}
	}
}

func TestVerifyChecksumsNamesSection(t *testing.T) {
	data, _ := smallIndex(t)
	r := readers(t, data)["mem"]
	for _, s := range r.Sections() {
		if s.Length == 0 || s.Name == "META" || s.Name == "SETS" { // Open checks these
			continue
		}
		d := bytes.Clone(data)
		d[s.Offset+s.Length/2] ^= 0x10
		rs, err := openBoth(d)
		if err != nil {
			t.Fatalf("%s: Open: %v", s.Name, err)
		}
		for _, r := range rs {
			err := r.VerifyChecksums(context.Background(), 0)
			if want := "checksum mismatch: section " + s.Name; err == nil || err.Error() != "hashset: "+want {
				t.Errorf("%s: VerifyChecksums = %v, want %q", s.Name, err, want)
			}
		}
	}
}

func TestVerifyChecksumsCanceled(t *testing.T) {
	data, _ := smallIndex(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := readers(t, data)["mem"].VerifyChecksums(ctx, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// TestVerifyChecksumsFile checks an opened file (read with pread), then
// the same file damaged and truncated after it was opened.
func TestVerifyChecksumsFile(t *testing.T) {
	defer func(c int64) { verifyChunk = c }(verifyChunk)
	verifyChunk = 64
	data, _ := smallIndex(t)
	path := filepath.Join(t.TempDir(), "x.idx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.VerifyChecksums(context.Background(), 2); err != nil {
		t.Fatalf("intact: %v", err)
	}
	keys := r.Sections()[len(r.Sections())-1]
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{data[keys.Offset] ^ 1}, keys.Offset)
	f.Close()
	if err := r.VerifyChecksums(context.Background(), 2); !errors.Is(err, ErrChecksum) {
		t.Errorf("damaged after open: %v", err)
	}
	if err := os.Truncate(path, int64(len(data)/2)); err != nil {
		t.Fatal(err)
	}
	if err := r.VerifyChecksums(context.Background(), 2); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated after open: %v", err)
	}
}
