package hashset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Errors returned by [Open], [NewReader] and [Reader.Verify]. They are
// wrapped with detail; test for them with [errors.Is].
var (
	ErrFormat   = errors.New("hashset: not an index file")
	ErrVersion  = errors.New("hashset: unsupported format version")
	ErrChecksum = errors.New("hashset: checksum mismatch")
	ErrCorrupt  = errors.New("hashset: corrupt index")
)

// FormatVersion is the version of the file format written by [Builder].
const FormatVersion = 1

// magic opens every index file. The high byte and the CR LF / ^Z sequence
// catch text-mode transfers, as in PNG.
const magic = "\x89HSET\r\n\x1a"

// Fixed sizes of the file layout, whose byte table is in the package
// documentation under "File layout".
const (
	headerSize     = 64
	tableEntrySize = 24
	maxSections    = 16
	headerCRCOff   = 60
	align          = 8

	// MaxDatasets is the most datasets one index can hold.
	MaxDatasets = 1024
	// MaxGroups is the most distinct group names one index can hold.
	MaxGroups = 1 << 16
	// maxKeys is the most keys one index can hold: the directory stores
	// cumulative counts as uint32.
	maxKeys = 1<<32 - 1

	minDirBits   = 8
	maxDirBits   = 24
	maxBucketAvg = 256
	maxBloomK    = 64
)

// Section ids.
const (
	secMeta  = 1 // JSON of Meta
	secSets  = 2 // table of distinct dataset sets
	secDir   = 3 // bucket directory, (1<<b)+1 uint32 cumulative counts
	secKeys  = 4 // key suffixes, n entries of w bytes
	secIDs   = 5 // per-key set id, n entries of idw bytes
	secBloom = 6 // bloom filter words, ceil(m/64) uint64
)

var sectionNames = map[uint32]string{
	secMeta:  "META",
	secSets:  "SETS",
	secDir:   "DIR",
	secKeys:  "KEYS",
	secIDs:   "IDS",
	secBloom: "BLOOM",
}

func sectionName(id uint32) string {
	if s, ok := sectionNames[id]; ok {
		return s
	}
	return fmt.Sprintf("section#%d", id)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func crc(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// Dataset describes one input dataset of an index.
type Dataset struct {
	Name   string           `json:"name"`
	Date   string           `json:"date,omitempty"`   // free text, e.g. "2022-11"
	Source string           `json:"source,omitempty"` // free text
	Stats  map[string]int64 `json:"stats,omitempty"`  // opaque, set by the caller (rows read, invalid, ...)
	Keys   int64            `json:"keys"`             // unique keys of this dataset, set by the builder
	Groups map[string]int64 `json:"groups,omitempty"` // unique keys per group name, set by the builder
}

// Meta is everything that describes an index. It is stored as a checksummed
// JSON section; the layout fields (DirBits and after) mirror the binary
// header and are checked against it when the file is opened.
type Meta struct {
	FormatVersion int               `json:"format_version"`
	KeyScheme     string            `json:"key_scheme"` // opaque, e.g. "sha256-e164-v1"
	Keys          int64             `json:"keys"`
	Created       string            `json:"created,omitempty"` // optional, caller-set
	Info          map[string]string `json:"info,omitempty"`    // opaque: library versions etc.
	Datasets      []Dataset         `json:"datasets"`
	Groups        map[string]int64  `json:"groups,omitempty"` // unique keys per group over the whole index

	BloomFPR    float64 `json:"bloom_fpr,omitempty"`    // target false positive rate, 0 if no bloom
	BloomBits   uint64  `json:"bloom_bits,omitempty"`   // m
	BloomHashes int     `json:"bloom_hashes,omitempty"` // k

	DirBits     int `json:"dir_bits"`     // b: top bits of a key that index the directory
	SuffixBytes int `json:"suffix_bytes"` // w: bytes per stored key suffix
	SetIDBytes  int `json:"set_id_bytes"` // bytes per provenance set id (0, 1, 2 or 4)
	Sets        int `json:"sets"`         // distinct dataset sets
}

// SectionInfo describes one section of an index file.
type SectionInfo struct {
	Name   string
	ID     uint32
	Offset int64
	Length int64
	CRC    uint32 // CRC-32C (Castagnoli) of the section bytes
}

// header is the fixed 64-byte header and the section table that follows it,
// as laid out in the package documentation under "File layout".
type header struct {
	version   uint32
	tableEnd  uint32 // header + section table length
	fileSize  uint64
	keys      uint64
	dirBits   uint8
	suffixW   uint8
	idW       uint8
	nsec      uint32
	bloomM    uint64
	bloomK    uint32
	sets      uint32
	datasets  uint32
	sections  []SectionInfo
	headerCRC uint32
}

var le = binary.LittleEndian

// marshal returns header + table bytes, with the CRC filled in.
func (h *header) marshal() []byte {
	buf := make([]byte, headerSize+tableEntrySize*len(h.sections))
	copy(buf, magic)
	le.PutUint32(buf[8:], h.version)
	le.PutUint32(buf[12:], uint32(len(buf)))
	le.PutUint64(buf[16:], h.fileSize)
	le.PutUint64(buf[24:], h.keys)
	buf[32] = h.dirBits
	buf[33] = h.suffixW
	buf[34] = h.idW
	le.PutUint32(buf[36:], uint32(len(h.sections)))
	le.PutUint64(buf[40:], h.bloomM)
	le.PutUint32(buf[48:], h.bloomK)
	le.PutUint32(buf[52:], h.sets)
	le.PutUint32(buf[56:], h.datasets)
	for i, s := range h.sections {
		p := buf[headerSize+i*tableEntrySize:]
		le.PutUint32(p[0:], s.ID)
		le.PutUint32(p[4:], s.CRC)
		le.PutUint64(p[8:], uint64(s.Offset))
		le.PutUint64(p[16:], uint64(s.Length))
	}
	le.PutUint32(buf[headerCRCOff:], headerChecksum(buf))
	return buf
}

// headerChecksum is the CRC-32C of header+table with the CRC field skipped.
func headerChecksum(buf []byte) uint32 {
	c := crc32.Update(0, castagnoli, buf[:headerCRCOff])
	return crc32.Update(c, castagnoli, buf[headerSize:])
}

// parseFixed decodes the first 64 bytes. It checks magic and version only.
func parseFixed(buf []byte) (*header, error) {
	if string(buf[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	}
	h := &header{
		version:   le.Uint32(buf[8:]),
		tableEnd:  le.Uint32(buf[12:]),
		fileSize:  le.Uint64(buf[16:]),
		keys:      le.Uint64(buf[24:]),
		dirBits:   buf[32],
		suffixW:   buf[33],
		idW:       buf[34],
		nsec:      le.Uint32(buf[36:]),
		bloomM:    le.Uint64(buf[40:]),
		bloomK:    le.Uint32(buf[48:]),
		sets:      le.Uint32(buf[52:]),
		datasets:  le.Uint32(buf[56:]),
		headerCRC: le.Uint32(buf[headerCRCOff:]),
	}
	if h.version != FormatVersion {
		return nil, fmt.Errorf("%w: %d (this build reads %d)", ErrVersion, h.version, FormatVersion)
	}
	if h.nsec == 0 || h.nsec > maxSections {
		return nil, fmt.Errorf("%w: %d sections", ErrCorrupt, h.nsec)
	}
	if h.tableEnd != headerSize+tableEntrySize*h.nsec {
		return nil, fmt.Errorf("%w: header length %d does not match %d sections", ErrCorrupt, h.tableEnd, h.nsec)
	}
	return h, nil
}

// parseTable decodes the section table (buf holds header + table) and
// checks every offset and length against the file size.
func (h *header) parseTable(buf []byte, size int64) error {
	if got := headerChecksum(buf); got != h.headerCRC {
		return fmt.Errorf("%w: header", ErrChecksum)
	}
	if h.fileSize != uint64(size) {
		return fmt.Errorf("%w: header says %d bytes, file has %d (truncated or extended)", ErrCorrupt, h.fileSize, size)
	}
	prevEnd := int64(h.tableEnd)
	seen := map[uint32]bool{}
	for i := 0; i < int(h.nsec); i++ {
		p := buf[headerSize+i*tableEntrySize:]
		s := SectionInfo{
			ID:  le.Uint32(p[0:]),
			CRC: le.Uint32(p[4:]),
		}
		off, n := le.Uint64(p[8:]), le.Uint64(p[16:])
		s.Name = sectionName(s.ID)
		if seen[s.ID] {
			return fmt.Errorf("%w: duplicate section %s", ErrCorrupt, s.Name)
		}
		seen[s.ID] = true
		if off%align != 0 || off > uint64(size) || n > uint64(size)-off || int64(off) < prevEnd {
			return fmt.Errorf("%w: section %s out of bounds or out of order", ErrCorrupt, s.Name)
		}
		s.Offset, s.Length = int64(off), int64(n)
		prevEnd = s.Offset + s.Length
		h.sections = append(h.sections, s)
	}
	return nil
}

func (h *header) section(id uint32) (SectionInfo, bool) {
	for _, s := range h.sections {
		if s.ID == id {
			return s, true
		}
	}
	return SectionInfo{}, false
}

func alignUp(x int64) int64 { return (x + align - 1) &^ (align - 1) }

// suffixBytes is the number of bytes per stored suffix for b directory bits.
func suffixBytes(b int) int { return (64 - b + 7) / 8 }

// idBytes is the width of a provenance set id for the given number of sets.
func idBytes(sets int) int {
	switch {
	case sets <= 1:
		return 0
	case sets <= 1<<8:
		return 1
	case sets <= 1<<16:
		return 2
	default:
		return 4
	}
}

// chooseDirBits picks b in [minDirBits, maxDirBits] that minimises the size
// of directory + suffixes while keeping buckets at most maxBucketAvg keys on
// average. Because suffixes are whole bytes, the best b is usually the
// smallest one of its suffix width: 16 (6-byte suffixes) up to ~30M keys,
// then 24 (5-byte suffixes).
func chooseDirBits(n uint64) int {
	best, bestCost := maxDirBits, uint64(1<<64-1)
	for b := minDirBits; b <= maxDirBits; b++ {
		if n>>b > maxBucketAvg {
			continue
		}
		cost := 4*(uint64(1)<<b+1) + n*uint64(suffixBytes(b))
		if cost < bestCost {
			best, bestCost = b, cost
		}
	}
	return best
}

// getUint reads a w-byte little-endian unsigned integer, 0 < w <= 8.
func getUint(p []byte, w int) uint64 {
	switch w {
	case 5:
		_ = p[4]
		return uint64(le.Uint32(p)) | uint64(p[4])<<32
	case 6:
		_ = p[5]
		return uint64(le.Uint32(p)) | uint64(le.Uint16(p[4:]))<<32
	case 7:
		_ = p[6]
		return uint64(le.Uint32(p)) | uint64(le.Uint16(p[4:]))<<32 | uint64(p[6])<<48
	case 8:
		return le.Uint64(p)
	case 4:
		return uint64(le.Uint32(p))
	case 2:
		return uint64(le.Uint16(p))
	case 1:
		return uint64(p[0])
	}
	var v uint64
	for i := w - 1; i >= 0; i-- {
		v = v<<8 | uint64(p[i])
	}
	return v
}

func putUint(p []byte, v uint64, w int) {
	for i := 0; i < w; i++ {
		p[i] = byte(v >> (8 * i))
	}
}
