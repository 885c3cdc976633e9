package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeSurvivesTruncation truncates a served index in place, under
// concurrent range requests: reads of the pages past the new end fault
// (SIGBUS), which must fail requests, not kill the server. serve runs in
// a child process (this test binary, run as "phonecheck" by
// testscript.Main), so that a SIGBUS would show as its death rather than
// the test's. Once a good file is renamed into place, the reload that the
// fault started serves it.
func TestServeSurvivesTruncation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 300k-number index")
	}
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if code, _, errOut := runPC(t, "gen", "--n", "300000", "--clean", "--format", "txt", "--out", p("numbers.txt")); code != 0 {
		t.Fatalf("gen: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, "build", "--quiet", "--out", p("good.idx"), "--dataset", "synth", "--region", "US", p("numbers.txt")); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	good, err := os.ReadFile(p("good.idx"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("served.idx"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := &exec.Cmd{Path: exe, Args: []string{"phonecheck", "serve", "--addr", "127.0.0.1:0", "--index", p("served.idx")}}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	addrc := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`on http://(\S+)$`)
		for sc.Scan() {
			fmt.Fprintln(&log, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { <-copied; exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-exited:
		t.Fatalf("serve exited: %v: %s", err, log.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start: %s", log.String())
	}

	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, error) {
		resp, err := client.Get(base + path)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var stop atomic.Bool
	var codes sync.Map // status -> *atomic.Int64
	count := func(c int) {
		v, _ := codes.LoadOrStore(c, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for !stop.Load() {
				c, err := get(fmt.Sprintf("/range/%05X", rng.IntN(1<<20)))
				if err != nil {
					count(-1) // a transport error: the server is gone
					continue
				}
				count(c)
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := os.Truncate(p("served.idx"), int64(len(good)/2)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	select {
	case err := <-exited:
		stop.Store(true)
		wg.Wait()
		t.Fatalf("serve died after the truncation: %v: %s", err, log.String())
	default:
	}
	if c, err := get("/healthz"); err != nil || c != 200 {
		t.Errorf("/healthz after the truncation: %d %v", c, err)
	}
	// A good file renamed into place: the retried reload serves it.
	if err := os.WriteFile(p("served.idx.new"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(p("served.idx.new"), p("served.idx")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload of the good file: %s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	for i := range 200 {
		if c, err := get(fmt.Sprintf("/range/%05X", i*5000)); err != nil || c != 200 {
			t.Fatalf("after the reload, a range: %d %v", c, err)
		}
	}
	got := map[any]int64{}
	codes.Range(func(k, v any) bool { got[k] = v.(*atomic.Int64).Load(); return true })
	t.Logf("statuses under the truncation: %v", got)
	if got[500] == 0 {
		t.Errorf("no request failed after the truncation (did it fault?): %v", got)
	}
	for k := range got {
		if k != 200 && k != 500 {
			t.Errorf("status %v under the truncation: %v\n%s", k, got, log.String())
		}
	}
	for _, want := range []string{"memory fault reading the index", "reload failed", "reloaded"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, log.String())
		}
	}
}
