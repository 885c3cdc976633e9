// Package hashset stores a set of opaque 64-bit keys in one index file.
//
// Each key carries its provenance (which datasets it came from). The file is
// checksummed and memory-mappable, and a [Reader] answers exact lookups,
// bloom-filter lookups and prefix ranges on it.
//
// The package knows nothing about what a key means. Its caller hashes phone
// numbers into keys; an index file is therefore as sensitive as the datasets
// it was built from, which is why [Builder.WriteFile] creates it with
// permissions 0600 and why no error message ever shows more than a 5-hex-digit
// prefix of a key.
//
// # Building and reading
//
// A [Builder] collects keys in memory (12 bytes per key added), filed
// under their top byte; Write sorts each of the 256 partitions with an LSD
// radix sort, deduplicates it and merges its provenance, on all cores, and
// writes the file. With Options.Memory it spills the partitions to
// temporary files past a share of that bound and reads them back one at a
// time, writing the same bytes.
//
// A [Reader] opens a file in time independent of its size: [Open] maps
// the file and checks only the header, the section table and the small
// sections; [Reader.Verify] reads and checks everything.
//
// For long jobs on large indexes, [Reader.ContainsBatch] looks up many keys
// at once, overlapping their cache misses (about 4x the throughput of
// Contains at 10M keys), and [Reader.Preload] copies the sections lookups
// read into huge-page-backed memory of the Reader's own, checking their
// checksums on the way (opt-in: Open stays O(1)).
//
// [MergeFile] merges indexes into one, streaming through their sorted keys
// (a new leak merged in, not rebuilt), and [SortedWriter] writes an index
// from keys that come in order (sealing does), both in memory independent
// of the number of keys but for the bloom filter; their bytes equal a
// Builder's for the same content.
//
// # Keys
//
// A key's top b bits (b = Meta.DirBits, 8..24, chosen by the builder to
// minimise size) pick a bucket in a directory of cumulative counts; the key's
// remaining 64-b bits are stored in w = ceil((64-b)/8) bytes. A lookup is one
// directory read and a search of a bucket of at most a few hundred entries.
// A prefix of any length 1..64 selects a contiguous run of the sorted keys,
// which is what [Reader.Range] returns.
//
// Size per key: w bytes of suffix (5 from ~30M keys up, 6 below), plus the
// directory (4<<b bytes: 0.67 bytes per key at 100M keys, 0.14 at 487M), plus
// the provenance id (0 bytes when every key has the same dataset set, else
// 1, 2 or 4), plus the bloom filter (0.84 bytes per key at the default 4%
// false positive rate, 1.2 at 1%). Measured with one dataset and a 1%
// filter: 7.46 bytes per key at 1M keys (6.26 without bloom), 7.22 at 10M
// (6.03); by the same arithmetic, at 4%: 7.10 at 1M, 6.87 at 10M, 6.51 at
// 100M (5.67 without bloom) and 5.97 at 487M (5.14; 6.34 at 1%). The bloom
// filter is what takes a large index over 6 bytes per key; an index that is always mapped
// and in the page cache gains little from it (see BenchmarkBloomColdCache)
// and can be built with a negative BloomFPR.
//
// # File layout
//
// All integers are little-endian. Sections start at 8-byte offsets; padding
// bytes are zero.
//
//	offset  size  field
//	0       8     magic "\x89HSET\r\n\x1a"
//	8       4     format version (1)
//	12      4     header + section table length: 64 + 24*S
//	16      8     file size in bytes
//	24      8     n: number of distinct keys (< 2^32)
//	32      1     b: directory bits, 8..24
//	33      1     w: suffix bytes, ceil((64-b)/8)
//	34      1     set id bytes: 0 (one set), 1, 2 or 4
//	35      1     reserved, 0
//	36      4     S: number of sections, 1..16
//	40      8     bloom m: bits in the filter, 0 if no bloom section
//	48      4     bloom k: hash functions, 0 if no bloom section
//	52      4     number of provenance sets
//	56      4     number of datasets
//	60      4     CRC-32C of bytes 0..59 followed by the section table
//	64      24*S  section table, one entry per section, in file order:
//	              +0 id (uint32), +4 CRC-32C of the section (uint32),
//	              +8 offset (uint64), +16 length (uint64)
//
// Sections (id, name, content):
//
//	1  META   JSON of [Meta]; its layout fields repeat the header's
//	2  SETS   the distinct dataset sets, in id order; each is a uint16
//	          count c >= 1 then c uint16 dataset indexes, strictly increasing
//	3  DIR    (1<<b)+1 uint32: DIR[i] = number of keys whose top b bits are
//	          < i; DIR[0] = 0, DIR[1<<b] = n
//	4  KEYS   n suffixes of w bytes: key & (1<<(64-b) - 1), ascending within
//	          each bucket; the key at position p in bucket i is i<<(64-b) | suffix
//	5  IDS    n set ids of "set id bytes" each, parallel to KEYS (empty when
//	          there is a single set)
//	6  BLOOM  ceil(m/64) uint64 words of a github.com/bits-and-blooms/bloom/v3
//	          filter (m bits, k hashes) fed each key as 8 big-endian bytes;
//	          absent when the builder's BloomFPR is negative
//
// A reader rejects unknown format versions ([ErrVersion]), files without the
// magic ([ErrFormat]), checksum mismatches ([ErrChecksum]) and any length,
// offset or count inconsistent with the file size or the header
// ([ErrCorrupt]), before allocating anything sized by the file.
package hashset
