package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkStartup times whole processes of the built command, start-up
// included, against the DESIGN.md budget for check and normalize (20 ms),
// and in the same run two baselines: a hello-world Go binary (the floor of
// any Go process here) and `phonecheck version` (the command's own
// start-up: its package initialisers, no phone number). Each round runs
// every case once, interleaved, so that a shared machine's noise falls on
// all of them alike; the metrics are medians over the rounds, in ms.
//
//	go test ./cmd/phonecheck -run '^$' -bench Startup -benchtime 40x
//
// Metrics: hello-ms, version-ms, normalize-empty-ms (no input),
// normalize-ms (one number of region EG on stdin), normalize-nanp-ms (a
// Jamaican number under region US: the worst case of the lazy compile, the
// shared calling code's regions tried in turn), check-ms (one number
// against an index of 10,000 numbers), check-demo-ms (against the embedded
// demo index, which check builds from its fictional dataset at start: an
// extra cost of the demo only), and over-version-ms: the largest of the
// normalize and check medians (the demo aside) minus version's.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "phonecheck")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	hello := filepath.Join(dir, "hello.go")
	if err := os.WriteFile(hello, []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	helloBin := filepath.Join(dir, "hello")
	build := exec.Command("go", "build", "-o", helloBin, hello)
	build.Dir = dir
	build.Env = append(os.Environ(), "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build hello: %v\n%s", err, out)
	}
	idx := filepath.Join(dir, "leak.idx")
	gen := filepath.Join(dir, "leak.csv")
	for _, args := range [][]string{{"gen", "--seed", "1", "--n", "10000", "--region", "EG", "--out", gen},
		{"build", "--quiet", "--out", idx, "--dataset", "leak", "--region", "EG", gen}} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			b.Fatalf("%s: %v\n%s", args[0], err, out)
		}
	}
	cases := []struct {
		name  string
		bin   string
		args  []string
		stdin string
		want  string // in stdout
	}{
		{"hello", helloBin, nil, "", "hello"},
		{"version", bin, []string{"version"}, "", "phonenumbers"},
		{"normalize-empty", bin, []string{"normalize"}, "", ""},
		{"normalize", bin, []string{"normalize", "--region", "EG"}, "010 01234567\n", "+201001234567"},
		{"normalize-nanp", bin, []string{"normalize", "--region", "US"}, "876-210-1234\n", "+18762101234"},
		{"check", bin, []string{"check", "--index", idx, "--region", "EG", "010 01234567"}, "", "+201001234567"},
		{"check-demo", bin, []string{"check", "--region", "US", "(201) 555-0123"}, "", "+12015550123"},
	}
	times := make([][]float64, len(cases))
	run := func(i int) {
		c := cases[i]
		cmd := exec.Command(c.bin, c.args...)
		cmd.Stdin = strings.NewReader(c.stdin)
		var out bytes.Buffer
		cmd.Stdout = &out
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			b.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(out.String(), c.want) {
			b.Fatalf("%s: output does not hold what it should (%d bytes)", c.name, out.Len())
		}
		times[i] = append(times[i], float64(d.Microseconds())/1000)
	}
	for i := range cases { // warm the page cache
		run(i)
		times[i] = times[i][:0]
	}
	for b.Loop() {
		for i := range cases {
			run(i)
		}
	}
	median := func(v []float64) float64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	var worst float64
	for i, c := range cases {
		m := median(times[i])
		b.ReportMetric(m, c.name+"-ms")
		if c.name != "hello" && c.name != "version" && c.name != "check-demo" {
			worst = max(worst, m)
		}
	}
	b.ReportMetric(worst-median(times[1]), "over-version-ms")
	b.ReportMetric(0, "ns/op")
}
