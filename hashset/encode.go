package hashset

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
)

// built is the deduplicated content, ready to encode.
type built struct {
	keys  []uint64 // sorted, unique
	ids   []uint32 // provenance set id per key
	sets  [][]uint16
	dir   []uint32
	b, w  int
	idw   int
	words []uint64 // bloom
	m, k  uint64
	meta  *Meta
}

// encoder streams one section's bytes.
type encoder struct {
	id  uint32
	n   int64
	enc func(w io.Writer) error
}

// encode writes header, table and sections. Every section is encoded twice:
// once into a CRC to fill the table at the front, once into w.
func (bt *built) encode(w io.Writer) (int64, error) {
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
	n := int64(len(bt.keys))
	secs := []encoder{
		{secMeta, int64(len(metaJSON)), func(w io.Writer) error { _, err := w.Write(metaJSON); return err }},
		{secSets, int64(len(setsBytes)), func(w io.Writer) error { _, err := w.Write(setsBytes); return err }},
		{secDir, int64(len(bt.dir)) * 4, bt.encodeDir},
		{secKeys, n * int64(bt.w), bt.encodeKeys},
		{secIDs, n * int64(bt.idw), bt.encodeIDs},
	}
	if bt.words != nil {
		secs = append(secs, encoder{secBloom, int64(len(bt.words)) * 8, bt.encodeBloom})
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
		c := crc32.New(castagnoli)
		if err := s.enc(c); err != nil {
			return 0, fmt.Errorf("hashset: %w", err)
		}
		h.sections = append(h.sections, SectionInfo{ID: s.id, CRC: c.Sum32(), Offset: off, Length: s.n})
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

func (bt *built) encodeKeys(w io.Writer) error {
	buf := make([]byte, encChunk+8)
	p, width := 0, bt.w
	mask := uint64(1)<<(64-bt.b) - 1
	for _, k := range bt.keys {
		le.PutUint64(buf[p:], k&mask) // low bytes first; only width of them are kept
		p += width
		if p > encChunk-8 {
			if _, err := w.Write(buf[:p]); err != nil {
				return err
			}
			p = 0
		}
	}
	_, err := w.Write(buf[:p])
	return err
}

func (bt *built) encodeIDs(w io.Writer) error {
	if bt.idw == 0 {
		return nil
	}
	buf := make([]byte, encChunk+8)
	p, width := 0, bt.idw
	for _, id := range bt.ids {
		le.PutUint32(buf[p:], id)
		p += width
		if p > encChunk-8 {
			if _, err := w.Write(buf[:p]); err != nil {
				return err
			}
			p = 0
		}
	}
	_, err := w.Write(buf[:p])
	return err
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
