package checker

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/keyscheme"
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
//	GET /v1/datasets      the index and its datasets ([ServerInfo])
//	GET /v1/stats         numbers per country ([ServerStats])
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
// [Server.Swap] and [Server.SwapIndexes] replace the indexes while
// requests run: each request uses one set of indexes from start to end,
// and an index is closed once its last request is done. The per-client
// rate limits of the private mode carry over a swap. A Server is safe for
// concurrent use.
//
// A Server is an http.Handler for any net/http server ([Server.HTTPServer]
// configures one for load); [Server.Front] serves it faster, with a lean
// HTTP/1.1 path for the hot routes in front of net/http.
type Server struct {
	cur     atomic.Pointer[serverIndex]
	opts    ServerOptions
	log     *slog.Logger
	metrics *httpMetrics
	scratch sync.Pool
	limits  *rateLimits // private mode: per-client limiters, kept across swaps

	panicHook func(*http.Request) // tests: called at the start of a range request
}

// ServerOptions configures a [Server].
type ServerOptions struct {
	// MaxAge is the max-age of Cache-Control on range responses; 0 means
	// one hour, negative means no-cache.
	MaxAge time.Duration
	// Logger receives panics, reloads and server errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Private configures the private routes (rate limit, elements per
	// request, padding) when a private index is served.
	Private PrivateHandlerOptions
}

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

// serverIndex is one loaded set of indexes and what is precomputed from
// them.
type serverIndex struct {
	c        *Checker        // nil: range routes off
	priv     *PrivateHandler // nil: private routes off
	pix      *PrivateIndex
	reader   *hashset.Reader // what /v1/datasets describes
	enc      *rangeenc.Encoder
	id       string
	etags    [4][]string // by variant: text, text padded, JSON, JSON padded
	info     []byte      // /v1/datasets body
	stats    []byte      // /v1/stats body
	refs     atomic.Int64
	closeErr error
	closed   chan struct{}
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
		ix.closeErr = Indexes{Plain: ix.c, Private: ix.pix}.Close()
		close(ix.closed)
	}
}

// ServerInfo is the body of GET /v1/datasets, and the datasets document of
// an export ([Export]). Clients read it to learn the datasets' names and the
// prefix lengths on offer.
type ServerInfo struct {
	Index      IndexInfo     `json:"index"`
	Datasets   []DatasetInfo `json:"datasets"`
	PrefixBits []int         `json:"prefix_bits"` // lengths a client may query; any 12-32 from serve; none when ranges are off
	Padding    bool          `json:"padding"`     // an export: are its files padded
	Static     bool          `json:"static,omitempty"`
	// Private reports that the server answers the private routes
	// (GET /v1/private/key for the parameters).
	Private bool `json:"private,omitempty"`
}

// IndexInfo describes the index behind a server.
type IndexInfo struct {
	ID         string `json:"id"` // changes whenever the index does
	Keys       int64  `json:"keys"`
	HashScheme string `json:"hash_scheme"`
	Created    string `json:"created,omitempty"`
	Demo       bool   `json:"demo,omitempty"`
}

// DatasetInfo is one dataset of [ServerInfo].
type DatasetInfo struct {
	Dataset
	Keys int64 `json:"keys"`
}

// ServerStats is the body of GET /v1/stats.
type ServerStats struct {
	Keys      int64                       `json:"keys"`
	Countries map[string]int64            `json:"countries"`
	Datasets  map[string]map[string]int64 `json:"datasets,omitempty"` // per dataset, per country
}

// Info returns the /v1/datasets document of c.
func Info(c *Checker) ServerInfo {
	m := c.Index().Meta()
	si := ServerInfo{
		Index: IndexInfo{ID: rangeenc.IndexID(c.Index()), Keys: c.Index().Len(), HashScheme: m.KeyScheme,
			Created: m.Created, Demo: c.Demo()},
		PrefixBits: keyscheme.PrefixLengths,
		Datasets:   []DatasetInfo{},
	}
	for i, d := range m.Datasets {
		si.Datasets = append(si.Datasets, DatasetInfo{Dataset: c.Datasets()[i], Keys: d.Keys})
	}
	return si
}

// Stats returns the /v1/stats document of c.
func Stats(c *Checker) ServerStats {
	m := c.Index().Meta()
	st := ServerStats{Keys: c.Index().Len(), Countries: m.Groups}
	if st.Countries == nil {
		st.Countries = map[string]int64{}
	}
	for _, d := range m.Datasets {
		if len(d.Groups) > 0 {
			if st.Datasets == nil {
				st.Datasets = map[string]map[string]int64{}
			}
			st.Datasets[d.Name] = d.Groups
		}
	}
	return st
}

// PrivateInfo returns the /v1/datasets document of a private index: no
// prefix lengths (it answers no ranges), the private scheme.
func PrivateInfo(p *PrivateIndex) ServerInfo {
	m := p.Index().Meta()
	si := ServerInfo{
		Index: IndexInfo{ID: rangeenc.IndexID(p.Index()), Keys: p.Index().Len(), HashScheme: m.KeyScheme,
			Created: m.Created, Demo: m.Info[InfoDemo] == "true"},
		PrefixBits: []int{},
		Datasets:   []DatasetInfo{},
		Private:    true,
	}
	for i, d := range m.Datasets {
		si.Datasets = append(si.Datasets, DatasetInfo{Dataset: p.datasets[i], Keys: d.Keys})
	}
	return si
}

// PrivateStats returns the /v1/stats document of a private index: per
// dataset and country, as 'seal' kept them; the index-wide per-country
// counts are not kept by seal, so Countries is empty.
func PrivateStats(p *PrivateIndex) ServerStats {
	m := p.Index().Meta()
	st := ServerStats{Keys: p.Index().Len(), Countries: map[string]int64{}}
	for _, d := range m.Datasets {
		for k, v := range d.Stats {
			cc, ok := strings.CutPrefix(k, "country:")
			if !ok {
				continue
			}
			if st.Datasets == nil {
				st.Datasets = map[string]map[string]int64{}
			}
			if st.Datasets[d.Name] == nil {
				st.Datasets[d.Name] = map[string]int64{}
			}
			st.Datasets[d.Name][cc] = v
		}
	}
	return st
}

func (s *Server) newServerIndex(ixs Indexes) (*serverIndex, error) {
	ix := &serverIndex{c: ixs.Plain, pix: ixs.Private, closed: make(chan struct{})}
	var si ServerInfo
	var st ServerStats
	switch {
	case ixs.Plain != nil:
		ix.reader = ixs.Plain.Index()
		si, st = Info(ixs.Plain), Stats(ixs.Plain)
		si.Padding = true
	case ixs.Private != nil:
		ix.reader = ixs.Private.Index()
		si, st = PrivateInfo(ixs.Private), PrivateStats(ixs.Private)
	default:
		return nil, errors.New("checker: server needs a plain or a private index")
	}
	if ixs.Private != nil {
		h, err := newPrivateHandler(ixs.Private, ixs.Key, s.opts.Private, s.limits)
		if err != nil {
			return nil, err
		}
		h.evaluated = func(n int) { s.metrics.elementsEvaluated(n) }
		ix.priv = h
		si.Private = true
	}
	id := rangeenc.IndexID(ix.reader)
	if ixs.Plain != nil && ixs.Private != nil {
		id = rangeenc.IndexID(ixs.Plain.Index())[:8] + rangeenc.IndexID(ixs.Private.Index())[:8]
	}
	ix.id = id
	if ixs.Plain != nil {
		ix.enc = rangeenc.NewEncoder(ixs.Plain.Index(), id, si.Index.ID)
	}
	for v, suf := range []string{"t", "tp", "j", "jp"} {
		ix.etags[v] = []string{`"` + id + "-" + suf + `"`}
	}
	var err error
	if ix.info, err = json.Marshal(si); err != nil {
		return nil, err
	}
	if ix.stats, err = json.Marshal(st); err != nil {
		return nil, err
	}
	ix.refs.Store(1) // the server's own reference
	return ix, nil
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
	s := &Server{opts: opts, log: opts.Logger, limits: newRateLimits()}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.MaxAge == 0 {
		s.opts.MaxAge = time.Hour
	}
	s.scratch.New = func() any { return new(rangeenc.Scratch) }
	s.metrics = newHTTPMetrics()
	ix, err := s.newServerIndex(ixs)
	if err != nil {
		return nil, err
	}
	s.cur.Store(ix)
	s.metrics.indexLoaded(ix)
	return s, nil
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
func (s *Server) SwapIndexes(ixs Indexes) error {
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

// The routes, for the metrics' route label and the OpenAPI test.
const (
	routeRange        = "/range/{prefix}"
	routeDatasets     = "/v1/datasets"
	routeStats        = "/v1/stats"
	routeHealth       = "/healthz"
	routeMetrics      = "/metrics"
	routeOpenAPI      = "/openapi.json"
	routePrivateKey   = PrivateKeyPath
	routePrivateQuery = PrivateQueryPath
	routeOther        = "other"
)

// routes lists every route Server answers, all with GET and HEAD but
// routePrivateQuery, POST only.
var routes = []string{routeRange, routeDatasets, routeStats, routeHealth, routeMetrics, routeOpenAPI,
	routePrivateKey, routePrivateQuery}

//go:embed openapi.json
var openAPI []byte

var (
	hdrText      = []string{"text/plain; charset=utf-8"}
	hdrJSON      = []string{"application/json"}
	hdrNoStore   = []string{"no-store"}
	hdrVary      = []string{"Accept, Add-Padding"}
	hdrNosniff   = []string{"nosniff"}
	hdrAllow     = []string{"GET, HEAD"}
	hdrAllowPost = []string{"POST"}
	hdrInfoCC    = []string{"public, max-age=60"}
	hdrNoCache   = []string{"no-cache"}
	hdrRangeCCs  sync.Map // max-age -> []string
)

func (s *Server) rangeCacheControl() []string {
	if s.opts.MaxAge < 0 {
		return hdrNoCache
	}
	secs := int64(s.opts.MaxAge / time.Second)
	if v, ok := hdrRangeCCs.Load(secs); ok {
		return v.([]string)
	}
	v := []string{"public, max-age=" + strconv.FormatInt(secs, 10) + ", immutable"}
	hdrRangeCCs.Store(secs, v)
	return v
}

// contentLength returns a Content-Length header value, from a table for
// the sizes most responses have.
func contentLength(n int) []string {
	if n >= 0 && n < len(contentLengths) {
		return contentLengths[n]
	}
	return []string{strconv.Itoa(n)}
}

var contentLengths = func() (t [4096][]string) {
	for i := range t {
		t[i] = []string{strconv.Itoa(i)}
	}
	return t
}()

// statusWriter records the status a handler wrote (0 before any), for
// the metrics, over whatever ResponseWriter the transport gives. They
// are pooled, so that a request costs no allocation for one.
type statusWriter struct {
	http.ResponseWriter
	status int
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// ServeHTTP routes a request; see [Server] for the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	route := routeOf(r.URL.Path)
	sw := statusWriters.Get().(*statusWriter)
	sw.ResponseWriter, sw.status = w, 0
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			// The stack names code, never request data.
			s.log.Error("panic serving a request", "route", route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if sw.status == 0 {
				writeError(sw, http.StatusInternalServerError, "internal error")
			}
		}
		s.metrics.observe(route, sw.status, time.Since(start))
		sw.ResponseWriter = nil
		statusWriters.Put(sw)
	}()
	h := w.Header()
	h["X-Content-Type-Options"] = hdrNosniff
	if route == routeOther {
		writeError(sw, http.StatusNotFound, "no such route")
		return
	}
	if route == routePrivateQuery {
		if r.Method != http.MethodPost {
			h["Allow"] = hdrAllowPost
			writeError(sw, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h["Allow"] = hdrAllow
		writeError(sw, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch route {
	case routePrivateKey, routePrivateQuery:
		ix := s.acquire()
		defer ix.release()
		if ix.priv == nil {
			writeError(sw, http.StatusNotFound, "private mode is off on this server")
			return
		}
		if route == routePrivateKey {
			ix.priv.ServeKey(sw, r)
		} else {
			ix.priv.ServeQuery(sw, r)
		}
	case routeRange:
		s.serveRange(sw, r, r.URL.Path[len("/range/"):])
	case routeDatasets:
		ix := s.acquire()
		defer ix.release()
		s.serveStatic(sw, r, ix.info, hdrJSON, ix.etags[2], hdrInfoCC)
	case routeStats:
		ix := s.acquire()
		defer ix.release()
		s.serveStatic(sw, r, ix.stats, hdrJSON, ix.etags[2], hdrInfoCC)
	case routeHealth:
		h["Content-Type"] = hdrText
		h["Cache-Control"] = hdrNoStore
		sw.Write([]byte("ok\n"))
	case routeMetrics:
		s.metrics.handler.ServeHTTP(sw, r)
	case routeOpenAPI:
		s.serveStatic(sw, r, openAPI, hdrJSON, nil, hdrInfoCC)
	}
}

func routeOf(path string) string {
	switch path {
	case routeDatasets, routeStats, routeHealth, routeMetrics, routeOpenAPI, routePrivateKey, routePrivateQuery:
		return path
	}
	if strings.HasPrefix(path, "/range/") {
		return routeRange
	}
	return routeOther
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request, body []byte, ctype, etag, cc []string) {
	h := w.Header()
	if etag != nil {
		h["Etag"] = etag
		if etagMatch(r.Header["If-None-Match"], etag[0]) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h["Content-Type"] = ctype
	h["Cache-Control"] = cc
	h["Content-Length"] = contentLength(len(body))
	w.Write(body)
}

// etagMatch reports whether an If-None-Match header matches etag (weak
// comparison, as RFC 9110 asks for If-None-Match).
func etagMatch(inm []string, etag string) bool {
	for _, v := range inm {
		for len(v) > 0 {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t = strings.TrimSpace(t)
			t = strings.TrimPrefix(t, "W/")
			if t == "*" || t == etag {
				return true
			}
		}
	}
	return false
}

func (s *Server) serveRange(w http.ResponseWriter, r *http.Request, prefixHex string) {
	if s.panicHook != nil {
		s.panicHook(r)
	}
	ix := s.acquire()
	defer ix.release()
	if ix.c == nil {
		writeError(w, http.StatusNotFound, "plain ranges are off on this server: it answers private queries ("+PrivateQueryPath+")")
		return
	}
	prefix, bits, err := rangeapi.ParsePrefix(prefixHex)
	if err != nil {
		writeError(w, http.StatusBadRequest, rangeapi.ErrBadPrefix.Error()[len("checker: "):])
		return
	}
	pad := hasToken(r.Header["Add-Padding"], "true")
	asJSON := acceptsJSON(r.Header["Accept"])
	variant := 0
	if pad {
		variant = 1
	}
	if asJSON {
		variant += 2
	}
	h := w.Header()
	h["Etag"] = ix.etags[variant]
	h["Vary"] = hdrVary
	h["Cache-Control"] = s.rangeCacheControl()
	if inm := r.Header["If-None-Match"]; inm != nil && etagMatch(inm, ix.etags[variant][0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	sc := s.scratch.Get().(*rangeenc.Scratch)
	defer s.putScratch(sc)
	if err := ix.enc.Load(sc, prefix, bits, pad); err != nil {
		s.log.Error("reading a range", "bits", bits, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.metrics.rangeServed(bits, pad)
	var body []byte
	if asJSON {
		body = ix.enc.JSON(sc, strings.ToUpper(prefixHex), bits, pad)
		h["Content-Type"] = hdrJSON
	} else {
		body = ix.enc.Text(sc, bits, pad)
		h["Content-Type"] = hdrText
	}
	h["Content-Length"] = contentLength(len(body))
	w.Write(body)
}

// putScratch returns sc to the pool unless a huge range made it huge.
func (s *Server) putScratch(sc *rangeenc.Scratch) {
	if sc.Reusable() {
		s.scratch.Put(sc)
	}
}

func hasToken(vals []string, tok string) bool {
	for _, v := range vals {
		if strings.EqualFold(strings.TrimSpace(v), tok) {
			return true
		}
	}
	return false
}

// acceptsJSON reports an Accept header that names application/json
// (without q=0).
func acceptsJSON(vals []string) bool {
	for _, v := range vals {
		for len(v) > 0 {
			var part string
			part, v, _ = strings.Cut(v, ",")
			mt, params, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), "application/json") {
				return qValue(params) > 0
			}
		}
	}
	return false
}

// qValue is the weight in the parameters of one Accept element (after
// its first ';'): 1 without a q parameter, 0 for "q=0", "q=0.0" and the
// like ("not acceptable") and for a q that does not parse.
func qValue(params string) float64 {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || q < 0 || q > 1 {
				return 0
			}
			return q
		}
	}
	return 1
}

// apiError is the JSON body of every error response.
type apiError struct {
	Error string `json:"error"`
}

// writeError writes a JSON error. msg is a constant: it never holds request
// data.
func writeError(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(apiError{Error: msg})
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	h["Content-Length"] = contentLength(len(body))
	delete(h, "Etag")
	w.WriteHeader(code)
	w.Write(body)
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
