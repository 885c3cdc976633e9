package hashset

import (
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
	words []uint64 // bloom
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

// encode writes header, table and sections. A section whose CRC is not
// known yet is encoded twice: once into a CRC to fill the table at the
// front, once into w.
func (bt *built) encode(ctx context.Context, w io.Writer) (int64, error) {
	metaJSON, err := json.Marshal(bt.meta)
	if err != nil {
		return 0, fmt.Errorf("hashset: %w", err)
	}
	var setsBytes []byte
	for _, s := range bt.sets {
		setsBytes = le.AppendUint16(setsBytes, uint16(len(s)))
		for _, d := range s {
			setsBytes = le.AppendUint16(setsBytes, d)
		}
	}
	var n int64
	var kcrc, icrc uint32
	for _, o := range bt.parts {
		n += int64(o.n)
		kcrc = crc32Combine(kcrc, o.kcrc, int64(o.n*bt.w))
		icrc = crc32Combine(icrc, o.icrc, int64(o.n*bt.idw))
	}
	secs := []encoder{
		{id: secMeta, n: int64(len(metaJSON)), enc: func(w io.Writer) error { _, err := w.Write(metaJSON); return err }},
		{id: secSets, n: int64(len(setsBytes)), enc: func(w io.Writer) error { _, err := w.Write(setsBytes); return err }},
		{id: secDir, n: int64(len(bt.dir)) * 4, enc: bt.encodeDir},
		{id: secKeys, n: n * int64(bt.w), enc: func(w io.Writer) error { return bt.encodeParts(ctx, w, false) }, crc: kcrc, hasCRC: true},
		{id: secIDs, n: n * int64(bt.idw), enc: func(w io.Writer) error { return bt.encodeParts(ctx, w, true) }, crc: icrc, hasCRC: true},
	}
	if bt.words != nil {
		secs = append(secs, encoder{id: secBloom, n: int64(len(bt.words)) * 8, enc: bt.encodeBloom})
	}
	h := &header{
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
	off := int64(headerSize + tableEntrySize*len(secs))
	for _, s := range secs {
		off = alignUp(off)
		if !s.hasCRC {
			c := crc32.New(castagnoli)
			if err := s.enc(c); err != nil {
				return 0, fmt.Errorf("hashset: %w", err)
			}
			s.crc = c.Sum32()
		}
		h.sections = append(h.sections, SectionInfo{ID: s.id, CRC: s.crc, Offset: off, Length: s.n})
		off += s.n
	}
	h.fileSize = uint64(off)
	cw := &countWriter{w: w}
	if _, err := cw.Write(h.marshal()); err != nil {
		return cw.n, fmt.Errorf("hashset: %w", err)
	}
	var zeros [align]byte
	for i, s := range secs {
		if pad := h.sections[i].Offset - cw.n; pad > 0 {
			if _, err := cw.Write(zeros[:pad]); err != nil {
				return cw.n, fmt.Errorf("hashset: %w", err)
			}
		}
		if err := s.enc(cw); err != nil {
			return cw.n, fmt.Errorf("hashset: %w", err)
		}
	}
	if cw.n != off {
		return cw.n, fmt.Errorf("hashset: internal error: wrote %d bytes, planned %d", cw.n, off)
	}
	return cw.n, nil
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
