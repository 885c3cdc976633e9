// Package private implements the private (OPRF) index: opening one,
// answering a bucket padded with deterministic decoys, and sealing a plain
// index into one.
//
// The wire format and the device's side of a query are in the wire
// sub-package, which a browser links without this one: the index reads
// its file through hashset, which the client side has no use for. No
// circl type appears here: the group operations and sealing's F_k are in
// the OPRF package (a seal path proven equal to circl's).
package private

import (
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/hashset"
)

// PrivateScheme is the key scheme of a private index: key =
// bucket<<(64-B) | tag, where bucket is the top B bits of the plain key
// and tag the top 64-B bits of F_k([oprf.InputLabel] || 8 big-endian bytes
// of the plain key), F_k being the RFC 9497 VOPRF of [oprf.Suite] under
// the server's key ([wire.PrivateKey]).
const PrivateScheme = "phonecheck-voprf-r255-v1"

// DefaultBucketBits is B, the bucket width of a private index, when
// [SealOptions].BucketBits is 0: the 20 bits Have I Been Pwned uses.
const DefaultBucketBits = 20

// Header (Meta.Info) keys of a private index.
const (
	InfoBucketBits = "phonecheck.private.bucket_bits" // B, decimal
	InfoKeyID      = "phonecheck.private.key_id"      // 16 hex digits
	InfoPublicKey  = "phonecheck.private.public_key"  // 64 hex digits
	InfoSuite      = "phonecheck.private.suite"       // oprf.Suite
	InfoInput      = "phonecheck.private.input"       // how an OPRF input is made
	InfoSets       = "phonecheck.private.sets"        // JSON of []Set
	InfoPlainKeys  = "phonecheck.private.plain_keys"  // keys of the plain index sealed
	// InfoPadSeed seeds the decoys of padded buckets (64 hex digits):
	// SHA-256 of padSeedLabel and the secret key, so that re-sealing under
	// the same key gives the same decoys and the seed says nothing of the
	// key. Whoever knows it can tell decoys from real entries, which only
	// whoever holds the index can anyway; nothing serves it.
	InfoPadSeed = "phonecheck.private.pad_seed"
)

// InfoDemo marks an index built from the embedded demo dataset; a
// sealed demo index keeps the mark (the same header key as a plain
// index's).
const InfoDemo = "phonecheck.demo"

// padSeedLabel and padKeyLabel separate the hashes that make the padding
// key.
const (
	padSeedLabel = "phonecheck private padding seed v1\x00"
	padKeyLabel  = "phonecheck private padding v1\x00"
)

// Errors of the private index.
var (
	// ErrKeyMismatch is returned when a private index was sealed under
	// another key than the one given.
	ErrKeyMismatch = wire.ErrKeyMismatch
	// ErrNotPrivate is returned for an index that is not a private index.
	ErrNotPrivate = errors.New("checker: not a private index")
)

// Set is one set of datasets that holds some keys: provenance in a
// private index is a set id per key, an index into the index-wide list of
// sets that the key endpoint publishes. Keys counts the plain keys of the
// set; decoys draw their set ids with these weights, so that a decoy's set
// id says nothing about it being a decoy.
type Set struct {
	Datasets []int `json:"datasets"`
	Keys     int64 `json:"keys"`
}

// Index is an open private index. It is safe for concurrent use by
// multiple goroutines.
type Index struct {
	idx   *hashset.Reader
	owned bool
	bits  int
	keyID string
	sets  []Set
	cum   []int64 // cumulative Keys of sets, for decoy set ids
	// cumTotal is cum's last value and cumRecip 2^64/cumTotal, rounded
	// down, when cum increases from 1 (a sane header): decoySet then
	// takes its remainder by a multiplication.
	cumTotal, cumRecip uint64
	// setOf maps a set of the file (an index into idx.Sets()) to the
	// header's set id with the same datasets, or -1 if none has them.
	setOf []int32
	// padKey seeds the decoys of each bucket (see lookupBucket);
	// padFixed says it comes from the index (InfoPadSeed), not from a
	// random draw at open (an index sealed before the seed existed).
	padKey   [32]byte
	padFixed bool
	// bucketScratch recycles the scratch of bucket lookups (*bucketScratch).
	bucketScratch sync.Pool
}

// New returns an Index over an open private index. If key is
// not nil, the index must have been sealed under it ([ErrKeyMismatch]).
// Closing the Index does not close idx.
func New(idx *hashset.Reader, key *oprf.Key) (*Index, error) {
	m := idx.Meta()
	if m.KeyScheme != PrivateScheme {
		return nil, fmt.Errorf("%w: key scheme %q (want %q)", ErrNotPrivate, m.KeyScheme, PrivateScheme)
	}
	b, err := strconv.Atoi(m.Info[InfoBucketBits])
	if err != nil || b < 1 || b > 32 {
		return nil, fmt.Errorf("%w: bucket bits %q", ErrNotPrivate, m.Info[InfoBucketBits])
	}
	if m.Info[InfoSuite] != oprf.Suite {
		return nil, fmt.Errorf("%w: suite %q (want %q)", ErrNotPrivate, m.Info[InfoSuite], oprf.Suite)
	}
	p := &Index{idx: idx, bits: b, keyID: m.Info[InfoKeyID]}
	if key != nil && key.ID() != p.keyID {
		return nil, fmt.Errorf("%w: index key id %s, key file id %s", ErrKeyMismatch, p.keyID, key.ID())
	}
	if err := json.Unmarshal([]byte(m.Info[InfoSets]), &p.sets); err != nil || len(p.sets) > math.MaxUint16+1 {
		return nil, fmt.Errorf("%w: bad dataset sets in header", ErrNotPrivate)
	}
	var c int64
	byKey := map[string]uint16{}
	for i, s := range p.sets {
		for _, d := range s.Datasets {
			if d < 0 || d >= len(m.Datasets) {
				return nil, fmt.Errorf("%w: dataset set %d names dataset %d of %d", ErrNotPrivate, i, d, len(m.Datasets))
			}
		}
		byKey[setKey(s.Datasets)] = uint16(i)
		c += max(s.Keys, 1)
		p.cum = append(p.cum, c)
	}
	p.initCum()
	// A key's set id, by the datasets of its set in the file: a set of
	// the file that the header lacks makes its keys' buckets corrupt.
	for _, ds := range idx.Sets() {
		id, ok := byKey[setKey(ds)]
		if !ok || len(ds) == 0 {
			p.setOf = append(p.setOf, -1)
			continue
		}
		p.setOf = append(p.setOf, int32(id))
	}
	if hs, ok := m.Info[InfoPadSeed]; ok {
		seed, err := hex.DecodeString(hs)
		if err != nil || len(seed) != sha256.Size {
			return nil, fmt.Errorf("%w: malformed padding seed in header", hashset.ErrCorrupt)
		}
		p.padKey = sha256.Sum256(append([]byte(padKeyLabel), seed...))
		p.padFixed = true
	} else if _, err := crand.Read(p.padKey[:]); err != nil {
		return nil, err
	}
	return p, nil
}

// DeterministicPadding reports whether the decoys of a padded bucket are a
// function of the index and the prefix (an index sealed with a padding
// seed), so that every server and every export of the index pads a bucket
// with the same decoys. For an older index they are drawn at random once
// per open: seal it again.
func (p *Index) DeterministicPadding() bool { return p.padFixed }

// Open opens the private index at path. A server passes its key:
// an index sealed under another key is refused ([ErrKeyMismatch]).
func Open(path string, key *oprf.Key) (*Index, error) {
	idx, err := hashset.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p, err := New(idx, key)
	if err != nil {
		idx.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.owned = true
	return p, nil
}

// Close releases the index if Open opened it.
func (p *Index) Close() error {
	if p.owned {
		return p.idx.Close()
	}
	return nil
}

// Reader returns the underlying index.
func (p *Index) Reader() *hashset.Reader { return p.idx }

// BucketBits returns B.
func (p *Index) BucketBits() int { return p.bits }

// KeyID returns the id of the key the index was sealed under.
func (p *Index) KeyID() string { return p.keyID }

// Sets returns the index-wide list of dataset sets; set ids in responses
// index it.
func (p *Index) Sets() []Set { return p.sets }

func setKey(ds []int) string {
	b := make([]byte, 0, 2*len(ds))
	for _, d := range ds {
		b = binary.BigEndian.AppendUint16(b, uint16(d))
	}
	return string(b)
}

// setIDBytes is the width of a set id on the wire ([wire.SetIDBytes]).
func (p *Index) setIDBytes() int { return wire.SetIDBytes(len(p.sets)) }

// PadTier returns the number of entries a padded answer for a prefix of
// the given bits holds when the real bucket holds m ([wire.PadTier]).
func (p *Index) PadTier(m, bits int) int { return wire.PadTier(p.idx.Len(), m, bits) }
