package hashset

// Only the filler, bloomSize, bloomFromBytes and the read side use
// github.com/bits-and-blooms/bloom/v3; the rest of the package goes
// through them.
//
// A key enters the filter as its 8 big-endian bytes. The section stores the
// filter's bit array as little-endian uint64 words; the header stores m (bits)
// and k (hash functions). A reader over a memory-mapped file on a
// little-endian host uses the mapped words in place (zero copy); any other
// reader loads the section into memory once, on the first MayContain.

import (
	"encoding/binary"
	"unsafe"

	"github.com/bits-and-blooms/bloom/v3"
)

// bloomFilter is the read side: a filter over words that may be mmap'd.
type bloomFilter struct {
	f *bloom.BloomFilter
}

// bloomWords returns the number of uint64 words of a filter of m bits.
func bloomWords(m uint64) uint64 { return (m + 63) / 64 }

// nativeLittleEndian reports whether the host stores integers little-endian,
// which lets mapped section bytes be used as []uint64 in place.
var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// bloomFromBytes makes a filter from section bytes. If the bytes are 8-byte
// aligned and the host is little-endian, they are used in place (p must then
// outlive the filter: the reader's mapping does); otherwise they are copied.
func bloomFromBytes(p []byte, m, k uint64) *bloomFilter {
	nw := int(bloomWords(m))
	var words []uint64
	if nativeLittleEndian && len(p) >= nw*8 && nw > 0 && uintptr(unsafe.Pointer(&p[0]))%8 == 0 {
		words = unsafe.Slice((*uint64)(unsafe.Pointer(&p[0])), nw)
	} else {
		words = make([]uint64, nw)
		for i := range words {
			words[i] = binary.LittleEndian.Uint64(p[8*i:])
		}
	}
	return &bloomFilter{f: bloom.FromWithM(words, uint(m), uint(k))}
}

func (b *bloomFilter) test(key uint64) bool {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], key)
	return b.f.Test(buf[:])
}

// MayContain consults the bloom filter only: false means key is certainly
// absent; true means it may be present. It returns true if the index has no
// bloom section. On a memory-mapped file the filter is used in place; over a
// plain io.ReaderAt the section is read (and its checksum checked) on the
// first call, and kept in memory. A bloom section with a bad checksum is
// ignored (MayContain then returns true).
func (r *Reader) MayContain(key uint64) bool {
	if !r.hasBloom {
		return true
	}
	r.bloomOnce.Do(r.loadBloom)
	f := r.bloom
	if f == nil {
		return true
	}
	return f.test(key)
}

func (r *Reader) loadBloom() {
	p, err := r.readSection(secBloom)
	if err != nil {
		return
	}
	r.bloom = bloomFromBytes(p, r.h.bloomM, uint64(r.h.bloomK))
}
