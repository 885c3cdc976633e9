package hashset

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// built is the deduplicated content, ready to encode.
type built struct {
	parts []partOut // the encoded suffixes and set ids, partition by partition
	spill *spill    // where parts on disk are
	sets  [][]uint16
	dir   []uint32
	b, w  int
	idw   int
	words []uint64   // bloom
	fill  *bloomFill // fills words
	secs  []encoder  // planned sections (plan)
	h     *header    // planned header
	dst   *os.File   // if set, pass 3 writes KEYS and IDS there, in place
	// freeWords, if set, frees words (allocated outside the Go heap).
	freeWords func() error
	m, k      uint64
	meta      *Meta
}

// release frees what the encoded content holds outside the Go heap.
func (bt *built) release() {
	if bt.freeWords != nil {
		bt.freeWords()
		bt.words, bt.freeWords = nil, nil
	}
}

// encoder streams one section's bytes.
type encoder struct {
	id     uint32
	n      int64
	enc    func(w io.Writer) error
	crc    uint32 // the section's CRC, if known
	hasCRC bool
}

// plan lays the file out: the sections, their sizes and offsets, and
// the header, all known once the keys are counted and the sets numbered.
// The CRCs of KEYS and IDS are filled in by finishCRCs after pass 3.
func (bt *built) plan(ctx context.Context) error {
	metaJSON, err := json.Marshal(bt.meta)
	if err != nil {
		return fmt.Errorf("hashset: %w", err)
	}
	var setsBytes []byte
	for _, s := range bt.sets {
		setsBytes = le.AppendUint16(setsBytes, uint16(len(s)))
		for _, d := range s {
			setsBytes = le.AppendUint16(setsBytes, d)
		}
	}
	var n int64
	for i := range bt.parts {
		bt.parts[i].start = n
		n += int64(bt.parts[i].n)
	}
	bt.secs = []encoder{
		{id: secMeta, n: int64(len(metaJSON)), enc: func(w io.Writer) error { _, err := w.Write(metaJSON); return err }},
		{id: secSets, n: int64(len(setsBytes)), enc: func(w io.Writer) error { _, err := w.Write(setsBytes); return err }},
		{id: secDir, n: int64(len(bt.dir)) * 4, enc: bt.encodeDir},
		{id: secKeys, n: n * int64(bt.w), enc: func(w io.Writer) error { return bt.encodeParts(ctx, w, false) }, hasCRC: true},
		{id: secIDs, n: n * int64(bt.idw), enc: func(w io.Writer) error { return bt.encodeParts(ctx, w, true) }, hasCRC: true},
	}
	if bt.words != nil {
		bt.secs = append(bt.secs, encoder{id: secBloom, n: int64(len(bt.words)) * 8, enc: bt.encodeBloom})
	}
	bt.h = &header{
		version:  FormatVersion,
		keys:     uint64(n),
		dirBits:  uint8(bt.b),
		suffixW:  uint8(bt.w),
		idW:      uint8(bt.idw),
		bloomM:   bt.m,
		bloomK:   uint32(bt.k),
		sets:     uint32(len(bt.sets)),
		datasets: uint32(len(bt.meta.Datasets)),
	}
	off := int64(headerSize + tableEntrySize*len(bt.secs))
	for _, s := range bt.secs {
		off = alignUp(off)
		bt.h.sections = append(bt.h.sections, SectionInfo{ID: s.id, Offset: off, Length: s.n})
		off += s.n
	}
	bt.h.fileSize = uint64(off)
	return nil
}

// section returns the planned offset of section id.
func (bt *built) sectionOffset(id uint32) int64 {
	for _, s := range bt.h.sections {
		if s.ID == id {
			return s.Offset
		}
	}
	return -1
}

// finishCRCs fills in the CRCs of KEYS and IDS from the partitions'.
func (bt *built) finishCRCs() {
	var kcrc, icrc uint32
	for _, o := range bt.parts {
		kcrc = crc32Combine(kcrc, o.kcrc, int64(o.n*bt.w))
		icrc = crc32Combine(icrc, o.icrc, int64(o.n*bt.idw))
	}
	for i := range bt.secs {
		switch bt.secs[i].id {
		case secKeys:
			bt.secs[i].crc = kcrc
		case secIDs:
			bt.secs[i].crc = icrc
		}
		bt.h.sections[i].CRC = bt.secs[i].crc
	}
}

// encode writes header, table and sections to w. A section whose CRC is
// not known yet is encoded twice: once into a CRC to fill the table at
// the front, once into w.
func (bt *built) encode(w io.Writer) (int64, error) {
	bt.finishCRCs()
	for i := range bt.secs {
		s := &bt.secs[i]
		if !s.hasCRC {
			c := crc32.New(castagnoli)
			if err := s.enc(c); err != nil {
				return 0, fmt.Errorf("hashset: %w", err)
			}
			s.crc = c.Sum32()
			bt.h.sections[i].CRC = s.crc
		}
	}
	cw := &countWriter{w: w}
	if _, err := cw.Write(bt.h.marshal()); err != nil {
		return cw.n, fmt.Errorf("hashset: %w", err)
	}
	var zeros [align]byte
	for i, s := range bt.secs {
		if pad := bt.h.sections[i].Offset - cw.n; pad > 0 {
			if _, err := cw.Write(zeros[:pad]); err != nil {
				return cw.n, fmt.Errorf("hashset: %w", err)
			}
		}
		if err := s.enc(cw); err != nil {
			return cw.n, fmt.Errorf("hashset: %w", err)
		}
	}
	if off := int64(bt.h.fileSize); cw.n != off {
		return cw.n, fmt.Errorf("hashset: internal error: wrote %d bytes, planned %d", cw.n, off)
	}
	return cw.n, nil
}

// encodeAt writes to f, a new empty file, what pass 3 has not written
// there already: every section but KEYS and IDS (each encoded once, its
// CRC computed on the way), then the header, which holds the CRCs.
func (bt *built) encodeAt(f *os.File) (int64, error) {
	bt.finishCRCs()
	size := int64(bt.h.fileSize)
	if err := f.Truncate(size); err != nil { // the padding, and a file that is whole or absent
		return 0, fmt.Errorf("hashset: %w", err)
	}
	for i := range bt.secs {
		s := &bt.secs[i]
		if s.hasCRC {
			continue
		}
		c := crc32.New(castagnoli)
		bw := bufio.NewWriterSize(io.NewOffsetWriter(f, bt.h.sections[i].Offset), 1<<20)
		err := s.enc(io.MultiWriter(bw, c))
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			return 0, fmt.Errorf("hashset: %w", err)
		}
		s.crc = c.Sum32()
		bt.h.sections[i].CRC = s.crc
	}
	if _, err := f.WriteAt(bt.h.marshal(), 0); err != nil {
		return 0, fmt.Errorf("hashset: %w", err)
	}
	return size, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

const encChunk = 64 << 10

func (bt *built) encodeDir(w io.Writer) error {
	buf := make([]byte, 0, encChunk)
	for _, v := range bt.dir {
		buf = le.AppendUint32(buf, v)
		if len(buf) > encChunk-8 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

// encodeParts writes the encoded suffixes (or set ids) of every
// partition, in order, from memory or from their spill files.
func (bt *built) encodeParts(ctx context.Context, w io.Writer, ids bool) error {
	for i := range bt.parts {
		if err := ctx.Err(); err != nil {
			return err
		}
		o := &bt.parts[i]
		if o.n == 0 {
			continue
		}
		if !o.onDisk {
			p := o.kb
			if ids {
				p = o.ib
			}
			if _, err := w.Write(p); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(bt.spill.path("enc", i))
		if err != nil {
			return err
		}
		off, n := int64(0), int64(o.n*bt.w)
		if ids {
			off, n = n, int64(o.n*bt.idw)
		}
		_, err = io.Copy(w, io.NewSectionReader(f, off, n))
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (bt *built) encodeBloom(w io.Writer) error {
	buf := make([]byte, 0, encChunk)
	for _, v := range bt.words {
		buf = le.AppendUint64(buf, v)
		if len(buf) > encChunk-8 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}
