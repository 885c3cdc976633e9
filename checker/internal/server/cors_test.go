package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/internal/oprf"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/privateapi"
)

const (
	listedOrigin   = "https://app.example.org"
	unlistedOrigin = "https://evil.example.net"
)

func TestParseOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.org":       "https://app.example.org",
		"HTTPS://App.Example.ORG":       "https://app.example.org",
		"https://app.example.org:443":   "https://app.example.org",
		"http://app.example.org:80":     "http://app.example.org",
		"http://app.example.org:443":    "http://app.example.org:443",
		"http://localhost:3000":         "http://localhost:3000",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"http://[::1]:8080":             "http://[::1]:8080",
		"https://[2001:DB8::1]":         "https://[2001:db8::1]",
		"https://xn--bcher-kva.example": "https://xn--bcher-kva.example",
	} {
		got, err := ParseOrigin(in)
		if err != nil || got != want {
			t.Errorf("ParseOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"*":                             "not accepted",
		"":                              "scheme://host",
		"app.example.org":               "scheme://host",
		"ftp://app.example.org":         "scheme://host",
		"null":                          "scheme://host",
		"https://":                      "no host",
		"https://app.example.org/":      "path",
		"https://app.example.org/app":   "path",
		"https://app.example.org?x=1":   "path",
		"https://app.example.org#top":   "path",
		"https://user@app.example.org":  "user",
		"https://app.example.org:":      "port",
		"https://app.example.org:0":     "port",
		"https://app.example.org:080":   "port",
		"https://app.example.org:+80":   "port",
		"https://app.example.org:99999": "port",
		"https://bücher.example":        "xn--",
		"https://app example.org":       "host name",
		"https://[::1":                  "IPv6",
		"https://[fe80::1%25eth0]":      "IPv6",
		"https://[127.0.0.1]":           "IPv6",
		"https://::1":                   "host name",
	} {
		got, err := ParseOrigin(in)
		if err == nil {
			t.Errorf("ParseOrigin(%q) = %q, want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), why) || !strings.HasPrefix(err.Error(), "checker: ") {
			t.Errorf("ParseOrigin(%q): %v, want checker: ... %s", in, err, why)
		}
	}
	if _, err := New(testIndexes(t, 10, ""), Options{AllowOrigins: []string{listedOrigin, "*"}}); err == nil {
		t.Error(`New took AllowOrigins "*"`)
	}
}

// corsServer serves a plain and a private index to listedOrigin, with a
// rate limit of one evaluation per client, hardly ever refilled.
func corsServer(t *testing.T) *Server {
	return newMixedServerOpts(t, Options{
		AllowOrigins: []string{"https://App.Example.org:443", "http://localhost:3000"},
		Private:      privateapi.Options{Rate: 1e-6, Burst: 1, MaxElements: 1},
	})
}

// query is a private query of one element and a 12-bit bucket.
func query(t *testing.T, s *Server) []byte {
	_, elems, err := oprf.Blind(s.cur.Load().ixs.Key.Public(), [][]byte{oprf.Input(1)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return wire.AppendRequest(nil, &wire.Request{Bits: 12, Prefix: 0, Elements: elems})
}

// post sends a private query from remote (host:port) with the headers
// hdr (name, value pairs).
func post(s *Server, body []byte, remote string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", privateapi.QueryPath, bytes.NewReader(body))
	r.RemoteAddr = remote
	r.Header.Set("Content-Type", "application/octet-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

// checkNoCredentials fails if an answer allows credentials: never.
func checkNoCredentials(t *testing.T, name string, w *httptest.ResponseRecorder) {
	t.Helper()
	if v := w.Header().Values("Access-Control-Allow-Credentials"); v != nil {
		t.Errorf("%s: Access-Control-Allow-Credentials %q", name, v)
	}
}

func TestCORSPreflight(t *testing.T) {
	s := corsServer(t)
	preflight := func(path, origin, method, headers string) *httptest.ResponseRecorder {
		t.Helper()
		w := do(t, s, "OPTIONS", path, "Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
		checkNoCredentials(t, "OPTIONS "+path, w)
		return w
	}
	for _, c := range []struct {
		path, method, headers string
		allowMethods          string
		allowHeaders          string
	}{
		{"/range/ABCDE", "GET", "add-padding", "GET, HEAD", "Add-Padding"},
		{privateapi.QueryPath, "POST", "add-padding,content-type", "POST", "Add-Padding, Content-Type"},
		{"/v1/datasets", "GET", "", "GET, HEAD", ""},
		{"/v1/stats", "GET", "", "GET, HEAD", ""},
	} {
		for _, origin := range []string{listedOrigin, "http://localhost:3000"} {
			w := preflight(c.path, origin, c.method, c.headers)
			h := w.Header()
			if w.Code != http.StatusNoContent || w.Body.Len() != 0 {
				t.Errorf("preflight %s from %s: %d %q, want 204 and no body", c.path, origin, w.Code, w.Body)
			}
			if got := h.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("preflight %s from %s: Access-Control-Allow-Origin %q", c.path, origin, got)
			}
			if got := h.Get("Access-Control-Allow-Methods"); got != c.allowMethods {
				t.Errorf("preflight %s: Access-Control-Allow-Methods %q, want %q", c.path, got, c.allowMethods)
			}
			if got := h.Get("Access-Control-Allow-Headers"); got != c.allowHeaders {
				t.Errorf("preflight %s: Access-Control-Allow-Headers %q, want %q", c.path, got, c.allowHeaders)
			}
			if got := h.Get("Access-Control-Max-Age"); got != "7200" {
				t.Errorf("preflight %s: Access-Control-Max-Age %q, want 7200", c.path, got)
			}
			if got := h.Get("Vary"); got != "Origin, Access-Control-Request-Method, Access-Control-Request-Headers" {
				t.Errorf("preflight %s: Vary %q", c.path, got)
			}
		}
		// An unlisted origin: 403, nothing a browser would take as leave.
		w := preflight(c.path, unlistedOrigin, c.method, c.headers)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("preflight %s from an unlisted origin: %d %q, want 403", c.path, w.Code, w.Body)
		}
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
			if v := w.Header().Values(k); v != nil {
				t.Errorf("preflight %s from an unlisted origin: %s %q", c.path, k, v)
			}
		}
		if got := w.Header().Get("Vary"); !strings.Contains(got, "Origin") {
			t.Errorf("preflight %s from an unlisted origin: Vary %q", c.path, got)
		}
		// "null" (a sandboxed page, a file) is no listed origin either.
		if w := preflight(c.path, "null", c.method, c.headers); w.Code != http.StatusForbidden {
			t.Errorf("preflight %s from null: %d", c.path, w.Code)
		}
	}
	// The public documents: any origin, "*".
	for _, p := range []string{privateapi.KeyPath, "/openapi.json"} {
		for _, origin := range []string{listedOrigin, unlistedOrigin} {
			w := preflight(p, origin, "GET", "")
			if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "*" ||
				w.Header().Get("Access-Control-Allow-Methods") != "GET, HEAD" {
				t.Errorf("preflight %s from %s: %d %v", p, origin, w.Code, w.Header())
			}
		}
	}
	// No cross-origin access to the operators' routes, nor to routes that
	// do not exist.
	for p, code := range map[string]int{"/healthz": 405, "/metrics": 405, "/nope": 404} {
		w := preflight(p, listedOrigin, "GET", "")
		if w.Code != code || w.Header().Get("Access-Control-Allow-Methods") != "" {
			t.Errorf("preflight %s: %d %v, want %d without CORS leave", p, w.Code, w.Header(), code)
		}
		if p != "/nope" && w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %s: Access-Control-Allow-Origin %q", p, w.Header().Get("Access-Control-Allow-Origin"))
		}
	}
	// OPTIONS without a preflight's headers is as before: 405 with Allow.
	w := do(t, s, "OPTIONS", "/range/ABCDE")
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("plain OPTIONS: %d %v", w.Code, w.Header())
	}
	w = do(t, s, "OPTIONS", "/range/ABCDE", "Origin", listedOrigin) // an actual OPTIONS from a page
	if w.Code != 405 || w.Header().Get("Access-Control-Allow-Origin") != listedOrigin {
		t.Errorf("OPTIONS from a listed page: %d %v, want a 405 the page can read", w.Code, w.Header())
	}
}

func TestCORSRequests(t *testing.T) {
	s := corsServer(t)
	// readable wants an answer a page of origin may read: its origin
	// (never "*"), Vary: Origin, the headers it needs exposed.
	readable := func(name string, w *httptest.ResponseRecorder, origin string) {
		t.Helper()
		checkNoCredentials(t, name, w)
		h := w.Header()
		if got := h.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != origin {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", name, got, origin)
		}
		if got := h.Get("Access-Control-Expose-Headers"); got != "Retry-After, ETag" {
			t.Errorf("%s: Access-Control-Expose-Headers %q", name, got)
		}
		if !strings.Contains(h.Get("Vary"), "Origin") {
			t.Errorf("%s: Vary %q lacks Origin", name, h.Get("Vary"))
		}
	}
	// unreadable wants an answer without CORS leave, but Vary: Origin,
	// so that a cache does not give it to a listed origin.
	unreadable := func(name string, w *httptest.ResponseRecorder) {
		t.Helper()
		checkNoCredentials(t, name, w)
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Expose-Headers"} {
			if v := w.Header().Values(k); v != nil {
				t.Errorf("%s: %s %q", name, k, v)
			}
		}
		if !strings.Contains(w.Header().Get("Vary"), "Origin") {
			t.Errorf("%s: Vary %q lacks Origin", name, w.Header().Get("Vary"))
		}
	}

	for _, c := range []struct {
		path string
		hdr  []string
		code int
	}{
		{"/range/ABCDE", []string{"Add-Padding", "true", "Accept", "application/json"}, 200},
		{"/range/ABCDE", nil, 200},
		{"/range/XYZ", nil, 400},
		{"/v1/datasets", nil, 200},
		{"/v1/stats", nil, 200},
		{"/nope", nil, 404},
	} {
		name := "GET " + c.path
		w := do(t, s, "GET", c.path, append([]string{"Origin", listedOrigin}, c.hdr...)...)
		if w.Code != c.code {
			t.Errorf("%s: %d, want %d", name, w.Code, c.code)
		}
		readable(name+" from a listed origin", w, listedOrigin)
		unreadable(name+" from an unlisted origin", do(t, s, "GET", c.path, append([]string{"Origin", unlistedOrigin}, c.hdr...)...))
		unreadable(name+" without Origin", do(t, s, "GET", c.path, c.hdr...))
	}
	w := do(t, s, "GET", "/range/ABCDE", "Origin", listedOrigin)
	if got := w.Header().Get("Vary"); got != "Accept, Add-Padding, Origin" {
		t.Errorf("range: Vary %q", got)
	}
	if w.Header().Get("Etag") == "" {
		t.Error("range: no ETag to expose")
	}
	// A conditional request: the 304 is readable too.
	w = do(t, s, "GET", "/range/ABCDE", "Origin", listedOrigin, "If-None-Match", w.Header().Get("Etag"))
	if w.Code != 304 {
		t.Errorf("conditional range: %d", w.Code)
	}
	readable("304", w, listedOrigin)

	// Private queries: a listed origin's is answered and readable, and
	// so is its 429 with Retry-After.
	body := query(t, s)
	w = post(s, body, "192.0.2.1:1", "Origin", listedOrigin, "Add-Padding", "true")
	if w.Code != 200 {
		t.Fatalf("query from a listed origin: %d %s", w.Code, w.Body)
	}
	readable("query", w, listedOrigin)
	w = post(s, body, "192.0.2.1:1", "Origin", listedOrigin)
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second query: %d %v, want 429 with Retry-After", w.Code, w.Header())
	}
	readable("429", w, listedOrigin)
	// An unlisted origin's query is refused before it spends anything:
	// the client's one evaluation is still there afterwards.
	for range 3 {
		w = post(s, body, "192.0.2.2:1", "Origin", unlistedOrigin)
		if w.Code != 403 {
			t.Fatalf("query from an unlisted origin: %d, want 403", w.Code)
		}
		unreadable("query from an unlisted origin", w)
	}
	// The page this server serves at / is same-origin: its POST carries
	// an Origin naming the server's own host, listed or not. A page of
	// another site cannot make the two agree (the browser sets both).
	for _, c := range []struct{ origin, host string }{
		{"http://127.0.0.1:8080", "127.0.0.1:8080"},
		{"https://check.example.org", "check.example.org:443"},
		{"http://Check.Example.org", "check.example.org"},
	} {
		r := httptest.NewRequest("POST", privateapi.QueryPath, bytes.NewReader(body))
		r.RemoteAddr, r.Host = "192.0.2.3:1", c.host
		r.Header.Set("Origin", c.origin)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code == 403 {
			t.Errorf("same-origin query (Origin %s, Host %s) refused", c.origin, c.host)
		}
		r.Host = "other.example.org"
		w = httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 403 {
			t.Errorf("query with Origin %s to Host %s: %d, want 403", c.origin, r.Host, w.Code)
		}
	}
	// Behind a reverse proxy that rewrites Host, the browser's
	// Sec-Fetch-Site still says same-origin; and it decides when present.
	for _, c := range []struct {
		site string
		want bool
	}{{"same-origin", true}, {"same-site", false}, {"cross-site", false}, {"none", false}} {
		r := httptest.NewRequest("POST", privateapi.QueryPath, bytes.NewReader(body))
		r.RemoteAddr, r.Host = "192.0.2.4:1", "127.0.0.1:8080"
		r.Header.Set("Origin", "https://check.example.org")
		r.Header.Set("Sec-Fetch-Site", c.site)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if (w.Code != 403) != c.want {
			t.Errorf("query with Sec-Fetch-Site %s behind a proxy: %d", c.site, w.Code)
		}
	}
	r := httptest.NewRequest("POST", privateapi.QueryPath, bytes.NewReader(body))
	r.RemoteAddr, r.Host = "192.0.2.5:1", "check.example.org"
	r.Header.Set("Origin", "https://check.example.org")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := httptest.NewRecorder(); true {
		s.ServeHTTP(w, r)
		if w.Code != 403 {
			t.Errorf("Sec-Fetch-Site cross-site with a matching Host: %d, want 403 (the browser's word decides)", w.Code)
		}
	}
	if w = post(s, body, "192.0.2.2:1", "Origin", "null"); w.Code != 403 {
		t.Errorf("query from null: %d, want 403", w.Code)
	}
	if w = post(s, body, "192.0.2.2:1"); w.Code != 200 {
		t.Errorf("query without Origin after refused ones: %d, want 200 (nothing spent)", w.Code)
	}
	unreadable("query without Origin", w)

	// The key document and /openapi.json: "*" for anyone, with or
	// without Origin; no Vary needed.
	for _, p := range []string{privateapi.KeyPath, "/openapi.json"} {
		for _, hdr := range [][]string{nil, {"Origin", listedOrigin}, {"Origin", unlistedOrigin}} {
			w := do(t, s, "GET", p, hdr...)
			checkNoCredentials(t, p, w)
			if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("GET %s %v: %d, Access-Control-Allow-Origin %q, want *", p, hdr, w.Code, w.Header().Get("Access-Control-Allow-Origin"))
			}
		}
	}
	// Operators' routes: nothing cross-origin.
	for _, p := range []string{"/healthz", "/metrics"} {
		w := do(t, s, "GET", p, "Origin", listedOrigin)
		if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("GET %s: %d %v", p, w.Code, w.Header())
		}
	}
}

// TestCORSOff: a server with no origin listed answers ranges as it did
// before CORS (no Vary: Origin, no CORS header whatever the Origin),
// still gives "*" on the public documents, and refuses every page's
// private query.
func TestCORSOff(t *testing.T) {
	s := newMixedServerOpts(t, Options{})
	for _, hdr := range [][]string{nil, {"Origin", listedOrigin}} {
		w := do(t, s, "GET", "/range/ABCDE", hdr...)
		if w.Code != 200 || w.Header().Get("Vary") != "Accept, Add-Padding" {
			t.Errorf("range %v: %d, Vary %q", hdr, w.Code, w.Header().Get("Vary"))
		}
		for k := range w.Header() {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("range %v: %s", hdr, k)
			}
		}
	}
	w := do(t, s, "OPTIONS", "/range/ABCDE", "Origin", listedOrigin, "Access-Control-Request-Method", "GET")
	if w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight: %d %v, want 403", w.Code, w.Header())
	}
	if w := do(t, s, "GET", privateapi.KeyPath); w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("key document: %v", w.Header())
	}
	body := query(t, s)
	if w := post(s, body, "192.0.2.1:1", "Origin", listedOrigin); w.Code != 403 {
		t.Errorf("query from a page: %d, want 403", w.Code)
	}
	if w := post(s, body, "192.0.2.1:1"); w.Code != 200 {
		t.Errorf("query without Origin: %d", w.Code)
	}
}

// TestRangeNeverStar: whatever the origin and the request, a range
// answer never carries "Access-Control-Allow-Origin: *".
func TestRangeNeverStar(t *testing.T) {
	for _, s := range []*Server{corsServer(t), newMixedServerOpts(t, Options{})} {
		for _, origin := range []string{"", listedOrigin, unlistedOrigin, "null", "*"} {
			for _, m := range []string{"GET", "HEAD", "OPTIONS", "POST"} {
				for _, p := range []string{"/range/ABCDE", "/range/XYZ", "/range/ABCDE?x"} {
					var hdr []string
					if origin != "" {
						hdr = []string{"Origin", origin, "Access-Control-Request-Method", "GET"}
					}
					w := do(t, s, m, p, hdr...)
					checkNoCredentials(t, p, w)
					for _, v := range w.Header().Values("Access-Control-Allow-Origin") {
						if v == "*" || v != listedOrigin {
							t.Errorf("%s %s from %q: Access-Control-Allow-Origin %q", m, p, origin, v)
						}
					}
				}
			}
		}
	}
}
