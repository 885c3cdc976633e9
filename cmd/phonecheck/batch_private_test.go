//go:build unix

package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker"
)

// privateFixture builds the demo index, a key and the private index
// sealed under it in dir, with the CLI (seal given sealArgs), and returns
// the key id.
func privateFixture(t *testing.T, dir string, sealArgs ...string) string {
	t.Helper()
	p := func(name string) string { return filepath.Join(dir, name) }
	if code, _, errOut := runPC(t, "build", "--quiet", "--out", p("plain.idx"), "--manifest",
		filepath.Join("..", "..", "testdata", "demo", "manifest.toml")); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	code, out, errOut := runPC(t, "keygen", "--out", p("server.key"))
	if code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, append([]string{"seal", "--quiet", "--key", p("server.key"), "--in", p("plain.idx"), "--out", p("private.idx")}, sealArgs...)...); code != 0 {
		t.Fatalf("seal: exit %d: %s", code, errOut)
	}
	return regexp.MustCompile(`key id ([0-9a-f]{16})`).FindStringSubmatch(out)[1]
}

// privateHTTPServer serves the private index of dir like 'serve
// --private' does, in this process.
func privateHTTPServer(t *testing.T, dir string, opts checker.PrivateHandlerOptions) string {
	t.Helper()
	key, err := checker.LoadOPRFKey(filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	pix, err := checker.OpenPrivate(filepath.Join(dir, "private.idx"), key)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := checker.NewServerOf(checker.Indexes{Private: pix, Key: key},
		checker.ServerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Private: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

// subscribers is a subscriber file: numbers of the demo leak in several
// forms, fictional 555-01XX numbers that are not in it, and bad rows.
const subscribers = `subscriber,msisdn
s1,415-555-0132
s2,"+1 415 555 0133"
s3,12
s4,+44 20 7946 0321
s5,not given
s6,+1 (415) 555-0150
s7,(415) 555-0147
s8,+44 113 496 0219
s9,+61 2 5550 1234
s10,+1 415 555 0132
s11,+61 491 570 156
s12,212-555-0101
s13,
s14,+1 613 555 0142
`

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestBatchServer: batch --server against a private server writes the
// same results as batch --index against the plain index it was sealed
// from, in both formats, and its summary says what left the machine.
// A rate-limited run waits and completes; a server without private mode,
// or with another key than the pinned one, fails before any output.
func TestBatchServer(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	id := privateFixture(t, dir)
	if err := os.WriteFile(p("subs.csv"), []byte(subscribers), 0o600); err != nil {
		t.Fatal(err)
	}
	url := privateHTTPServer(t, dir, checker.PrivateHandlerOptions{Rate: -1})

	common := []string{"--quiet", "--region", "US", "--in", p("subs.csv"), "--id", "subscriber"}
	code, localOut, errOut := runPC(t, append([]string{"batch", "--index", p("plain.idx"), "--out", p("local.csv")}, common...)...)
	if code != 0 {
		t.Fatalf("batch --index: exit %d: %s", code, errOut)
	}
	code, out, errOut := runPC(t, append([]string{"batch", "--server", url, "--server-key", id, "--out", p("remote.csv")}, common...)...)
	if code != 0 {
		t.Fatalf("batch --server: exit %d: %s", code, errOut)
	}
	local, remote := readFile(t, p("local.csv")), readFile(t, p("remote.csv"))
	if remote != local {
		t.Errorf("batch --server results differ from batch --index:\n%s\nwant:\n%s", remote, local)
	}
	if n := strings.Count(local, ",exposed,"); n != 8 {
		t.Errorf("%d exposed rows, want 8:\n%s", n, local)
	}
	if st, err := os.Stat(p("remote.csv")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("results file: %v %v", st.Mode(), err)
	}
	stripTime := regexp.MustCompile(`in [0-9.]+[µm]?s \([0-9]+ rows/s\)`)
	firstLine := func(s string) string { return stripTime.ReplaceAllString(strings.SplitN(s, "\n", 2)[0], "") }
	if firstLine(out) != strings.Replace(firstLine(localOut), "local.csv", "remote.csv", 1) {
		t.Errorf("summary differs:\n%s\nwant:\n%s", firstLine(out), firstLine(localOut))
	}
	for _, want := range []string{
		"Private mode: sent 10 prefixes of 20 bits (10 bucket requests) and 10 blinded elements (1 evaluation request) to " + url,
		"no number left this machine", "verified against the server's key " + id + " (pinned)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, "4155550132") {
		t.Errorf("summary holds a number:\n%s%s", out, errOut)
	}

	// JSONL on standard output, only the exposed rows.
	code, localOut, _ = runPC(t, append([]string{"batch", "--index", p("plain.idx"), "--format", "jsonl", "--only-exposed"}, common...)...)
	code2, out, errOut := runPC(t, append([]string{"batch", "--server", url, "--format", "jsonl", "--only-exposed"}, common...)...)
	if code != 0 || code2 != 0 || out != localOut || strings.Count(out, "\n") != 8 {
		t.Errorf("jsonl: exit %d/%d:\n%s\nwant:\n%s\n%s", code, code2, out, localOut, errOut)
	}
	if !strings.Contains(errOut, "fetched from the server") {
		t.Errorf("unpinned key not said: %s", errOut)
	}

	// Rate limited: 2 evaluations at once, 4 a second; the run waits,
	// says so, and completes with the same results.
	slow := privateHTTPServer(t, dir, checker.PrivateHandlerOptions{Rate: 4, Burst: 2, MaxElements: 2})
	code, out, errOut = runPC(t, append([]string{"batch", "--server", slow, "--out", p("slow.csv")}, common...)...)
	if code != 0 {
		t.Fatalf("rate-limited batch: exit %d: %s", code, errOut)
	}
	if got := readFile(t, p("slow.csv")); got != local {
		t.Errorf("rate-limited results differ:\n%s", got)
	}
	for _, want := range []string{"is rate limiting this client (rate limited: 4 evaluations per second per client): waiting ", "higher --rate"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !regexp.MustCompile(`The server rate-limited this client [0-9]+ times`).MatchString(out) {
		t.Errorf("summary does not say the run was rate limited:\n%s", out)
	}

	// A limit so low that the wait would exceed batch's longest: the run
	// fails, says why, and writes no results.
	stuck := privateHTTPServer(t, dir, checker.PrivateHandlerOptions{Rate: 0.0001, Burst: 2, MaxElements: 2})
	code, _, errOut = runPC(t, append([]string{"batch", "--server", stuck, "--out", p("r3.csv")}, common...)...)
	if code != 1 || !strings.Contains(errOut, "server answered 429") || !strings.Contains(errOut, "r3.csv not written") ||
		!strings.Contains(errOut, "longer than batch waits (10m0s)") {
		t.Errorf("stuck rate limit: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(p("r3.csv")); err == nil {
		t.Errorf("a failed batch wrote its results file")
	}

	// A plain server: refused before anything is sent or written.
	plain := httptest.NewServer(mustPlainServer(t, p("plain.idx")))
	defer plain.Close()
	code, out, errOut = runPC(t, append([]string{"batch", "--server", plain.URL, "--out", p("r2.csv")}, common...)...)
	if code != 1 || out != "" || !strings.Contains(errOut, "offers no private mode") || !strings.Contains(errOut, "hint: batch --server sends no plain prefixes") {
		t.Errorf("plain server: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	// Another key than the pinned one.
	code, out, errOut = runPC(t, append([]string{"batch", "--server", url, "--server-key", "0123456789abcdef", "--out", p("r2.csv")}, common...)...)
	if code != 1 || out != "" || !strings.Contains(errOut, "refusing the server's key") {
		t.Errorf("wrong key: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	if _, err := os.Stat(p("r2.csv")); err == nil {
		t.Errorf("a refused batch wrote its results file")
	}
}

func mustPlainServer(t *testing.T, index string) *checker.Server {
	t.Helper()
	c, err := checker.Open(index)
	if err != nil {
		t.Fatal(err)
	}
	s, err := checker.NewServer(c, checker.ServerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
