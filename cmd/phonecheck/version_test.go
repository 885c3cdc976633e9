package main

import (
	"bytes"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker/phone"
)

func TestWriteVersion(t *testing.T) {
	bi := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/phonecheck/phonecheck", Version: "v1.2.3"},
		Deps:      []*debug.Module{{Path: "github.com/nyaruka/phonenumbers", Version: "v1.8.1"}},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	var b bytes.Buffer
	writeVersion(&b, bi)
	got := b.String()
	for _, want := range []string{
		"phonecheck v1.2.3\n",
		"revision:     0123abcd+dirty\n",
		"go:           go1.26.8 ",
		"phonenumbers: v1.8.1\n",
		"metadata:     libphonenumber ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("version output lacks %q:\n%s", want, got)
		}
	}
	// The metadata line is the bracketed part of the constant an index
	// records, so the two cannot disagree.
	if !strings.Contains(phone.PhonenumbersVersion, strings.TrimSpace(strings.SplitN(got[strings.Index(got, "metadata:"):], ":", 2)[1])) {
		t.Errorf("metadata line not from phone.PhonenumbersVersion (%q):\n%s", phone.PhonenumbersVersion, got)
	}

	// A release stamps its version with -X main.version, which wins over
	// the build info's; no build info at all still prints every line.
	old := version
	version = "v9.9.9"
	defer func() { version = old }()
	b.Reset()
	writeVersion(&b, nil)
	if !strings.HasPrefix(b.String(), "phonecheck v9.9.9\nrevision:     unknown\n") {
		t.Errorf("with -X main.version and no build info:\n%s", b.String())
	}
}

// The phonenumbers version the binary links must be the one the constant
// (and so every index header) names.
func TestVersionPhonenumbersMatchesConstant(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Skip("no build info")
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/nyaruka/phonenumbers" && !strings.Contains(phone.PhonenumbersVersion, " "+d.Version+" ") {
			t.Errorf("linked phonenumbers %s, phone.PhonenumbersVersion says %q", d.Version, phone.PhonenumbersVersion)
		}
	}
}

// The manual page holds every listed command and its flags, and groff
// reads it without a warning.
func TestManPage(t *testing.T) {
	var b bytes.Buffer
	writeMan(&b, "v1.2.3")
	page := b.String()
	for _, c := range commands {
		if c.Hidden {
			if strings.Contains(page, ".SS "+c.Name+"\n") {
				t.Errorf("hidden command %s in the page", c.Name)
			}
			continue
		}
		if !strings.Contains(page, ".SS "+roffEscape(c.Name)+"\n") {
			t.Errorf("command %s missing from the page", c.Name)
		}
	}
	for _, want := range []string{`.TH PHONECHECK 1 "" "phonecheck v1.2.3"`, `\fB\-\-private\fR`, `\fB\-\-rate\fR`, ".SH EXIT STATUS"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for i, l := range strings.Split(page, "\n") {
		if strings.HasPrefix(l, "'") {
			t.Errorf("line %d starts with a quote roff would read as a request: %q", i+1, l)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("no groff to render the page")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = strings.NewReader(page)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}
