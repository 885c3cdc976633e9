//go:build unix

package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startRedis runs a throwaway redis-server on a free loopback port (as
// checker/internal/redistest, which this package cannot import) and
// returns its URL and a function sending one inline command.
func startRedis(t *testing.T) (string, func(string) string) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is missing, and CI=true: .ci/run installs it")
		}
		t.Skip("redis-server is missing (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	command := func(line string) string {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return err.Error()
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte(line + "\r\n"))
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		return string(buf[:n])
	}
	for deadline := time.Now().Add(10 * time.Second); command("PING") != "+PONG\r\n"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer within 10 s")
		}
	}
	return fmt.Sprintf("redis://%s/0", addr), command
}

// TestServeRateStore: serve --rate-store keeps the limits in Redis (a
// check leaves one hashed key there, and /metrics counts the call), and
// the flags that go with it are checked.
func TestServeRateStore(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--rate-store", "redis://127.0.0.1:1/0"}, "only go with --private"},
		{[]string{"serve", "--private", "--key", "k", "--index", "i", "--replicas", "2"}, "--replicas goes with --rate-store"},
		{[]string{"serve", "--private", "--key", "k", "--index", "i", "--rate-store", "http://127.0.0.1/"}, "want redis://HOST:PORT/DB"},
		{[]string{"serve", "--private", "--key", "k", "--index", "i", "--rate-store", "redis://127.0.0.1:1/0", "--replicas", "0"}, "--replicas 0"},
	} {
		if code, _, errOut := runPC(t, tc.args...); code == 0 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want an error with %q", tc.args, code, errOut, tc.want)
		}
	}

	redisURL, redisCommand := startRedis(t)
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if code, _, errOut := runPC(t, "build", "--quiet", "--out", p("plain.idx"), "--manifest",
		filepath.Join("..", "..", "testdata", "demo", "manifest.toml")); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, "keygen", "--out", p("server.key")); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, "seal", "--quiet", "--key", p("server.key"), "--in", p("plain.idx"), "--out", p("private.idx")); code != 0 {
		t.Fatalf("seal: exit %d: %s", code, errOut)
	}
	var errOut lockedBuffer
	url, stop := startServe(t, &errOut, "--private", "--key", p("server.key"), "--index", p("private.idx"),
		"--rate", "0.01", "--burst", "4", "--max-elements", "1", "--rate-store", redisURL, "--replicas", "2")
	if !strings.Contains(errOut.String(), "shared in Redis by 2 replicas") {
		t.Errorf("start-up line: %s", errOut.String())
	}
	if code, _, stderrOut := runPC(t, "check", "--server", url, "+1 415 555 0132"); code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderrOut)
	}
	if n := redisCommand("DBSIZE"); n != ":1\r\n" {
		t.Errorf("Redis DBSIZE %q after one client's check, want :1", n)
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "phonecheck_ratestore_call_duration_seconds_count 1") || !strings.Contains(string(b), "phonecheck_ratestore_fallback_total 0") {
		t.Errorf("/metrics lacks the store's call")
	}
	stop()
}
