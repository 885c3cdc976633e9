package httpfront

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testHandler answers the way the range server does, in the shapes that
// matter to a transport: status codes with and without a body, explicit
// and computed lengths, several header values, ETags and 304, HEAD, big
// answers, a POST body read to its end or cut short, its own recovery
// from panics. hook, if set, runs at the start of each request.
type testHandler struct {
	hook func(*http.Request)

	mu      sync.Mutex
	served  int    // requests, for /metrics
	openAPI []byte // a big static answer
	bodies  sync.Map
}

func newTestHandler() *testHandler {
	var b strings.Builder
	b.WriteString(`{"openapi":"3.1.0","paths":{`)
	for i := range 300 {
		fmt.Fprintf(&b, `"/p%03d":{"get":{"summary":"path number %d"}},`, i, i)
	}
	b.WriteString(`"/":{}}}`)
	return &testHandler{openAPI: []byte(b.String())}
}

// take is the lean path's predicate: GET and HEAD on the routes
// answered from memory, POST on the query route.
func (h *testHandler) take(r *http.Request) bool {
	switch route(r.URL.Path) {
	case "range", "/v1/datasets", "/v1/stats", "/healthz", "/openapi.json":
		return r.Method != http.MethodPost
	case "/v1/query":
		return r.Method == http.MethodPost
	}
	return false
}

// testHeaders are the request headers testHandler reads without a body.
var testHeaders = []string{"Accept", "Add-Padding", "If-None-Match", "Content-Type"}

// newTestServer returns a Server of th for hs (nil for a new one), with
// the limits of a server exposed to load where hs sets none.
func newTestServer(th *testHandler, hs *http.Server) *Server {
	if hs == nil {
		hs = &http.Server{}
	}
	if hs.ReadHeaderTimeout == 0 {
		hs.ReadHeaderTimeout = 5 * time.Second
	}
	if hs.ReadTimeout == 0 {
		hs.ReadTimeout = 10 * time.Second
	}
	if hs.WriteTimeout == 0 {
		hs.WriteTimeout = 30 * time.Second
	}
	if hs.IdleTimeout == 0 {
		hs.IdleTimeout = 120 * time.Second
	}
	hs.MaxHeaderBytes = 16 << 10
	hs.Handler = th
	return New(hs, Config{Take: th.take, Headers: testHeaders, Logger: quietLogger()})
}

func route(path string) string {
	if strings.HasPrefix(path, "/range/") {
		return "range"
	}
	return path
}

var (
	hdrText = []string{"text/plain; charset=utf-8"}
	hdrJSON = []string{"application/json"}
)

func (h *testHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	written := false
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			if !written {
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}
	}()
	h.mu.Lock()
	h.served++
	n := h.served
	h.mu.Unlock()
	if h.hook != nil {
		h.hook(r)
	}
	hdr := w.Header()
	hdr["X-Content-Type-Options"] = []string{"nosniff"}
	rt := route(r.URL.Path)
	if rt == "/v1/query" {
		if r.Method != http.MethodPost {
			hdr["Allow"] = []string{"POST"}
			writeError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		h.serveQuery(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr["Allow"] = []string{"GET, HEAD"}
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch rt {
	case "range":
		p := strings.ToUpper(r.URL.Path[len("/range/"):])
		if strings.HasSuffix(p, "DEAD") {
			panic("boom")
		}
		if _, err := strconv.ParseUint(p, 16, 64); err != nil || len(p) < 3 || len(p) > 8 {
			writeError(w, http.StatusBadRequest, "bad prefix")
			return
		}
		pad := hasToken(r.Header["Add-Padding"], "true")
		asJSON := false
		for _, v := range r.Header["Accept"] {
			asJSON = asJSON || strings.Contains(v, "application/json")
		}
		etag := fmt.Sprintf(`"idx-%t-%t"`, pad, asJSON)
		hdr["Etag"] = []string{etag}
		hdr["Vary"] = []string{"Accept, Add-Padding"}
		hdr["Cache-Control"] = []string{"public, max-age=3600, immutable"}
		for _, v := range r.Header["If-None-Match"] {
			if v == "*" || v == etag {
				w.WriteHeader(http.StatusNotModified)
				return
			}
		}
		body := h.rangeBody(p, pad, asJSON)
		hdr["Content-Type"] = hdrText
		if asJSON {
			hdr["Content-Type"] = hdrJSON
		}
		hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.Write(body)
	case "/v1/datasets", "/v1/stats":
		hdr["Etag"] = []string{`"info"`}
		if len(r.Header["If-None-Match"]) > 0 {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		body := []byte(`{"route":"` + rt + `"}`)
		hdr["Content-Type"] = hdrJSON
		hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
		w.Write(body)
	case "/healthz":
		hdr["Content-Type"] = hdrText
		hdr["Cache-Control"] = []string{"no-store"}
		w.Write([]byte("ok\n")) // no Content-Length: the server's
	case "/openapi.json":
		hdr["Content-Type"] = hdrJSON
		hdr["Content-Length"] = []string{strconv.Itoa(len(h.openAPI))}
		w.Write(h.openAPI)
	case "/metrics":
		hdr["Content-Type"] = hdrText
		fmt.Fprintf(w, "requests_total %d\n", n)
	default:
		writeError(w, http.StatusNotFound, "no such route")
	}
	written = true
}

// serveQuery reads a body of at most 4096 bytes that starts with 1, and
// answers a 5 KiB digest of it and of the X-Forwarded-For header.
func (h *testHandler) serveQuery(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "body cut short")
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "reading the body failed")
		return
	case len(body) > 4096:
		writeError(w, http.StatusRequestEntityTooLarge, "body too long")
		return
	case len(body) == 0 || body[0] != 1:
		writeError(w, http.StatusBadRequest, "malformed query")
		return
	}
	sum := sha256.Sum256(append(body, r.Header.Get("X-Forwarded-For")...))
	out := []byte(strings.Repeat(hex.EncodeToString(sum[:]), 80))
	w.Header()["Content-Type"] = []string{"application/octet-stream"}
	w.Header()["X-Client"] = []string{r.Header.Get("X-Forwarded-For")}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(out))}
	w.Write(out)
}

// rangeBody is a range answer of a size that depends on the prefix,
// made once (so that benchmarks time the transport).
func (h *testHandler) rangeBody(p string, pad, asJSON bool) []byte {
	key := fmt.Sprint(p, pad, asJSON)
	if b, ok := h.bodies.Load(key); ok {
		return b.([]byte)
	}
	b := makeRangeBody(p, pad, asJSON)
	h.bodies.Store(key, b)
	return b
}

func makeRangeBody(p string, pad, asJSON bool) []byte {
	v, _ := strconv.ParseUint(p, 16, 64)
	lines := int(v%37) + 1
	if pad {
		lines = 64
	}
	var b strings.Builder
	if asJSON {
		b.WriteString(`{"prefix":"` + p + `","suffixes":[`)
	}
	for i := range lines {
		s := sha256.Sum256([]byte(fmt.Sprint(p, i)))
		if asJSON {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `"%X"`, s[:6])
		} else {
			fmt.Fprintf(&b, "%X:%d\r\n", s[:6], i%3)
		}
	}
	if asJSON {
		b.WriteString("]}")
	}
	return []byte(b.String())
}

func hasToken(vals []string, tok string) bool {
	for _, v := range vals {
		if strings.EqualFold(strings.TrimSpace(v), tok) {
			return true
		}
	}
	return false
}

func writeError(w http.ResponseWriter, code int, msg string) {
	body := []byte(`{"error":"` + msg + `"}`)
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	delete(h, "Etag")
	w.WriteHeader(code)
	w.Write(body)
}

// do answers a request with h directly, as a reference.
func do(t testing.TB, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
