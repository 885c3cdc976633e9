package privateapi

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestRemoteClientID(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.7:1234", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:1", "192.0.2.7"}, // IPv4-mapped: the IPv4 client
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:80", "2001:db8:1:2::/64"}, // same /64, same client
		{"[2001:db8:1:3::1]:80", "2001:db8:1:3::/64"},
		{"not an address", "not an address"},
	} {
		if got := RemoteClientID(&http.Request{RemoteAddr: tc.addr}); got != tc.want {
			t.Errorf("RemoteClientID(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestAllowSpendsPerClient(t *testing.T) {
	h := &Handler{lim: NewLimits(), opts: Options{Rate: 1, Burst: 3, MaxClients: 100}}
	if _, ok := h.allow(t.Context(), "a", 3); !ok {
		t.Fatal("a full burst was refused")
	}
	wait, ok := h.allow(t.Context(), "a", 1)
	if ok || wait < time.Second {
		t.Errorf("an empty bucket allowed one more (ok %v) or asked a wait of %v, under a second", ok, wait)
	}
	if _, ok := h.allow(t.Context(), "b", 3); !ok {
		t.Error("another client was charged for the first one's requests")
	}
	if wait, ok := h.allow(t.Context(), "c", 4); ok || wait != time.Hour {
		t.Errorf("more than the burst: ok %v, wait %v; want refused for an hour", ok, wait)
	}
	// A refused request spends nothing: after the refusal above, c still
	// has its whole burst.
	if _, ok := h.allow(t.Context(), "c", 3); !ok {
		t.Error("a refused request spent tokens")
	}
}

func TestAllowBoundsClientsKept(t *testing.T) {
	const maxClients = 50
	h := &Handler{lim: NewLimits(), opts: Options{Rate: 1, Burst: 10, MaxClients: maxClients}}
	for i := range 10 * maxClients {
		h.allow(t.Context(), "client-"+strconv.Itoa(i), 1)
		if n := len(h.lim.(*Limits).limiters); n > maxClients {
			t.Fatalf("after %d clients, %d limiters kept, more than %d", i+1, n, maxClients)
		}
	}
}

func TestLimitsOutliveAHandler(t *testing.T) {
	lim := NewLimits()
	opts := Options{Rate: 1, Burst: 2, MaxClients: 10}
	first := &Handler{lim: lim, opts: opts}
	if _, ok := first.allow(t.Context(), "a", 2); !ok {
		t.Fatal("a full burst was refused")
	}
	// A reload swaps in a new handler over the same limits: it forgives no one.
	second := &Handler{lim: lim, opts: opts}
	if _, ok := second.allow(t.Context(), "a", 1); ok {
		t.Error("a new handler over the same limits gave the client a fresh bucket")
	}
}
