package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/hashset"
)

var cmdSeal = &Command{
	Name:      "seal",
	UsageLine: "seal --key KEY --in PLAIN --out PRIVATE [--bits 20] [--workers N]",
	Short:     "turn a plain index into a private (OPRF) index",
	Long: `
Seal reads a plain index (from 'phonecheck build') and writes a private
index for the private mode: each key becomes bucket || tag, where bucket is
the top --bits bits of the plain hash (what a client sends) and tag the top
64-bits bits of the OPRF of the number under KEY (what a client can only
compute with one online, rate-limited evaluation). Provenance carries
over, so clients still learn which datasets hold their number.

Seal needs the plain index and the key, never the raw datasets. It is CPU
bound (one hash-to-curve and one scalar multiplication per number) and uses
every core (--workers), showing a progress bar with the time left on a
terminal, or a line with the time left every 30 seconds otherwise. The
private index records the key id: a server refuses it with another key.
Rotating the key means sealing again; a new leak does not: seal it alone
and merge the two private indexes ('phonecheck merge').

--bits sets the bucket width. Fewer bits give clients a larger anonymity
set and larger answers. The report warns when the index is so sparse that
which buckets are empty says which prefixes hold exposed numbers: serve
such an index padded (the default).
`,
}

var sealFlags struct {
	key, in, out  string
	bits, workers int
	quiet         bool
}

func init() {
	cmdSeal.SetFlags = func(fs *flag.FlagSet) {
		f := &sealFlags
		fs.StringVar(&f.key, "key", "", "secret key file from 'phonecheck keygen' (required)")
		fs.StringVar(&f.in, "in", "", "plain index to seal (required)")
		fs.StringVar(&f.out, "out", "", "private index to write (required)")
		fs.IntVar(&f.bits, "bits", checker.DefaultBucketBits, "bucket bits B, 8..32")
		fs.IntVar(&f.workers, "workers", 0, "goroutines computing the OPRF (default: one per core)")
		fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	}
	cmdSeal.Run = runSeal
}

func runSeal(ctx context.Context, cmd *Command, args []string) error {
	f := &sealFlags
	switch {
	case f.key == "" || f.in == "" || f.out == "":
		return usagef("--key, --in and --out are required")
	case len(args) != 0:
		return usagef("seal takes no arguments")
	case f.bits < 8 || f.bits > 32:
		return usagef("--bits %d not in 8..32", f.bits)
	case f.in == f.out:
		return usagef("--out must differ from --in")
	}
	key, err := checker.LoadOPRFKey(f.key)
	if err != nil {
		if errors.Is(err, checker.ErrKeyPermissions) {
			return withHint(err, "chmod 600 %s", f.key)
		}
		if errors.Is(err, os.ErrNotExist) {
			return withHint(err, "generate a key first: phonecheck keygen --out %s", f.key)
		}
		return err
	}
	plain, err := hashset.Open(f.in)
	if err != nil {
		return withHint(fmt.Errorf("%s: %w", f.in, err), "run 'phonecheck verify %s' for details", f.in)
	}
	defer plain.Close()
	bar := newProgress(f.quiet, "sealing")
	eta := &etaLines{quiet: f.quiet || bar.bar != nil, every: 30 * time.Second, start: time.Now()}
	rep, err := checker.SealFile(ctx, plain, f.out, checker.SealOptions{
		Key: key, BucketBits: f.bits, Workers: f.workers,
		Created: time.Now().UTC().Format("2006-01-02"),
		Progress: func(done, total int64) {
			bar.set(done, total)
			eta.set(done, total)
		},
	})
	bar.finish()
	if err != nil {
		if errors.Is(err, checker.ErrScheme) {
			return withHint(fmt.Errorf("%s: %w", f.in, err), "seal takes a plain index from 'phonecheck build'")
		}
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d keys sealed under key %s, %s (%.2f bytes/key) in %s (%.0f keys/s on %d workers)\n",
		f.out, rep.Keys, rep.KeyID, humanBytes(rep.Bytes), float64(rep.Bytes)/float64(max(rep.Keys, 1)),
		rep.Elapsed.Round(time.Millisecond), rep.PerSecond, rep.Workers)
	fmt.Fprintf(stdout, "bucket bits %d: %.2f keys per bucket on average; %d dataset sets; %d tag collisions merged\n",
		rep.BucketBits, rep.MeanBucket, rep.Sets, rep.Collisions)
	if rep.MeanBucket < 1 {
		warningf("%.3f keys per bucket: an unpadded answer would show which prefixes hold exposed numbers; serve padded (the default) or seal with fewer --bits", rep.MeanBucket)
	}
	return nil
}

// etaLines reports a long job's progress where no progress bar is drawn
// (stderr a file or a pipe: a job run from a script): a line every so
// often with the share done, the rate and the time left at that rate.
// The rate counts from the first report, not from start: a job may spend
// a while before it reports (seal counts its dataset sets first, about
// 100 s at 487M keys), and a rate that counted that time would promise
// thousands of hours.
type etaLines struct {
	quiet bool
	every time.Duration
	start time.Time
	last  time.Time
	t0    time.Time // the first report, and what was done then
	d0    int64
}

func (e *etaLines) set(done, total int64) { e.line(time.Now(), done, total) }

func (e *etaLines) line(now time.Time, done, total int64) {
	if e.t0.IsZero() {
		e.t0, e.d0 = now, done
	}
	if e.quiet || total <= 0 || done >= total || now.Sub(e.last) < e.every || now.Sub(e.start) < e.every || now.Sub(e.t0) <= 0 {
		return
	}
	e.last = now
	rate := float64(done-e.d0) / now.Sub(e.t0).Seconds()
	left := time.Duration(float64(total-done) / max(rate, 1) * float64(time.Second))
	fmt.Fprintf(stderr, "phonecheck: sealing: %.1f%% (%d of %d keys) in %s, %.0f keys/s, about %s left\n",
		100*float64(done)/float64(total), done, total, now.Sub(e.start).Round(time.Second), rate, left.Round(time.Second))
}
