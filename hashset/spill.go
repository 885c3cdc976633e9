package hashset

// Spilling: a Builder bounded by Options.Memory writes the keys it holds
// to one run file per partition (top byte of the key), appending, and
// Write reads each partition back on its own. As the partitions split the
// key space, a partition's run needs no merge with the others: the sorted
// partitions, one after the other, are the sorted keys.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// spill is a bounded Builder's temporary directory.
type spill struct {
	dir string
}

// recordSize is the bytes of a spilled key and its value.
const recordSize = 12

// bufferLimit is how many bytes of added keys a bounded Builder keeps in
// memory before it spills them: half of its bound, as Write needs the
// rest (the bloom filters, partitions being sorted and encoded, and the
// garbage collector's slack).
func (b *Builder) bufferLimit() int64 { return b.opts.Memory / 2 }

// spillDir returns the spill directory, making it on first use.
func (b *Builder) spillDir() (*spill, error) {
	if b.spill != nil {
		return b.spill, nil
	}
	parent := b.opts.SpillDir
	if parent == "" {
		parent = os.TempDir()
	}
	dir, err := os.MkdirTemp(parent, ".hashset-spill-*") // 0700
	if err != nil {
		return nil, fmt.Errorf("hashset: spill: %w", err)
	}
	if testHookSpillDir != nil {
		testHookSpillDir(dir)
	}
	b.spill = &spill{dir: dir}
	return b.spill, nil
}

// testHookSpillDir lets tests see where a Builder spills.
var testHookSpillDir func(dir string)

func (s *spill) path(kind string, p int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s-%03d", kind, p))
}

func (s *spill) remove() error {
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("hashset: removing spill files: %w", err)
	}
	return nil
}

// spillParts appends every partition's chunks to its run file and drops
// them.
func (b *Builder) spillParts() error {
	s, err := b.spillDir()
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 256<<10)
	for i := range b.parts {
		p := &b.parts[i]
		if p.n == 0 {
			continue
		}
		if err := appendRecords(s.path("run", i), p.kc, p.vc, buf); err != nil {
			return err
		}
		p.spilled += int64(p.n)
		p.kc, p.vc, p.n = nil, nil, 0
	}
	b.mem = 0
	return nil
}

// appendRecords appends keys and vals, chunk by chunk, to the file at path
// (made owner-only) as 12-byte records, with buf as scratch.
func appendRecords(path string, kc [][]uint64, vc [][]uint32, buf []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("hashset: spill: %w", err)
	}
	buf = buf[:0]
	for ci, c := range kc {
		for i, k := range c {
			buf = le.AppendUint64(buf, k)
			buf = le.AppendUint32(buf, vc[ci][i])
			if len(buf) > cap(buf)-recordSize && err == nil {
				_, err = f.Write(buf)
				buf = buf[:0]
			}
		}
	}
	if err == nil {
		_, err = f.Write(buf)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("hashset: spill: %w", err)
	}
	return nil
}

// writeRecords writes keys and vals to a new file at path, owner-only.
func writeRecords(path string, keys []uint64, vals []uint32) error {
	return appendRecords(path, [][]uint64{keys}, [][]uint32{vals}, make([]byte, 0, 256<<10))
}

// readRecords fills keys and vals (of the file's record count) from the
// file at path, and removes the file.
func readRecords(path string, keys []uint64, vals []uint32) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("hashset: spill: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var buf [recordSize * 1024]byte
	for i := 0; i < len(keys); {
		n := min(len(keys)-i, 1024)
		if _, err := io.ReadFull(r, buf[:n*recordSize]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("spill file shorter than written")
			}
			return fmt.Errorf("hashset: spill: %w", err)
		}
		for j := range n {
			keys[i+j] = binary.LittleEndian.Uint64(buf[j*recordSize:])
			vals[i+j] = binary.LittleEndian.Uint32(buf[j*recordSize+8:])
		}
		i += n
	}
	f.Close()
	return os.Remove(path)
}
