//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Aruba mobile numbers: the library's example number, in the test leak,
// and one beside it that is not.
const (
	awExposed = "+297 560 1234"
	awClean   = "+297 560 1299"
)

// recordingProxy forwards to target and records the prefix bits of each
// private query (byte 2 of the request: see the wire format) and each
// range prefix, so that a test sees what left the device.
type recordingProxy struct {
	mu   sync.Mutex
	sent []string // "private/12", "range/C13"
}

func (rp *recordingProxy) start(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/private/query":
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if len(body) > 2 {
				rp.add("private/" + strconv.Itoa(int(body[2])))
			}
		case strings.HasPrefix(r.URL.Path, "/range/"):
			rp.add("range/" + strings.TrimPrefix(r.URL.Path, "/range/"))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (rp *recordingProxy) add(s string) {
	rp.mu.Lock()
	rp.sent = append(rp.sent, s)
	rp.mu.Unlock()
}

// take returns what was sent since the last call.
func (rp *recordingProxy) take() []string {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	out := rp.sent
	rp.sent = nil
	return out
}

// TestCheckSmallCountry: an Aruba number, too small a country for K at
// any length, is answered, not refused: against a private server at 12
// bits, with the count of numbers sharing the prefix and the offer of the
// 8-bit download with its size; with --prefix-bits 8, an 8-bit prefix is
// sent and the answer is right, exposed or not. A --min-anonymity given on
// the command line refuses, with what would do. Against a plain server,
// the same answer at 12 bits, and no 8-bit offer.
func TestCheckSmallCountry(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	leak := strings.Join([]string{awExposed, "+1 415 555 0132", "+1 415 555 0133", "+61 491 570 156"}, "\n") + "\n"
	if err := os.WriteFile(p("leak.txt"), []byte(leak), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"build", "--quiet", "--out", p("plain.idx"), "--dataset", "test-leak", p("leak.txt")},
		{"keygen", "--out", p("server.key")},
		{"seal", "--quiet", "--key", p("server.key"), "--in", p("plain.idx"), "--out", p("private.idx")},
	} {
		if code, _, errOut := runPC(t, args...); code != 0 {
			t.Fatalf("%s: exit %d: %s", args[0], code, errOut)
		}
	}

	// A private server, behind a proxy that records what is sent.
	var errOut lockedBuffer
	target, stop := startServe(t, &errOut, "--private", "--key", p("server.key"), "--index", p("private.idx"))
	var rp recordingProxy
	srv := rp.start(t, target)

	code, out, stderrOut := runPC(t, "check", "--server", srv, awExposed)
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderrOut)
	}
	for _, want := range []string{
		"+2975601234 (AW) is EXPOSED: it is in 1 dataset.",
		"Private mode: sent prefix C13 (12 bits) and a blinded element; your number is one of about 264 valid AW numbers with this prefix, fewer than the 1000 asked for: AW has few numbers.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`\nFor more privacy: --prefix-bits 8 downloads a larger answer \(about 4[0-9]{2}\.[0-9] KiB\) that hides it among about 4219\.\n`).MatchString(out) {
		t.Errorf("check output lacks the 8-bit offer:\n%s", out)
	}
	if s := rp.take(); len(s) != 1 || s[0] != "private/12" {
		t.Errorf("sent %v, want one private query of 12 bits", s)
	}

	// --json says the same.
	code, out, stderrOut = runPC(t, "check", "--json", "--server", srv, awExposed)
	var res checkJSON
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil {
		t.Fatalf("check --json: exit %d: %v %s", code, err, stderrOut)
	}
	if s := res.Sent; s == nil || s.Bits != 12 || !s.AnonymityShort || s.AnonymityUnknown || s.MinAnonymity != 1000 || int(s.Anonymity) != 263 ||
		s.Larger == nil || s.Larger.Bits != 8 || int(s.Larger.Anonymity) != 4218 || s.Larger.Bytes < 400_000 || s.Larger.Bytes > 500_000 {
		t.Errorf("check --json: %+v %+v", res.Sent, res.Sent.Larger)
	}
	rp.take()

	// --prefix-bits 8: an 8-bit prefix leaves, the answer is right.
	for _, tc := range []struct {
		number, want string
	}{
		{awExposed, "+2975601234 (AW) is EXPOSED: it is in 1 dataset."},
		{awClean, "+2975601299 (AW) is not in any of the 1 datasets of this server."},
		{"+1 415 555 0132", "+14155550132 (US) is EXPOSED: it is in 1 dataset."},
		{"+1 415 555 0199", "+14155550199 (US) is not in any of the 1 datasets of this server."},
	} {
		code, out, stderrOut = runPC(t, "check", "--server", srv, "--prefix-bits", "8", tc.number)
		if code != 0 || !strings.Contains(out, tc.want) || !strings.Contains(out, " (8 bits) and a blinded element; your number is one of about ") ||
			strings.Contains(out, "fewer than") || strings.Contains(out, "For more privacy") {
			t.Errorf("--prefix-bits 8 %s: exit %d\n%s%s", tc.number, code, out, stderrOut)
		}
		if s := rp.take(); len(s) != 1 || s[0] != "private/8" {
			t.Errorf("--prefix-bits 8 %s: sent %v", tc.number, s)
		}
	}
	code, out, _ = runPC(t, "check", "--server", srv, "--prefix-bits", "8", awClean)
	if code != 0 || !strings.Contains(out, "Private mode: sent prefix 52 (8 bits) and a blinded element; your number is one of about 4219 valid AW numbers with this prefix.\n") {
		t.Errorf("--prefix-bits 8: %s", out)
	}
	rp.take()

	// An explicit K refuses, says what would do, and sends nothing.
	code, out, stderrOut = runPC(t, "check", "--server", srv, "--min-anonymity", "1000", awExposed)
	if code != 1 || out != "" || !strings.Contains(stderrOut, "+297…34: nothing sent: checker: no prefix length gives the anonymity asked for: AW has about 264 valid numbers per 12-bit prefix, fewer than 1000") ||
		!strings.Contains(stderrOut, "hint: without --min-anonymity, check answers with a 12-bit prefix (about 264 AW numbers share it); --prefix-bits 8 hides it among about 4219, a larger download") {
		t.Errorf("--min-anonymity 1000: exit %d\n%s%s", code, out, stderrOut)
	}
	// With the larger download, it is met.
	if code, out, stderrOut = runPC(t, "check", "--server", srv, "--min-anonymity", "1000", "--prefix-bits", "8", awExposed); code != 0 || !strings.Contains(out, "EXPOSED") {
		t.Errorf("--min-anonymity 1000 --prefix-bits 8: exit %d\n%s%s", code, out, stderrOut)
	}
	// A length the server does not take is a usage error naming those it does.
	code, _, stderrOut = runPC(t, "check", "--server", srv, "--prefix-bits", "10", awExposed)
	if code != 2 || !strings.Contains(stderrOut, "check: --prefix-bits 10: the server takes 8, 12, 16 or 20 bits") {
		t.Errorf("--prefix-bits 10: exit %d: %s", code, stderrOut)
	}
	if s := rp.take(); len(s) != 1 || s[0] != "private/8" {
		t.Errorf("refusals sent %v (want only the 8-bit check)", s)
	}

	// A number read by the international retry (digits only, not valid
	// in US) says so in a remote check too; --strict refuses it before
	// anything is sent. Failures print what was found, not the output:
	// it holds the number.
	const auDigits = "61491570156"
	code, out, _ = runPC(t, "check", "--server", srv, "--region", "US", auDigits)
	if exposed, note := strings.Contains(out, "(AU) is EXPOSED"), strings.Contains(out, "\nnote: read as an international number: not valid in US. Is AU the country meant?"); code != 0 || !exposed || !note {
		t.Errorf("remote check of a retried number: exit %d, exposed %v, note %v", code, exposed, note)
	}
	code, out, _ = runPC(t, "check", "--json", "--server", srv, "--region", "US", auDigits)
	res = checkJSON{}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.Note != "read as an international number: not valid in US" {
		t.Errorf("remote check --json of a retried number: exit %d, %v, note %q", code, err, res.Note)
	}
	rp.take()
	code, _, stderrOut = runPC(t, "check", "--server", srv, "--region", "US", "--strict", auDigits)
	if code != 1 || !strings.Contains(stderrOut, "is not a valid phone number") || !strings.Contains(stderrOut, "read as international, it is a number of AU") {
		t.Errorf("remote check --strict of a retried number: exit %d: %s", code, stderrOut)
	}
	if s := rp.take(); len(s) != 0 {
		t.Errorf("a number --strict refuses sent %v", s)
	}
	stop()

	// A plain server: 12 bits, the same count, and no 8-bit download.
	var plainErr lockedBuffer
	target, _ = startServe(t, &plainErr, "--index", p("plain.idx"))
	var rpPlain recordingProxy
	srv = rpPlain.start(t, target)
	code, out, stderrOut = runPC(t, "check", "--server", srv, awExposed)
	if code != 0 || !strings.Contains(out, "+2975601234 (AW) is EXPOSED") ||
		!strings.Contains(out, "Plain mode: sent prefix C13 (12 bits); your number is one of about 264 valid AW numbers with this prefix, fewer than the 1000 asked for: AW has few numbers.\n") ||
		!strings.Contains(out, "No larger download to offer: this server takes no prefix shorter than 12 bits (a private server takes 8).\n") ||
		strings.Contains(out, "--prefix-bits 8") {
		t.Errorf("plain check: exit %d\n%s%s", code, out, stderrOut)
	}
	if s := rpPlain.take(); len(s) != 1 || s[0] != "range/C13" {
		t.Errorf("plain check: sent %v", s)
	}
	code, out, stderrOut = runPC(t, "check", "--json", "--server", srv, awExposed)
	res = checkJSON{}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.Sent == nil || !res.Sent.AnonymityShort || res.Sent.Larger != nil {
		t.Errorf("plain check --json: exit %d: %v\n%s%s", code, err, out, stderrOut)
	}
	code, _, stderrOut = runPC(t, "check", "--server", srv, "--prefix-bits", "8", awExposed)
	if code != 2 || !strings.Contains(stderrOut, "--prefix-bits 8: the server takes 12, 16, 20 or 24 bits") ||
		!strings.Contains(stderrOut, "hint: the plain range API takes no prefix under 12 bits; a private server (serve --private) takes 8") {
		t.Errorf("plain --prefix-bits 8: exit %d: %s", code, stderrOut)
	}
	if s := rpPlain.take(); len(s) != 1 {
		t.Errorf("plain checks sent %v, want the --json one only", s)
	}
	// --prefix-bits needs --server.
	if code, _, stderrOut = runPC(t, "check", "--prefix-bits", "8", awExposed); code != 2 || !strings.Contains(stderrOut, "--prefix-bits goes with --server URL") {
		t.Errorf("--prefix-bits without --server: exit %d: %s", code, stderrOut)
	}
}
