package private

import (
	"cmp"
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
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/pipeline"
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
	// (first with 0) and the total, from one goroutine.
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
	var b *hashset.Builder
	rep, err := seal(ctx, plain, opts, func(o hashset.Options) (sealSink, error) {
		b = hashset.NewBuilder(o)
		return builderSink{b}, nil
	})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := b.Write(w)
	return finishSeal(rep, st, err, start)
}

// SealFile is [Seal] writing the index to path atomically, owner-only (see
// hashset.Builder.WriteFile), in memory independent of the index's size:
// the sealed keys come out in order of their bucket, which is their plain
// key's top bits, so that each is sorted among the few of its bucket and
// streamed to a hashset.SortedWriter (which spills them next to path, 12
// bytes a key, and removes the spill on every exit). The bytes are
// Seal's.
func SealFile(ctx context.Context, plain *hashset.Reader, path string, opts SealOptions) (*SealReport, error) {
	var sw *hashset.SortedWriter
	defer func() {
		if sw != nil {
			sw.Close()
		}
	}()
	rep, err := seal(ctx, plain, opts, func(o hashset.Options) (sealSink, error) {
		var err error
		sw, err = hashset.NewSortedWriter(path, o)
		return sw, err
	})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	st, err := sw.WriteFile(ctx)
	return finishSeal(rep, st, err, start)
}

// sealSink takes the sealed keys: a Builder, or a SortedWriter. Keys come
// in ascending order.
type sealSink interface {
	AddDataset(hashset.Dataset) (int, error)
	Add(key uint64, datasets ...int) error
}

type builderSink struct{ b *hashset.Builder }

func (s builderSink) AddDataset(d hashset.Dataset) (int, error) { return s.b.AddDataset(d) }

func (s builderSink) Add(key uint64, datasets ...int) error {
	for _, d := range datasets {
		s.b.Add(key, d, 0)
	}
	return nil
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

// sealChunk is a run of plain keys on its way through [seal]: the keys
// and their dataset sets in, their private keys out.
type sealChunk struct {
	keys []uint64
	ids  []uint32 // the datasets of keys[i] are the reader's Sets()[ids[i]]
	out  []uint64
}

// sealChunkKeys is the most keys a sealChunk holds.
const sealChunkKeys = 4096

// sealed is a private key on its way to the sink, with its plain key's
// datasets (an index into the plain reader's Sets).
type sealed struct {
	key uint64
	set uint32
}

func seal(ctx context.Context, plain *hashset.Reader, opts SealOptions, newSink func(hashset.Options) (sealSink, error)) (*SealReport, error) {
	start := time.Now()
	m := plain.Meta()
	if m.KeyScheme != keyscheme.Name {
		return nil, fmt.Errorf("%w: %q (seal reads plain indexes, %q)", keyscheme.ErrScheme, m.KeyScheme, keyscheme.Name)
	}
	if opts.Key == nil {
		return nil, errors.New("checker: seal: no key")
	}
	bb := opts.BucketBits
	if bb == 0 {
		bb = DefaultBucketBits
	}
	if bb < 8 || bb > 32 {
		return nil, fmt.Errorf("checker: seal: bucket bits %d not in 8..32", bb)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	padSeed := opts.Key.SecretHash(padSeedLabel)
	info := map[string]string{
		InfoPadSeed:    hex.EncodeToString(padSeed[:]),
		InfoBucketBits: strconv.Itoa(bb),
		InfoKeyID:      opts.Key.ID(),
		InfoPublicKey:  fmt.Sprintf("%x", opts.Key.Public().Bytes()),
		InfoSuite:      oprf.Suite,
		InfoInput:      oprf.InputLabel + " || uint64be(" + keyscheme.Name + ")",
		InfoSets:       "", // set once every key is read, below
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
	b, err := newSink(hashset.Options{KeyScheme: PrivateScheme, Info: info, Created: opts.Created, BloomFPR: -1})
	if err != nil {
		return nil, err
	}
	for _, d := range m.Datasets {
		nd := hashset.Dataset{Name: d.Name, Date: d.Date, Source: d.Source, Stats: map[string]int64{}}
		for k, v := range d.Stats {
			nd.Stats[k] = v
		}
		for cc, v := range d.Groups {
			nd.Stats["country:"+cc] = v
		}
		if _, err := b.AddDataset(nd); err != nil {
			return nil, err
		}
	}

	// The plain keys in index order are sealed on the workers and go to
	// the sink, which only this goroutine touches, in order: a private
	// key's top bb bits are its plain key's, so once a chunk of plain
	// keys reaching bucket x is sealed, every key of the buckets below x
	// is, and those go out sorted. The dataset sets are counted on the
	// way in, by the reader's set id.
	var (
		pending []sealed
		shift   = uint(64 - bb)
		rsets   = plain.Sets()
		counts  = make([]int64, len(rsets))
		order   []uint32 // reader set ids in the order first seen
	)
	release := func(below uint64, all bool) error {
		slices.SortFunc(pending, func(a, b sealed) int { return cmp.Compare(a.key, b.key) })
		i := 0
		for ; i < len(pending) && (all || pending[i].key>>shift < below); i++ {
			if err := b.Add(pending[i].key, rsets[pending[i].set]...); err != nil {
				return err
			}
		}
		pending = append(pending[:0], pending[i:]...)
		return nil
	}
	var (
		n, total  = int64(0), plain.Len()
		last      time.Time
		next      uint64 // the next range to read
		rk, kbuf  []uint64
		rid, ibuf []uint32 // what is left of the range read last
	)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(0, total)
	}
	err = pipeline.Run(ctx, pipeline.Stages[sealChunk]{
		Workers: workers,
		Read: func(c *sealChunk) (bool, error) {
			// A chunk is filled from as many ranges as it takes: the
			// sealer works on several keys at once, and a small index's
			// ranges hold a few keys each (2.4x the CPU a key at 20k
			// keys, profiled, when a chunk was one range).
			c.keys, c.ids = c.keys[:0], c.ids[:0]
			for len(c.keys) < sealChunkKeys {
				for len(rk) == 0 {
					if next == 1<<sealChunkBits {
						if len(c.keys) > 0 {
							return true, nil
						}
						return false, io.EOF
					}
					var err error
					if kbuf, ibuf, err = plain.AppendRangeIDs(kbuf[:0], ibuf[:0], next, sealChunkBits); err != nil {
						return false, err
					}
					rk, rid = kbuf, ibuf
					next++
				}
				cut := min(len(rk), sealChunkKeys-len(c.keys))
				for _, id := range rid[:cut] {
					if counts[id] == 0 {
						order = append(order, id)
					}
					counts[id]++
				}
				c.keys, c.ids = append(c.keys, rk[:cut]...), append(c.ids, rid[:cut]...)
				rk, rid = rk[cut:], rid[cut:]
			}
			return true, nil
		},
		NewWorker: func() func(context.Context, *sealChunk) {
			s := opts.Key.NewSealer()
			return func(_ context.Context, c *sealChunk) {
				c.out = slices.Grow(c.out[:0], len(c.keys))[:len(c.keys)]
				sealInto(s, c.keys, c.out, bb)
			}
		},
		Emit: func(c *sealChunk) error {
			for i, pk := range c.out {
				pending = append(pending, sealed{pk, c.ids[i]})
			}
			if len(c.keys) > 0 {
				if err := release(c.keys[len(c.keys)-1]>>shift, false); err != nil {
					return err
				}
			}
			n += int64(len(c.keys))
			if opts.Progress != nil && time.Since(last) > 100*time.Millisecond {
				opts.Progress(n, total)
				last = time.Now()
			}
			return nil
		},
	})
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = release(0, true)
	}
	if err != nil {
		return nil, err
	}
	if n != total {
		return nil, fmt.Errorf("checker: seal: read %d keys of %d", n, total)
	}
	// The index-wide sets, in the order of the first key of each (sets
	// of the same datasets, should the file hold any twice, as one).
	var sets []Set
	byKey := map[string]int{}
	for _, id := range order {
		k := setKey(rsets[id])
		i, ok := byKey[k]
		if !ok {
			i = len(sets)
			byKey[k] = i
			sets = append(sets, Set{Datasets: slices.Clone(rsets[id])})
		}
		sets[i].Keys += counts[id]
	}
	if len(sets) > math.MaxUint16+1 {
		return nil, fmt.Errorf("checker: seal: %d distinct dataset sets, more than %d", len(sets), math.MaxUint16+1)
	}
	setsJSON, _ := json.Marshal(sets)
	// The sink holds info itself (Builder and SortedWriter read their
	// Options.Info when they write the header, after the keys).
	info[InfoSets] = string(setsJSON)
	if opts.Progress != nil {
		opts.Progress(n, total)
	}
	el := time.Since(start)
	return &SealReport{PlainKeys: total, Sets: len(sets), Elapsed: el, Workers: workers, BucketBits: bb,
		KeyID: opts.Key.ID(), PerSecond: float64(total) / el.Seconds()}, nil
}

// sealInto writes to out the private keys of keys under s's key, b
// bucket bits: the work of one worker on one chunk.
func sealInto(s *oprf.Sealer, keys, out []uint64, b int) {
	s.Outputs(keys, out)
	for i, k := range keys {
		out[i] = wire.PrivateKey(k, out[i], b)
	}
}

// SealKeys computes the private keys of plain keys under k with the
// given number of goroutines (0 means GOMAXPROCS): Seal's inner loop,
// without the index around it, for benchmarks and tests.
func SealKeys(k *oprf.Key, keys []uint64, b, workers int) []uint64 {
	out := make([]uint64, len(keys))
	pipeline.For(context.Background(), len(keys), 64, workers, func() func(lo, hi int) error {
		s := k.NewSealer()
		return func(lo, hi int) error {
			sealInto(s, keys[lo:hi], out[lo:hi], b)
			return nil
		}
	})
	return out
}
