package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"phonecheck": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the CLI scripts in testdata/script: each reads like a
// terminal session. The demo dataset files are copied into each script's
// work directory as demo/.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			src := filepath.Join("..", "..", "testdata", "demo")
			entries, err := os.ReadDir(src)
			if err != nil {
				return err
			}
			dst := filepath.Join(env.WorkDir, "demo")
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join(src, e.Name()))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
					return err
				}
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// truncate FILE SIZE: cut FILE to SIZE bytes.
			"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: truncate FILE SIZE")
				}
				n, err := strconv.ParseInt(args[1], 10, 64)
				ts.Check(err)
				ts.Check(os.Truncate(ts.MkAbs(args[0]), n))
			},
			// flipbyte FILE OFFSET: invert every bit of one byte; a negative
			// OFFSET counts from the end.
			"flipbyte": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: flipbyte FILE OFFSET")
				}
				off, err := strconv.ParseInt(args[1], 10, 64)
				ts.Check(err)
				p := ts.MkAbs(args[0])
				data, err := os.ReadFile(p)
				ts.Check(err)
				if off < 0 {
					off += int64(len(data))
				}
				if off < 0 || off >= int64(len(data)) {
					ts.Fatalf("offset %d outside %d bytes", off, len(data))
				}
				data[off] ^= 0xff
				ts.Check(os.WriteFile(p, data, 0o600))
			},
			// perm FILE MODE: FILE has exactly permission bits MODE (octal).
			"perm": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: perm FILE MODE")
				}
				want, err := strconv.ParseUint(args[1], 8, 32)
				ts.Check(err)
				fi, err := os.Stat(ts.MkAbs(args[0]))
				ts.Check(err)
				got := uint64(fi.Mode().Perm())
				if (got == want) == neg {
					ts.Fatalf("%s has mode %#o, want %s%#o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
				}
			},
		},
	})
}

var _ = fmt.Sprint
