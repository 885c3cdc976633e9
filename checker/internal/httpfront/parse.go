package httpfront

import (
	"bytes"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
)

// parse fills fc.req from head and reports whether the lean path takes
// the request (see the package documentation).
func (fc *conn) parse(head []byte) bool {
	s := fc.s
	line, rest, ok := bytes.Cut(head, []byte("\r\n"))
	if !ok {
		return false
	}
	method, line, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(line, []byte(" "))
	if !ok1 || !ok2 || string(proto) != "HTTP/1.1" {
		return false
	}
	var m string
	switch string(method) {
	case http.MethodGet:
		m = http.MethodGet
	case http.MethodHead:
		m = http.MethodHead
	case http.MethodPost:
		m = http.MethodPost
	default:
		return false
	}
	if len(target) == 0 || target[0] != '/' {
		return false
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f || c == '%' || c == '#' || c >= 0x80 {
			return false
		}
	}
	uri := string(target)
	path, rawQuery, hasQuery := strings.Cut(uri, "?")

	clear(fc.w.hdr)
	h := fc.reqHdr
	if h == nil {
		h = http.Header{}
		fc.reqHdr = h
	}
	clear(h)
	// A request with a body gets every header: its handler may read any
	// (a client address from a proxy's header), and reading the body
	// dwarfs the copies.
	every := s.named == nil || m == http.MethodPost
	hosts := 0
	connClose := false
	bodyLen := -1
	for len(rest) > 2 {
		var hl []byte
		hl, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		if len(hl) == 0 {
			break
		}
		colon := bytes.IndexByte(hl, ':')
		if colon <= 0 {
			return false
		}
		name, value := hl[:colon], bytes.Trim(hl[colon+1:], " \t")
		for _, c := range name {
			if !isTokenByte(c) {
				return false // obs-fold, spaces before the colon, ...
			}
		}
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return false
			}
		}
		switch {
		case asciiEqualFold(name, "host"):
			hosts++
			if fc.host != string(value) { // the same host as last time: no copy
				fc.host = string(value)
			}
		case asciiEqualFold(name, "connection"):
			v := string(value)
			for len(v) > 0 {
				var tok string
				tok, v, _ = strings.Cut(v, ",")
				tok = strings.Trim(tok, " \t")
				switch {
				case strings.EqualFold(tok, "close"):
					connClose = true
				case strings.EqualFold(tok, "upgrade"):
					return false
				}
			}
		case asciiEqualFold(name, "content-length"):
			if m != http.MethodPost || bodyLen >= 0 {
				return false
			}
			if bodyLen = parseContentLength(value); bodyLen < 0 {
				return false
			}
		case asciiEqualFold(name, "transfer-encoding"), asciiEqualFold(name, "expect"), asciiEqualFold(name, "upgrade"):
			return false
		default:
			if i := s.namedIndex(name); i >= 0 {
				fc.addHeader(h, s.named[i], value, i)
			} else if every {
				k := textproto.CanonicalMIMEHeaderKey(string(name))
				h[k] = append(h[k], string(value))
			}
		}
	}
	if hosts != 1 || !validHost(fc.host) {
		return false
	}
	if m == http.MethodPost && bodyLen < 0 {
		return false // a body of unknown length
	}
	fc.bodyLen = max(bodyLen, 0)
	fc.url = url.URL{Path: path}
	if hasQuery {
		fc.url.RawQuery = rawQuery
	}
	// A fresh request each time: nothing a handler set on the last one
	// (Form, a context, ...) carries over.
	fc.req = http.Request{
		Method: m, URL: &fc.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: http.NoBody, ContentLength: int64(fc.bodyLen), Close: connClose,
		Host: fc.host, RemoteAddr: fc.remote, RequestURI: uri,
	}
	if s.take != nil && !s.take(&fc.req) {
		return false
	}
	fc.w.reset(m == http.MethodHead, connClose)
	return true
}

// namedIndex returns the index of name in Config.Headers, or -1.
func (s *Server) namedIndex(name []byte) int {
	for i, l := range s.lower {
		if asciiEqualFold(name, l) {
			return i
		}
	}
	return -1
}

// maxBody caps the request bodies the lean path reads (a private query
// of the default size is ~4 KiB); longer ones go to net/http.
const maxBody = 64 << 10

// parseContentLength parses a Content-Length the lean path takes: 1 to 7
// digits, at most maxBody; -1 otherwise.
func parseContentLength(v []byte) int {
	if len(v) == 0 || len(v) > 7 {
		return -1
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if n > maxBody {
		return -1
	}
	return n
}

// addHeader adds a named header. A client tends to send the same value
// on every request of a connection: the value of the previous request is
// kept (slot) and reused when it matches, without a copy.
func (fc *conn) addHeader(h http.Header, name string, value []byte, slot int) {
	if _, dup := h[name]; !dup {
		if prev := fc.lastHdr[slot]; prev != nil && prev[0] == string(value) {
			h[name] = prev
			return
		}
		v := []string{string(value)}
		fc.lastHdr[slot] = v
		h[name] = v
		return
	}
	h[name] = append(slices.Clip(h[name]), string(value))
}

// isTokenByte reports a tchar of RFC 9110.
func isTokenByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// validHost accepts the characters of a host[:port] (registered names,
// IPv4 and bracketed IPv6); anything else goes to net/http.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether b, in any case, is lower.
func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
