package checker

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"

	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/server"
)

// Server is the HTTP range endpoint over an index: an [http.Handler].
//
// # Routes
//
//	GET /range/{prefix}   the range of a 3-8 hex digit prefix, as SUFFIX:COUNT
//	                      lines (Have I Been Pwned's range format);
//	                      Accept: application/json for JSON,
//	                      Add-Padding: true for a padded response
//	GET /v1/datasets      the index and its datasets ([ServerInfo])
//	GET /v1/stats         numbers per country, index-wide and per dataset
//	GET /healthz          "ok" while an index is loaded
//	GET /metrics          Prometheus metrics
//	GET /openapi.json     the OpenAPI document of these routes
//	GET /v1/private/key   private mode: the public key and parameters
//	POST /v1/private/query private mode: a blinded query ([PrivateHandler])
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
// responses carry an ETag derived from the index and a Cache-Control that
// lets a CDN keep them; If-None-Match gives 304.
//
// No log line, metric or error holds a number, a hash or a prefix: a bad
// prefix is never echoed, metrics count prefix lengths only.
//
// # Cross-origin access
//
// A web page from another origin reads the key document and
// /openapi.json (Access-Control-Allow-Origin: *), and, if its origin is
// listed in ServerOptions.AllowOrigins, the range, info and private query
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
	s *server.Server
}

// ServerOptions configures a [Server]: MaxAge is the max-age of
// Cache-Control on range responses (0 means one hour, negative means
// no-cache); Logger receives panics, reloads and server errors (nil
// means slog.Default()); Private configures the private routes (rate
// limit, elements per request, padding) when a private index is served;
// AllowOrigins lists the web origins whose pages may call the server
// from a browser (see [ParseOrigin] and [Server]'s cross-origin access);
// Limiter keeps the private mode's per-client limits (nil: in this
// process's memory; a [RateStore] shares them between replicas).
type ServerOptions = server.Options

// Indexes are what a [Server] serves: Plain answers the range routes, and
// Private, with the Key it was sealed under, the private routes. Either
// may be nil, not both. /v1/datasets and /v1/stats describe Plain when it
// is set, else Private.
type Indexes struct {
	Plain   *Checker
	Private *PrivateIndex
	Key     *OPRFKey
}

// Close closes the indexes; for a caller that could not hand them to a
// Server.
func (ixs Indexes) Close() error {
	var errs []error
	if ixs.Plain != nil {
		errs = append(errs, ixs.Plain.Close())
	}
	if ixs.Private != nil {
		errs = append(errs, ixs.Private.Close())
	}
	return errors.Join(errs...)
}

// internal returns what the server package serves of ixs.
func (ixs Indexes) internal() server.Indexes {
	out := server.Indexes{Key: oprfKey(ixs.Key), Close: ixs.Close}
	if ixs.Plain != nil {
		out.Plain, out.Datasets, out.Demo = ixs.Plain.idx, rangeDatasets(ixs.Plain.datasets), ixs.Plain.demo
	}
	if ixs.Private != nil {
		out.Private = ixs.Private.p
	}
	return out
}

func rangeDatasets(ds []Dataset) []rangeapi.Dataset {
	out := make([]rangeapi.Dataset, len(ds))
	for i, d := range ds {
		out[i] = rangeapi.Dataset(d)
	}
	return out
}

// NewServer returns a Server over c. The Server owns c from then on: it
// closes c when it is swapped out ([Server.Swap]) or the Server is closed.
func NewServer(c *Checker, opts ServerOptions) (*Server, error) {
	return NewServerOf(Indexes{Plain: c}, opts)
}

// NewServerOf returns a Server over the given indexes: the range routes
// if ixs.Plain is set, the private routes if ixs.Private is (it must have
// been sealed under ixs.Key: [ErrKeyMismatch]). The Server owns the
// indexes from then on, as with [NewServer]; on error the caller still
// owns them.
func NewServerOf(ixs Indexes, opts ServerOptions) (*Server, error) {
	s, err := server.New(ixs.internal(), opts)
	if err != nil {
		return nil, err
	}
	return &Server{s: s}, nil
}

// Swap makes c the index of every request that starts from now on, and
// returns once the previous index has finished its requests and is closed.
// The Server owns c.
func (s *Server) Swap(c *Checker) error { return s.SwapIndexes(Indexes{Plain: c}) }

// SwapIndexes is [Server.Swap] for a set of indexes: a private index and
// its key (a key rotation swaps both at once), a plain index, or both.
// If ixs cannot be served, the error wraps [ErrSwapRefused]: nothing
// changes and the caller still owns ixs. Any other error comes from
// closing the previous indexes, after the swap.
func (s *Server) SwapIndexes(ixs Indexes) error { return s.s.Swap(ixs.internal()) }

// ErrSwapRefused wraps the error of a swap that did not happen: the
// previous indexes still serve, and the caller still owns the new ones.
var ErrSwapRefused = server.ErrSwapRefused

// IndexID returns the id of the index requests start on now.
func (s *Server) IndexID() string { return s.s.IndexID() }

// Close closes the current index once its requests are done. Call it
// after the HTTP server has shut down.
func (s *Server) Close() error { return s.s.Close() }

// ServeHTTP routes a request; see [Server] for the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.s.ServeHTTP(w, r) }

// HTTPServer returns an http.Server for s with the limits a server exposed
// to load needs: timeouts on reading headers and bodies, on writing, on
// idle connections, and a 16 KiB header limit. Its error log goes to the
// Server's logger.
func (s *Server) HTTPServer(addr string) *http.Server { return s.s.HTTPServer(addr) }

// EventServer serves a [Server] on listeners, faster than net/http alone:
// simple keep-alive HTTP/1.1 requests to the range, info and private
// query routes take a lean path (served by event loops on Linux), and
// everything else is served by net/http as [Server.HTTPServer] configures
// it, with the same answers byte for byte but the Date. Create it with
// [Server.EventServer].
type EventServer struct {
	// EventLoops is the number of event loops serving the connections
	// of TCP listeners on Linux: 0 for one fewer than GOMAXPROCS (at
	// least one), negative for none (a goroutine per connection, as on
	// other systems and other listeners). Set it before Serve.
	EventLoops int

	once sync.Once
	f    *server.EventServer
}

// EventServer returns an EventServer for s: call [EventServer.Serve]
// with a listener, and [EventServer.Shutdown] or [EventServer.Close] to
// stop. The limits are those of [Server.HTTPServer].
func (s *Server) EventServer() *EventServer { return &EventServer{f: s.s.EventServer()} }

// Serve accepts connections on ln until [EventServer.Shutdown] or
// [EventServer.Close], and then returns [http.ErrServerClosed]; other errors
// are returned as they come. Serve closes ln.
func (f *EventServer) Serve(ln net.Listener) error {
	f.once.Do(func() { f.f.EventLoops = f.EventLoops })
	return f.f.Serve(ln)
}

// Shutdown stops the event server gracefully, as [http.Server.Shutdown] does:
// it closes the listeners, then closes connections as they become idle,
// and returns once none is left or ctx is done (with ctx's error).
func (f *EventServer) Shutdown(ctx context.Context) error { return f.f.Shutdown(ctx) }

// Close closes the listeners and every connection at once.
func (f *EventServer) Close() error { return f.f.Close() }

// IsLoopback reports whether addr (host:port, as given to a listener)
// binds to loopback only. An empty host or a wildcard binds every
// interface; a hostname other than localhost counts as not loopback.
func IsLoopback(addr string) bool { return server.IsLoopback(addr) }

// ParseOrigin checks a web origin for ServerOptions.AllowOrigins and
// returns it as browsers send it in an Origin header: "http" or "https",
// "://", the host in lower case (an IPv6 address in brackets), and the
// port unless it is the scheme's default. "*" is refused: plain ranges
// and private evaluations must stay with the origins listed.
func ParseOrigin(s string) (string, error) { return server.ParseOrigin(s) }
