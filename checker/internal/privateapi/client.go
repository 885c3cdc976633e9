package privateapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/phone"
)

// ErrNoPrivateMode is returned by [Client.Config] when the key endpoint
// answers with something that is not JSON (a static host's page for any
// path): the server does not offer private mode.
var ErrNoPrivateMode = wire.ErrNoPrivateMode

// ModePrivate names the private (OPRF) mode in results.
const ModePrivate = "private"

// Settings are what a [Client] is told: where the server is, the key it
// pins, and how it sends. Each call reads them anew, but the pins: the
// key is checked against them once, when the configuration is fetched.
type Settings struct {
	BaseURL string       // e.g. "https://example.org"; the routes are appended
	HTTP    *http.Client // nil means http.DefaultClient
	// PublicKey pins the server's key: answers are verified against it
	// and a server presenting another key is refused. nil means the key
	// the server publishes at KeyPath, fetched once; a pinned key
	// obtained out of band is what guarantees that every user is
	// evaluated under the same key.
	PublicKey *oprf.PublicKey
	// KeyID pins the server's key by its id (16 hex digits, as keygen and
	// the key endpoint print it), for a client given the id rather than
	// the key. It is a 64-bit pin: PublicKey is the stronger one.
	KeyID string
	// PrefixBits is how many bits of the hash are sent; fewer bits mean
	// a larger anonymity set and a larger answer. 0 means, for
	// [Client.Lookup], the length MinAnonymity chooses ([Offer],
	// keyscheme.Choose), and for a batch the index's bucket bits. Lookup
	// sends only a length of the offer (keyscheme.ErrNotOffered).
	PrefixBits int
	// MinAnonymity is K for Lookup: 0 means keyscheme.DefaultMinAnonymity.
	MinAnonymity float64
	// Strict makes Lookup send nothing when the prefix leaves the number
	// among fewer than MinAnonymity valid numbers of its country (the
	// error wraps keyscheme.ErrAnonymity); by default the number is
	// checked with the shortest length offered, and Result.Choice says so.
	Strict     bool
	NoPadding  bool          // do not ask for padding (the server may pad anyway)
	BatchSize  int           // elements per request in LookupBatch: 0 means the server's maximum
	Workers    int           // concurrent requests in LookupBatch and a batch: 0 means 4
	MaxWait    time.Duration // longest Retry-After honoured on 429: 0 means 10 s, negative none
	MaxRetries int           // 429 answers waited out per request: 0 means 5
	// TransientRetries is how many times a request is retried, with
	// backoff from half a second to 30 s, after a network error or a 502,
	// 503 or 504 answer: 0 means 2, negative none. Retrying reveals nothing
	// new: a request is the same blinded elements or the same prefix.
	TransientRetries int
	// FirstBackoff is the first of those backoffs: 0 means 500 ms.
	FirstBackoff time.Duration
	// CacheBytes bounds the buckets a batch ([Client.NewBatcher])
	// keeps: 0 means DefaultBucketCacheBytes.
	CacheBytes int64
}

// Client checks numbers against a private endpoint: the number is
// normalized and hashed on the device, only the top bits of its hash (the
// bucket prefix) and a blinded element leave it, and the answer is
// compared on the device. It is safe for concurrent use once configured.
type Client struct {
	Settings

	mu       sync.Mutex
	cfg      *Config
	pub      *oprf.PublicKey
	keys     int64 // the index's keys, from /v1/datasets, once keysRead
	keysRead bool

	// gate holds every request back until a Retry-After has passed, so
	// that concurrent requests wait out a 429 together.
	gateMu sync.Mutex
	gate   time.Time
}

// Result is the answer for one number in private mode, with what
// left the device.
type Result struct {
	Number     phone.Number
	Exposed    bool
	Datasets   []rangeapi.Dataset // the datasets holding the number, in index order; nil if not exposed
	Mode       string             // ModePrivate
	Prefix     uint64             // the top PrefixBits bits of the number's key, as sent
	PrefixBits int
	KeyID      string // the key the answer was verified against
	Entries    int    // entries of the bucket answer, decoys included
	Padded     bool
	// Choice is how a Lookup chose PrefixBits: its anonymity, whether
	// that falls short of MinAnonymity, and the larger download on offer.
	// Zero in a batch, which sends the bucket bits.
	Choice keyscheme.Choice
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

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Config fetches (once) and returns the server's private-mode
// parameters, checking the key against the pinned one if any.
func (c *Client) Config(ctx context.Context) (*Config, *oprf.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg != nil {
		return c.cfg, c.pub, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+KeyPath, nil)
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
	cfg, pub, err := wire.ParseConfig(data, resp.Header.Get("Content-Type"), c.BaseURL)
	if err != nil {
		return nil, nil, err
	}
	if c.PublicKey != nil && !c.PublicKey.Equal(pub) {
		return nil, nil, fmt.Errorf("%w: the server publishes key %s, pinned key is %s", private.ErrKeyMismatch, pub.ID(), c.PublicKey.ID())
	}
	if c.KeyID != "" && !strings.EqualFold(c.KeyID, pub.ID()) {
		return nil, nil, fmt.Errorf("%w: the server publishes key %s, pinned key id is %s", private.ErrKeyMismatch, pub.ID(), strings.ToLower(c.KeyID))
	}
	c.cfg, c.pub = cfg, pub
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
func (c *Client) evalURL(cfg *Config) string {
	if cfg.EvaluateURL != "" {
		return strings.TrimRight(cfg.EvaluateURL, "/") + QueryPath
	}
	return strings.TrimRight(c.BaseURL, "/") + QueryPath
}

// rateLimited is called, if not nil, each time a request waits out a 429.
type rateLimited func(wait time.Duration, message string)

// waitGate waits until no Retry-After holds requests back.
func (c *Client) waitGate(ctx context.Context) error {
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
func (c *Client) holdGate(d time.Duration) {
	c.gateMu.Lock()
	if t := time.Now().Add(d); t.After(c.gate) {
		c.gate = t
	}
	c.gateMu.Unlock()
}

func (c *Client) maxWait() time.Duration {
	if c.MaxWait == 0 {
		return 10 * time.Second
	}
	return c.MaxWait
}

func (c *Client) maxRetries() int {
	if c.MaxRetries <= 0 {
		return 5
	}
	return c.MaxRetries
}

// query posts one request to the server's query route and returns the
// decoded response, waiting out a Retry-After of up to MaxWait up to
// MaxRetries times.
func (c *Client) query(ctx context.Context, r *wire.Request) (*wire.Response, int, error) {
	return c.queryAt(ctx, strings.TrimRight(c.BaseURL, "/")+QueryPath, r, nil)
}

// queryAt is query at the given URL; onLimit, if set, is told of each
// 429 waited out.
func (c *Client) queryAt(ctx context.Context, u string, r *wire.Request, onLimit rateLimited) (*wire.Response, int, error) {
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
func (c *Client) do(req *http.Request) (*http.Response, []byte, error) {
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
func (c *Client) retryTransient(ctx context.Context, n *int, resp *http.Response, err error) bool {
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
	first := c.FirstBackoff
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
func (c *Client) getBucket(ctx context.Context, prefix uint64, p int) (*wire.Response, int, error) {
	var (
		data      []byte
		transient int
	)
	for attempt := 0; ; attempt++ {
		if err := c.waitGate(ctx); err != nil {
			return nil, 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.BaseURL, "/")+BucketPath(prefix, p), nil)
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
		return nil, 0, fmt.Errorf("%w: a bucket file with evaluations", wire.ErrWire)
	}
	return pr, len(data), nil
}

// fetchBucket returns the bucket of prefix (p bits): a static file in a
// split deployment that exports buckets of p bits, else a bucket-only
// query (no element) to the server. Either way the prefix is all it
// reveals.
func (c *Client) fetchBucket(ctx context.Context, cfg *Config, pub *oprf.PublicKey, prefix uint64, p int, onLimit rateLimited) (*wire.Bucket, int, error) {
	var (
		resp *wire.Response
		n    int
		err  error
	)
	if cfg.Static(p) {
		resp, n, err = c.getBucket(ctx, prefix, p)
	} else {
		resp, n, err = c.queryAt(ctx, strings.TrimRight(c.BaseURL, "/")+QueryPath, &wire.Request{Bits: p, Prefix: prefix}, onLimit)
	}
	if err != nil {
		return nil, 0, err
	}
	if err := wire.CheckResponse(resp, pub, p, 0); err != nil {
		return nil, 0, err
	}
	return resp.Bucket, n, nil
}

// evaluateKeys has the OPRF of each key evaluated blindly in one
// evaluation-only request (no prefix), verifies the proof and returns the
// first 8 bytes of each output, in order.
func (c *Client) evaluateKeys(ctx context.Context, cfg *Config, pub *oprf.PublicKey, keys []uint64, onLimit rateLimited) ([]uint64, int, error) {
	q, err := wire.NewQuery(pub, 0, 0, keys)
	if err != nil {
		return nil, 0, err
	}
	if cfg.DecodeHints {
		q.AddDecodeHints()
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
