//go:build unix

package main

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker"
)

// xffTransport adds the X-Forwarded-For a proxy in front would set.
type xffTransport struct{ xff string }

func (x xffTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", x.xff)
	return http.DefaultTransport.RoundTrip(r)
}

// TestServeTrustedProxy runs 'phonecheck serve --private' with a burst
// of one check: two clients behind a trusted proxy (this test, on
// 127.0.0.1) get an allowance each; without --trusted-proxy they share
// the proxy's one; and a client's own X-Forwarded-For, which the proxy
// appends to, names nobody.
func TestServeTrustedProxy(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, args := range [][]string{
		{"build", "--quiet", "--out", p("plain.idx"), "--manifest", filepath.Join("..", "..", "testdata", "demo", "manifest.toml")},
		{"keygen", "--out", p("server.key")},
		{"seal", "--quiet", "--key", p("server.key"), "--in", p("plain.idx"), "--out", p("private.idx")},
	} {
		if code, _, errOut := runPC(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, errOut)
		}
	}
	check := func(url, xff string) error {
		t.Helper()
		pc := &checker.PrivateClient{BaseURL: url, MaxWait: -1, HTTP: &http.Client{Transport: xffTransport{xff}}}
		_, err := pc.Check(context.Background(), "+1 415 555 0132", "")
		return err
	}
	for _, trusted := range []bool{true, false} {
		args := []string{"--private", "--key", p("server.key"), "--index", p("private.idx"),
			"--rate", "0.001", "--burst", "1", "--max-elements", "1"}
		if trusted {
			args = append(args, "--trusted-proxy", "192.0.2.0/24, 127.0.0.1", "--trusted-proxy", "::1")
		}
		var errOut lockedBuffer
		url, stop := startServe(t, &errOut, args...)
		line := "requests from the trusted proxies 192.0.2.0/24, 127.0.0.1/32, ::1/128 count against the client their X-Forwarded-For names"
		if got := strings.Contains(errOut.String(), line); got != trusted {
			t.Errorf("trusted %v: start-up lines (want the trusted proxies: %v):\n%s", trusted, trusted, errOut.String())
		}
		if err := check(url, "203.0.113.1"); err != nil {
			t.Fatalf("trusted %v: first client: %v", trusted, err)
		}
		// The first client again, having written its own X-Forwarded-For
		// to pass for someone else: the proxy appended the real address.
		if err := check(url, "203.0.113.99, 203.0.113.1"); err == nil || !strings.Contains(err.Error(), "rate") {
			t.Errorf("trusted %v: first client, spoofing: %v, want rate limited", trusted, err)
		}
		err := check(url, "203.0.113.2, 192.0.2.10") // behind a second trusted proxy
		if trusted && err != nil {
			t.Errorf("second client behind trusted proxies: %v", err)
		}
		if !trusted && (err == nil || !strings.Contains(err.Error(), "rate")) {
			t.Errorf("second client, no trusted proxy: %v, want rate limited (one allowance for the proxy)", err)
		}
		stop()
		if strings.Contains(errOut.String(), "203.0.113.") {
			t.Errorf("serve logged a client address: %s", errOut.String())
		}
	}
}

func TestServeTrustedProxyUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--trusted-proxy", "10.0.0.0/8"}, "only go with --private"},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "10.0.0.0/33"}, `"10.0.0.0/33" is not a CIDR range`},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "proxy.example.org"}, `"proxy.example.org" is not an IP address`},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "10.0.0.1/8"}, "did you mean 10.0.0.0/8?"},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "0.0.0.0/0"}, "trusts every address"},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "::/0"}, "trusts every address"},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "10.0.0.1,"}, "an empty range"},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "fe80::1%eth0"}, "not an IP address"},
		{[]string{"--private", "--key", "k", "--index", "i", "--trusted-proxy", "10.0.0.1", "--proxy-header", "X-Real-IP"}, `--proxy-header "X-Real-IP": want X-Forwarded-For or Forwarded`},
		{[]string{"--private", "--key", "k", "--index", "i", "--proxy-header", "Forwarded"}, "--proxy-header goes with --trusted-proxy"},
	} {
		code, _, errOut := runPC(t, append([]string{"serve"}, tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %s: exit %d, stderr %q; want 2 and %q", strings.Join(tc.args, " "), code, errOut, tc.want)
		}
	}
}
