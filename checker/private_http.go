package checker

// The private endpoints (handler) and their client. The handler is
// independent of the plain range server: mount it on any mux with
// [PrivateHandler.Register].

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/phone"
	"golang.org/x/time/rate"
)

// Routes of the private mode.
const (
	PrivateKeyPath   = "/v1/private/key"
	PrivateQueryPath = "/v1/private/query"
)

// Defaults of [PrivateHandlerOptions].
const (
	DefaultMaxElements = 128 // blinded elements per request
	DefaultPrivateRate = 5.0 // evaluations per second per client
	DefaultMaxClients  = 100_000
)

// PrivateHandlerOptions configure a [PrivateHandler].
type PrivateHandlerOptions struct {
	// MaxElements caps the blinded elements of one request: 0 means
	// DefaultMaxElements; at most 65535.
	MaxElements int
	// Rate is the evaluations per second allowed to one client, as a
	// token bucket of Burst (0 means MaxElements; never below it, or a
	// full request could never pass). 0 means DefaultPrivateRate; a
	// negative Rate means no limit (a server behind a trusted gateway).
	Rate  float64
	Burst int
	// ClientID names the client a request counts against. nil means the
	// connection's address: the IPv4 address, or the /64 of an IPv6
	// address (one subscriber's usual allocation). Behind a proxy, derive
	// it from a header the proxy sets, never from one the client sets.
	ClientID func(*http.Request) string
	// MaxClients bounds the per-client limiters kept in memory: 0 means
	// DefaultMaxClients.
	MaxClients int
	// PadOnlyWhenAsked pads bucket answers only when the request says
	// "Add-Padding: true". By default every answer is padded: the size of
	// an unpadded answer says how many exposed numbers share a prefix, and
	// on a sparse index which prefixes hold any.
	PadOnlyWhenAsked bool
}

// PrivateHandler serves the private mode: GET [PrivateKeyPath] (the public
// key and the parameters a client needs, JSON) and POST [PrivateQueryPath]
// (the binary query of the private wire format). It is safe for concurrent
// use.
type PrivateHandler struct {
	ix   *PrivateIndex
	key  *OPRFKey
	opts PrivateHandlerOptions
	cfg  []byte // the key endpoint's JSON
	mux  *http.ServeMux
	lim  *rateLimits

	evaluated func(n int) // if set, called with the elements of each evaluation (metrics)
}

// rateLimits are the per-client token buckets, shared by the handlers a
// [Server] swaps in, so that a reload forgives no one.
type rateLimits struct {
	mu       sync.Mutex
	limiters map[string]*clientLimiter
}

func newRateLimits() *rateLimits { return &rateLimits{limiters: map[string]*clientLimiter{}} }

type clientLimiter struct {
	lim  *rate.Limiter
	last time.Time
}

// NewPrivateHandler returns a handler answering from ix with key, which
// must be the key ix was sealed under ([ErrKeyMismatch]).
func NewPrivateHandler(ix *PrivateIndex, key *OPRFKey, opts PrivateHandlerOptions) (*PrivateHandler, error) {
	return newPrivateHandler(ix, key, opts, newRateLimits())
}

func newPrivateHandler(ix *PrivateIndex, key *OPRFKey, opts PrivateHandlerOptions, lim *rateLimits) (*PrivateHandler, error) {
	if key == nil || ix == nil {
		return nil, errors.New("checker: private handler needs an index and a key")
	}
	if ix.KeyID() != key.ID() {
		return nil, fmt.Errorf("%w: index key id %s, key id %s", ErrKeyMismatch, ix.KeyID(), key.ID())
	}
	if opts.MaxElements <= 0 {
		opts.MaxElements = DefaultMaxElements
	}
	opts.MaxElements = min(opts.MaxElements, math.MaxUint16)
	if opts.Rate == 0 {
		opts.Rate = DefaultPrivateRate
	}
	opts.Burst = max(opts.Burst, opts.MaxElements)
	if opts.ClientID == nil {
		opts.ClientID = RemoteClientID
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = DefaultMaxClients
	}
	h := &PrivateHandler{ix: ix, key: key, opts: opts, lim: lim}
	var err error
	if h.cfg, err = json.MarshalIndent(privateConfig(ix, key.Public(), opts.MaxElements), "", "  "); err != nil {
		return nil, err
	}
	h.cfg = append(h.cfg, '\n')
	h.mux = http.NewServeMux()
	h.Register(h.mux)
	return h, nil
}

// Register adds the private routes to mux.
func (h *PrivateHandler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+PrivateKeyPath, h.ServeKey)
	mux.HandleFunc("POST "+PrivateQueryPath, h.ServeQuery)
}

// ServeHTTP serves the private routes alone.
func (h *PrivateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// PrivateConfig is the JSON of GET [PrivateKeyPath].
type PrivateConfig struct {
	Version     int       `json:"version"`
	Suite       string    `json:"suite"`
	Mode        string    `json:"mode"`
	PublicKey   string    `json:"public_key"` // hex
	KeyID       string    `json:"key_id"`
	BucketBits  int       `json:"bucket_bits"`
	MaxElements int       `json:"max_elements"`
	Input       string    `json:"input"`
	Datasets    []Dataset `json:"datasets"`
	Sets        [][]int   `json:"sets"` // dataset indexes of each set id
	// A split deployment (a static export, [ExportPrivate], served by a
	// CDN, and an evaluation server holding the key) names where the
	// evaluations go and which buckets are static files.
	//
	// EvaluateURL is the base URL of the server that answers
	// evaluation-only queries (POST EvaluateURL + [PrivateQueryPath] with
	// p = 0), absolute or relative to the base URL the document was
	// fetched under; "" means that base URL.
	EvaluateURL string `json:"evaluate_url,omitempty"`
	// StaticBucketBits lists the prefix lengths whose buckets are static
	// files, at BASE/v1/private/bucket/<p>/<HEX> ([PrivateBucketPath]);
	// nil means that buckets are asked for with bucket-only queries.
	StaticBucketBits []int `json:"static_bucket_bits,omitempty"`
}

// privateConfig is the key document of ix under pub.
func privateConfig(ix *PrivateIndex, pub *OPRFPublicKey, maxElements int) *PrivateConfig {
	cfg := &PrivateConfig{
		Version: wire.Version, Suite: OPRFSuite, Mode: "voprf",
		PublicKey: hex.EncodeToString(pub.Bytes()), KeyID: pub.ID(),
		BucketBits: ix.BucketBits(), MaxElements: maxElements,
		Input: ix.Index().Meta().Info[InfoInput], Datasets: ix.Datasets(),
	}
	for _, s := range ix.Sets() {
		cfg.Sets = append(cfg.Sets, s.Datasets)
	}
	if cfg.Datasets == nil {
		cfg.Datasets = []Dataset{}
	}
	return cfg
}

// ServeKey answers GET [PrivateKeyPath].
func (h *PrivateHandler) ServeKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(h.cfg)
}

// ServeQuery answers POST [PrivateQueryPath].
func (h *PrivateHandler) ServeQuery(w http.ResponseWriter, r *http.Request) {
	limit := wire.MaxRequestSize(h.opts.MaxElements)
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request larger than %d bytes (at most %d elements)", limit, h.opts.MaxElements))
			return
		}
		jsonError(w, http.StatusBadRequest, "reading the request failed")
		return
	}
	req, err := wire.ParseRequest(body, h.opts.MaxElements)
	if errors.Is(err, ErrTooMany) {
		jsonError(w, http.StatusRequestEntityTooLarge, strings.TrimPrefix(err.Error(), "checker: "))
		return
	}
	if err != nil {
		jsonError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "checker: "))
		return
	}
	if req.Bits > h.ix.BucketBits() {
		jsonError(w, http.StatusBadRequest, fmt.Sprintf("prefix of %d bits: this index takes at most %d", req.Bits, h.ix.BucketBits()))
		return
	}
	n := req.Count()
	// A bucket costs tokens too, one per bucketCost entries it is expected
	// to hold: otherwise short prefixes would be free bulk downloads.
	cost := n
	if req.Bits > 0 {
		cost += int(uint64(h.ix.Index().Len()) >> uint(req.Bits) / bucketCost)
		cost = min(cost, max(h.opts.Burst, n)) // never more than a client can ever hold
	}
	if cost > 0 && h.opts.Rate > 0 {
		if wait, ok := h.allow(h.opts.ClientID(r), cost); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			jsonError(w, http.StatusTooManyRequests, fmt.Sprintf("rate limited: %g evaluations per second per client", h.opts.Rate))
			return
		}
	}
	resp := &wire.Response{Bits: req.Bits, KeyID: h.key.k.Public().IDBytes()}
	if n > 0 {
		resp.Evaluated, resp.Proof, err = h.key.k.Evaluate(req.Elements, nil, true)
		if errors.Is(err, ErrBadElement) {
			jsonError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "checker: ")+": not a canonical ristretto255 encoding, or the identity")
			return
		}
		if err != nil {
			jsonError(w, http.StatusInternalServerError, "evaluation failed")
			return
		}
		if h.evaluated != nil {
			h.evaluated(n)
		}
	}
	// The answer is built in a pooled buffer: w.Write copies it (into
	// the front's body buffer, or net/http's), and a ~5 KiB garbage
	// buffer a query was most of what the server allocated.
	bp := answerBufs.Get().(*[]byte)
	var out []byte
	if req.Bits > 0 {
		pad := !h.opts.PadOnlyWhenAsked || strings.EqualFold(r.Header.Get("Add-Padding"), "true")
		resp.Padded = pad
		head := slices.Grow((*bp)[:0], wire.ResponseHeaderSize+len(resp.Evaluated)+len(resp.Proof)+h.ix.p.BucketSizeHint(req.Bits, pad))
		out, err = h.ix.p.AppendBucket(wire.AppendResponseHead(head, resp), req.Prefix, req.Bits, pad)
		if errors.Is(err, private.ErrPrefix) {
			jsonError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err != nil {
			jsonError(w, http.StatusInternalServerError, "reading the index failed")
			return
		}
	} else {
		out = wire.AppendResponse(slices.Grow((*bp)[:0], wire.ResponseHeaderSize+len(resp.Evaluated)+len(resp.Proof)+5), resp)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.Write(out)
	if cap(out) <= maxPooledAnswer {
		*bp = out[:0]
		answerBufs.Put(bp)
	}
}

// answerBufs holds the buffers private answers are built in; those over
// maxPooledAnswer (short-prefix buckets) are left to the collector.
var answerBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledAnswer = 64 << 10

// bucketCost is how many bucket entries cost one rate-limit token: a
// 20-bit bucket of the 487M-number dump (~460 entries) is free, a 12-bit
// one (~119k entries, ~700 KB) costs 29 evaluations' worth.
const bucketCost = 4096

// allow takes n evaluations from the client's bucket, or says how long to
// wait before n are available.
func (h *PrivateHandler) allow(id string, n int) (time.Duration, bool) {
	now := time.Now()
	l := h.lim
	l.mu.Lock()
	cl := l.limiters[id]
	if cl == nil {
		if len(l.limiters) >= h.opts.MaxClients {
			h.sweep(now)
		}
		cl = &clientLimiter{lim: rate.NewLimiter(rate.Limit(h.opts.Rate), h.opts.Burst)}
		l.limiters[id] = cl
	}
	cl.last = now
	res := cl.lim.ReserveN(now, n)
	l.mu.Unlock()
	if !res.OK() {
		return time.Hour, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return max(d, time.Second), false
	}
	return 0, true
}

// sweep forgets clients whose bucket has refilled (forgetting them changes
// nothing), then, if still full, arbitrary ones. h.lim.mu is held.
func (h *PrivateHandler) sweep(now time.Time) {
	full := time.Duration(float64(h.opts.Burst) / h.opts.Rate * float64(time.Second))
	m := h.lim.limiters
	for id, cl := range m {
		if now.Sub(cl.last) > full {
			delete(m, id)
		}
	}
	for id := range m {
		if len(m) < h.opts.MaxClients*9/10 {
			break
		}
		delete(m, id)
	}
}

// RemoteClientID is the default [PrivateHandlerOptions].ClientID: the
// IPv4 address of the connection, or the /64 network of an IPv6 one.
func RemoteClientID(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// # Client

// ModePrivate names the private (OPRF) mode in results.
const ModePrivate = "private"

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
	// PrefixBits is how many bits of the hash are sent: 0 means the
	// index's bucket bits; fewer bits mean a larger anonymity set and a
	// larger answer.
	PrefixBits int
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
	// keeps: 0 means DefaultBucketCacheBytes.
	CacheBytes int64

	mu  sync.Mutex
	cfg *PrivateConfig
	pub *OPRFPublicKey

	// gate holds every request back until a Retry-After has passed, so
	// that concurrent requests wait out a 429 together.
	gateMu sync.Mutex
	gate   time.Time
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
}

// ServerError is an error answer of a private endpoint.
type ServerError struct {
	Status     int
	Message    string
	RetryAfter time.Duration // for 429
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("checker: server answered %d: %s", e.Status, e.Message)
}

func (c *PrivateClient) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Config fetches (once) and returns the server's private-mode
// parameters, checking the key against the pinned one if any.
func (c *PrivateClient) Config(ctx context.Context) (*PrivateConfig, *OPRFPublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg != nil {
		return c.cfg, c.pub, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+PrivateKeyPath, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, serverError(resp, data)
	}
	var cfg PrivateConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		if t := bytes.TrimSpace(data); len(t) == 0 || t[0] != '{' {
			// Not JSON at all: a static host's page for any path
			// (an HTML fallback), not a broken key document.
			return nil, nil, fmt.Errorf("%w: its key endpoint answered %q, not a key document", ErrNoPrivateMode, resp.Header.Get("Content-Type"))
		}
		return nil, nil, fmt.Errorf("%w: key endpoint: %v", ErrWire, err)
	}
	if cfg.Version != wire.Version || cfg.Suite != OPRFSuite || cfg.Mode != "voprf" {
		return nil, nil, fmt.Errorf("%w: server offers version %d suite %q mode %q", ErrWire, cfg.Version, cfg.Suite, cfg.Mode)
	}
	if cfg.BucketBits < 1 || cfg.BucketBits > 32 || cfg.MaxElements < 1 {
		return nil, nil, fmt.Errorf("%w: bucket bits %d, max elements %d", ErrWire, cfg.BucketBits, cfg.MaxElements)
	}
	raw, err := hex.DecodeString(cfg.PublicKey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: public key is not hex", ErrWire)
	}
	pub, err := ParseOPRFPublicKey(raw)
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
		base, err := url.Parse(strings.TrimRight(c.BaseURL, "/") + "/")
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
	if c.PublicKey != nil && !c.PublicKey.Equal(pub) {
		return nil, nil, fmt.Errorf("%w: the server publishes key %s, pinned key is %s", ErrKeyMismatch, pub.ID(), c.PublicKey.ID())
	}
	if c.KeyID != "" && !strings.EqualFold(c.KeyID, pub.ID()) {
		return nil, nil, fmt.Errorf("%w: the server publishes key %s, pinned key id is %s", ErrKeyMismatch, pub.ID(), strings.ToLower(c.KeyID))
	}
	c.cfg, c.pub = &cfg, pub
	return c.cfg, c.pub, nil
}

func serverError(resp *http.Response, body []byte) error {
	e := &ServerError{Status: resp.StatusCode}
	var j struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil && j.Error != "" {
		e.Message = j.Error
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// evalURL returns the URL evaluation-only queries go to.
func (c *PrivateClient) evalURL(cfg *PrivateConfig) string {
	if cfg.EvaluateURL != "" {
		return strings.TrimRight(cfg.EvaluateURL, "/") + PrivateQueryPath
	}
	return strings.TrimRight(c.BaseURL, "/") + PrivateQueryPath
}

// split reports whether the configuration names a split deployment:
// buckets and evaluations from different places, so a lookup takes a
// bucket request and an evaluation-only request.
func (cfg *PrivateConfig) split() bool {
	return cfg.EvaluateURL != "" || len(cfg.StaticBucketBits) > 0
}

// static reports whether buckets of p bits are static files.
func (cfg *PrivateConfig) static(p int) bool { return slices.Contains(cfg.StaticBucketBits, p) }

// PrivateBucketPath returns the path, under the base URL of a static
// export, of the bucket of prefix (p bits): "/v1/private/bucket/<p>/<HEX>",
// HEX being ceil(p/4) uppercase hex digits of the right-aligned prefix.
func PrivateBucketPath(prefix uint64, p int) string {
	return fmt.Sprintf("%s/%d/%0*X", privateBucketDir, p, (p+3)/4, prefix)
}

const privateBucketDir = "/v1/private/bucket"

// rateLimited is called, if not nil, each time a request waits out a 429.
type rateLimited func(wait time.Duration, message string)

// waitGate waits until no Retry-After holds requests back.
func (c *PrivateClient) waitGate(ctx context.Context) error {
	c.gateMu.Lock()
	d := time.Until(c.gate)
	c.gateMu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// holdGate holds every request back for d.
func (c *PrivateClient) holdGate(d time.Duration) {
	c.gateMu.Lock()
	if t := time.Now().Add(d); t.After(c.gate) {
		c.gate = t
	}
	c.gateMu.Unlock()
}

func (c *PrivateClient) maxWait() time.Duration {
	if c.MaxWait == 0 {
		return 10 * time.Second
	}
	return c.MaxWait
}

func (c *PrivateClient) maxRetries() int {
	if c.MaxRetries <= 0 {
		return 5
	}
	return c.MaxRetries
}

// query posts one request to the server's query route and returns the
// decoded response, waiting out a Retry-After of up to MaxWait up to
// MaxRetries times.
func (c *PrivateClient) query(ctx context.Context, r *wire.Request) (*wire.Response, int, error) {
	return c.queryAt(ctx, strings.TrimRight(c.BaseURL, "/")+PrivateQueryPath, r, nil)
}

// queryAt is query at the given URL; onLimit, if set, is told of each
// 429 waited out.
func (c *PrivateClient) queryAt(ctx context.Context, u string, r *wire.Request, onLimit rateLimited) (*wire.Response, int, error) {
	body := wire.AppendRequest(nil, r)
	maxWait, retries := c.maxWait(), c.maxRetries()
	transient := 0
	for attempt := 0; ; attempt++ {
		if err := c.waitGate(ctx); err != nil {
			return nil, 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		if !c.NoPadding {
			req.Header.Set("Add-Padding", "true")
		}
		resp, data, err := c.do(req)
		if c.retryTransient(ctx, &transient, resp, err) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if resp.StatusCode == http.StatusOK {
			pr, err := wire.ParseResponse(data)
			return pr, len(body) + len(data), err
		}
		err = serverError(resp, data)
		var se *ServerError
		if errors.As(err, &se) && se.Status == http.StatusTooManyRequests && attempt < retries && se.RetryAfter <= maxWait && maxWait > 0 {
			wait := se.RetryAfter
			if wait <= 0 {
				wait = time.Second // no Retry-After: do not hammer
			}
			c.holdGate(wait)
			if onLimit != nil {
				onLimit(wait, se.Message)
			}
			continue
		}
		return nil, 0, err
	}
}

// do sends req and reads the whole answer (at most 64 MiB).
func (c *PrivateClient) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	resp.Body.Close()
	return resp, data, err
}

// retryTransient reports whether a request should be sent again after a
// network error or a 502, 503 or 504 answer, having waited out its
// backoff; *n counts the retries of the request so far.
func (c *PrivateClient) retryTransient(ctx context.Context, n *int, resp *http.Response, err error) bool {
	switch {
	case ctx.Err() != nil:
		return false
	case err != nil:
	case resp.StatusCode == http.StatusBadGateway, resp.StatusCode == http.StatusServiceUnavailable, resp.StatusCode == http.StatusGatewayTimeout:
		if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "" {
			return false // a server saying when: let the caller decide, as for 429
		}
	default:
		return false
	}
	limit := c.TransientRetries
	if limit == 0 {
		limit = 2
	}
	if *n >= limit {
		return false
	}
	first := c.firstBackoff
	if first == 0 {
		first = 500 * time.Millisecond
	}
	wait := min(first<<*n, 30*time.Second)
	*n++
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// getBucket fetches the static bucket file of prefix (p bits) from a
// split deployment: the bytes of a bucket-only response. A 429 from the
// file server is waited out as the query's are.
func (c *PrivateClient) getBucket(ctx context.Context, prefix uint64, p int) (*wire.Response, int, error) {
	var (
		data      []byte
		transient int
	)
	for attempt := 0; ; attempt++ {
		if err := c.waitGate(ctx); err != nil {
			return nil, 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+PrivateBucketPath(prefix, p), nil)
		if err != nil {
			return nil, 0, err
		}
		var resp *http.Response
		resp, data, err = c.do(req)
		if c.retryTransient(ctx, &transient, resp, err) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		if resp.StatusCode == http.StatusOK {
			break
		}
		err = serverError(resp, data)
		var se *ServerError
		if errors.As(err, &se) && se.Status == http.StatusTooManyRequests && attempt < c.maxRetries() && se.RetryAfter <= c.maxWait() && c.maxWait() > 0 {
			c.holdGate(max(se.RetryAfter, time.Second))
			continue
		}
		return nil, 0, err
	}
	pr, err := wire.ParseResponse(data)
	if err != nil {
		return nil, 0, fmt.Errorf("bucket file of %d bits: %w", p, err)
	}
	if len(pr.Evaluated) != 0 {
		return nil, 0, fmt.Errorf("%w: a bucket file with evaluations", ErrWire)
	}
	return pr, len(data), nil
}

// fetchBucket returns the bucket of prefix (p bits): a static file in a
// split deployment that exports buckets of p bits, else a bucket-only
// query (no element) to the server. Either way the prefix is all it
// reveals.
func (c *PrivateClient) fetchBucket(ctx context.Context, cfg *PrivateConfig, pub *OPRFPublicKey, prefix uint64, p int, onLimit rateLimited) (*wire.Bucket, int, error) {
	var (
		resp *wire.Response
		n    int
		err  error
	)
	if cfg.static(p) {
		resp, n, err = c.getBucket(ctx, prefix, p)
	} else {
		resp, n, err = c.queryAt(ctx, strings.TrimRight(c.BaseURL, "/")+PrivateQueryPath, &wire.Request{Bits: p, Prefix: prefix}, onLimit)
	}
	if err != nil {
		return nil, 0, err
	}
	if err := wire.CheckResponse(resp, pub.p, p, 0); err != nil {
		return nil, 0, err
	}
	return resp.Bucket, n, nil
}

// evaluateKeys has the OPRF of each key evaluated blindly in one
// evaluation-only request (no prefix), verifies the proof and returns the
// first 8 bytes of each output, in order.
func (c *PrivateClient) evaluateKeys(ctx context.Context, cfg *PrivateConfig, pub *OPRFPublicKey, keys []uint64, onLimit rateLimited) ([]uint64, int, error) {
	q, err := wire.NewQuery(pub.p, 0, 0, keys)
	if err != nil {
		return nil, 0, err
	}
	resp, n, err := c.queryAt(ctx, c.evalURL(cfg), &q.Request, onLimit)
	if err != nil {
		return nil, 0, err
	}
	outs, err := q.Outputs(resp)
	if err != nil {
		return nil, 0, err
	}
	return outs, n, nil
}

// Check normalizes raw (see [Normalize]) and looks it up.
func (c *PrivateClient) Check(ctx context.Context, raw, defaultRegion string) (PrivateResult, error) {
	n, err := phone.Normalize(raw, defaultRegion)
	if err != nil {
		return PrivateResult{}, err
	}
	return c.Lookup(ctx, n)
}

func (c *PrivateClient) prefixBits(cfg *PrivateConfig) (int, error) {
	p := c.PrefixBits
	if len(cfg.StaticBucketBits) > 0 && cfg.EvaluateURL != "" {
		// A static export answers no bucket query: only its lengths.
		if p == 0 {
			p = slices.Max(cfg.StaticBucketBits)
		}
		if !cfg.static(p) {
			return 0, fmt.Errorf("checker: prefix of %d bits: the export holds buckets of %v bits", p, cfg.StaticBucketBits)
		}
		return p, nil
	}
	if p == 0 {
		p = cfg.BucketBits
	}
	if p < 1 || p > cfg.BucketBits {
		return 0, fmt.Errorf("checker: prefix of %d bits: the server takes 1..%d", p, cfg.BucketBits)
	}
	return p, nil
}

// Lookup checks a normalized number in one round trip: the bucket prefix
// and one blinded element go out; the evaluation, its proof and the bucket
// come back.
func (c *PrivateClient) Lookup(ctx context.Context, n phone.Number) (PrivateResult, error) {
	cfg, pub, err := c.Config(ctx)
	if err != nil {
		return PrivateResult{}, err
	}
	p, err := c.prefixBits(cfg)
	if err != nil {
		return PrivateResult{}, err
	}
	key := keyscheme.Key(n.E164)
	prefix := key >> (64 - p)
	if cfg.split() {
		// Two requests: the bucket (from the export, or the server), and
		// an evaluation-only request, which tells the evaluator nothing
		// but a blinded element, not even the prefix.
		bk, _, err := c.fetchBucket(ctx, cfg, pub, prefix, p, nil)
		if err != nil {
			return PrivateResult{}, err
		}
		outs, _, err := c.evaluateKeys(ctx, cfg, pub, []uint64{key}, nil)
		if err != nil {
			return PrivateResult{}, err
		}
		return c.match(cfg, pub, n, key, outs[0], bk)
	}
	q, err := wire.NewQuery(pub.p, p, prefix, []uint64{key})
	if err != nil {
		return PrivateResult{}, err
	}
	resp, _, err := c.query(ctx, &q.Request)
	if err != nil {
		return PrivateResult{}, err
	}
	outs, err := q.Outputs(resp)
	if err != nil {
		return PrivateResult{}, err
	}
	return c.match(cfg, pub, n, key, outs[0], resp.Bucket)
}

// match compares the number's private key with a bucket answer.
func (c *PrivateClient) match(cfg *PrivateConfig, pub *OPRFPublicKey, n phone.Number, key, out uint64, bk *wire.Bucket) (PrivateResult, error) {
	p := bk.Bits
	r := PrivateResult{Result: Result{Number: n}, Mode: ModePrivate, Prefix: key >> (64 - p), PrefixBits: p,
		KeyID: pub.ID(), Entries: len(bk.Entries), Padded: bk.Padded}
	exposed, set, err := wire.Match(bk, key, out, cfg.BucketBits, cfg.Sets)
	r.Exposed = exposed
	if err != nil {
		return r, err
	}
	for _, d := range set {
		if d >= 0 && d < len(cfg.Datasets) {
			r.Datasets = append(r.Datasets, cfg.Datasets[d])
		}
	}
	return r, nil
}

// LookupBatch checks many numbers, as an operator checks its subscribers:
// their blinded elements go in batches of BatchSize (evaluation-only
// requests, no prefix), and the bucket of each distinct prefix is fetched
// once (bucket-only requests, no element). The server learns the set of
// prefixes and the number of elements, nothing else. Results are in the
// order of ns.
func (c *PrivateClient) LookupBatch(ctx context.Context, ns []phone.Number) ([]PrivateResult, error) {
	cfg, pub, err := c.Config(ctx)
	if err != nil {
		return nil, err
	}
	p, err := c.prefixBits(cfg)
	if err != nil {
		return nil, err
	}
	bs := c.BatchSize
	if bs <= 0 || bs > cfg.MaxElements {
		bs = cfg.MaxElements
	}
	keys := make([]uint64, len(ns))
	distinct := map[uint64]int{} // key -> index in uniq
	var uniq []uint64
	buckets := map[uint64]*wire.Bucket{}
	for i, n := range ns {
		keys[i] = keyscheme.Key(n.E164)
		if _, ok := distinct[keys[i]]; !ok {
			distinct[keys[i]] = len(uniq)
			uniq = append(uniq, keys[i])
		}
		buckets[keys[i]>>(64-p)] = nil
	}
	outs := make([]uint64, len(uniq))

	type job func(context.Context) error
	var jobs []job
	for lo := 0; lo < len(uniq); lo += bs {
		chunk := uniq[lo:min(lo+bs, len(uniq))]
		jobs = append(jobs, func(ctx context.Context) error {
			o, _, err := c.evaluateKeys(ctx, cfg, pub, chunk, nil)
			if err != nil {
				return err
			}
			copy(outs[lo:], o)
			return nil
		})
	}
	var bmu sync.Mutex
	for prefix := range buckets {
		jobs = append(jobs, func(ctx context.Context) error {
			bk, _, err := c.fetchBucket(ctx, cfg, pub, prefix, p, nil)
			if err != nil {
				return err
			}
			bmu.Lock()
			buckets[prefix] = bk
			bmu.Unlock()
			return nil
		})
	}
	if err := runJobs(ctx, jobs, c.Workers); err != nil {
		return nil, err
	}
	res := make([]PrivateResult, len(ns))
	for i, n := range ns {
		res[i], err = c.match(cfg, pub, n, keys[i], outs[distinct[keys[i]]], buckets[keys[i]>>(64-p)])
		if err != nil {
			return nil, err
		}
	}
	return res, nil
}

// runJobs runs jobs on workers goroutines (0 means 4) and returns the
// first error, cancelling the rest.
func runJobs[J ~func(context.Context) error](ctx context.Context, jobs []J, workers int) error {
	if workers <= 0 {
		workers = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan J)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if err := j(ctx); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(ch)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
