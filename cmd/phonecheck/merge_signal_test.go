//go:build unix

package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/hashset"
)

// TestMergeInterrupted sends SIGINT to the process while 'merge' writes
// its output: the command stops, says nothing was written, and leaves
// neither the output nor a temporary file.
func TestMergeInterrupted(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(20, 4))
	var inputs []string
	for i, n := range []int{3_000_000, 1_000_000} {
		b := hashset.NewBuilder(hashset.Options{KeyScheme: "sha256-e164-v1"})
		d, err := b.AddDataset(hashset.Dataset{Name: fmt.Sprintf("synthetic-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			b.Add(rng.Uint64(), d, 0)
		}
		p := filepath.Join(dir, fmt.Sprintf("in%d.idx", i))
		if _, err := b.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, p)
	}
	// While this test runs, SIGINT never takes the default action (the
	// end of the test binary), even before or after the command listens.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)

	out := filepath.Join(dir, "merged.idx")
	var stdoutBuf, stderrBuf bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(append([]string{"merge", "--out", out}, inputs...), nil, &stdoutBuf, &stderrBuf)
	}()
	sent := false
	var code int
wait:
	for {
		select {
		case code = <-done:
			break wait
		case <-time.After(200 * time.Microsecond):
			if !sent && tempIn(t, dir) {
				syscall.Kill(os.Getpid(), syscall.SIGINT)
				sent = true
			}
		}
	}
	if !sent {
		t.Fatal("the merge ended before its temporary file was seen: make the inputs larger")
	}
	if code != exitError || !strings.Contains(stderrBuf.String(), "interrupted: nothing written") {
		t.Errorf("exit %d, stderr %q; want %d and 'interrupted: nothing written'", code, stderrBuf.String(), exitError)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("the output exists after an interrupted merge")
	}
	if tempIn(t, dir) {
		t.Error("a temporary file is left after an interrupted merge")
	}
}

func tempIn(t *testing.T, dir string) bool {
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.Contains(e.Name(), ".tmp") {
			return true
		}
	}
	return false
}
