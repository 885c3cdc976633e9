//go:build unix

package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/checker"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe runs 'phonecheck serve' on a real listener: a remote check
// through it, a reload on SIGHUP, the non-loopback warning, and a graceful
// exit on SIGTERM.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	idx := filepath.Join(dir, "demo.idx")
	if code := run([]string{"build", "--quiet", "--out", idx, "--manifest", filepath.Join("..", "..", "testdata", "demo", "manifest.toml")},
		strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("build: exit %d", code)
	}
	addrc := make(chan string, 1)
	testServeListening = func(addr string) { addrc <- addr }
	defer func() { testServeListening = nil }()
	var errOut lockedBuffer
	exit := make(chan int, 1)
	// 0.0.0.0 would warn, but must not be reachable from elsewhere in a
	// test: bind loopback and check the warning with IsLoopback's table.
	go func() {
		exit <- run([]string{"serve", "--index", idx, "--addr", "127.0.0.1:0"}, strings.NewReader(""), &bytes.Buffer{}, &errOut)
	}()
	var addr string
	select {
	case addr = <-addrc:
	case code := <-exit:
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not start")
	}
	ctx := context.Background()
	cl := checker.NewClient("http://"+addr, nil)
	res, err := cl.Check(ctx, "+1 415 555 0132", "")
	if err != nil || !res.Exposed || len(res.Datasets) != 2 || res.Bits != 20 {
		t.Fatalf("remote check: %+v %v", res, err)
	}
	// The web page is at /.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `id="number"`) || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
		t.Errorf("GET /: %d %v", resp.StatusCode, resp.Header)
	}
	if !strings.Contains(errOut.String(), "the web page is at http://"+addr+"/") {
		t.Errorf("serve did not say where the page is: %s", errOut.String())
	}
	id := func() string {
		c := checker.NewClient("http://"+addr, nil)
		si, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return si.Index.ID
	}
	before := id()
	// Rebuild with one dataset only, renamed into place, then SIGHUP.
	if code := run([]string{"build", "--quiet", "--out", idx, "--dataset", "only", "--region", "US",
		filepath.Join("..", "..", "testdata", "demo", "forum-2024-demo.txt")},
		strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Fatalf("rebuild: exit %d", code)
	}
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for id() == before {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after SIGHUP: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for !strings.Contains(errOut.String(), "reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload log: %s", errOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("serve exited %d after SIGTERM: %s", code, errOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	if strings.Contains(errOut.String(), "4155550132") {
		t.Errorf("serve logged a number: %s", errOut.String())
	}
}
