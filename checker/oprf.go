package checker

import "github.com/phonecheck/phonecheck/checker/internal/oprf"

// OPRFSuite is the one OPRF suite of the private mode: RFC 9497 in its
// verifiable mode (VOPRF, mode 0x01) over ristretto255 with SHA-512. On the
// wire it is suite id 1.
const OPRFSuite = oprf.Suite

// OPRFInputLabel prefixes every OPRF input: the input of a number is this
// label followed by the 8 big-endian bytes of its plain [Key]. Hashing the
// plain key rather than the E.164 string lets 'phonecheck seal' turn a
// plain index into a private one without the raw datasets; see the
// package documentation for why that loses nothing.
const OPRFInputLabel = oprf.InputLabel

// Errors of the OPRF layer.
var (
	// ErrBadElement is returned for a blinded or evaluated element that is
	// not the canonical encoding of a ristretto255 element, or is the
	// identity.
	ErrBadElement = oprf.ErrBadElement
	// ErrProof is returned when a server's proof does not verify against
	// the public key: the server did not evaluate under that key.
	ErrProof = oprf.ErrProof
	// ErrKeyFile is returned for a key file that is malformed or does not
	// hold a consistent key.
	ErrKeyFile = oprf.ErrKeyFile
	// ErrKeyPermissions is returned for a key file that group or others
	// can read or write.
	ErrKeyPermissions = oprf.ErrKeyPermissions
)

// OPRFKey is a server's secret OPRF key. It is safe for concurrent use.
type OPRFKey struct{ k *oprf.Key }

// OPRFPublicKey is the published half of an [OPRFKey]: clients verify every
// evaluation against it.
type OPRFPublicKey struct{ p *oprf.PublicKey }

// GenerateOPRFKey returns a new random key.
func GenerateOPRFKey() (*OPRFKey, error) { return wrapKey(oprf.GenerateKey()) }

// DeriveOPRFKey derives a key from a 32-byte seed and an info string with
// RFC 9497's DeriveKeyPair. It exists for test vectors; real keys come from
// [GenerateOPRFKey].
func DeriveOPRFKey(seed, info []byte) (*OPRFKey, error) {
	return wrapKey(oprf.DeriveKey(seed, info))
}

// LoadOPRFKey reads a key file. On Unix it refuses a file that group or
// others may read or write ([ErrKeyPermissions]): the key is what keeps
// a private index from being harvested.
func LoadOPRFKey(path string) (*OPRFKey, error) { return wrapKey(oprf.LoadKey(path)) }

func wrapKey(k *oprf.Key, err error) (*OPRFKey, error) {
	if err != nil {
		return nil, err
	}
	return &OPRFKey{k: k}, nil
}

// Public returns the key's public half.
func (k *OPRFKey) Public() *OPRFPublicKey { return &OPRFPublicKey{p: k.k.Public()} }

// ID returns the key id: the first [oprf.KeyIDSize] bytes of SHA-256 over the
// public key, as 16 hex digits. Index headers and responses carry it.
func (k *OPRFKey) ID() string { return k.k.ID() }

// MarshalKeyFile returns the bytes of a key file for k.
func (k *OPRFKey) MarshalKeyFile(created string) ([]byte, error) { return k.k.MarshalKeyFile(created) }

// WriteKeyFile writes k to a new file at path, readable and writable by
// its owner only. It refuses to overwrite an existing file: replacing a key
// orphans every index sealed under it.
func (k *OPRFKey) WriteKeyFile(path, created string) error { return k.k.WriteKeyFile(path, created) }

// ParseOPRFPublicKey decodes a 32-byte public key. It refuses the identity
// and non-canonical encodings.
func ParseOPRFPublicKey(b []byte) (*OPRFPublicKey, error) {
	p, err := oprf.ParsePublicKey(b)
	if err != nil {
		return nil, err
	}
	return &OPRFPublicKey{p: p}, nil
}

// Bytes returns the 32-byte encoding of the public key.
func (p *OPRFPublicKey) Bytes() []byte { return p.p.Bytes() }

// ID returns the key id, 16 hex digits.
func (p *OPRFPublicKey) ID() string { return p.p.ID() }

// idBytes returns the key id as the 8 bytes responses carry.
func (p *OPRFPublicKey) idBytes() [oprf.KeyIDSize]byte { return p.p.IDBytes() }

// Equal reports whether p and q are the same key.
func (p *OPRFPublicKey) Equal(q *OPRFPublicKey) bool { return q != nil && p.p.Equal(q.p) }
