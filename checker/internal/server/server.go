// Package server is phonecheck's HTTP server: the routes and their
// cross-origin (CORS) policy, the swap of indexes under load, ETags and
// cache headers, the info and stats documents, the fast path's wiring
// and the Prometheus metrics.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private"
	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
	"github.com/phonecheck/phonecheck/hashset"
)

// Server is the HTTP range endpoint over an index: an [http.Handler].
//
// # Routes
//
//	GET /range/{prefix}   the range of a 3-8 hex digit prefix, as SUFFIX:COUNT
//	                      lines (Have I Been Pwned's range format);
//	                      Accept: application/json for JSON,
//	                      Add-Padding: true for a padded response
//	GET /v1/datasets      the index and its datasets ([rangeapi.Info])
//	GET /v1/stats         numbers per country ([rangeapi.Stats])
//	GET /healthz          "ok" while an index is loaded
//	GET /metrics          Prometheus metrics
//	GET /openapi.json     the OpenAPI document of these routes
//	GET /v1/private/key   private mode: the public key and parameters
//	POST /v1/private/query private mode: a blinded query ([privateapi.Handler])
//
// A Server serves a plain index (the range routes), a private index (the
// private routes), or both ([Indexes]). The routes of a missing index
// answer 404, so a client learns which modes a server offers: the range
// routes are off on a private server unless it is given a plain index
// too, because plain-hash ranges republish the leak.
//
// HEAD is accepted wherever GET is; the private query takes POST only;
// other methods get 405, unknown paths
// 404, bad prefixes 400, all with a JSON body {"error": "..."}. Range
// responses carry an ETag, the SHA-256 of their body (what an export's
// manifest lists for the same file), and a Cache-Control that lets a CDN
// keep them; If-None-Match gives 304.
//
// No log line, metric or error holds a number, a hash or a prefix: a bad
// prefix is never echoed, metrics count prefix lengths only.
//
// # Cross-origin access
//
// A web page from another origin reads the key document and
// /openapi.json (Access-Control-Allow-Origin: *), and, if its origin is
// listed in [Options.AllowOrigins], the range, info and private query
// routes, errors included; its preflights (OPTIONS) get 204, those of
// unlisted origins 403, and a private query from an unlisted origin is
// refused (403) before it spends anything. Never "*" for plain ranges:
// they are reversible, and a plain server serves trusted clients only.
//
// [Server.Swap] and [Server.SwapIndexes] replace the indexes while
// requests run: each request uses one set of indexes from start to end,
// and an index is closed once its last request is done. The per-client
// rate limits of the private mode carry over a swap. A Server is safe for
// concurrent use.
//
// A Server is an http.Handler for any net/http server ([Server.HTTPServer]
// configures one for load); [Server.EventServer] serves it faster, with a lean
// HTTP/1.1 path for the hot routes in front of net/http.
type Server struct {
	cur     atomic.Pointer[serverIndex]
	opts    Options
	log     *slog.Logger
	metrics *httpMetrics
	scratch sync.Pool
	limits  privateapi.Limiter  // private mode: per-client limiters, kept across swaps
	origins map[string][]string // Options.AllowOrigins -> Access-Control-Allow-Origin; nil: none

	panicHook func(*http.Request) // tests: called at the start of a range request
}

// Options configures a [Server].
type Options struct {
	// MaxAge is the max-age of Cache-Control on range responses; 0 means
	// one hour, negative means no-cache.
	MaxAge time.Duration
	// Logger receives panics, reloads and server errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Private configures the private routes (rate limit, elements per
	// request, padding) when a private index is served.
	Private privateapi.Options
	// Page, if set, serves the web page at / (and /index.html) and its
	// assets under /app/.
	Page http.Handler
	// AllowOrigins lists the web origins (scheme://host[:port], see
	// [ParseOrigin]) whose pages may call the range, info and private
	// query routes from a browser (CORS); see [Server].
	AllowOrigins []string
	// OnFault, if set, is called (on the request's goroutine; it must not
	// block) after a memory fault reading an index: its file was changed
	// in place while mapped (truncated, or written over), which would
	// otherwise kill the process with SIGBUS. The request fails with 500.
	// A caller that knows the files can reload them.
	OnFault func()
	// NoCountryStats makes /v1/stats answer the key count only, without
	// the per-country and per-dataset counts: in private mode those say
	// more than a harvester of the buckets learns (docs/privacy.md).
	NoCountryStats bool
	// Limiter keeps the private mode's per-client limits; nil means in
	// this process's memory ([privateapi.Limits]), right for a single
	// server. Replicas share one store instead (the ratestore package,
	// serve --rate-store), so that N replicas do not give a client N
	// times the limit. A [privateapi.MeasuredLimiter] gets the server's
	// metrics. The Server does not close it.
	Limiter privateapi.Limiter
}

// Indexes are what a [Server] serves: Plain (with its Datasets, and Demo
// for the demo index) answers the range routes, and Private, with the
// Key it was sealed under, the private routes. Either may be nil, not
// both. /v1/datasets and /v1/stats describe Plain when it is set, else
// Private. Close, if set, is called once the indexes' last request is
// done.
type Indexes struct {
	Plain    *hashset.Reader
	Datasets []rangeapi.Dataset
	Demo     bool
	Private  *private.Index
	Key      *oprf.Key
	Close    func() error
}

// serverIndex is one loaded set of indexes and what is precomputed from
// them.
type serverIndex struct {
	ixs      Indexes
	priv     *privateapi.Handler // nil: private routes off
	reader   *hashset.Reader     // what /v1/datasets describes
	enc      *rangeenc.Encoder
	id       string
	docETag  []string // of /v1/datasets and /v1/stats: the index id
	info     []byte   // /v1/datasets body
	stats    []byte   // /v1/stats body
	refs     atomic.Int64
	closeErr error
	closed   chan struct{}
	nonces   *oprf.NoncePool // proof nonces computed ahead for ixs.Key, if they pay here
}

// acquire returns the current index with a reference taken, for the
// duration of one request.
func (s *Server) acquire() *serverIndex {
	for {
		ix := s.cur.Load()
		// Never take a reference from zero: at zero the index is retired
		// and closing, and a swap has already stored its successor.
		for n := ix.refs.Load(); n > 0; n = ix.refs.Load() {
			if ix.refs.CompareAndSwap(n, n+1) {
				return ix
			}
		}
	}
}

func (ix *serverIndex) release() {
	if ix.refs.Add(-1) == 0 {
		if ix.ixs.Close != nil {
			ix.closeErr = ix.ixs.Close()
		}
		if ix.nonces != nil {
			ix.nonces.Stop()
		}
		close(ix.closed)
	}
}

// New returns a Server over the given indexes: the range routes if
// ixs.Plain is set, the private routes if ixs.Private is (it must have
// been sealed under ixs.Key: private.ErrKeyMismatch). The Server owns the
// indexes from then on: it closes them when they are swapped out
// ([Server.Swap]) or the Server is closed; on error the caller still owns
// them.
func New(ixs Indexes, opts Options) (*Server, error) {
	s := &Server{opts: opts, log: opts.Logger, limits: opts.Limiter}
	if s.limits == nil {
		s.limits = privateapi.NewLimits()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.MaxAge == 0 {
		s.opts.MaxAge = time.Hour
	}
	var err error
	if s.origins, err = parseOrigins(opts.AllowOrigins); err != nil {
		return nil, err
	}
	s.scratch.New = func() any { return new(rangeenc.Scratch) }
	s.metrics = newHTTPMetrics()
	if ml, ok := s.limits.(privateapi.MeasuredLimiter); ok {
		ml.SetMetrics(s.metrics)
	}
	ix, err := s.newServerIndex(ixs)
	if err != nil {
		return nil, err
	}
	s.cur.Store(ix)
	s.metrics.indexLoaded(ix)
	return s, nil
}

// Swap makes ixs the indexes of every request that starts from now on,
// and returns once the previous indexes have finished their requests and
// are closed: a private index and its key (a key rotation swaps both at
// once), a plain index, or both. The Server owns ixs. If ixs cannot be
// served, the error wraps [ErrSwapRefused]: nothing changes and the
// caller still owns ixs. Any other error comes from closing the previous
// indexes, after the swap.
func (s *Server) Swap(ixs Indexes) error {
	ix, err := s.newServerIndex(ixs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSwapRefused, err)
	}
	old := s.cur.Swap(ix)
	s.metrics.indexLoaded(ix)
	old.release()
	<-old.closed
	return old.closeErr
}

// ErrSwapRefused wraps the error of a swap that did not happen: the
// previous indexes still serve, and the caller still owns the new ones.
var ErrSwapRefused = errors.New("checker: swap refused")

// IndexID returns the id of the index requests start on now.
func (s *Server) IndexID() string { return s.cur.Load().id }

// Close closes the current index once its requests are done. Call it
// after the HTTP server has shut down.
func (s *Server) Close() error {
	ix := s.cur.Load()
	ix.release()
	<-ix.closed
	return ix.closeErr
}

// HTTPServer returns an http.Server for s with the limits a server exposed
// to load needs: timeouts on reading headers and bodies, on writing, on
// idle connections, and a 16 KiB header limit. Its error log goes to the
// Server's logger.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// IsLoopback reports whether addr (host:port, as given to a listener)
// binds to loopback only. An empty host or a wildcard binds every
// interface; a hostname other than localhost counts as not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
