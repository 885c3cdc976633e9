package hashset

// A measured prototype for issue 20 part 7 (index size): the key section
// coded as Elias-Fano per directory bucket, against today's fixed-width
// suffixes in the same run (BenchmarkEFProto*; the tests hold it equal to
// today's search). It is not a format, and nothing outside this file uses
// it: at 487M keys it saves 0.36 B a key but costs about 1.5x warm per
// lookup, so the 4% bloom rate was chosen instead; it is kept so that the
// figures can be measured again if a tighter bloom rate is wanted back.
//
// Layout (prototype): the directory is today's (DIR[i] = keys in buckets
// < i). A key's suffix s (64-b bits) splits into its top h bits (v) and
// its low l = 64-b-h bits. Bucket i holds, from bit DIR[i]*(l+1) + i<<h of
// one bit string: cnt+2^h bits of upper part (key j of the bucket sets bit
// v_j + j), then cnt low parts of l bits. Its start is computed from the
// directory alone, so a lookup still reads DIR, then one bucket: at 487M
// keys (b = 24, 29 keys a bucket on average, h = 5, l = 35) 37.1 bits a
// key against today's 40.

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

type efKeys struct {
	b, h, l int
	dir     []uint32
	words   []uint64 // the bit string, little-endian bit order, padded by a word
}

// efHighBits picks h for an average of avg keys a bucket: it minimises
// l+1 + 2^h/avg bits a key, l = suffix bits - h.
func efHighBits(avg float64) int {
	best, cost := 0, 1e18
	for h := 0; h <= 16; h++ {
		if c := float64(-h) + float64(uint64(1)<<h)/avg; c < cost {
			best, cost = h, c
		}
	}
	return best
}

func (e *efKeys) setBits(pos uint64, v uint64, w int) {
	if w == 0 {
		return
	}
	i, o := pos>>6, pos&63
	e.words[i] |= v << o
	if o+uint64(w) > 64 {
		e.words[i+1] |= v >> (64 - o)
	}
}

func (e *efKeys) getBits(pos uint64, w int) uint64 {
	i, o := pos>>6, pos&63
	v := e.words[i] >> o
	if o+uint64(w) > 64 {
		v |= e.words[i+1] << (64 - o)
	}
	return v & (1<<w - 1)
}

// buildEF codes sorted, distinct keys.
func buildEF(keys []uint64, b int) *efKeys {
	sb := 64 - b
	h := efHighBits(float64(len(keys)) / float64(uint64(1)<<b))
	h = min(h, sb)
	e := &efKeys{b: b, h: h, l: sb - h, dir: make([]uint32, 1<<b+1)}
	for _, k := range keys {
		e.dir[(k>>sb)+1]++
	}
	for i := 1; i < len(e.dir); i++ {
		e.dir[i] += e.dir[i-1]
	}
	total := uint64(len(keys))*uint64(e.l+1) + uint64(1)<<b<<h
	e.words = make([]uint64, total/64+2)
	mask := uint64(1)<<sb - 1
	for i := range 1 << b {
		lo, hi := uint64(e.dir[i]), uint64(e.dir[i+1])
		start := lo*uint64(e.l+1) + uint64(i)<<h
		cnt := hi - lo
		low := start + cnt + 1<<h
		for j := lo; j < hi; j++ {
			s := keys[j] & mask
			v := s >> e.l
			e.setBits(start+v+(j-lo), 1, 1)
			e.setBits(low+(j-lo)*uint64(e.l), s&(1<<e.l-1), e.l)
		}
	}
	return e
}

// sel0 returns the position of zero number r (from 0) in the n bits from
// pos, or n if there are not that many.
func (e *efKeys) sel0(pos, n uint64, r int) uint64 {
	done := uint64(0)
	for done < n {
		w := ^e.getBits(pos+done, int(min(64, n-done)))
		if n-done < 64 {
			w &= 1<<(n-done) - 1
		}
		c := bits.OnesCount64(w)
		if r < c {
			for ; r > 0; r-- {
				w &= w - 1
			}
			return done + uint64(bits.TrailingZeros64(w))
		}
		r -= c
		done += 64
	}
	return n
}

// contains reports whether key is coded, as findMem does for today's
// format, and its position.
func (e *efKeys) contains(key uint64) (uint64, bool) {
	sb := 64 - e.b
	i := key >> sb
	lo, hi := uint64(e.dir[i]), uint64(e.dir[i+1])
	if lo >= hi {
		return 0, false
	}
	cnt := hi - lo
	s := key & (1<<sb - 1)
	v := s >> e.l
	start := lo*uint64(e.l+1) + i<<e.h
	nu := cnt + 1<<e.h
	// The low part is at most a line or two past the upper part: fetch
	// the line where the key's should be (interpolated) while the upper
	// part's miss is served, so that the two overlap.
	g := min((v*cnt)>>e.h, cnt-1)
	prefetch(uintptr(unsafe.Pointer(&e.words[(start+nu+g*uint64(e.l))>>6])))
	a := uint64(0)
	if v > 0 {
		a = e.sel0(start, nu, int(v-1)) - (v - 1)
	}
	z := e.sel0(start, nu, int(v)) - v
	want := s & (1<<e.l - 1)
	low := start + nu
	for j := a; j < z; j++ {
		got := e.getBits(low+j*uint64(e.l), e.l)
		if got >= want {
			return lo + j, got == want
		}
	}
	return lo + z, false
}

// fixedKeys is today's KEYS section with its directory, in memory.
type fixedKeys struct {
	b, w int
	dir  []uint32
	keys []byte
}

func buildFixed(keys []uint64, b int) *fixedKeys {
	sb := 64 - b
	f := &fixedKeys{b: b, w: suffixBytes(b), dir: make([]uint32, 1<<b+1)}
	f.keys = make([]byte, len(keys)*f.w+8)
	for j, k := range keys {
		f.dir[(k>>sb)+1]++
		le.PutUint64(f.keys[j*f.w:], k&(1<<sb-1))
	}
	f.keys = f.keys[:len(keys)*f.w]
	for i := 1; i < len(f.dir); i++ {
		f.dir[i] += f.dir[i-1]
	}
	return f
}

func (f *fixedKeys) contains(key uint64) (uint64, bool) {
	sb := 64 - f.b
	i := key >> sb
	lo, hi := uint64(f.dir[i]), uint64(f.dir[i+1])
	if lo >= hi {
		return 0, false
	}
	w := uint64(f.w)
	j, ok := searchBucket(f.keys[lo*w:hi*w], f.w, int(hi-lo), key&(1<<sb-1), f.b)
	return lo + uint64(j), ok
}

func efProtoKeys(n int) []uint64 {
	keys := randomKeys(n, 31)
	slices.Sort(keys)
	return slices.Compact(keys)
}

// TestEFProtoMatchesFixed: the prototype finds what today's search finds,
// at the same positions, on hits and misses, at several densities.
func TestEFProtoMatchesFixed(t *testing.T) {
	for _, tc := range []struct{ n, b int }{{1, 8}, {1000, 8}, {200_000, 12}, {300_000, 8}, {100_000, 16}} {
		keys := efProtoKeys(tc.n)
		e, f := buildEF(keys, tc.b), buildFixed(keys, tc.b)
		probes := append(randomKeys(20_000, 7), keys[:min(len(keys), 20_000)]...)
		bad := 0
		for _, k := range probes {
			ep, eok := e.contains(k)
			fp, fok := f.contains(k)
			if eok != fok || (eok && ep != fp) {
				bad++
			}
		}
		if bad > 0 {
			t.Errorf("n=%d b=%d: %d of %d lookups differ", tc.n, tc.b, bad, len(probes))
		}
	}
}

// BenchmarkEFProto: Contains-like lookups, half hits, in random order, in
// both codings of the same keys at the key density of 487M keys at b=24
// (N keys at b = 24 - log2(487M/N), PHONECHECK_EF_KEYS, default 30M),
// warm (in memory) and cold (from a file whose pages were dropped from
// the page cache with posix_fadvise DONTNEED before each round).
func BenchmarkEFProto(b *testing.B) {
	n := 30_000_000
	if s := os.Getenv("PHONECHECK_EF_KEYS"); s != "" {
		fmt.Sscan(s, &n)
	}
	db := 24 - int(math.Round(math.Log2(487e6/float64(n))))
	keys := efProtoKeys(n)
	e, f := buildEF(keys, db), buildFixed(keys, db)
	b.Logf("n=%d b=%d: fixed %.3f B/key (w=%d), EF %.3f B/key (h=%d l=%d), directory %.3f B/key",
		len(keys), db, float64(len(f.keys))/float64(len(keys)), f.w,
		float64(len(e.words)*8)/float64(len(keys)), e.h, e.l, float64(len(e.dir)*4)/float64(len(keys)))
	const nprobe = 1 << 20
	rng := rand.New(rand.NewPCG(5, 5))
	probes := randomKeys(nprobe, 77)
	for i := 0; i < nprobe; i += 2 {
		probes[i] = keys[rng.IntN(len(keys))]
	}
	const per = 2000 // lookups a round
	warm := func(look func(uint64) (uint64, bool)) func(b *testing.B) {
		return func(b *testing.B) {
			found, done := 0, 0
			for b.Loop() {
				for i := range per {
					if _, ok := look(probes[(done+i)&(nprobe-1)]); ok {
						found++
					}
				}
				done += per
			}
			if found == 0 {
				b.Fatal("nothing found")
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/lookup")
		}
	}
	b.Run("warm/fixed", warm(f.contains))
	b.Run("warm/ef", warm(e.contains))

	// Cold: both codings in files; each round drops their pages from the
	// page cache (posix_fadvise DONTNEED, which spares mapped pages: so
	// unmapped first) and maps them afresh, without readahead.
	dir := b.TempDir()
	write := func(name string, p []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, p, 0o600); err != nil {
			b.Fatal(err)
		}
		return path
	}
	u64bytes := func(w []uint64) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*8) }
	u32bytes := func(w []uint32) []byte { return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*4) }
	fkp, fdp := write("fixed-keys", f.keys), write("fixed-dir", u32bytes(f.dir))
	ekp, edp := write("ef-bits", u64bytes(e.words)), write("ef-dir", u32bytes(e.dir))
	// mapCold drops path's pages and maps it.
	mapCold := func(path string) []byte {
		fh, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		defer fh.Close()
		st, _ := fh.Stat()
		fh.Sync()
		if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, fh.Fd(), 0, uintptr(st.Size()), 4, 0, 0); errno != 0 {
			b.Fatalf("fadvise: %v", errno)
		}
		m, err := syscall.Mmap(int(fh.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			b.Fatal(err)
		}
		syscall.Madvise(m, 1) // MADV_RANDOM: no readahead around a fault
		return m
	}
	cold := func(open func() (func(uint64) (uint64, bool), [][]byte)) func(b *testing.B) {
		return func(b *testing.B) {
			var d time.Duration
			done := 0
			for b.Loop() {
				b.StopTimer()
				look, maps := open()
				b.StartTimer()
				t0 := time.Now()
				for i := range per {
					look(probes[(done+i)&(nprobe-1)])
				}
				d += time.Since(t0)
				done += per
				b.StopTimer()
				for _, m := range maps {
					syscall.Munmap(m)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(d.Nanoseconds())/float64(done), "ns/lookup")
		}
	}
	b.Run("cold/fixed", cold(func() (func(uint64) (uint64, bool), [][]byte) {
		k, d := mapCold(fkp), mapCold(fdp)
		c := &fixedKeys{b: f.b, w: f.w, keys: k, dir: unsafe.Slice((*uint32)(unsafe.Pointer(&d[0])), len(f.dir))}
		return c.contains, [][]byte{k, d}
	}))
	b.Run("cold/ef", cold(func() (func(uint64) (uint64, bool), [][]byte) {
		k, d := mapCold(ekp), mapCold(edp)
		c := &efKeys{b: e.b, h: e.h, l: e.l, words: unsafe.Slice((*uint64)(unsafe.Pointer(&k[0])), len(e.words)), dir: unsafe.Slice((*uint32)(unsafe.Pointer(&d[0])), len(e.dir))}
		return c.contains, [][]byte{k, d}
	}))
}

// BenchmarkBloomFPRProto: the other lever, a higher false positive rate.
// MayContain of absent keys on filters of N keys (PHONECHECK_EF_KEYS,
// default 30M) at 1% and 4%, warm (in memory) and cold (the filter's
// file dropped from the page cache and mapped afresh each round), and
// how many absent keys pass (which then search the keys).
func BenchmarkBloomFPRProto(b *testing.B) {
	n := 30_000_000
	if s := os.Getenv("PHONECHECK_EF_KEYS"); s != "" {
		fmt.Sscan(s, &n)
	}
	keys := randomKeys(n, 31)
	absent := randomKeys(1<<20, 99)
	dir := b.TempDir()
	const per = 2000
	for _, fpr := range []float64{0.01, 0.04} {
		m, k := bloomSize(int64(n), fpr)
		fill := newBloomFill(nil, m, k, 0)
		fill.Add(keys)
		words := fill.Words()
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
		path := filepath.Join(dir, fmt.Sprint(fpr))
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("warm/fpr=%g/k=%d", fpr, k), func(b *testing.B) {
			f := bloomFromBytes(raw, m, k)
			pass, done := 0, 0
			for b.Loop() {
				for i := range per {
					if f.test(absent[(done+i)&(1<<20-1)]) {
						pass++
					}
				}
				done += per
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/lookup")
			b.ReportMetric(float64(pass)/float64(done), "pass-rate")
		})
		b.Run(fmt.Sprintf("cold/fpr=%g/k=%d", fpr, k), func(b *testing.B) {
			var d time.Duration
			done := 0
			for b.Loop() {
				b.StopTimer()
				fh, err := os.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, fh.Fd(), 0, uintptr(len(raw)), 4, 0, 0); errno != 0 {
					b.Fatalf("fadvise: %v", errno)
				}
				mm, err := syscall.Mmap(int(fh.Fd()), 0, len(raw), syscall.PROT_READ, syscall.MAP_SHARED)
				fh.Close()
				if err != nil {
					b.Fatal(err)
				}
				syscall.Madvise(mm, 1)
				f := bloomFromBytes(mm, m, k)
				b.StartTimer()
				t0 := time.Now()
				for i := range per {
					f.test(absent[(done+i)&(1<<20-1)])
				}
				d += time.Since(t0)
				done += per
				b.StopTimer()
				syscall.Munmap(mm)
				b.StartTimer()
			}
			b.ReportMetric(float64(d.Nanoseconds())/float64(done), "ns/lookup")
		})
	}
}

// batch is ContainsBatch's scheme on the prototype: prefetch each key's
// directory entries, then its bucket's upper part and the line of its
// interpolated low part, then search.
func (e *efKeys) batch(keys []uint64, found []bool) int {
	sb := 64 - e.b
	n := 0
	for len(keys) > 0 {
		g := min(len(keys), batchGroup)
		ks := keys[:g]
		keys = keys[g:]
		for _, k := range ks {
			prefetch(uintptr(unsafe.Pointer(&e.dir[k>>sb])))
		}
		for _, k := range ks {
			i := k >> sb
			lo, hi := uint64(e.dir[i]), uint64(e.dir[i+1])
			if lo >= hi {
				continue
			}
			cnt := hi - lo
			v := (k & (1<<sb - 1)) >> e.l
			start := lo*uint64(e.l+1) + i<<e.h
			nu := cnt + 1<<e.h
			g := min((v*cnt)>>e.h, cnt-1)
			prefetch(uintptr(unsafe.Pointer(&e.words[start>>6])))
			prefetch(uintptr(unsafe.Pointer(&e.words[(start+nu+g*uint64(e.l))>>6])))
		}
		for j, k := range ks {
			_, ok := e.contains(k)
			found[j] = ok
			if ok {
				n++
			}
		}
		found = found[g:]
	}
	return n
}

// batch is ContainsBatch's scheme on today's coding, as the Reader does it.
func (f *fixedKeys) batch(keys []uint64, found []bool) int {
	sb := 64 - f.b
	w := uint64(f.w)
	n := 0
	for len(keys) > 0 {
		g := min(len(keys), batchGroup)
		ks := keys[:g]
		keys = keys[g:]
		for _, k := range ks {
			prefetch(uintptr(unsafe.Pointer(&f.dir[k>>sb])))
		}
		for _, k := range ks {
			i := k >> sb
			lo, hi := uint64(f.dir[i]), uint64(f.dir[i+1])
			if lo >= hi {
				continue
			}
			c := int(hi - lo)
			gs := bucketGuess(k&(1<<sb-1), c, f.b)
			bk := f.keys[lo*w : hi*w]
			prefetch(uintptr(unsafe.Pointer(&bk[max(gs-prefetchSpan, 0)*f.w])))
			prefetch(uintptr(unsafe.Pointer(&bk[gs*f.w])))
			prefetch(uintptr(unsafe.Pointer(&bk[min(gs+prefetchSpan, c-1)*f.w+f.w-1])))
		}
		for j, k := range ks {
			_, ok := f.contains(k)
			found[j] = ok
			if ok {
				n++
			}
		}
		found = found[g:]
	}
	return n
}

// appendBuckets decodes the keys of buckets [b0, b1): a range.
func (e *efKeys) appendBuckets(dst []uint64, b0, b1 uint64) []uint64 {
	sb := 64 - e.b
	for i := b0; i < b1; i++ {
		lo, hi := uint64(e.dir[i]), uint64(e.dir[i+1])
		cnt := hi - lo
		start := lo*uint64(e.l+1) + i<<e.h
		low := start + cnt + 1<<e.h
		// The set bits of the upper part, a word at a time: key j's high
		// part is its bit's position less j.
		j := uint64(0)
		for off := uint64(0); j < cnt; off += 64 {
			w := e.getBits(start+off, 64)
			for ; w != 0 && j < cnt; w &= w - 1 {
				v := off + uint64(bits.TrailingZeros64(w)) - j
				dst = append(dst, i<<sb|v<<e.l|e.getBits(low+j*uint64(e.l), e.l))
				j++
			}
		}
	}
	return dst
}

func (f *fixedKeys) appendBuckets(dst []uint64, b0, b1 uint64) []uint64 {
	sb := 64 - f.b
	lo, hi := uint64(f.dir[b0]), uint64(f.dir[b1])
	i := b0
	for p := lo; p < hi; p++ {
		for uint64(f.dir[i+1]) <= p {
			i++
		}
		dst = append(dst, i<<sb|getUint(f.keys[p*uint64(f.w):], f.w))
	}
	return dst
}

// TestEFProtoBatchRange: the batch and the range of the prototype agree
// with today's.
func TestEFProtoBatchRange(t *testing.T) {
	keys := efProtoKeys(300_000)
	e, f := buildEF(keys, 12), buildFixed(keys, 12)
	probes := append(randomKeys(5000, 8), keys[:5000]...)
	fe, ff := make([]bool, len(probes)), make([]bool, len(probes))
	if ne, nf := e.batch(probes, fe), f.batch(probes, ff); ne != nf || ne != 5000 || !slices.Equal(fe, ff) {
		t.Errorf("batch: EF found %d, today's %d, of 5000", ne, nf)
	}
	for _, r := range [][2]uint64{{0, 1}, {5, 21}, {4000, 4096}} {
		if ge, gf := e.appendBuckets(nil, r[0], r[1]), f.appendBuckets(nil, r[0], r[1]); !slices.Equal(ge, gf) || len(ge) == 0 {
			t.Errorf("buckets %v: EF decoded %d keys, today's %d", r, len(ge), len(gf))
		}
	}
}

// BenchmarkEFProtoBatchRange: ContainsBatch's scheme and ranges of 16
// buckets (a 20-bit prefix at 487M keys) on both codings, warm, at the
// density of BenchmarkEFProto.
func BenchmarkEFProtoBatchRange(b *testing.B) {
	n := 30_000_000
	if s := os.Getenv("PHONECHECK_EF_KEYS"); s != "" {
		fmt.Sscan(s, &n)
	}
	db := 24 - int(math.Round(math.Log2(487e6/float64(n))))
	keys := efProtoKeys(n)
	e, f := buildEF(keys, db), buildFixed(keys, db)
	const nprobe = 1 << 20
	rng := rand.New(rand.NewPCG(5, 5))
	probes := randomKeys(nprobe, 77)
	for i := 0; i < nprobe; i += 2 {
		probes[i] = keys[rng.IntN(len(keys))]
	}
	const per = 2048
	batch := func(look func([]uint64, []bool) int) func(b *testing.B) {
		return func(b *testing.B) {
			found := make([]bool, 256)
			done := 0
			for b.Loop() {
				for i := 0; i < per; i += 256 {
					o := (done + i) & (nprobe - 1)
					look(probes[o:o+256], found)
				}
				done += per
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(done), "ns/lookup")
		}
	}
	b.Run("batch/fixed", batch(f.batch))
	b.Run("batch/ef", batch(e.batch))
	rangeOf := func(dec func([]uint64, uint64, uint64) []uint64) func(b *testing.B) {
		return func(b *testing.B) {
			var dst []uint64
			total := 0
			for i := 0; b.Loop(); i++ {
				b0 := (probes[i&(nprobe-1)] >> (64 - db)) &^ 15
				dst = dec(dst[:0], b0, b0+16)
				total += len(dst)
			}
			b.ReportMetric(float64(total)/float64(b.N), "keys/range")
		}
	}
	b.Run("range/fixed", rangeOf(f.appendBuckets))
	b.Run("range/ef", rangeOf(e.appendBuckets))
}
