package checker

// The private (OPRF) index and sealing: handle types over the private
// package, which holds the index, its padding and the sealing, and its
// wire sub-package, which holds the wire format and the device's side of
// a query.

import (
	"context"
	"io"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/hashset"
)

// PrivateScheme is the key scheme of a private index: key =
// bucket<<(64-B) | tag, where bucket is the top B bits of the plain [Key]
// and tag the top 64-B bits of F_k([OPRFInputLabel] || 8 big-endian bytes
// of the plain key), F_k being the RFC 9497 VOPRF of [OPRFSuite] under the
// server's key.
const PrivateScheme = private.PrivateScheme

// DefaultBucketBits is B, the bucket width of a private index, when
// [SealOptions].BucketBits is 0: the 20 bits Have I Been Pwned uses.
const DefaultBucketBits = private.DefaultBucketBits

// Header (Meta.Info) keys of a private index.
const (
	InfoBucketBits = private.InfoBucketBits // B, decimal
	InfoKeyID      = private.InfoKeyID      // 16 hex digits
	InfoPublicKey  = private.InfoPublicKey  // 64 hex digits
	InfoSuite      = private.InfoSuite      // OPRFSuite
	InfoInput      = private.InfoInput      // how an OPRF input is made
	InfoSets       = private.InfoSets       // JSON of []PrivateSet
	InfoPlainKeys  = private.InfoPlainKeys  // keys of the plain index sealed
	// InfoPadSeed seeds the decoys of padded buckets (64 hex digits):
	// SHA-256 of a label and the secret key, so that re-sealing under the
	// same key gives the same decoys and the seed says nothing of the
	// key. Whoever knows it can tell decoys from real entries, which only
	// whoever holds the index can anyway; nothing serves it.
	InfoPadSeed = private.InfoPadSeed
)

// Errors of the private index.
var (
	// ErrKeyMismatch is returned when a private index was sealed under
	// another key than the one given.
	ErrKeyMismatch = private.ErrKeyMismatch
	// ErrNotPrivate is returned for an index that is not a private index.
	ErrNotPrivate = private.ErrNotPrivate
)

// Wire errors.
var (
	// ErrWire is wrapped by every error in decoding a request or response.
	ErrWire = wire.ErrWire
	// ErrTooMany is returned for a request with more elements than allowed.
	ErrTooMany = wire.ErrTooMany
	// ErrNoPrivateMode is returned by PrivateClient.Config when the key
	// endpoint answers with something that is not JSON (a static host's
	// page for any path): the server does not offer private mode.
	ErrNoPrivateMode = privateapi.ErrNoPrivateMode
)

// PrivateSet is one set of datasets that holds some keys: provenance in a
// private index is a set id per key, an index into the index-wide list of
// sets that the key endpoint publishes. Keys counts the plain keys of the
// set; decoys draw their set ids with these weights, so that a decoy's set
// id says nothing about it being a decoy.
type PrivateSet = private.Set

// PrivateIndex is an open private index. It is safe for concurrent use by
// multiple goroutines.
type PrivateIndex struct {
	p        *private.Index
	datasets []Dataset
}

func wrapPrivate(p *private.Index, err error) (*PrivateIndex, error) {
	if err != nil {
		return nil, err
	}
	ix := &PrivateIndex{p: p}
	for _, d := range p.Reader().Meta().Datasets {
		ix.datasets = append(ix.datasets, Dataset{Name: d.Name, Date: d.Date, Source: d.Source})
	}
	return ix, nil
}

// oprfKey returns k's internal key, nil for nil.
func oprfKey(k *OPRFKey) *oprf.Key {
	if k == nil {
		return nil
	}
	return k.k
}

// NewPrivate returns a PrivateIndex over an open private index. If key is
// not nil, the index must have been sealed under it ([ErrKeyMismatch]).
// Closing the PrivateIndex does not close idx.
func NewPrivate(idx *hashset.Reader, key *OPRFKey) (*PrivateIndex, error) {
	return wrapPrivate(private.New(idx, oprfKey(key)))
}

// OpenPrivate opens the private index at path. A server passes its key:
// an index sealed under another key is refused ([ErrKeyMismatch]).
func OpenPrivate(path string, key *OPRFKey) (*PrivateIndex, error) {
	return wrapPrivate(private.Open(path, oprfKey(key)))
}

// DeterministicPadding reports whether the decoys of a padded bucket are a
// function of the index and the prefix (an index sealed with a padding
// seed), so that every server and every export of the index pads a bucket
// with the same decoys. For an older index they are drawn at random once
// per open: seal it again.
func (p *PrivateIndex) DeterministicPadding() bool { return p.p.DeterministicPadding() }

// Close releases the index if OpenPrivate opened it.
func (p *PrivateIndex) Close() error { return p.p.Close() }

// Index returns the underlying index.
func (p *PrivateIndex) Index() *hashset.Reader { return p.p.Reader() }

// BucketBits returns B.
func (p *PrivateIndex) BucketBits() int { return p.p.BucketBits() }

// KeyID returns the id of the key the index was sealed under.
func (p *PrivateIndex) KeyID() string { return p.p.KeyID() }

// Datasets lists the datasets of the index, in index order.
func (p *PrivateIndex) Datasets() []Dataset { return p.datasets }

// Sets returns the index-wide list of dataset sets; set ids in responses
// index it.
func (p *PrivateIndex) Sets() []PrivateSet { return p.p.Sets() }

// PadTier returns the number of entries a padded answer for a prefix of
// the given bits holds when the real bucket holds m: the smallest tier
// above m, where the first tier is the expected bucket size plus six
// standard deviations (so nearly every bucket pads to the same size), and
// tiers double from there.
func (p *PrivateIndex) PadTier(m, bits int) int { return p.p.PadTier(m, bits) }

// SealOptions configure [Seal].
type SealOptions struct {
	Key        *OPRFKey
	BucketBits int // B: 0 means DefaultBucketBits; 8..32
	Workers    int // goroutines computing F_k: 0 means one per core
	Created    string
	// Progress, if set, is called now and then with the plain keys done
	// and the total, from one goroutine.
	Progress func(done, total int64)
}

func (o SealOptions) internal() private.SealOptions {
	return private.SealOptions{Key: oprfKey(o.Key), BucketBits: o.BucketBits, Workers: o.Workers, Created: o.Created, Progress: o.Progress}
}

// SealReport says what [Seal] did.
type SealReport = private.SealReport

// Seal reads every key of a plain index (built under [HashScheme]),
// computes its private key under opts.Key with opts.Workers goroutines,
// and writes the private index to w. Provenance carries over: each key
// keeps the datasets that hold it. Datasets' per-country counts are kept
// in their Stats as "country:CC".
//
// The private index needs the plain one, never the raw datasets; it is as
// sensitive as the plain index to whoever also holds the key, and reveals
// only bucket sizes to anyone else.
func Seal(ctx context.Context, plain *hashset.Reader, w io.Writer, opts SealOptions) (*SealReport, error) {
	return private.Seal(ctx, plain, w, opts.internal())
}

// SealFile is [Seal] writing the index to path atomically, owner-only (see
// hashset.Builder.WriteFile).
func SealFile(ctx context.Context, plain *hashset.Reader, path string, opts SealOptions) (*SealReport, error) {
	return private.SealFile(ctx, plain, path, opts.internal())
}
