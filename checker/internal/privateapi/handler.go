// Package privateapi is the HTTP transport of the private (OPRF) mode:
// the handler that answers the key document and blinded queries, with
// per-client rate limits; the client that fetches the key, buckets and
// evaluations, one number at a time or in batches; and the static export
// of a private index's buckets for a CDN.
//
// The protocol itself (wire format, blinding, proof check, matching) is
// sans-IO in the private/wire package; this package moves its bytes.
package privateapi

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
)

// Routes of the private mode.
const (
	KeyPath   = wire.KeyPath
	QueryPath = wire.QueryPath
)

// Defaults of [Options].
const (
	DefaultMaxElements = 128 // blinded elements per request
	DefaultRate        = 5.0 // evaluations per second per client
	DefaultMaxClients  = 100_000
)

// Options configure a [Handler].
type Options struct {
	// MaxElements caps the blinded elements of one request: 0 means
	// DefaultMaxElements; at most 65535.
	MaxElements int
	// Rate is the evaluations per second allowed to one client, as a
	// token bucket of Burst (0 means MaxElements; never below it, or a
	// full request could never pass). 0 means DefaultRate; a
	// negative Rate means no limit (a server behind a trusted gateway).
	Rate  float64
	Burst int
	// ClientID names the client a request counts against. nil means the
	// connection's address: the IPv4 address, or the /64 of an IPv6
	// address (one subscriber's usual allocation); or, with
	// TrustedProxies, [ProxyClientID]. Behind a proxy, derive it from a
	// header the proxy sets, never from one the client sets.
	ClientID func(*http.Request) string
	// TrustedProxies are the ranges of the proxies in front of the
	// server (a single address is a /32 or /128): a request whose
	// connection comes from one counts against the client its
	// ProxyHeader names, read from the right ([ProxyClientID]). Ignored
	// if ClientID is set.
	TrustedProxies []netip.Prefix
	// ProxyHeader is the header the trusted proxies name the client in:
	// "" or "X-Forwarded-For", or "Forwarded" (RFC 7239). Only that one
	// is read.
	ProxyHeader string
	// MaxClients bounds the per-client limiters kept in memory: 0 means
	// DefaultMaxClients.
	MaxClients int
	// PadOnlyWhenAsked pads bucket answers only when the request says
	// "Add-Padding: true". By default every answer is padded: the size of
	// an unpadded answer says how many exposed numbers share a prefix, and
	// on a sparse index which prefixes hold any.
	PadOnlyWhenAsked bool
}

// Handler serves the private mode: GET [KeyPath] (the public key and the
// parameters a client needs, JSON) and POST [QueryPath] (the binary query
// of the private wire format). It is safe for concurrent use.
type Handler struct {
	ix   *private.Index
	key  *oprf.Key
	opts Options
	cfg  []byte // the key endpoint's JSON
	mux  *http.ServeMux
	lim  Limiter

	evaluated func(n int) // if set, called with the elements of each evaluation (metrics)
}

// NewHandler returns a handler answering from ix with key, which must be
// the key ix was sealed under (private.ErrKeyMismatch). lim holds the
// per-client rate limits: a server that swaps handlers passes the same
// Limiter to each, so that a reload forgives no one. evaluated, if not
// nil, is called with the elements of each evaluation (metrics). lim is
// usually [Limits]; nil means new in-memory Limits.
func NewHandler(ix *private.Index, key *oprf.Key, opts Options, lim Limiter, evaluated func(n int)) (*Handler, error) {
	if key == nil || ix == nil {
		return nil, errors.New("checker: private handler needs an index and a key")
	}
	if ix.KeyID() != key.ID() {
		return nil, fmt.Errorf("%w: index key id %s, key id %s", private.ErrKeyMismatch, ix.KeyID(), key.ID())
	}
	if opts.MaxElements <= 0 {
		opts.MaxElements = DefaultMaxElements
	}
	opts.MaxElements = min(opts.MaxElements, math.MaxUint16)
	if opts.Rate == 0 {
		opts.Rate = DefaultRate
	}
	opts.Burst = max(opts.Burst, opts.MaxElements)
	if opts.ClientID == nil && len(opts.TrustedProxies) > 0 {
		id, err := ProxyClientID(opts.TrustedProxies, opts.ProxyHeader)
		if err != nil {
			return nil, err
		}
		opts.ClientID = id
	}
	if opts.ClientID == nil {
		opts.ClientID = RemoteClientID
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = DefaultMaxClients
	}
	if lim == nil {
		lim = NewLimits()
	}
	h := &Handler{ix: ix, key: key, opts: opts, lim: lim, evaluated: evaluated}
	var err error
	cfg := NewConfig(ix, key.Public(), opts.MaxElements)
	cfg.DecodeHints = true // ServeQuery takes them (a static export's document does not say so)
	if h.cfg, err = json.MarshalIndent(cfg, "", "  "); err != nil {
		return nil, err
	}
	h.cfg = append(h.cfg, '\n')
	h.mux = http.NewServeMux()
	h.Register(h.mux)
	return h, nil
}

// Register adds the private routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+KeyPath, h.ServeKey)
	mux.HandleFunc("POST "+QueryPath, h.ServeQuery)
}

// ServeHTTP serves the private routes alone.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Config is the JSON of GET [KeyPath]: see [wire.Config].
type Config = wire.Config

// NewConfig returns the key document of ix under pub.
func NewConfig(ix *private.Index, pub *oprf.PublicKey, maxElements int) *Config {
	cfg := &Config{
		Version: wire.Version, Suite: oprf.Suite, Mode: "voprf",
		PublicKey: hex.EncodeToString(pub.Bytes()), KeyID: pub.ID(),
		BucketBits: ix.BucketBits(), MaxElements: maxElements,
		Input: ix.Reader().Meta().Info[private.InfoInput], Datasets: Datasets(ix),
	}
	for _, s := range ix.Sets() {
		cfg.Sets = append(cfg.Sets, s.Datasets)
	}
	if cfg.Datasets == nil {
		cfg.Datasets = []rangeapi.Dataset{}
	}
	return cfg
}

// Datasets lists the datasets of ix, in index order; nil if it has none.
func Datasets(ix *private.Index) []rangeapi.Dataset {
	var ds []rangeapi.Dataset
	for _, d := range ix.Reader().Meta().Datasets {
		ds = append(ds, rangeapi.Dataset{Name: d.Name, Date: d.Date, Source: d.Source})
	}
	return ds
}

// ServeKey answers GET [KeyPath].
func (h *Handler) ServeKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(h.cfg)
}

// ServeQuery answers POST [QueryPath].
func (h *Handler) ServeQuery(w http.ResponseWriter, r *http.Request) {
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
	if errors.Is(err, wire.ErrTooMany) {
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
		cost += int(uint64(h.ix.Reader().Len()) >> uint(req.Bits) / bucketCost)
		cost = min(cost, max(h.opts.Burst, n)) // never more than a client can ever hold
	}
	if cost > 0 && h.opts.Rate > 0 {
		if wait, ok := h.allow(r.Context(), h.opts.ClientID(r), cost); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			jsonError(w, http.StatusTooManyRequests, fmt.Sprintf("rate limited: %g evaluations per second per client", h.opts.Rate))
			return
		}
	}
	resp := &wire.Response{Bits: req.Bits, KeyID: h.key.Public().IDBytes()}
	if n > 0 {
		resp.Evaluated, resp.Proof, err = h.key.EvaluateHinted(req.Elements, req.Hints)
		if errors.Is(err, oprf.ErrBadElement) {
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
		head := slices.Grow((*bp)[:0], wire.ResponseHeaderSize+len(resp.Evaluated)+len(resp.Proof)+h.ix.BucketSizeHint(req.Bits, pad))
		out, err = h.ix.AppendBucket(wire.AppendResponseHead(head, resp), req.Prefix, req.Bits, pad)
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

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
