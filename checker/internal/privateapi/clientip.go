package privateapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The headers a trusted proxy may name the client in ([Options].ProxyHeader).
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded" // RFC 7239, its for= parameter
)

// ProxyClientID returns a [Options].ClientID for a server behind proxies
// at the trusted addresses: when the connection comes from inside a
// trusted range, the client is the rightmost address of header (one
// list, however many lines it spans, ending with the connection's
// address) that is not itself trusted, as nginx's real_ip_recursive
// finds it; the leftmost if every one is. A connection from anywhere
// else, or a list whose rightmost untrusted entry is not an address
// (garbage, "unknown", an obfuscated name, an empty entry), counts
// against the connection's address, as [RemoteClientID] does: nothing a
// client writes left of what the trusted proxies appended is read. IPv6
// clients are grouped by /64, as [RemoteClientID] groups them.
//
// header is [HeaderXForwardedFor] ("" means it) or [HeaderForwarded]:
// only that one is read, never both, or a client could pick whichever
// its proxy does not overwrite.
func ProxyClientID(trusted []netip.Prefix, header string) (func(*http.Request) string, error) {
	t := proxyTrust{header: http.CanonicalHeaderKey(header)}
	switch t.header {
	case "":
		t.header = HeaderXForwardedFor
	case HeaderXForwardedFor, HeaderForwarded:
	default:
		return nil, fmt.Errorf("checker: proxy header %q: want %s or %s", header, HeaderXForwardedFor, HeaderForwarded)
	}
	for _, p := range trusted {
		if !p.IsValid() {
			return nil, fmt.Errorf("checker: trusted proxy range %v is not a valid prefix", p)
		}
		t.prefixes = append(t.prefixes, unmapPrefix(p).Masked())
	}
	return func(r *http.Request) string {
		a := t.client(r)
		if !a.IsValid() {
			return RemoteClientID(r)
		}
		return addrID(a)
	}, nil
}

// unmapPrefix turns an IPv4-mapped IPv6 prefix (::ffff:10.0.0.0/104) into
// its IPv4 one (10.0.0.0/8): addresses are unmapped before they are
// matched.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}

type proxyTrust struct {
	prefixes []netip.Prefix
	header   string // canonical
}

func (t *proxyTrust) trusted(a netip.Addr) bool {
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// client returns the client's address, or an invalid one if the
// connection's address does not parse.
func (t *proxyTrust) client(r *http.Request) netip.Addr {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() || !t.trusted(peer) {
		return peer
	}
	// The list is the header's entries, in order across its lines (RFC
	// 9110: as if joined with commas), then the peer. Walk it from the
	// right: each entry was written by the hop to its right.
	var items []string
	for _, line := range r.Header.Values(t.header) {
		items = append(items, strings.Split(line, ",")...)
	}
	leftmost := peer
	for i := len(items) - 1; i >= 0; i-- {
		var a netip.Addr
		if t.header == HeaderForwarded {
			a = forwardedFor(items[i])
		} else {
			a = parseHop(items[i])
		}
		if !a.IsValid() {
			// A trusted hop wrote what is not an address: whatever is left
			// of it came from the client. Count against the peer.
			return peer
		}
		if !t.trusted(a) {
			return a
		}
		leftmost = a
	}
	return leftmost
}

// peerAddr parses a connection's address, host:port or a bare host.
func peerAddr(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a.Unmap()
}

// parseHop parses one entry of a forwarding list: an address, bracketed
// or not for IPv6, with or without a port. Anything else (names,
// "unknown", zones, empty) is invalid.
func parseHop(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		s = ap.Addr().String()
	} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}
	}
	return a.Unmap()
}

// forwardedFor returns the address of the for= parameter of one element
// of a Forwarded header (RFC 7239: for=192.0.2.60;proto=http,
// for="[2001:db8::17]:4711"); invalid if there is none or it is not an
// address ("unknown", an obfuscated "_name").
func forwardedFor(elem string) netip.Addr {
	for pair := range strings.SplitSeq(elem, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "for") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return parseHop(v)
	}
	return netip.Addr{}
}

// addrID is the client id of an address: an IPv4 address itself, the /64
// network of an IPv6 one.
func addrID(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
