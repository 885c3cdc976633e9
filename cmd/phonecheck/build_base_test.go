package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildBase: 'build --base OLD' is a build of the new datasets and a
// merge with OLD, byte for byte; it refuses a dataset name OLD has and an
// --out that is OLD before it reads anything; a failed merge (OLD
// damaged after its header) writes nothing; and no temporary file is
// left either way.
func TestBuildBase(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join("..", "..", "testdata", "demo")
	p := func(name string) string { return filepath.Join(dir, name) }
	cli := func(args ...string) (int, string) {
		var out, errw bytes.Buffer
		code := run(args, strings.NewReader(""), &out, &errw)
		return code, out.String() + errw.String()
	}
	mustCLI := func(args ...string) {
		t.Helper()
		if code, msg := cli(args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, msg)
		}
	}
	mustCLI("build", "--quiet", "--out", p("old.idx"), "--dataset", "whatsapp", "--region", "EG", "--column", "phone",
		filepath.Join(demo, "whatsapp-2022-demo.csv"))
	mustCLI("build", "--quiet", "--base", p("old.idx"), "--out", p("new.idx"), "--dataset", "forum", "--region", "US",
		filepath.Join(demo, "forum-2024-demo.txt"))
	mustCLI("build", "--quiet", "--out", p("forum.idx"), "--dataset", "forum", "--region", "US",
		filepath.Join(demo, "forum-2024-demo.txt"))
	mustCLI("merge", "--out", p("merged.idx"), p("old.idx"), p("forum.idx"))
	got, err := os.ReadFile(p("new.idx"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(p("merged.idx"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("build --base wrote %d bytes unlike build then merge (%d)", len(got), len(want))
	}
	if fi, err := os.Stat(p("new.idx")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new.idx: %v, mode %v; want owner-only", err, fi.Mode().Perm())
	}

	// Refused before reading: the input does not even exist.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", p("x.idx"), "--dataset", "whatsapp"}, `already has a dataset "whatsapp"`},
		{[]string{"--out", p("old.idx"), "--dataset", "other"}, "--out must differ from --base"},
		{[]string{"--out", p("x.idx"), "--dataset", "other", "--base", filepath.Join(dir, "none.idx")}, "none.idx"},
	} {
		args := append([]string{"build", "--quiet", "--base", p("old.idx")}, c.args...)
		args = append(args, p("missing.txt"))
		code, msg := cli(args...)
		if code == 0 || !strings.Contains(msg, c.want) || strings.Contains(msg, "missing.txt") {
			t.Errorf("%v: exit %d, %q; want an error about %q before reading", c.args, code, msg, c.want)
		}
	}

	// OLD damaged past its header: the build runs, the merge fails on
	// OLD's checksums, and nothing is written.
	old, _ := os.ReadFile(p("old.idx"))
	old[len(old)-100] ^= 0x40
	if err := os.WriteFile(p("damaged.idx"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	code, msg := cli("build", "--quiet", "--base", p("damaged.idx"), "--out", p("y.idx"), "--dataset", "forum", "--region", "US",
		filepath.Join(demo, "forum-2024-demo.txt"))
	if code == 0 || !strings.Contains(msg, "damaged.idx") {
		t.Errorf("damaged base: exit %d, %q; want an error naming it", code, msg)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "damaged.idx forum.idx merged.idx new.idx old.idx" {
		t.Errorf("files left: %v", names)
	}
}
