package hashset

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// verifyChunk is the piece of a section one worker checksums at a time
// (a variable for tests).
var verifyChunk int64 = 4 << 20

// VerifyChecksums checks the CRC-32C of every section and that the bytes
// between sections are zero: with the header and table checksum that
// [Open] checks, every byte of the file is covered, so that a bit flipped
// anywhere fails it. It does not walk the keys for the structural
// invariants [Reader.VerifyContext] checks (which reads the file once
// more).
//
// The sections are cut into chunks that up to workers goroutines
// checksum at once (0 or less: GOMAXPROCS); their CRCs are combined
// into each section's. It returns ctx's error if ctx ends first. A fault
// reading the mapping (the file truncated under it) is returned as an
// error, not a crash.
func (r *Reader) VerifyChecksums(ctx context.Context, workers int) error {
	if err := noFault(r.checkPadding); err != nil {
		return err
	}
	type chunk struct {
		sec    int
		off, n int64
	}
	var chunks []chunk
	for i, s := range r.h.sections {
		off := int64(0)
		for {
			chunks = append(chunks, chunk{i, s.Offset + off, min(verifyChunk, s.Length-off)})
			if off += verifyChunk; off >= s.Length {
				break
			}
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(chunks))
	crcs := make([]uint32, len(chunks))
	errs := make([]error, workers)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf []byte
			errs[w] = r.checksumChunks(ctx, func() (int, bool) {
				k := int(next.Add(1) - 1)
				return k, k < len(chunks) && !failed.Load()
			}, func(k int) error {
				c := chunks[k]
				if r.file == nil {
					var err error
					crcs[k], err = r.crcRange(c.off, c.n)
					return err
				}
				// A file is read with pread, not through the mapping:
				// from the page cache at memory speed, where touching
				// the mapping takes a page fault every 4 KiB (three
				// times slower), and a file that shrank is a short
				// read, not a SIGBUS.
				if buf == nil {
					buf = make([]byte, verifyChunk)
				}
				p := buf[:c.n]
				if n, err := r.file.ReadAt(p, c.off); n < len(p) {
					return fmt.Errorf("%w: reading section %s: %v (file changed while open?)", ErrCorrupt, r.h.sections[c.sec].Name, err)
				}
				crcs[k] = crc(p)
				return nil
			})
			if errs[w] != nil {
				failed.Store(true)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	sum := make([]uint32, len(r.h.sections))
	for k, c := range chunks {
		sum[c.sec] = crc32Combine(sum[c.sec], crcs[k], c.n)
	}
	for i, s := range r.h.sections {
		if sum[i] != s.CRC {
			return fmt.Errorf("%w: section %s", ErrChecksum, s.Name)
		}
	}
	return nil
}

// checksumChunks runs do on the chunks that take hands out until it
// runs out, ctx ends or do fails.
func (r *Reader) checksumChunks(ctx context.Context, take func() (int, bool), do func(int) error) error {
	return noFault(func() error {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			k, ok := take()
			if !ok {
				return nil
			}
			if err := do(k); err != nil {
				return err
			}
		}
	})
}

// noFault runs f and returns a memory fault in it (SIGBUS on a mapping
// whose file shrank) as an error.
func noFault(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if _, ok := p.(interface{ Addr() uintptr }); !ok {
				panic(p)
			}
			err = fmt.Errorf("%w: memory fault reading the file (changed in place while open?)", ErrCorrupt)
		}
	}()
	return f()
}

// crc32Combine returns the CRC-32C of A||B from crc1 = CRC(A), crc2 =
// CRC(B) and len2 = len(B), as zlib's crc32_combine: CRC(A) is carried
// across len2 zero bytes by multiplying it by x^(8*len2) mod P.
func crc32Combine(crc1, crc2 uint32, len2 int64) uint32 {
	return multModP(x2nModP(len2, 3), crc1) ^ crc2
}

// castagnoliRev is the Castagnoli polynomial, bit-reversed (as the
// table-driven CRC uses it).
const castagnoliRev = 0x82f63b78

// multModP returns a*b mod P, in the reflected bit order (x^0 is the top
// bit).
func multModP(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ castagnoliRev
		} else {
			b >>= 1
		}
	}
	return p
}

// x2nTable[k] is x^(2^k) mod P.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	for k := range t {
		t[k] = p
		p = multModP(p, p)
	}
	return t
}()

// x2nModP returns x^(n*2^k) mod P.
func x2nModP(n int64, k uint) uint32 {
	p := uint32(1) << 31 // x^0
	for n != 0 {
		if n&1 != 0 {
			p = multModP(x2nTable[k&31], p)
		}
		n >>= 1
		k++
	}
	return p
}
