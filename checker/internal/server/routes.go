package server

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/phonecheck/phonecheck/checker/internal/rangeapi/rangeenc"
)

// The routes, for the metrics' route label and the OpenAPI test.
const (
	routeRange        = "/range/{prefix}"
	routeDatasets     = "/v1/datasets"
	routeStats        = "/v1/stats"
	routeHealth       = "/healthz"
	routeMetrics      = "/metrics"
	routeOpenAPI      = "/openapi.json"
	routePrivateKey   = privateapi.KeyPath
	routePrivateQuery = privateapi.QueryPath
	routeOther        = "other"
	// routePage is the web page and its assets (Options.Page): not an
	// API route, so not in routes.
	routePage = "page"
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
	// Reads from a mapped index fault if its file shrank under the
	// mapping (SIGBUS): make that a panic, recovered below, rather than
	// the end of the process. The flag is per goroutine, and this is
	// where every request runs, on an event loop or a net/http
	// connection's goroutine; it costs a store.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			if _, ok := p.(interface{ Addr() uintptr }); ok {
				// The fault's address says where in the mapping, not what
				// was asked: still, log only the route.
				s.metrics.faults.Inc()
				s.log.Error("memory fault reading the index: its file was changed in place (replace it by rename); the request failed", "route", route)
				if s.opts.OnFault != nil {
					s.opts.OnFault()
				}
			} else {
				// The stack names code, never request data.
				s.log.Error("panic serving a request", "route", route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
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
	if route == routePage && s.opts.Page == nil {
		route = routeOther
	}
	if route == routePage {
		s.opts.Page.ServeHTTP(sw, r)
		return
	}
	if s.serveCORS(sw, r, route) {
		return
	}
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
		s.serveStatic(sw, r, ix.info, hdrJSON, ix.docETag, hdrInfoCC)
	case routeStats:
		ix := s.acquire()
		defer ix.release()
		s.serveStatic(sw, r, ix.stats, hdrJSON, ix.docETag, hdrInfoCC)
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
	if path == "/" || path == "/index.html" || strings.HasPrefix(path, "/app/") {
		return routePage
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
	if ix.ixs.Plain == nil {
		writeError(w, http.StatusNotFound, "plain ranges are off on this server: it answers private queries ("+privateapi.QueryPath+")")
		return
	}
	prefix, bits, err := rangeapi.ParsePrefix(prefixHex)
	if err != nil {
		writeError(w, http.StatusBadRequest, rangeapi.ErrBadPrefix.Error()[len("checker: "):])
		return
	}
	pad := hasToken(r.Header["Add-Padding"], "true")
	asJSON := acceptsJSON(r.Header["Accept"])
	h := w.Header()
	h["Vary"] = hdrVary
	if s.origins != nil {
		h["Vary"] = hdrVaryRangeCORS
	}
	h["Cache-Control"] = s.rangeCacheControl()
	sc := s.scratch.Get().(*rangeenc.Scratch)
	defer s.putScratch(sc)
	if err := ix.enc.Load(sc, prefix, bits, pad); err != nil {
		s.log.Error("reading a range", "bits", bits, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.metrics.rangeServed(bits, pad)
	var body []byte
	ctype := hdrText
	if asJSON {
		body = ix.enc.JSON(sc, strings.ToUpper(prefixHex), bits, pad)
		ctype = hdrJSON
	} else {
		body = ix.enc.Text(sc, bits, pad)
	}
	// The ETag is the body's SHA-256, as an export's manifest lists it:
	// the same range of the same index has the same tag from any replica
	// or static copy, and a new index changes only the tags of the ranges
	// it changed.
	etag := rangeenc.ETagHeader(body) // the one allocation of a range request
	h["Etag"] = etag
	if inm := r.Header["If-None-Match"]; inm != nil && etagMatch(inm, etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h["Content-Type"] = ctype
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
