package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The SBOM of a Go binary (this test's) lists the modules it links, as
// CycloneDX.
func TestCycloneDX(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := cycloneDX(exe, "x", "v1.2.3", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BOMFormat, SpecVersion string
		Metadata               struct{ Component struct{ Version string } }
		Components             []struct{ Name, Version, Purl string }
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" || doc.Metadata.Component.Version != "v1.2.3" {
		t.Errorf("header: %+v", doc)
	}
	for _, c := range doc.Components {
		if !strings.HasPrefix(c.Purl, "pkg:golang/"+c.Name+"@") {
			t.Errorf("component %s: purl %q", c.Name, c.Purl)
		}
	}
}

// An archive holds its files under one directory, with their modes and
// the commit's time, and checksums.txt is sha256sum's format.
func TestArchiveAndChecksums(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Unix(1700000000, 0)
	p := filepath.Join(dir, "a.tar.gz")
	if err := writeTarGz(p, "a", []archived{{"phonecheck", []byte("bin"), 0o755}, {"README.md", []byte("r"), 0o644}}, mtime); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == "a/phonecheck" && h.Mode != 0o755 || !h.ModTime.Equal(mtime) {
			t.Errorf("%s: mode %o, time %v", h.Name, h.Mode, h.ModTime)
		}
	}
	if strings.Join(names, " ") != "a/phonecheck a/README.md" {
		t.Errorf("archive holds %v", names)
	}
	if err := checksums(dir); err != nil {
		t.Fatal(err)
	}
	sums, _ := os.ReadFile(filepath.Join(dir, "checksums.txt"))
	if fields := strings.Fields(string(sums)); len(fields) != 2 || len(fields[0]) != 64 || fields[1] != "a.tar.gz" {
		t.Errorf("checksums.txt: %q", sums)
	}
}
