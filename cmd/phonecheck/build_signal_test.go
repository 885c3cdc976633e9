//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBuildInterrupted stops a build that spills (a tiny --memory) with
// SIGINT, as Ctrl-C would, and SIGTERM, once its spill directory exists:
// the build must exit with an error and leave neither its temporary files
// nor a partial index. The build runs in a child process (this test
// binary, run as "phonecheck" by testscript.Main), so that the signal
// reaches a process of its own.
func TestBuildInterrupted(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "numbers.txt")
	if code, _, errOut := runPC(t, "gen", "--distinct", "--n", "1500000", "--out", in); code != 0 {
		t.Fatalf("gen: exit %d: %s", code, errOut)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		out := filepath.Join(dir, "out", "leak.idx")
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd := &exec.Cmd{Path: exe, Args: []string{"phonecheck", "build", "--quiet", "--memory", "2MiB", "--out", out, "--dataset", "d", in},
			Stderr: &stderr}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		spilling := false
		deadline := time.Now().Add(60 * time.Second)
		for !spilling && time.Now().Before(deadline) {
			entries, _ := os.ReadDir(filepath.Dir(out))
			for _, e := range entries {
				spilling = spilling || strings.HasPrefix(e.Name(), ".hashset-spill-")
			}
			select {
			case err := <-exited:
				t.Fatalf("%v: the build ended (%v) before it was signalled: %s", sig, err, stderr.String())
			case <-time.After(time.Millisecond):
			}
		}
		if !spilling {
			cmd.Process.Kill()
			t.Fatalf("%v: no spill directory after 60 s", sig)
		}
		cmd.Process.Signal(sig)
		select {
		case err = <-exited:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: the build did not stop within 60 s of the signal", sig)
		}
		if err == nil {
			t.Errorf("%v: the interrupted build exited 0", sig)
		}
		entries, _ := os.ReadDir(filepath.Dir(out))
		for _, e := range entries {
			t.Errorf("%v: %s left behind", sig, e.Name())
		}
		os.RemoveAll(filepath.Dir(out))
	}
}

// TestBuildDiskFull: a build whose inputs would not fit on the output's
// disk says so before it reads them (the input is a sparse file twice the
// size of the free space: reading it would take long, refusing takes no
// time).
func TestBuildDiskFull(t *testing.T) {
	dir := t.TempDir()
	free := diskFree(dir)
	if free <= 0 {
		t.Fatalf("free space of %s unknown", dir)
	}
	in := filepath.Join(dir, "huge.txt")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(free * 2); err != nil {
		t.Fatalf("a sparse file of twice the free space: %v", err)
	}
	f.Close()
	start := time.Now()
	code, _, errOut := runPC(t, "build", "--quiet", "--memory", "64MiB", "--out", filepath.Join(dir, "x.idx"), "--dataset", "d", in)
	if code != 1 || !strings.Contains(errOut, "not enough disk space") || !strings.Contains(errOut, "hint:") {
		t.Fatalf("exit %d, stderr %q; want 1 and a message about disk space", code, errOut)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to refuse: it read the input first", d)
	}
}
