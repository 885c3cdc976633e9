package synth

// Distinct numbers at scale: N different valid numbers, in E.164, one a
// line, for benchmarks of whole-dump size.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/pipeline"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// DistinctOptions say what [GenerateDistinct] writes.
type DistinctOptions struct {
	Seed    int64
	N       int                // distinct numbers to write
	Mix     map[string]float64 // region -> weight; nil means DefaultMix
	Workers int                // goroutines drawing and checking numbers; 0 means GOMAXPROCS
}

// numRange is a block of numbers: an NSN prefix followed by any k digits,
// every one of which a sample found valid for the region.
type numRange struct {
	prefix string
	k      int
	size   uint64 // 10^k
}

// distinctRegion is a region's ranges and how many numbers to draw in them.
type distinctRegion struct {
	region string
	cc     string
	ranges []numRange
	cum    []uint64 // cumulative sizes
	count  int      // numbers to write
	mul    uint64   // the permutation of [0, cum[last]): i -> (mul*i + add) mod size
	add    uint64
}

func (r *distinctRegion) size() uint64 { return r.cum[len(r.cum)-1] }

// distinctChunk is the unit of work: rows [0, rows) of a region's chunk j,
// drawn from the permutation's indexes [j*slab, (j+1)*slab).
const (
	distinctChunk = 1 << 16
	distinctSlab  = distinctChunk * 5 / 4 // room for a fifth of invalid draws
)

// GenerateDistinct writes opts.N distinct numbers to w in E.164, one a
// line, drawn with the seeded generator from the country mix (scaled to N)
// and written in a seeded shuffled order of chunks of 65,536 numbers of one
// region. The same options give the same bytes, whatever the workers.
//
// A region's numbers come from whole valid ranges, not from its example
// numbers alone: from each of the library's example numbers, the longest
// run of trailing digits that a sample finds valid for every value, and
// the prefixes that differ from it in their last one to four digits and
// pass the same sample (Egypt's mobiles: 10, 11, 12 and 15 followed by any
// 8 digits; the US: every area code's exchanges). The numbers are drawn
// without repetition by a seeded affine permutation of each region's
// ranges, and every number is normalized before it is written: one that is
// not valid (a hole in a range the sample missed) is skipped, so every line
// is valid and the count is exact. These numbers are synthetic, not
// fictional: a real person may hold any of them. They come from no leak.
func GenerateDistinct(ctx context.Context, w io.Writer, opts DistinctOptions) (Stats, error) {
	st := Stats{Regions: map[string]int{}}
	if opts.N < 0 {
		return st, errors.New("checker: negative row count")
	}
	regions, err := distinctPlan(opts)
	if err != nil {
		return st, err
	}
	type job struct {
		r    int
		j    int
		rows int
	}
	var jobs []job
	for ri, r := range regions {
		for j := 0; j*distinctChunk < r.count; j++ {
			jobs = append(jobs, job{ri, j, min(distinctChunk, r.count-j*distinctChunk)})
		}
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x64697374696e6374))
	rng.Shuffle(len(jobs), func(a, b int) { jobs[a], jobs[b] = jobs[b], jobs[a] })

	type chunk struct {
		job
		out []byte
		err error
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	next := 0
	err = pipeline.Run(ctx, pipeline.Stages[chunk]{
		Workers: opts.Workers,
		Read: func(c *chunk) (bool, error) {
			if next == len(jobs) {
				return false, io.EOF
			}
			c.job, c.err = jobs[next], nil
			next++
			return true, nil
		},
		NewWorker: func() func(context.Context, *chunk) {
			var z phone.Normalizer
			var scratch []byte
			return func(_ context.Context, c *chunk) {
				c.out, scratch, c.err = regions[c.r].appendChunk(c.out[:0], scratch, &z, c.j, c.rows)
			}
		},
		Emit: func(c *chunk) error {
			if c.err != nil {
				return c.err
			}
			st.Rows += c.rows
			st.Regions[regions[c.r].region] += c.rows
			_, err := bw.Write(c.out)
			return err
		},
	})
	if err != nil {
		return st, err
	}
	return st, bw.Flush()
}

// appendChunk appends chunk j of r (rows numbers, a line each) to dst.
func (r *distinctRegion) appendChunk(dst, scratch []byte, z *phone.Normalizer, j, rows int) ([]byte, []byte, error) {
	size := r.size()
	lo := uint64(j) * distinctSlab
	hi := min(lo+distinctSlab, size)
	line := make([]byte, 0, 24)
	line = append(line, '+')
	line = append(line, r.cc...)
	head := len(line)
	for i := lo; rows > 0; i++ {
		if i == hi {
			return dst, scratch, fmt.Errorf("checker: region %s: more than a fifth of a range's numbers are not valid; lower its weight or --n", r.region)
		}
		hiP, loP := bits.Mul64(r.mul, i)
		x := bits.Rem64(hiP, loP, size)
		x, carry := bits.Add64(x, r.add, 0)
		if carry != 0 || x >= size {
			x -= size
		}
		ri, _ := slices.BinarySearch(r.cum, x+1)
		rg := &r.ranges[ri]
		if ri > 0 {
			x -= r.cum[ri-1]
		}
		line = append(line[:head], rg.prefix...)
		n := len(line)
		for range rg.k {
			line = append(line, '0')
		}
		for p := len(line) - 1; p >= n; p-- {
			line[p] = byte('0' + x%10)
			x /= 10
		}
		var region string
		var reason phone.Reason
		scratch, region, reason = z.AppendE164(scratch[:0], string(line), "")
		if reason != "" || region != r.region || string(scratch) != string(line) {
			continue
		}
		dst = append(dst, line...)
		dst = append(dst, '\n')
		rows--
	}
	return dst, scratch, nil
}

// distinctPlan returns the regions of opts's mix, in name order, with
// their ranges, counts and permutations.
func distinctPlan(opts DistinctOptions) ([]*distinctRegion, error) {
	mix := opts.Mix
	if mix == nil {
		mix = DefaultMix
	}
	names := make([]string, 0, len(mix))
	total := 0.0
	for name, w := range mix {
		if w < 0 || w != w {
			return nil, fmt.Errorf("checker: mix weight of %s is %v", name, w)
		}
		if w > 0 {
			names = append(names, strings.ToUpper(name))
			total += w
		}
	}
	if total <= 0 {
		return nil, errors.New("checker: mix has no region with a positive weight")
	}
	sort.Strings(names)
	weight := func(name string) float64 {
		if w, ok := mix[name]; ok {
			return w
		}
		for k, w := range mix {
			if strings.EqualFold(k, name) {
				return w
			}
		}
		return 0
	}
	// Counts: the floors of the shares, then one more for the largest
	// remainders, so that they add up to N.
	counts := make([]int, len(names))
	rem := make([]float64, len(names))
	left := opts.N
	for i, name := range names {
		share := float64(opts.N) * weight(name) / total
		counts[i] = int(share)
		rem[i] = share - float64(counts[i])
		left -= counts[i]
	}
	order := make([]int, len(names))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for i := 0; left > 0; i, left = i+1, left-1 {
		counts[order[i%len(order)]]++
	}

	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x7065726d))
	var out []*distinctRegion
	for i, name := range names {
		r, err := loadDistinctRegion(name)
		if err != nil {
			return nil, err
		}
		c := *r
		c.count = counts[i]
		size := c.size()
		if chunks := uint64(c.count+distinctChunk-1) / distinctChunk; c.count > 0 && (chunks-1)*distinctSlab+uint64(c.count-int(chunks-1)*distinctChunk) > size*4/5 {
			return nil, fmt.Errorf("checker: region %s: %d distinct numbers asked, its ranges hold %d; lower its weight or --n", name, c.count, size)
		}
		for {
			c.mul = 1 + rng.Uint64N(size)
			if gcd(c.mul, size) == 1 {
				break
			}
		}
		c.add = rng.Uint64N(size)
		out = append(out, &c)
	}
	return out, nil
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

var (
	distinctMu      sync.Mutex
	distinctRegions = map[string]*distinctRegion{}
)

// loadDistinctRegion returns the ranges of region, found once a process.
func loadDistinctRegion(region string) (*distinctRegion, error) {
	distinctMu.Lock()
	defer distinctMu.Unlock()
	r, ok := distinctRegions[region]
	if !ok {
		r = findRanges(region)
		distinctRegions[region] = r
	}
	if r == nil {
		return nil, fmt.Errorf("checker: no valid numbers to generate for region %q", region)
	}
	return r, nil
}

// rangeSamples is how many numbers of a candidate range are normalized
// before the range is taken (its first and last, and random ones), and
// rangeMisses how many of them may be invalid: holes in a range (the US's
// N11 exchanges, say) are skipped when numbers are written.
const (
	rangeSamples = 64
	rangeMisses  = 3
)

// findRanges returns region's ranges, or nil if it has none.
func findRanges(region string) *distinctRegion {
	ri, ok := phone.LookupRegion(region)
	if !ok {
		return nil
	}
	r := &distinctRegion{region: region, cc: strconv.Itoa(ri.CountryCode)}
	var z phone.Normalizer
	rng := rand.New(rand.NewPCG(7, uint64(ri.CountryCode)))
	var line, out []byte
	valid := func(prefix string, k int) bool {
		pow := pow10(k)
		misses := 0
		for s := range rangeSamples {
			v := pow - 1
			switch s {
			case 0:
				v = 0
			case 1:
			default:
				v = rng.Uint64N(pow)
			}
			line = append(append(append(line[:0], '+'), r.cc...), prefix...)
			n := len(line)
			for range k {
				line = append(line, '0')
			}
			for p := len(line) - 1; p >= n; p-- {
				line[p] = byte('0' + v%10)
				v /= 10
			}
			var reg string
			var reason phone.Reason
			out, reg, reason = z.AppendE164(out[:0], string(line), "")
			if reason != "" || reg != region || string(out) != string(line) {
				if misses++; misses > rangeMisses {
					return false
				}
			}
		}
		return true
	}
	seen := map[string]bool{}
	for _, ex := range ri.Examples {
		for k := min(10, len(ex)-1); k >= 2; k-- {
			p := ex[:len(ex)-k]
			if !valid(p, k) {
				continue
			}
			// The prefixes next to p: its last one to four digits changed.
			for j := 0; j <= min(4, len(p)); j++ {
				stem := p[:len(p)-j]
				for v := range pow10(j) {
					q := stem
					if j > 0 {
						q += fmt.Sprintf("%0*d", j, v)
					}
					key := q + "/" + strconv.Itoa(k)
					if seen[key] {
						continue
					}
					seen[key] = true
					if q == "" || q[0] == '0' && ri.Trunk == "0" || !valid(q, k) {
						continue
					}
					r.ranges = append(r.ranges, numRange{prefix: q, k: k, size: pow10(k)})
				}
			}
			break
		}
	}
	// Drop a range inside another of the same length (a prefix of it).
	slices.SortFunc(r.ranges, func(a, b numRange) int {
		if c := (len(a.prefix) + a.k) - (len(b.prefix) + b.k); c != 0 {
			return c
		}
		return strings.Compare(a.prefix, b.prefix)
	})
	kept := r.ranges[:0]
	for _, rg := range r.ranges {
		if n := len(kept); n > 0 && len(kept[n-1].prefix)+kept[n-1].k == len(rg.prefix)+rg.k && strings.HasPrefix(rg.prefix, kept[n-1].prefix) {
			continue
		}
		kept = append(kept, rg)
	}
	r.ranges = kept
	if len(r.ranges) == 0 {
		return nil
	}
	var sum uint64
	for _, rg := range r.ranges {
		sum += rg.size
		r.cum = append(r.cum, sum)
	}
	return r
}
