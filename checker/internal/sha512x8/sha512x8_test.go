package sha512x8

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// pad lays out msg (at most 111 bytes after prefix bytes already
// compressed) as SHA-512's last block: msg, 0x80, zeros, the bit length
// of prefix+msg.
func pad(msg []byte, prefix int) (blk [128]byte) {
	copy(blk[:], msg)
	blk[len(msg)] = 0x80
	binary.BigEndian.PutUint64(blk[120:], uint64(prefix+len(msg))*8)
	return blk
}

func setLane(m *Block, j int, blk *[128]byte) {
	for i := range 16 {
		m[i][j] = binary.BigEndian.Uint64(blk[8*i:])
	}
}

func digest(s *State, j int) []byte {
	out := make([]byte, 64)
	for i := range 8 {
		binary.BigEndian.PutUint64(out[8*i:], s[i][j])
	}
	return out
}

// paths runs f on the 8-lane path where this CPU has it, and on the
// one-lane path.
func paths(t *testing.T, f func(t *testing.T)) {
	if available {
		t.Run("8-lane", f)
		available = false
		defer func() { available = true }()
	}
	t.Run("one-lane", f)
}

// TestCompressMatchesSHA512 hashes messages of every length that fits one
// block, and two-block messages (a full block of random bytes first), in
// 8 lanes of different messages, and compares with crypto/sha512.
func TestCompressMatchesSHA512(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := mrand.New(mrand.NewPCG(1, 2))
		for n := 0; n <= 111; n++ {
			var msgs [Lanes][]byte
			var s State
			var m Block
			s.Reset()
			for j := range Lanes {
				msgs[j] = make([]byte, n)
				for i := range msgs[j] {
					msgs[j][i] = byte(r.Uint32())
				}
				blk := pad(msgs[j], 0)
				setLane(&m, j, &blk)
			}
			s.Compress(&m)
			for j := range Lanes {
				want := sha512.Sum512(msgs[j])
				if got := digest(&s, j); !bytes.Equal(got, want[:]) {
					t.Fatalf("length %d lane %d: %x, want %x", n, j, got, want)
				}
			}
			// Two blocks: a random first block, then the padded rest.
			s.Reset()
			var first [Lanes][128]byte
			for j := range Lanes {
				for i := range first[j] {
					first[j][i] = byte(r.Uint32())
				}
				setLane(&m, j, &first[j])
			}
			s.Compress(&m)
			for j := range Lanes {
				blk := pad(msgs[j], 128)
				setLane(&m, j, &blk)
			}
			s.Compress(&m)
			for j := range Lanes {
				want := sha512.Sum512(append(first[j][:], msgs[j]...))
				if got := digest(&s, j); !bytes.Equal(got, want[:]) {
					t.Fatalf("two blocks, length %d lane %d: %x, want %x", n, j, got, want)
				}
			}
		}
	})
}

// BenchmarkCompress compares 8 blocks compressed at once with 8 blocks
// through crypto/sha512 (the whole hash of a 100-byte message, one
// block each), in the same run.
//
//	go test ./checker/internal/sha512x8 -run '^$' -bench BenchmarkCompress
func BenchmarkCompress(b *testing.B) {
	var s State
	var m Block
	s.Reset()
	msg := make([]byte, 100)
	b.Run("x8", func(b *testing.B) {
		for b.Loop() {
			s.Compress(&m)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*Lanes), "ns/block")
	})
	b.Run("crypto-sha512", func(b *testing.B) {
		for b.Loop() {
			for range Lanes {
				sha512.Sum512(msg)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*Lanes), "ns/block")
	})
}

// TestAsmGenerated checks that the assembly is what the generator under
// _asm writes: the test above proves the generated code.
func TestAsmGenerated(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the generator")
	}
	dir := t.TempDir()
	asm, stubs := filepath.Join(dir, "gen.s"), filepath.Join(dir, "gen.go")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "run", ".", "-out", asm, "-stubs", stubs)
	cmd.Dir = "_asm"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the generator failed: %v\n%s", err, out)
	}
	for gen, have := range map[string]string{asm: "block_amd64.s", stubs: "block_stubs_amd64.go"} {
		got, err := os.ReadFile(gen)
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(have)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's output: run go generate in _asm", have)
		}
	}
}
