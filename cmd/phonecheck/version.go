package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/phonecheck/phonecheck/checker/phone"
)

var cmdVersion = &Command{
	Name:      "version",
	UsageLine: "version",
	Short:     "print the version of the command and of its phone metadata",
	Long: `
Version prints what this binary was built from: the module version, the
VCS revision it was built at (with "+dirty" when the work tree had
uncommitted changes), the Go version, and the version of the phone number
metadata that decides which numbers are valid (an index records the one it
was built with: 'phonecheck info' shows it). 'phonecheck --version' is the
same.
`,
}

// version is set by the release build (-ldflags "-X main.version=v1.2.3");
// without it the module version of the build info is printed. revision
// too (a full commit hash, "+dirty" after it when the tree had changes):
// the go command stamps none in a git worktree, whose .git is a file.
var version, revision string

func init() {
	cmdVersion.Run = func(ctx context.Context, cmd *Command, args []string) error {
		if len(args) != 0 {
			return usagef("version takes no arguments")
		}
		bi, _ := debug.ReadBuildInfo()
		writeVersion(stdout, bi)
		return nil
	}
}

// writeVersion prints the version lines from bi, which may be nil (a
// binary built without module support).
func writeVersion(w io.Writer, bi *debug.BuildInfo) {
	v, rev, dirty, pn := version, "unknown", false, "unknown"
	goVersion := runtime.Version()
	if bi != nil {
		if v == "" {
			v = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		for _, d := range bi.Deps {
			if d.Path == "github.com/nyaruka/phonenumbers" {
				pn = d.Version
				if d.Replace != nil {
					pn = d.Replace.Path + " " + d.Replace.Version
				}
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if dirty {
		rev += "+dirty"
	}
	if rev == "unknown" && revision != "" {
		rev = revision
	}
	// The metadata version is the part of phone.PhonenumbersVersion in
	// brackets: the library's version and its metadata's are both there.
	meta := phone.PhonenumbersVersion
	if i, j := strings.IndexByte(meta, '('), strings.LastIndexByte(meta, ')'); i >= 0 && j > i {
		meta = strings.TrimSuffix(meta[i+1:j], " metadata")
	}
	fmt.Fprintf(w, "phonecheck %s\n", v)
	fmt.Fprintf(w, "revision:     %s\n", rev)
	fmt.Fprintf(w, "go:           %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "phonenumbers: %s\n", pn)
	fmt.Fprintf(w, "metadata:     %s\n", meta)
}
