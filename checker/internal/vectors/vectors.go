// Package vectors generates the wire-format test vectors of the private
// mode and the range API, testdata/vectors/phonecheck-wire-v1.json at the
// root of the module: what an outside implementation (a browser client, a
// server in another language) checks itself against, and what the fuzz
// targets of the parsers start from.
//
// Everything is deterministic: the key is derived from a fixed seed (RFC
// 9497 DeriveKeyPair), blinds and proof randomness are fixed scalars, the
// numbers are fictional (NXX-555-0100..0199) and the decoys of padded
// answers are a function of the key and the prefix. [Generate] gives the
// same bytes on every run; a test holds the committed file to it.
//
// Regenerate with `go generate ./checker/internal/vectors`.
package vectors

//go:generate go run ./gen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
)

// RelPath is where the vectors file lives, relative to the module root.
const RelPath = "testdata/vectors/phonecheck-wire-v1.json"

// Path returns the absolute path of the vectors file in this source tree.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", filepath.FromSlash(RelPath))
}

// Load reads and decodes the committed vectors file.
func Load() (*File, error) {
	data, err := os.ReadFile(Path())
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// Error classes of the negative vectors: what a conforming
// implementation must refuse the input as.
const (
	ErrClassWire          = "wire"             // malformed bytes or document (wire.ErrWire)
	ErrClassTooMany       = "too_many"         // more elements than max_elements (wire.ErrTooMany; HTTP 413)
	ErrClassPrefixTooLong = "prefix_too_long"  // p > bucket_bits (HTTP 400)
	ErrClassBadElement    = "bad_element"      // not a canonical ristretto255 encoding, or the identity (oprf.ErrBadElement)
	ErrClassProof         = "proof"            // the DLEQ proof does not verify (oprf.ErrProof)
	ErrClassKeyMismatch   = "key_mismatch"     // answered under another key id (wire.ErrKeyMismatch)
	ErrClassSetOutOfRange = "set_out_of_range" // a matching entry names a set id the key document lacks
	ErrClassNoPrivateMode = "no_private_mode"  // the key endpoint answered something that is not JSON
	ErrClassMalformed     = "malformed"        // a range answer that does not parse
)

// File is the vectors file.
type File struct {
	About         []string       `json:"about"`
	FormatVersion int            `json:"format_version"`
	Key           Key            `json:"key"`
	Index         Index          `json:"index"`
	Numbers       []Number       `json:"numbers"`
	Queries       []Query        `json:"queries"`
	BadRequests   []BadRequest   `json:"bad_requests"`
	BadResponses  []BadResponse  `json:"bad_responses"`
	KeyDocuments  []KeyDocument  `json:"key_documents"`
	Ranges        []Range        `json:"ranges"`
	BadRanges     []BadRange     `json:"bad_ranges"`
	RangeDatasets []DatasetEntry `json:"range_datasets"`
}

// Key is the test key. It is a test key: its secret is published.
type Key struct {
	Seed      string `json:"seed"` // hex, RFC 9497 DeriveKeyPair seed
	Info      string `json:"info"` // DeriveKeyPair info, as a string
	SecretKey string `json:"secret_key"`
	PublicKey string `json:"public_key"`
	KeyID     string `json:"key_id"`
}

// Index describes the tiny index the answers come from.
type Index struct {
	BucketBits  int      `json:"bucket_bits"`
	MaxElements int      `json:"max_elements"`
	Datasets    []string `json:"datasets"`
	Sets        [][]int  `json:"sets"`    // dataset indexes of each set id, as the key document lists them
	Members     []Member `json:"members"` // the numbers in the index
	KeyDocument string   `json:"key_document"`
	Note        string   `json:"note"`
}

// Member is a number of the index and the datasets holding it.
type Member struct {
	E164     string   `json:"e164"`
	Datasets []string `json:"datasets"`
}

// Number is one number's way from E.164 to its private key.
type Number struct {
	E164       string   `json:"e164"`
	PlainKey   string   `json:"plain_key"` // 8 bytes, SHA-256(E.164)[:8]
	Input      string   `json:"input"`     // OPRF input: "phonecheck-voprf-v1:" || plain key
	Blind      string   `json:"blind"`     // scalar, 32 bytes little-endian
	Blinded    string   `json:"blinded"`   // blinded element
	Output     string   `json:"output"`    // OPRF output, 64 bytes
	PrivateKey string   `json:"private_key"`
	Exposed    bool     `json:"exposed"`
	Datasets   []string `json:"datasets"`
}

// Query is one request and the server's answer.
type Query struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Numbers     []string   `json:"numbers"` // blinded in the request, in order (their blinds in "numbers")
	Bits        int        `json:"p"`
	Prefix      string     `json:"prefix"` // hex, right-aligned, ceil(p/8) bytes
	Padded      bool       `json:"padded"` // asked with Add-Padding: true
	ProofR      string     `json:"proof_r,omitempty"`
	Request     string     `json:"request"`
	BucketPath  string     `json:"bucket_path,omitempty"` // a bucket-only padded answer is this static file
	Response    string     `json:"response"`
	Evaluated   []string   `json:"evaluated"`
	Proof       string     `json:"proof,omitempty"`
	Bucket      *Bucket    `json:"bucket,omitempty"`
	Decisions   []Decision `json:"decisions"`
}

// Bucket is the decoded bucket section of an answer.
type Bucket struct {
	Section string   `json:"section"` // hex, from m to the end of the answer
	M       int      `json:"m"`
	W       int      `json:"w"`
	Entries []string `json:"entries"` // hex, the low 64-p bits of each private key
	Sets    []int    `json:"sets"`
}

// Decision is what a client concludes of one number from an answer.
type Decision struct {
	E164     string   `json:"e164"`
	Exposed  bool     `json:"exposed"`
	Datasets []string `json:"datasets"`
}

// BadRequest is a request a server refuses.
type BadRequest struct {
	Name        string `json:"name"`
	Request     string `json:"request"`
	MaxElements int    `json:"max_elements"`
	Error       string `json:"error"`
}

// BadResponse is an answer a client refuses, to the query named.
type BadResponse struct {
	Name     string `json:"name"`
	Query    string `json:"query"`
	Response string `json:"response"`
	Error    string `json:"error"`
}

// KeyDocument is a key document and the verdict on it.
type KeyDocument struct {
	Name        string `json:"name"`
	BaseURL     string `json:"base_url"`
	ContentType string `json:"content_type"`
	Document    string `json:"document"`
	Valid       bool   `json:"valid"`
	Error       string `json:"error,omitempty"`
	EvaluateURL string `json:"evaluate_url,omitempty"` // resolved against base_url
}

// Range is a range answer and what a client reads in it.
type Range struct {
	Name        string       `json:"name"`
	Prefix      string       `json:"prefix"`
	ContentType string       `json:"content_type"`
	Padded      bool         `json:"padded"`
	Body        string       `json:"body"`
	IndexID     string       `json:"index_id"`
	Entries     []RangeEntry `json:"entries"`
	Decisions   []RangeMatch `json:"decisions"`
}

// RangeEntry is one parsed entry.
type RangeEntry struct {
	Key      string `json:"key"`
	Count    int    `json:"count"`
	Datasets []int  `json:"datasets"` // null in the text form
}

// RangeMatch is what a range answer says of a number.
type RangeMatch struct {
	E164          string   `json:"e164"`
	Key           string   `json:"key"`
	Exposed       bool     `json:"exposed"`
	Count         int      `json:"count"`
	Datasets      []string `json:"datasets"`
	DatasetsKnown bool     `json:"datasets_known"`
}

// BadRange is a range answer a client refuses.
type BadRange struct {
	Name        string `json:"name"`
	Prefix      string `json:"prefix"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`
	Error       string `json:"error"`
}

// DatasetEntry is one dataset of GET /v1/datasets, which the JSON form's
// dataset indexes refer to.
type DatasetEntry struct {
	Name string `json:"name"`
	Date string `json:"date"`
	Keys int64  `json:"keys"`
}
