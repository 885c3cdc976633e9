package checker

// The private endpoints (handler) and their client: handle types over
// the privateapi package, which holds the transport, over private/wire,
// which holds the protocol.

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// Routes of the private mode.
const (
	PrivateKeyPath   = privateapi.KeyPath
	PrivateQueryPath = privateapi.QueryPath
)

// Defaults of [PrivateHandlerOptions].
const (
	DefaultMaxElements = privateapi.DefaultMaxElements // blinded elements per request
	DefaultPrivateRate = privateapi.DefaultRate        // evaluations per second per client
)

// The headers trusted proxies may name the client in
// ([PrivateHandlerOptions].ProxyHeader).
const (
	HeaderXForwardedFor = privateapi.HeaderXForwardedFor
	HeaderForwarded     = privateapi.HeaderForwarded // RFC 7239, its for= parameter
)

// PrivateHandlerOptions configure a [PrivateHandler]: MaxElements caps
// the blinded elements of one request (0 means [DefaultMaxElements]);
// Rate and Burst are the token bucket of evaluations allowed to one
// client (Rate 0 means [DefaultPrivateRate], negative no limit); ClientID
// names the client a request counts against (nil: the connection's IPv4
// address or IPv6 /64); TrustedProxies are the ranges of the proxies in
// front, whose X-Forwarded-For (or ProxyHeader: "Forwarded") names the
// client, read from the right, skipping trusted addresses; MaxClients bounds the limiters kept; and
// PadOnlyWhenAsked pads bucket answers only on "Add-Padding: true".
type PrivateHandlerOptions = privateapi.Options

// PrivateHandler serves the private mode: GET [PrivateKeyPath] (the public
// key and the parameters a client needs, JSON) and POST [PrivateQueryPath]
// (the binary query of the private wire format). It is independent of
// the plain range server: mount it on any mux with
// [PrivateHandler.Register]. It is safe for concurrent use.
type PrivateHandler struct {
	h *privateapi.Handler
}

// NewPrivateHandler returns a handler answering from ix with key, which
// must be the key ix was sealed under ([ErrKeyMismatch]).
func NewPrivateHandler(ix *PrivateIndex, key *OPRFKey, opts PrivateHandlerOptions) (*PrivateHandler, error) {
	var p *private.Index
	if ix != nil {
		p = ix.p
	}
	h, err := privateapi.NewHandler(p, oprfKey(key), opts, privateapi.NewLimits(), nil)
	if err != nil {
		return nil, err
	}
	return &PrivateHandler{h: h}, nil
}

// Register adds the private routes to mux.
func (h *PrivateHandler) Register(mux *http.ServeMux) { h.h.Register(mux) }

// ServeHTTP serves the private routes alone.
func (h *PrivateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// ServeKey answers GET [PrivateKeyPath].
func (h *PrivateHandler) ServeKey(w http.ResponseWriter, r *http.Request) { h.h.ServeKey(w, r) }

// ServeQuery answers POST [PrivateQueryPath].
func (h *PrivateHandler) ServeQuery(w http.ResponseWriter, r *http.Request) { h.h.ServeQuery(w, r) }

// PrivateConfig is the JSON of GET [PrivateKeyPath]: the version, suite
// and mode, the public key and its id, the bucket bits B, the elements a
// request may carry, the datasets and the dataset sets that bucket
// entries name by id; and, for a split deployment ([ExportPrivate]),
// where evaluations go and which bucket lengths are static files.
type PrivateConfig = privateapi.Config

// ModePrivate names the private (OPRF) mode in results.
const ModePrivate = privateapi.ModePrivate

// PrivateClient checks numbers against a private endpoint: the number is
// normalized and hashed on the device, only the top bits of its hash (the
// bucket prefix) and a blinded element leave it, and the answer is
// compared on the device. It is safe for concurrent use once configured.
type PrivateClient struct {
	BaseURL string       // e.g. "https://example.org"; the routes are appended
	HTTP    *http.Client // nil means http.DefaultClient
	// PublicKey pins the server's key: answers are verified against it
	// and a server presenting another key is refused. nil means the key
	// the server publishes at PrivateKeyPath, fetched once; a pinned key
	// obtained out of band is what guarantees that every user is
	// evaluated under the same key.
	PublicKey *OPRFPublicKey
	// KeyID pins the server's key by its id (16 hex digits, as keygen and
	// the key endpoint print it), for a client given the id rather than
	// the key. It is a 64-bit pin: PublicKey is the stronger one.
	KeyID string
	// PrefixBits is how many bits of the hash are sent; fewer bits mean
	// a larger anonymity set and a larger answer. 0 means, for Lookup and
	// Check, the length MinAnonymity chooses ([ChoosePrefix]: of the
	// ladder below the bucket bits B, B, and [LargerPrefixBits] as the
	// larger download), and for a batch B. Lookup sends only a length of
	// that offer ([ErrPrefixNotOffered]).
	PrefixBits int
	// MinAnonymity is K for Lookup: 0 means [DefaultMinAnonymity].
	MinAnonymity float64
	// Strict makes Lookup send nothing when the prefix leaves the number
	// among fewer than MinAnonymity valid numbers of its country (the
	// error wraps [ErrAnonymity]); by default the number is checked with
	// the shortest length offered, and [PrivateResult].Choice says so.
	Strict     bool
	NoPadding  bool          // do not ask for padding (the server may pad anyway)
	BatchSize  int           // elements per request in LookupBatch: 0 means the server's maximum
	Workers    int           // concurrent requests in LookupBatch and OpenBatch: 0 means 4
	MaxWait    time.Duration // longest Retry-After honoured on 429: 0 means 10 s, negative none
	MaxRetries int           // 429 answers waited out per request: 0 means 5
	// TransientRetries is how many times a request is retried, with
	// backoff from half a second to 30 s, after a network error or a 502,
	// 503 or 504 answer: 0 means 2, negative none. Retrying reveals nothing
	// new: a request is the same blinded elements or the same prefix.
	TransientRetries int
	firstBackoff     time.Duration // tests: the first backoff, 0 means 500 ms
	// CacheBytes bounds the buckets a batch ([PrivateClient.OpenBatch])
	// keeps: 0 means 512 MiB.
	CacheBytes int64

	once sync.Once
	c    *privateapi.Client // the configuration fetched, the Retry-After gate
}

// client returns the internal client, with the fields of c as they are
// now: like the fields themselves, they are read on every call, and
// written only when the caller changed one.
func (c *PrivateClient) client() *privateapi.Client {
	c.once.Do(func() { c.c = new(privateapi.Client) })
	var pub *oprf.PublicKey
	if c.PublicKey != nil {
		pub = c.PublicKey.p
	}
	s := privateapi.Settings{BaseURL: c.BaseURL, HTTP: c.HTTP, PublicKey: pub, KeyID: c.KeyID,
		PrefixBits: c.PrefixBits, MinAnonymity: c.MinAnonymity, Strict: c.Strict, NoPadding: c.NoPadding, BatchSize: c.BatchSize, Workers: c.Workers,
		MaxWait: c.MaxWait, MaxRetries: c.MaxRetries, TransientRetries: c.TransientRetries,
		FirstBackoff: c.firstBackoff, CacheBytes: c.CacheBytes}
	if c.c.Settings != s {
		c.c.Settings = s
	}
	return c.c
}

// PrivateResult is the answer for one number in private mode, with what
// left the device.
type PrivateResult struct {
	Result
	Mode       string // ModePrivate
	Prefix     uint64 // the top PrefixBits bits of the number's key, as sent
	PrefixBits int
	KeyID      string // the key the answer was verified against
	Entries    int    // entries of the bucket answer, decoys included
	Padded     bool
	// Choice is how Lookup chose PrefixBits: its anonymity, whether that
	// falls short of MinAnonymity, and the larger download on offer with
	// its size. Zero in a batch, which sends the bucket bits.
	Choice PrefixChoice
}

func privateResultOf(r privateapi.Result) PrivateResult {
	out := PrivateResult{Result: Result{Number: r.Number, Exposed: r.Exposed}, Mode: r.Mode, Prefix: r.Prefix,
		PrefixBits: r.PrefixBits, KeyID: r.KeyID, Entries: r.Entries, Padded: r.Padded, Choice: r.Choice}
	for _, d := range r.Datasets {
		out.Datasets = append(out.Datasets, Dataset(d))
	}
	return out
}

// ServerError is an error answer of a private endpoint: its HTTP Status,
// the server's Message, and for a 429 the RetryAfter it asked for.
type ServerError = privateapi.ServerError

// Config fetches (once) and returns the server's private-mode
// parameters, checking the key against the pinned one if any.
func (c *PrivateClient) Config(ctx context.Context) (*PrivateConfig, *OPRFPublicKey, error) {
	cfg, pub, err := c.client().Config(ctx)
	if err != nil {
		return nil, nil, err
	}
	return cfg, &OPRFPublicKey{p: pub}, nil
}

// Check normalizes raw (see [Normalize]) and looks it up.
func (c *PrivateClient) Check(ctx context.Context, raw, defaultRegion string) (PrivateResult, error) {
	n, err := phone.Normalize(raw, defaultRegion)
	if err != nil {
		return PrivateResult{}, err
	}
	return c.Lookup(ctx, n)
}

// Lookup checks a normalized number in one round trip: the bucket prefix
// and one blinded element go out; the evaluation, its proof and the bucket
// come back. The prefix length is PrefixBits, or the one MinAnonymity
// chooses; the result's Choice says what it gives.
func (c *PrivateClient) Lookup(ctx context.Context, n phone.Number) (PrivateResult, error) {
	r, err := c.client().Lookup(ctx, n)
	return privateResultOf(r), err
}

// LookupBatch checks many numbers, as an operator checks its subscribers:
// their blinded elements go in batches of BatchSize (evaluation-only
// requests, no prefix), and the bucket of each distinct prefix is fetched
// once (bucket-only requests, no element). The server learns the set of
// prefixes and the number of elements, nothing else. Results are in the
// order of ns.
func (c *PrivateClient) LookupBatch(ctx context.Context, ns []phone.Number) ([]PrivateResult, error) {
	rs, err := c.client().LookupBatch(ctx, ns)
	if err != nil {
		return nil, err
	}
	out := make([]PrivateResult, len(rs))
	for i, r := range rs {
		out[i] = privateResultOf(r)
	}
	return out, nil
}
