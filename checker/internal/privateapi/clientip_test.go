package privateapi

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/realclientip/realclientip-go"
)

// proxyTrusted are the proxies of the tests below: a LAN range, a lone
// IPv4 proxy, and an IPv6 range.
var proxyTrusted = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("198.51.100.7/32"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

// hdr builds a header of one or more lines of name.
func hdr(name string, lines ...string) http.Header {
	h := http.Header{}
	for _, l := range lines {
		h.Add(name, l)
	}
	return h
}

func TestProxyClientID(t *testing.T) {
	const xff, fwd = HeaderXForwardedFor, HeaderForwarded
	for _, tc := range []struct {
		name, peer string
		header     string // which header the server reads
		h          http.Header
		want       string
	}{
		// Untrusted peers: whatever they send, their own address.
		{"untrusted peer, spoofed XFF", "203.0.113.9:1", xff, hdr(xff, "192.0.2.1"), "203.0.113.9"},
		{"untrusted peer, spoofed trusted XFF", "203.0.113.9:1", xff, hdr(xff, "10.0.0.1"), "203.0.113.9"},
		{"untrusted peer, spoofed Forwarded", "203.0.113.9:1", fwd, hdr(fwd, "for=192.0.2.1"), "203.0.113.9"},
		{"untrusted IPv6 peer, spoofed", "[2001:db8:1:2::5]:1", xff, hdr(xff, "192.0.2.1"), "2001:db8:1:2::/64"},
		// One trusted proxy.
		{"trusted peer, no header", "10.1.2.3:1", xff, nil, "10.1.2.3"},
		{"trusted peer, XFF", "10.1.2.3:1", xff, hdr(xff, "192.0.2.1"), "192.0.2.1"},
		{"trusted lone proxy", "198.51.100.7:1", xff, hdr(xff, "192.0.2.1"), "192.0.2.1"},
		{"next to the lone proxy is not trusted", "198.51.100.8:1", xff, hdr(xff, "192.0.2.1"), "198.51.100.8"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:1", xff, hdr(xff, "192.0.2.1"), "192.0.2.1"},
		// A client's own XFF, appended to by the proxy: the proxy's entry wins.
		{"proxy appends to a spoofed XFF", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, 192.0.2.1"), "192.0.2.1"},
		{"proxy appends to a spoofed trusted XFF", "10.1.2.3:1", xff, hdr(xff, "10.9.9.9, 192.0.2.1"), "192.0.2.1"},
		{"spoofed line, proxy's line", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4", "192.0.2.1"), "192.0.2.1"},
		// Chained trusted proxies: CDN (2001:db8:ffff::) -> nginx (10/8) -> serve.
		{"chain", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, 192.0.2.1, 2001:db8:ffff::10"), "192.0.2.1"},
		{"chain over lines", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4", "192.0.2.1, 10.0.0.5", "2001:db8:ffff::10"), "192.0.2.1"},
		{"all trusted: the leftmost", "10.1.2.3:1", xff, hdr(xff, "10.0.0.9, 2001:db8:ffff::10, 10.0.0.5"), "10.0.0.9"},
		// IPv6 clients through the header: grouped by /64.
		{"IPv6 client", "10.1.2.3:1", xff, hdr(xff, "2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64"},
		{"IPv6 client, same /64", "10.1.2.3:1", xff, hdr(xff, "2001:db8:1:2:ffff::1"), "2001:db8:1:2::/64"},
		{"IPv6 client bracketed with port", "10.1.2.3:1", xff, hdr(xff, "[2001:db8:1:3::1]:443"), "2001:db8:1:3::/64"},
		{"IPv6 proxy", "[2001:db8:ffff::1]:1", xff, hdr(xff, "2001:db8:1:2::1"), "2001:db8:1:2::/64"},
		{"IPv4-mapped client", "10.1.2.3:1", xff, hdr(xff, "::ffff:192.0.2.1"), "192.0.2.1"},
		// Entries with ports, brackets, spaces.
		{"port", "10.1.2.3:1", xff, hdr(xff, "192.0.2.1:5555"), "192.0.2.1"},
		{"spaces", "10.1.2.3:1", xff, hdr(xff, "  192.0.2.1  ,10.0.0.1 "), "192.0.2.1"},
		// Malformed where the client should be: the peer, never further left.
		{"garbage", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, garbage"), "10.1.2.3"},
		{"unknown", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, unknown"), "10.1.2.3"},
		{"empty entry", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, "), "10.1.2.3"},
		{"empty line", "10.1.2.3:1", xff, hdr(xff, ""), "10.1.2.3"},
		{"host name", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, client.example.org"), "10.1.2.3"},
		{"zone", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, fe80::1%eth0"), "10.1.2.3"},
		{"half bracket", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, [2001:db8::1"), "10.1.2.3"},
		{"garbage behind a trusted hop", "10.1.2.3:1", xff, hdr(xff, "1.2.3.4, junk, 10.0.0.5"), "10.1.2.3"},
		// Garbage left of the client changes nothing.
		{"garbage left of the client", "10.1.2.3:1", xff, hdr(xff, "junk, unknown, , 192.0.2.1"), "192.0.2.1"},
		// Forwarded (RFC 7239).
		{"Forwarded", "10.1.2.3:1", fwd, hdr(fwd, "for=192.0.2.60;proto=http;by=203.0.113.43"), "192.0.2.60"},
		{"Forwarded case and quotes", "10.1.2.3:1", fwd, hdr(fwd, `For="192.0.2.60"`), "192.0.2.60"},
		{"Forwarded IPv6", "10.1.2.3:1", fwd, hdr(fwd, `for="[2001:db8:cafe::17]:4711"`), "2001:db8:cafe::/64"},
		{"Forwarded appended", "10.1.2.3:1", fwd, hdr(fwd, "for=1.2.3.4, for=192.0.2.60"), "192.0.2.60"},
		{"Forwarded chain", "10.1.2.3:1", fwd, hdr(fwd, "for=1.2.3.4", "for=192.0.2.60;proto=https, for=10.0.0.5"), "192.0.2.60"},
		{"Forwarded unknown", "10.1.2.3:1", fwd, hdr(fwd, "for=1.2.3.4, for=unknown"), "10.1.2.3"},
		{"Forwarded obfuscated", "10.1.2.3:1", fwd, hdr(fwd, "for=1.2.3.4, for=_hidden"), "10.1.2.3"},
		{"Forwarded no for", "10.1.2.3:1", fwd, hdr(fwd, "for=1.2.3.4, proto=https"), "10.1.2.3"},
		// Only the chosen header is read: the other is the client's to write.
		{"XFF server ignores Forwarded", "10.1.2.3:1", xff, http.Header{fwd: {"for=1.2.3.4"}, xff: {"192.0.2.1"}}, "192.0.2.1"},
		{"XFF server, Forwarded only", "10.1.2.3:1", xff, hdr(fwd, "for=1.2.3.4"), "10.1.2.3"},
		{"Forwarded server ignores XFF", "10.1.2.3:1", fwd, http.Header{fwd: {"for=192.0.2.60"}, xff: {"1.2.3.4"}}, "192.0.2.60"},
		{"Forwarded server, XFF only", "10.1.2.3:1", fwd, hdr(xff, "1.2.3.4"), "10.1.2.3"},
		// A peer that is not an address: as RemoteClientID.
		{"bad peer", "not an address", xff, hdr(xff, "192.0.2.1"), "not an address"},
	} {
		id, err := ProxyClientID(proxyTrusted, tc.header)
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{RemoteAddr: tc.peer, Header: tc.h}
		if got := id(r); got != tc.want {
			t.Errorf("%s: client %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestProxyClientIDOptions(t *testing.T) {
	if _, err := ProxyClientID(proxyTrusted, "X-Real-IP"); err == nil || !strings.Contains(err.Error(), "X-Real-IP") {
		t.Errorf("X-Real-IP: error %v, want one naming it", err)
	}
	if _, err := ProxyClientID([]netip.Prefix{{}}, ""); err == nil {
		t.Error("an invalid prefix was taken")
	}
	// "" is X-Forwarded-For; names are case-insensitive; an IPv4-mapped
	// range is its IPv4 one; a prefix with host bits set is its network.
	for _, h := range []string{"", "x-forwarded-for"} {
		id, err := ProxyClientID([]netip.Prefix{netip.MustParsePrefix("::ffff:10.1.2.3/104")}, h)
		if err != nil {
			t.Fatal(err)
		}
		r := &http.Request{RemoteAddr: "10.200.0.1:1", Header: hdr(HeaderXForwardedFor, "192.0.2.1")}
		if got := id(r); got != "192.0.2.1" {
			t.Errorf("header %q, mapped range: client %q, want 192.0.2.1", h, got)
		}
	}
}

// TestProxyClientIDMatchesRealclientip: wherever realclientip's
// RightmostTrustedRangeStrategy names a client, ProxyClientID names the
// same one (ours also walks the peer, takes the leftmost when all are
// trusted, and falls back to the peer where realclientip says "").
func TestProxyClientIDMatchesRealclientip(t *testing.T) {
	var nets []string
	for _, p := range proxyTrusted {
		nets = append(nets, p.String())
	}
	ranges, err := realclientip.AddressesAndRangesToIPNets(nets...)
	if err != nil {
		t.Fatal(err)
	}
	lists := [][]string{
		{"192.0.2.1"}, {"1.2.3.4, 192.0.2.1"}, {"1.2.3.4", "192.0.2.1, 10.0.0.5"},
		{"2001:db8:1:2::1, 2001:db8:ffff::3"}, {"[2001:db8:1:3::1]:443"}, {"192.0.2.1:80, 10.0.0.1"},
		{"1.2.3.4, junk"}, {"10.0.0.1, 10.0.0.2"}, {""},
	}
	n := 0
	for _, name := range []string{HeaderXForwardedFor, HeaderForwarded} {
		strat, err := realclientip.NewRightmostTrustedRangeStrategy(name, ranges)
		if err != nil {
			t.Fatal(err)
		}
		id, _ := ProxyClientID(proxyTrusted, name)
		for _, l := range lists {
			if name == HeaderForwarded {
				l = forwardedOf(l)
			}
			h := hdr(name, l...)
			want := strat.ClientIP(h, "10.0.0.1:1")
			if want == "" {
				continue
			}
			n++
			a, err := netip.ParseAddr(want)
			if err != nil {
				t.Fatal(err)
			}
			if got := id(&http.Request{RemoteAddr: "10.0.0.1:1", Header: h}); got != addrID(a) {
				t.Errorf("%s %q: client %q, realclientip %q", name, l, got, want)
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d lists compared", n)
	}
}

// forwardedOf writes XFF lines as Forwarded ones.
func forwardedOf(lines []string) []string {
	var out []string
	for _, l := range lines {
		var elems []string
		for e := range strings.SplitSeq(l, ",") {
			e = strings.TrimSpace(e)
			if strings.Contains(e, ":") && !strings.HasPrefix(e, "[") && strings.Count(e, ":") > 1 {
				e = "[" + e + "]"
			}
			elems = append(elems, `for="`+e+`"`)
		}
		out = append(out, strings.Join(elems, ", "))
	}
	return out
}
