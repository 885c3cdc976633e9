//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

// runPC runs one command line in this process and returns its exit
// status, stdout and stderr.
func runPC(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// startServe runs 'phonecheck serve args...' on a loopback listener and
// returns its base URL and a function that stops it (SIGTERM) and checks
// that it exited cleanly.
func startServe(t *testing.T, errOut *lockedBuffer, args ...string) (string, func()) {
	t.Helper()
	addrc := make(chan string, 1)
	testServeListening = func(addr string) { addrc <- addr }
	exit := make(chan int, 1)
	go func() {
		exit <- run(append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), &bytes.Buffer{}, errOut)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case code := <-exit:
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	testServeListening = nil
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("serve exited %d after SIGTERM: %s", code, errOut.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop on SIGTERM")
		}
	}
	t.Cleanup(stop)
	return "http://" + addr, stop
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServePrivate runs 'phonecheck serve --private' on a real loopback
// listener and 'phonecheck check --server' against it: exposed and
// unexposed numbers, padded and unpadded answers, a key rotation on
// SIGHUP, a pinned key refused, and the rate limit reaching the CLI as a
// clear error with the time to wait. Then a plain server, which check
// uses in plain mode, and refuses when a key is pinned.
func TestServePrivate(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if code, _, errOut := runPC(t, "build", "--quiet", "--out", p("plain.idx"), "--manifest",
		filepath.Join("..", "..", "testdata", "demo", "manifest.toml")); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	keygen := func(name string) string {
		code, out, errOut := runPC(t, "keygen", "--out", p(name))
		if code != 0 {
			t.Fatalf("keygen: exit %d: %s", code, errOut)
		}
		return regexp.MustCompile(`key id ([0-9a-f]{16})`).FindStringSubmatch(out)[1]
	}
	seal := func(key, out string) {
		if code, _, errOut := runPC(t, "seal", "--quiet", "--key", p(key), "--in", p("plain.idx"), "--out", p(out)); code != 0 {
			t.Fatalf("seal: exit %d: %s", code, errOut)
		}
	}
	id1 := keygen("server.key")
	seal("server.key", "private.idx")

	// Four evaluations, then one every 100 s: the fifth check is limited.
	var errOut lockedBuffer
	url, stop := startServe(t, &errOut, "--private", "--key", p("server.key"), "--index", p("private.idx"),
		"--padding", "asked", "--rate", "0.01", "--burst", "4", "--max-elements", "1")
	if !strings.Contains(errOut.String(), "serving private queries over ") || !strings.Contains(errOut.String(), "plain ranges off") {
		t.Errorf("start-up line: %s", errOut.String())
	}
	for path, want := range map[string]int{"/healthz": 200, "/metrics": 200, "/v1/datasets": 200, "/v1/stats": 200,
		"/v1/private/key": 200, "/range/9E191": 404} {
		if got := getStatus(t, url+path); got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}

	// Exposed, padded (check asks for padding), key pinned by id.
	code, out, stderrOut := runPC(t, "check", "--server", url, "--server-key", id1, "+1 415 555 0132")
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderrOut)
	}
	for _, want := range []string{
		"+14155550132 (US) is EXPOSED: it is in 2 datasets.",
		"demo-whatsapp-2022", "demo-forum-2024",
		"Private mode: sent prefix ", " (20 bits) and a blinded element; your number is one of about 2912 valid US numbers",
		", padded) was verified against the server's key " + id1 + " (pinned).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	// Not exposed, JSON, key pinned by the public key file's JSON.
	code, out, stderrOut = runPC(t, "check", "--json", "--server", url, "--server-key", p("server.key"), "+1 415 555 0199")
	if code != 0 {
		t.Fatalf("check --json: exit %d: %s", code, stderrOut)
	}
	var res checkJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Exposed || res.E164 != "+14155550199" || res.Sent == nil || res.Sent.Mode != "private" || res.Sent.Bits != 20 ||
		res.Sent.BlindedElements != 1 || res.Sent.KeyID != id1 || !res.Sent.KeyPinned || !res.Sent.Padded || res.Sent.Entries < 8 {
		t.Errorf("check --json: %+v %+v", res, res.Sent)
	}
	// Unpadded: the server pads only when asked, and this client does not.
	pc := &checker.PrivateClient{BaseURL: url, NoPadding: true, MaxWait: -1}
	pr, err := pc.Check(context.Background(), "+1 415 555 0132", "")
	if err != nil || !pr.Exposed || pr.Padded || pr.Entries != 1 || pr.Mode != checker.ModePrivate {
		t.Errorf("unpadded check: %+v %v", pr, err)
	}

	// Key rotation: a new key and an index sealed under it, put in place,
	// then SIGHUP.
	id2 := keygen("new.key")
	seal("new.key", "private-new.idx")
	if err := os.Rename(p("private-new.idx"), p("private.idx")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p("new.key"), p("server.key")); err != nil {
		t.Fatal(err)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(errOut.String(), "key_id="+id2) {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A client that pinned the old key refuses the server, sending nothing.
	code, out, stderrOut = runPC(t, "check", "--server", url, "--server-key", id1, "+1 415 555 0132")
	if code != 1 || out != "" || !strings.Contains(stderrOut, "refusing the server's key") || !strings.Contains(stderrOut, id2) {
		t.Errorf("wrong pinned key: exit %d, stdout %q, stderr %s", code, out, stderrOut)
	}
	// One evaluation left of the burst, then the limit, carried over the
	// reload, reaches the CLI with the time to wait.
	if code, _, stderrOut = runPC(t, "check", "--server", url, "+1 415 555 0132"); code != 0 {
		t.Fatalf("fourth check: exit %d: %s", code, stderrOut)
	}
	code, out, stderrOut = runPC(t, "check", "--server", url, "+1 415 555 0132")
	if code != 1 || out != "" || !regexp.MustCompile(`rate-limited this check \(rate limited: 0.01 evaluations per second per client\): try again in 1m[0-9]+s`).MatchString(stderrOut) {
		t.Errorf("rate limited check: exit %d, stdout %q, stderr %s", code, out, stderrOut)
	}
	stop()
	if strings.Contains(errOut.String(), "4155550132") {
		t.Errorf("serve logged a number: %s", errOut.String())
	}

	// --plain-ranges serves the plain ranges beside the private routes.
	var mixedErr lockedBuffer
	url, stop = startServe(t, &mixedErr, "--private", "--key", p("server.key"), "--index", p("private.idx"),
		"--plain-ranges", p("plain.idx"))
	if !strings.Contains(mixedErr.String(), "plain ranges of 29 numbers") {
		t.Errorf("start-up line: %s", mixedErr.String())
	}
	for path, want := range map[string]int{"/range/9E191": 200, "/v1/private/key": 200} {
		if got := getStatus(t, url+path); got != want {
			t.Errorf("--plain-ranges: GET %s: %d, want %d", path, got, want)
		}
	}
	stop()

	// A plain server: check falls back to plain mode, and refuses to when
	// a key is pinned.
	var plainErr lockedBuffer
	url, _ = startServe(t, &plainErr, "--index", p("plain.idx"))
	code, out, stderrOut = runPC(t, "check", "--server", url, "+1 415 555 0132")
	if code != 0 || !strings.Contains(out, "EXPOSED") || !strings.Contains(out, "Plain mode: sent prefix ") {
		t.Errorf("plain check: exit %d: %s %s", code, out, stderrOut)
	}
	code, out, stderrOut = runPC(t, "check", "--server", url, "--server-key", id2, "+1 415 555 0132")
	if code != 1 || out != "" || !strings.Contains(stderrOut, "does not offer private mode") {
		t.Errorf("pinned key, plain server: exit %d, stdout %q, stderr %s", code, out, stderrOut)
	}
}
