package private

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// SealOptions configure [Seal].
type SealOptions struct {
	Key        *oprf.Key
	BucketBits int // B: 0 means DefaultBucketBits; 8..32
	Workers    int // goroutines computing F_k: 0 means one per core
	Created    string
	// Progress, if set, is called now and then with the plain keys done
	// and the total, from one goroutine.
	Progress func(done, total int64)
}

// SealReport says what [Seal] did.
type SealReport struct {
	PlainKeys  int64         // keys of the plain index
	Keys       int64         // keys of the private index
	Collisions int64         // plain keys that fell on another's private key (merged)
	Sets       int           // distinct dataset sets
	Bytes      int64         // file size
	Elapsed    time.Duration // computing F_k, sorting and writing
	PerSecond  float64       // plain keys sealed per second
	Workers    int
	BucketBits int
	KeyID      string
	// MeanBucket is the mean number of keys per bucket. Below about 1,
	// which buckets are empty says which prefixes hold exposed numbers:
	// serve such an index padded (the default) or seal with fewer bits.
	MeanBucket float64
}

// sealChunkBits splits the plain index into 1<<sealChunkBits ranges read
// one at a time, so that memory beyond the builder stays small.
const sealChunkBits = 12

// Seal reads every key of a plain index (built under [keyscheme.Name]),
// computes its private key under opts.Key with opts.Workers goroutines,
// and writes the private index to w. Provenance carries over: each key
// keeps the datasets that hold it. Datasets' per-country counts are kept
// in their Stats as "country:CC".
//
// The private index needs the plain one, never the raw datasets; it is as
// sensitive as the plain index to whoever also holds the key, and reveals
// only bucket sizes to anyone else.
func Seal(ctx context.Context, plain *hashset.Reader, w io.Writer, opts SealOptions) (*SealReport, error) {
	b, rep, err := seal(ctx, plain, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := b.Write(w)
	return finishSeal(rep, st, err, start)
}

// SealFile is [Seal] writing the index to path atomically, owner-only (see
// hashset.Builder.WriteFile).
func SealFile(ctx context.Context, plain *hashset.Reader, path string, opts SealOptions) (*SealReport, error) {
	b, rep, err := seal(ctx, plain, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := b.WriteFile(path)
	return finishSeal(rep, st, err, start)
}

func finishSeal(rep *SealReport, st hashset.BuildStats, err error, start time.Time) (*SealReport, error) {
	if err != nil {
		return nil, err
	}
	rep.Elapsed += time.Since(start)
	rep.Keys = st.Unique
	rep.Collisions = rep.PlainKeys - st.Unique
	rep.Bytes = st.Bytes
	rep.MeanBucket = float64(st.Unique) / math.Exp2(float64(rep.BucketBits))
	return rep, nil
}

type sealJob struct {
	keys []uint64
	sets [][]int
	out  []uint64
}

func seal(ctx context.Context, plain *hashset.Reader, opts SealOptions) (*hashset.Builder, *SealReport, error) {
	start := time.Now()
	m := plain.Meta()
	if m.KeyScheme != keyscheme.Name {
		return nil, nil, fmt.Errorf("%w: %q (seal reads plain indexes, %q)", keyscheme.ErrScheme, m.KeyScheme, keyscheme.Name)
	}
	if opts.Key == nil {
		return nil, nil, errors.New("checker: seal: no key")
	}
	bb := opts.BucketBits
	if bb == 0 {
		bb = DefaultBucketBits
	}
	if bb < 8 || bb > 32 {
		return nil, nil, fmt.Errorf("checker: seal: bucket bits %d not in 8..32", bb)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	// Pass 1: the dataset sets and their key counts, from the shared set
	// slices of the reader (cheap: no hashing).
	var sets []Set
	byKey := map[string]int{}
	for c := uint64(0); c < 1<<sealChunkBits; c++ {
		es, err := plain.Range(c, sealChunkBits)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range es {
			k := setKey(e.Datasets)
			i, ok := byKey[k]
			if !ok {
				i = len(sets)
				byKey[k] = i
				sets = append(sets, Set{Datasets: slices.Clone(e.Datasets)})
			}
			sets[i].Keys++
		}
	}
	if len(sets) > math.MaxUint16+1 {
		return nil, nil, fmt.Errorf("checker: seal: %d distinct dataset sets, more than %d", len(sets), math.MaxUint16+1)
	}
	setsJSON, _ := json.Marshal(sets)

	padSeed := opts.Key.SecretHash(padSeedLabel)
	info := map[string]string{
		InfoPadSeed:    hex.EncodeToString(padSeed[:]),
		InfoBucketBits: strconv.Itoa(bb),
		InfoKeyID:      opts.Key.ID(),
		InfoPublicKey:  fmt.Sprintf("%x", opts.Key.Public().Bytes()),
		InfoSuite:      oprf.Suite,
		InfoInput:      oprf.InputLabel + " || uint64be(" + keyscheme.Name + ")",
		InfoSets:       string(setsJSON),
		InfoPlainKeys:  strconv.FormatInt(plain.Len(), 10),
	}
	for k, v := range m.Info {
		if _, mine := info[k]; !mine && k != InfoDemo {
			info["plain."+k] = v
		}
	}
	if m.Info[InfoDemo] == "true" {
		info[InfoDemo] = "true"
	}
	b := hashset.NewBuilder(hashset.Options{KeyScheme: PrivateScheme, Info: info, Created: opts.Created, BloomFPR: -1})
	for _, d := range m.Datasets {
		nd := hashset.Dataset{Name: d.Name, Date: d.Date, Source: d.Source, Stats: map[string]int64{}}
		for k, v := range d.Stats {
			nd.Stats[k] = v
		}
		for cc, v := range d.Groups {
			nd.Stats["country:"+cc] = v
		}
		if _, err := b.AddDataset(nd); err != nil {
			return nil, nil, err
		}
	}

	// Pass 2: reader -> workers -> this goroutine, which owns the builder.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *sealJob, workers*2)
	done := make(chan *sealJob, workers*2)
	var readErr error
	go func() {
		defer close(jobs)
		for c := uint64(0); c < 1<<sealChunkBits; c++ {
			es, err := plain.Range(c, sealChunkBits)
			if err != nil {
				readErr = err
				return
			}
			for len(es) > 0 {
				n := min(len(es), 4096)
				j := &sealJob{keys: make([]uint64, n), sets: make([][]int, n), out: make([]uint64, n)}
				for i, e := range es[:n] {
					j.keys[i], j.sets[i] = e.Key, e.Datasets
				}
				es = es[n:]
				select {
				case jobs <- j:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := opts.Key.NewSealer()
			for j := range jobs {
				s.Outputs(j.keys, j.out)
				for i, k := range j.keys {
					j.out[i] = wire.PrivateKey(k, j.out[i], bb)
				}
				select {
				case done <- j:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	var n int64
	total := plain.Len()
	var last time.Time
	for j := range done {
		for i, pk := range j.out {
			for _, d := range j.sets[i] {
				b.Add(pk, d, 0)
			}
		}
		n += int64(len(j.keys))
		if opts.Progress != nil && time.Since(last) > 100*time.Millisecond {
			opts.Progress(n, total)
			last = time.Now()
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if readErr != nil {
		return nil, nil, readErr
	}
	if n != total {
		return nil, nil, fmt.Errorf("checker: seal: read %d keys of %d", n, total)
	}
	if opts.Progress != nil {
		opts.Progress(n, total)
	}
	el := time.Since(start)
	return b, &SealReport{PlainKeys: total, Sets: len(sets), Elapsed: el, Workers: workers, BucketBits: bb,
		KeyID: opts.Key.ID(), PerSecond: float64(total) / el.Seconds()}, nil
}

// SealKeys computes the private keys of plain keys under k with the
// given number of goroutines: Seal's inner loop, without the index around
// it, for benchmarks and tests.
func SealKeys(k *oprf.Key, keys []uint64, b, workers int) []uint64 {
	out := make([]uint64, len(keys))
	var next atomic.Int64
	const chunk = 64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := k.NewSealer()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(keys) {
					return
				}
				hi := min(lo+chunk, len(keys))
				s.Outputs(keys[lo:hi], out[lo:hi])
				for i := lo; i < hi; i++ {
					out[i] = wire.PrivateKey(keys[i], out[i], b)
				}
			}
		}()
	}
	wg.Wait()
	return out
}
