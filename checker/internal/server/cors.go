package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// Cross-origin access (CORS) lets a web page served from another origin
// (a CDN) call the API from a browser. Which answers a page may read is
// decided per route:
//
//   - The private key document and /openapi.json carry
//     "Access-Control-Allow-Origin: *" for everyone: they are the same
//     public documents for every client (clients pin the key from a
//     source they trust; an export puts the key document on a CDN).
//   - Everything else a page may call (/range, the private query,
//     /v1/datasets, /v1/stats) is readable by the listed origins only
//     ([Options.AllowOrigins]), errors included (a page must read a 429's
//     Retry-After). Plain ranges above all: plain-hash ranges are
//     reversible, and a plain server is meant for trusted clients, often
//     on loopback or an intranet; with "*" any web site a user visits
//     could read the plain index through the user's browser, from where
//     the user's browser reaches it. The private query evaluates under
//     the user's rate allowance: a page from an unlisted origin must not
//     spend it, so its POST is refused before any evaluation (a POST with
//     Content-Type text/plain needs no preflight, so the absence of CORS
//     headers alone would not stop it). /v1/datasets and /v1/stats
//     describe the plain index on a plain server, so they follow it.
//   - /healthz and /metrics are for operators: no cross-origin access.
//
// Credentials are never allowed (no Access-Control-Allow-Credentials):
// the API has no cookies or logins, and the rate limit goes by address.

// corsRule is what a route allows cross-origin.
type corsRule struct {
	public  bool     // "Access-Control-Allow-Origin: *" on every answer
	methods []string // Access-Control-Allow-Methods of a preflight
	headers []string // Access-Control-Allow-Headers of a preflight; nil: none
}

var (
	corsGet     = []string{"GET, HEAD"}
	corsPost    = []string{"POST"}
	corsPublic  = &corsRule{public: true, methods: corsGet}
	corsRange   = &corsRule{methods: corsGet, headers: []string{"Add-Padding"}}
	corsInfo    = &corsRule{methods: corsGet}
	corsQuery   = &corsRule{methods: corsPost, headers: []string{"Add-Padding, Content-Type"}}
	corsUnknown = &corsRule{} // a readable 404 for listed origins; no preflight
)

// corsRuleOf returns the rule of a route; nil means no cross-origin
// access.
func corsRuleOf(route string) *corsRule {
	switch route {
	case routeRange:
		return corsRange
	case routePrivateQuery:
		return corsQuery
	case routeDatasets, routeStats:
		return corsInfo
	case routePrivateKey, routeOpenAPI:
		return corsPublic
	case routeOther:
		return corsUnknown
	}
	return nil
}

// corsMaxAge is how long a browser may keep a preflight's answer: 2
// hours, Chromium's cap (Firefox keeps up to 24 hours). A longer value
// would only make Firefox and Chromium differ; the answer never changes
// while the server runs, and a removed origin loses access on its next
// request whatever the browser cached (its answers lack the header, its
// POSTs are refused).
const corsMaxAge = "7200"

var (
	hdrStar          = []string{"*"}
	hdrCORSMaxAge    = []string{corsMaxAge}
	hdrExpose        = []string{"Retry-After, ETag"}
	hdrVaryOrigin    = []string{"Origin"}
	hdrVaryRangeCORS = []string{"Accept, Add-Padding, Origin"}
	hdrVaryPreflight = []string{"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
)

// serveCORS adds the CORS headers of a request's answer to w, and answers
// the requests the policy answers itself: preflights, and private
// queries from unlisted origins. It reports whether it answered.
func (s *Server) serveCORS(w http.ResponseWriter, r *http.Request, route string) bool {
	rule := corsRuleOf(route)
	if rule == nil {
		return false
	}
	h := w.Header()
	preflight := r.Method == http.MethodOptions && r.Header["Origin"] != nil && r.Header["Access-Control-Request-Method"] != nil
	if rule.public {
		h["Access-Control-Allow-Origin"] = hdrStar
		if preflight {
			writePreflight(w, rule)
		}
		return preflight
	}
	var allow []string // the origin, as Access-Control-Allow-Origin
	if s.origins != nil {
		// The answer differs by Origin: caches (a CDN keeps ranges) must
		// keep apart the answers to each origin and to none.
		h["Vary"] = hdrVaryOrigin
		if o := r.Header["Origin"]; len(o) == 1 {
			allow = s.origins[o[0]]
		}
	}
	if allow != nil {
		h["Access-Control-Allow-Origin"] = allow
		h["Access-Control-Expose-Headers"] = hdrExpose
	}
	switch {
	case preflight && rule.methods == nil:
		h["Vary"] = hdrVaryPreflight
		writeError(w, http.StatusNotFound, "no such route")
		return true
	case preflight && allow == nil:
		// 403 rather than a 204 without CORS headers: the browser fails
		// the request either way, and a 403 says why in its console and
		// in the server's metrics.
		h["Vary"] = hdrVaryPreflight
		writeError(w, http.StatusForbidden, "cross-origin requests from this origin are not allowed")
		return true
	case preflight:
		writePreflight(w, rule)
		return true
	case route == routePrivateQuery && allow == nil && r.Header["Origin"] != nil && r.Method == http.MethodPost && !sameOrigin(r):
		writeError(w, http.StatusForbidden, "cross-origin private queries from this origin are not allowed")
		return true
	}
	return false
}

// sameOrigin reports whether a request comes from a page of the origin it
// was sent to: the page this server serves at /, whose POSTs carry an
// Origin header too (browsers send one on every POST). Browsers say so in
// Sec-Fetch-Site, which scripts cannot set, and which a reverse proxy
// passes on even when it rewrites Host (nginx's default); without it
// (older browsers), the Origin must name the Host the request came with.
func sameOrigin(r *http.Request) bool {
	if site := r.Header["Sec-Fetch-Site"]; len(site) == 1 {
		return site[0] == "same-origin"
	}
	o := r.Header["Origin"]
	if len(o) != 1 {
		return false
	}
	scheme, host, ok := strings.Cut(o[0], "://")
	if !ok {
		return false
	}
	return strings.EqualFold(stripDefaultPort(scheme, host), stripDefaultPort(scheme, r.Host))
}

func stripDefaultPort(scheme, host string) string {
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return host[:len(host)-3]
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return host[:len(host)-4]
	}
	return host
}

// writePreflight answers a preflight the rule allows; the
// Access-Control-Allow-Origin header is set.
func writePreflight(w http.ResponseWriter, rule *corsRule) {
	h := w.Header()
	h["Access-Control-Allow-Methods"] = rule.methods
	if rule.headers != nil {
		h["Access-Control-Allow-Headers"] = rule.headers
	}
	h["Access-Control-Max-Age"] = hdrCORSMaxAge
	h["Vary"] = hdrVaryPreflight
	w.WriteHeader(http.StatusNoContent)
}

// ParseOrigin checks a web origin for [Options.AllowOrigins] and returns
// it as browsers send it in an Origin header: "http" or "https", "://",
// the host in lower case (an IPv6 address in brackets), and the port
// unless it is the scheme's default. "*" is refused: see [Server].
func ParseOrigin(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("checker: origin %q %s", s, why)
	}
	if s == "*" {
		return bad("is not accepted: a page from any web site could then read plain ranges and spend users' evaluations through their browsers; list each page's origin")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || scheme != "http" && scheme != "https" {
		return bad("is not scheme://host[:port] with scheme http or https, e.g. https://app.example.org")
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return bad("has a path, query or fragment: an origin is scheme://host[:port] only")
	}
	if strings.Contains(rest, "@") {
		return bad("holds a user name: an origin is scheme://host[:port] only")
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.HasSuffix(rest, "]") {
		host, port = rest[:i], rest[i+1:]
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" || port[0] == '0' {
			return bad("has a bad port: want 1 to 65535")
		}
	}
	host = strings.ToLower(host)
	if err := checkOriginHost(host); err != nil {
		return bad(err.Error())
	}
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if port != "" {
		return scheme + "://" + host + ":" + port, nil
	}
	return scheme + "://" + host, nil
}

// checkOriginHost checks the host of an origin, in lower case: a DNS
// name in ASCII (an internationalized name in its xn-- form, as browsers
// send it), an IPv4 address, or an IPv6 address in brackets.
func checkOriginHost(host string) error {
	if strings.HasPrefix(host, "[") {
		a, err := netip.ParseAddr(strings.TrimSuffix(host[1:], "]"))
		if !strings.HasSuffix(host, "]") || err != nil || !a.Is6() || a.Zone() != "" {
			return errors.New("has a bad IPv6 address")
		}
		return nil
	}
	if host == "" {
		return errors.New("has no host")
	}
	for _, c := range []byte(host) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.':
		case c >= 0x80:
			return errors.New("has a host that is not ASCII: give an internationalized name in its xn-- form")
		default:
			return errors.New("has a bad host name")
		}
	}
	return nil
}

// parseOrigins returns the set of allowed origins, each mapped to its
// Access-Control-Allow-Origin value; nil if there are none.
func parseOrigins(list []string) (map[string][]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string][]string, len(list))
	for _, s := range list {
		o, err := ParseOrigin(s)
		if err != nil {
			return nil, err
		}
		m[o] = []string{o}
	}
	return m, nil
}
