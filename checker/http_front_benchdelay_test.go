//go:build !benchdelay

package checker

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestBenchDelayOff: only a build tagged benchdelay (the benchmark's
// capacity-matched server) slows answers down; a normal build started
// with PHONECHECK_BENCH_DELAY set does not.
func TestBenchDelayOff(t *testing.T) {
	if os.Getenv("PHONECHECK_BENCH_DELAY_CHILD") == "1" {
		os.Stdout.WriteString("benchDelay=" + benchDelay.String() + "\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchDelayOff$", "-test.v")
	cmd.Env = append(os.Environ(), "PHONECHECK_BENCH_DELAY_CHILD=1", "PHONECHECK_BENCH_DELAY=50us")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "benchDelay=0s\n") {
		t.Fatalf("a build without the benchdelay tag took PHONECHECK_BENCH_DELAY:\n%s", out)
	}
	start := time.Now()
	spin(200 * time.Microsecond)
	if d := time.Since(start); d < 200*time.Microsecond {
		t.Fatalf("spin(200us) returned after %v", d)
	}
}
