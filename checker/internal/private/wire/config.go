package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangewire"
)

// Routes of the private mode, under a server's or an export's base URL.
const (
	KeyPath   = "/v1/private/key"
	QueryPath = "/v1/private/query"
	// BucketDir holds an export's bucket files: see [BucketPath].
	BucketDir = "/v1/private/bucket"
)

// BucketPath returns the path, under the base URL of a static export, of
// the bucket of prefix (p bits): "/v1/private/bucket/<p>/<HEX>", HEX
// being ceil(p/4) uppercase hex digits of the right-aligned prefix.
func BucketPath(prefix uint64, p int) string {
	return fmt.Sprintf("%s/%d/%0*X", BucketDir, p, (p+3)/4, prefix)
}

// ErrNoPrivateMode is returned by [ParseConfig] when the key endpoint
// answered with something that is not JSON (a static host's page for any
// path): the server does not offer private mode.
var ErrNoPrivateMode = errors.New("checker: the server does not offer private mode")

// Config is the key document (GET /v1/private/key): the server's public
// key and the parameters of its private index. The command and the web
// page read it with the same [ParseConfig].
type Config struct {
	Version     int                 `json:"version"`
	Suite       string              `json:"suite"`
	Mode        string              `json:"mode"`
	PublicKey   string              `json:"public_key"` // hex
	KeyID       string              `json:"key_id"`
	BucketBits  int                 `json:"bucket_bits"`
	MaxElements int                 `json:"max_elements"`
	Input       string              `json:"input"`
	Datasets    []rangewire.Dataset `json:"datasets"`
	Sets        [][]int             `json:"sets"` // dataset indexes of each set id
	// A split deployment (a static export served by a CDN, and an
	// evaluation server holding the key) names where the evaluations go
	// and which buckets are static files.
	//
	// EvaluateURL is the base URL of the server that answers
	// evaluation-only queries (POST EvaluateURL + /v1/private/query with
	// p = 0), absolute or relative to the base URL the document was
	// fetched under; "" means that base URL.
	EvaluateURL string `json:"evaluate_url,omitempty"`
	// StaticBucketBits lists the prefix lengths whose buckets are static
	// files, at BASE/v1/private/bucket/<p>/<HEX>; nil means that buckets
	// are asked for with bucket-only queries.
	StaticBucketBits []int `json:"static_bucket_bits,omitempty"`
	// DecodeHints says that the server takes decode hints after the
	// elements of a query ([Request.Hints]).
	DecodeHints bool `json:"decode_hints,omitempty"`
}

// ParseConfig reads a key document fetched from baseURL (contentType is
// the answer's Content-Type, for the error when it is not JSON) and checks
// it: protocol version and suite, bucket bits, the public key and its id,
// and an evaluate_url, which it resolves against baseURL. Pinning a key is
// the caller's: compare the returned key with the pinned one.
func ParseConfig(data []byte, contentType, baseURL string) (*Config, *oprf.PublicKey, error) {
	var cfg Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
			// Not JSON at all: a static host's page for any path
			// (an HTML fallback), not a broken key document.
			return nil, nil, fmt.Errorf("%w: its key endpoint answered %q, not a key document", ErrNoPrivateMode, contentType)
		}
		return nil, nil, fmt.Errorf("%w: key endpoint: %v", ErrWire, err)
	}
	if cfg.Version != Version || cfg.Suite != oprf.Suite || cfg.Mode != "voprf" {
		return nil, nil, fmt.Errorf("%w: server offers version %d suite %q mode %q", ErrWire, cfg.Version, cfg.Suite, cfg.Mode)
	}
	if cfg.BucketBits < 1 || cfg.BucketBits > 32 || cfg.MaxElements < 1 {
		return nil, nil, fmt.Errorf("%w: bucket bits %d, max elements %d", ErrWire, cfg.BucketBits, cfg.MaxElements)
	}
	raw, err := hex.DecodeString(cfg.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: public key is not hex", ErrWire)
	}
	pub, err := oprf.ParsePublicKey(raw)
	if err != nil {
		return nil, nil, err
	}
	if pub.ID() != cfg.KeyID {
		return nil, nil, fmt.Errorf("%w: key id %s does not match the public key", ErrWire, cfg.KeyID)
	}
	for _, b := range cfg.StaticBucketBits {
		if b < 1 || b > cfg.BucketBits {
			return nil, nil, fmt.Errorf("%w: static buckets of %d bits, the index has %d", ErrWire, b, cfg.BucketBits)
		}
	}
	if cfg.EvaluateURL != "" {
		base, err := url.Parse(strings.TrimRight(baseURL, "/") + "/")
		if err != nil {
			return nil, nil, err
		}
		ev, err := base.Parse(cfg.EvaluateURL)
		if err != nil || ev.Scheme != "http" && ev.Scheme != "https" || ev.Host == "" {
			return nil, nil, fmt.Errorf("%w: evaluate_url is not an http(s) URL", ErrWire)
		}
		if base.Scheme == "https" && ev.Scheme != "https" {
			// The blinded elements reveal nothing, but a downgrade lets
			// anyone on the path answer the evaluations.
			return nil, nil, fmt.Errorf("%w: evaluate_url is plain http under an https base URL", ErrWire)
		}
		if ev.RawQuery != "" || ev.Fragment != "" {
			return nil, nil, fmt.Errorf("%w: evaluate_url has a query or a fragment", ErrWire)
		}
		cfg.EvaluateURL = ev.String()
	}
	return &cfg, pub, nil
}

// Split reports whether the configuration names a split deployment:
// buckets and evaluations from different places, so a lookup takes a
// bucket request and an evaluation-only request.
func (cfg *Config) Split() bool {
	return cfg.EvaluateURL != "" || len(cfg.StaticBucketBits) > 0
}

// Static reports whether buckets of p bits are static files.
func (cfg *Config) Static(p int) bool { return slices.Contains(cfg.StaticBucketBits, p) }

// DatasetsOf returns the datasets of a set [Match] returned, in index
// order, skipping indexes the document does not list.
func (cfg *Config) DatasetsOf(set []int) []rangewire.Dataset {
	var ds []rangewire.Dataset
	for _, d := range set {
		if d >= 0 && d < len(cfg.Datasets) {
			ds = append(ds, cfg.Datasets[d])
		}
	}
	return ds
}

// Offer returns the prefix lengths a one-number lookup may send to the
// server of cfg, and the size of their answers if keys (the index's keys,
// 0 if not known) says it. A static export offers the lengths it holds. A
// live server takes any length up to B, but a client sends only those of
// the ladder below B, B, and [keyscheme.LargerPrefixBits] as the larger
// download, unless keys says the server would refuse a bucket that
// large. padded says whether answers are padded.
func (cfg *Config) Offer(keys int64, padded bool) keyscheme.Offer {
	o := keyscheme.Offer{BucketBits: cfg.BucketBits}
	if keys > 0 {
		sets := len(cfg.Sets)
		o.Size = func(bits int) int64 { return AnswerSize(keys, cfg.BucketBits, bits, sets, padded) }
	}
	if cfg.StaticOnly() {
		o.Bits = cfg.StaticBucketBits
		return o
	}
	o.Bits = []int{}
	if b := keyscheme.LargerPrefixBits; b < cfg.BucketBits && (keys == 0 || !BucketTooLarge(keys, b)) {
		o.Bits = append(o.Bits, b)
	}
	for _, b := range keyscheme.PrefixLengths {
		if b < cfg.BucketBits {
			o.Bits = append(o.Bits, b)
		}
	}
	o.Bits = append(o.Bits, cfg.BucketBits)
	return o
}

// StaticOnly reports whether the server of cfg is a static export, which
// answers no bucket query: only the lengths it holds.
func (cfg *Config) StaticOnly() bool {
	return len(cfg.StaticBucketBits) > 0 && cfg.EvaluateURL != ""
}
