// Command release builds phonecheck's release: static binaries for
// linux, darwin and windows on amd64 and arm64, their archives, an SBOM
// (CycloneDX) of each, the .deb packages (nfpm, release/nfpm.yaml) and a
// SHA-256 checksum file, all in one directory.
//
//	go run ./release -snapshot       # any commit, version v0.0.0-snapshot.<revision>
//	go run ./release                 # a clean checkout of a tag vX.Y.Z
//
// CI builds a snapshot, so a broken release fails CI, and installs the
// .deb (release/deb-test.sh).
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// nfpmVersion is the packager, run with 'go install' at this exact
// version rather than as a tool of go.mod: its dependencies would raise
// versions of the module's own (x/crypto, x/sys, compress).
const nfpmVersion = "github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0"

var targets = []string{
	"linux/amd64", "linux/arm64",
	"darwin/amd64", "darwin/arm64",
	"windows/amd64", "windows/arm64",
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("release: ")
	snapshot := flag.Bool("snapshot", false, "build any commit, as version v0.0.0-snapshot.<revision>; without it, HEAD must be a clean tag vX.Y.Z")
	out := flag.String("out", "dist", "output directory (emptied first)")
	jobs := flag.Int("j", 2, "builds to run at once")
	noDeb := flag.Bool("no-deb", false, "skip the .deb packages")
	flag.Parse()
	if flag.NArg() != 0 {
		log.Fatal("no arguments: the flags are -snapshot, -out, -j, -no-deb")
	}
	start := time.Now()
	if _, err := os.Stat("go.mod"); err != nil {
		log.Fatal("run from the module root: go run ./release")
	}
	version, revision, epoch, vcs := describe(*snapshot)
	log.Printf("version %s", version)
	dist, err := filepath.Abs(*out)
	check(err)
	check(os.RemoveAll(dist))
	check(os.MkdirAll(filepath.Join(dist, "build"), 0o755))
	mtime := time.Unix(epoch, 0)

	// The binaries, -j at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(*jobs, 1))
	errs := make([]error, len(targets))
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			t0 := time.Now()
			errs[i] = build(dist, t, version, revision, vcs)
			if errs[i] == nil {
				log.Printf("built %s in %s", t, time.Since(t0).Round(100*time.Millisecond))
			}
		}()
	}
	wg.Wait()
	check(errors.Join(errs...))

	// The manual page, from the binary of this machine's platform when
	// there is one.
	var man bytes.Buffer
	host := filepath.Join(dist, "build", runtime.GOOS+"_"+runtime.GOARCH, "phonecheck"+exe(runtime.GOOS))
	var cmd *exec.Cmd
	if _, err := os.Stat(host); err == nil {
		cmd = exec.Command(host, "man")
	} else {
		cmd = exec.Command("go", "run", "-ldflags=-X main.version="+version, "./cmd/phonecheck", "man")
	}
	cmd.Stdout, cmd.Stderr = &man, os.Stderr
	check(cmd.Run())
	var manGz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&manGz, gzip.BestCompression)
	zw.ModTime = mtime
	zw.Write(man.Bytes())
	check(zw.Close())
	check(os.WriteFile(filepath.Join(dist, "build", "phonecheck.1.gz"), manGz.Bytes(), 0o644))

	readme, err := os.ReadFile("README.md")
	check(err)
	for _, t := range targets {
		goos, goarch, _ := strings.Cut(t, "/")
		name := fmt.Sprintf("phonecheck_%s_%s_%s", strings.TrimPrefix(version, "v"), goos, goarch)
		bin := filepath.Join(dist, "build", goos+"_"+goarch, "phonecheck"+exe(goos))
		data, err := os.ReadFile(bin)
		check(err)
		files := []archived{
			{"phonecheck" + exe(goos), data, 0o755},
			{"README.md", readme, 0o644},
			{"phonecheck.1", man.Bytes(), 0o644},
		}
		if goos == "windows" {
			check(writeZip(filepath.Join(dist, name+".zip"), name, files, mtime))
		} else {
			check(writeTarGz(filepath.Join(dist, name+".tar.gz"), name, files, mtime))
		}
		sbom, err := cycloneDX(bin, name, version, mtime)
		check(err)
		check(os.WriteFile(filepath.Join(dist, name+".cdx.json"), sbom, 0o644))
	}

	if !*noDeb {
		t0 := time.Now()
		check(debs(dist, version, epoch))
		log.Printf("packaged the .debs in %s", time.Since(t0).Round(100*time.Millisecond))
	}
	check(checksums(dist))
	log.Printf("done in %s: %s", time.Since(start).Round(100*time.Millisecond), dist)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func exe(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

// describe returns the version and revision to stamp, the commit time
// (the archives' file times, so that one commit gives the same bytes) and
// whether git can stamp the revision.
func describe(snapshot bool) (version, revision string, epoch int64, vcs bool) {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", args...).Output()
		return strings.TrimSpace(string(out)), err
	}
	rev, err := git("rev-parse", "--short=12", "HEAD")
	if err != nil {
		if !snapshot {
			log.Fatal("not a git checkout: a release is built from a tag (or use -snapshot)")
		}
		return "v0.0.0-snapshot", "", 0, false
	}
	revision, err = git("rev-parse", "HEAD")
	check(err)
	st, _ := git("status", "--porcelain", "--untracked-files=no")
	if st != "" {
		revision += "+dirty"
	}
	ct, err := git("log", "-1", "--format=%ct")
	check(err)
	epoch, err = strconv.ParseInt(ct, 10, 64)
	check(err)
	if snapshot {
		return "v0.0.0-snapshot." + rev, revision, epoch, true
	}
	tag, err := git("describe", "--tags", "--exact-match", "--match", "v[0-9]*")
	if err != nil {
		log.Fatal("HEAD is not a tag vX.Y.Z: tag it, or build a snapshot with -snapshot")
	}
	if st != "" {
		log.Fatal("the work tree has uncommitted changes: a release is built from a clean tag")
	}
	return tag, revision, epoch, true
}

// build makes one static binary: no cgo, no local paths, the version
// stamped, and (where git is) the revision in its build info.
func build(dist, target, version, revision string, vcs bool) error {
	goos, goarch, _ := strings.Cut(target, "/")
	out := filepath.Join(dist, "build", goos+"_"+goarch, "phonecheck"+exe(goos))
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs="+strconv.FormatBool(vcs),
		"-ldflags=-s -w -X main.version="+version+" -X main.revision="+revision, "-o", out, "./cmd/phonecheck")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s: %v\n%s", target, err, b)
	}
	return nil
}

type archived struct {
	name string
	data []byte
	mode int64
}

func writeTarGz(path, dir string, files []archived, mtime time.Time) error {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zw.ModTime = mtime
	tw := tar.NewWriter(zw)
	for _, f := range files {
		h := &tar.Header{Name: dir + "/" + f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func writeZip(path, dir string, files []archived, mtime time.Time) error {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		h := &zip.FileHeader{Name: dir + "/" + f.name, Method: zip.Deflate, Modified: mtime.UTC()}
		h.SetMode(os.FileMode(f.mode))
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// cycloneDX is the SBOM of a binary: the modules its build info lists
// (what 'go version -m' prints), as CycloneDX 1.5 JSON.
func cycloneDX(bin, name, version string, mtime time.Time) ([]byte, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	type prop struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	type hash struct {
		Alg     string `json:"alg"`
		Content string `json:"content"`
	}
	type component struct {
		Type       string `json:"type"`
		BOMRef     string `json:"bom-ref"`
		Name       string `json:"name"`
		Version    string `json:"version"`
		PURL       string `json:"purl"`
		Hashes     []hash `json:"hashes,omitempty"`
		Properties []prop `json:"properties,omitempty"`
	}
	purl := func(path, v string) string { return "pkg:golang/" + path + "@" + v }
	mainRef := purl(bi.Main.Path, version)
	var props []prop
	props = append(props, prop{"go", bi.GoVersion})
	for _, s := range bi.Settings {
		props = append(props, prop{"build:" + s.Key, s.Value})
	}
	var comps []component
	var refs []string
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		c := component{Type: "library", BOMRef: purl(d.Path, d.Version), Name: d.Path, Version: d.Version, PURL: purl(d.Path, d.Version)}
		// The go.sum hash (h1:, base64 SHA-256 of the module's file tree).
		if s, ok := strings.CutPrefix(d.Sum, "h1:"); ok {
			c.Properties = []prop{{"go:sum", "h1:" + s}}
		}
		comps = append(comps, c)
		refs = append(refs, c.BOMRef)
	}
	slices.SortFunc(comps, func(a, b component) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(refs)
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	doc := map[string]any{
		"bomFormat":   "CycloneDX",
		"specVersion": "1.5",
		"version":     1,
		"metadata": map[string]any{
			"timestamp": mtime.UTC().Format(time.RFC3339),
			"tools":     map[string]any{"components": []component{{Type: "application", BOMRef: "phonecheck-release", Name: "phonecheck/release", Version: version, PURL: purl(bi.Main.Path+"/release", version)}}},
			"component": component{
				Type: "application", BOMRef: mainRef, Name: name, Version: version, PURL: mainRef,
				Hashes: []hash{{"SHA-256", hex.EncodeToString(sum[:])}}, Properties: props,
			},
		},
		"components":   comps,
		"dependencies": []map[string]any{{"ref": mainRef, "dependsOn": refs}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

// debs packages the linux binaries with nfpm (release/nfpm.yaml).
func debs(dist, version string, epoch int64) error {
	tmpl, err := os.ReadFile("release/nfpm.yaml")
	if err != nil {
		return err
	}
	bin := filepath.Join(dist, "tools")
	cmd := exec.Command("go", "install", nfpmVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+bin, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install nfpm: %v", err)
	}
	for _, t := range targets {
		goos, goarch, _ := strings.Cut(t, "/")
		if goos != "linux" {
			continue
		}
		// nfpm expands variables in some fields only (not in a file's
		// source path): expand them all here.
		vars := map[string]string{"VERSION": version, "GOARCH": goarch, "DIST": dist}
		var missing []string
		conf := os.Expand(string(tmpl), func(k string) string {
			v, ok := vars[k]
			if !ok {
				missing = append(missing, k)
			}
			return v
		})
		if missing != nil {
			return fmt.Errorf("release/nfpm.yaml: unknown variables %v", missing)
		}
		confPath := filepath.Join(dist, "build", "nfpm_"+goarch+".yaml")
		if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
			return err
		}
		cmd := exec.Command(filepath.Join(bin, "nfpm"), "package", "--config", confPath, "--packager", "deb", "--target", dist)
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(epoch, 10))
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("nfpm %s: %v\n%s", goarch, err, b)
		}
	}
	return os.RemoveAll(bin)
}

// checksums writes checksums.txt, in sha256sum's format, over every
// file of dist but the build directory.
func checksums(dist string) error {
	entries, err := os.ReadDir(dist)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, e := range entries {
		if e.IsDir() || e.Name() == "checksums.txt" {
			continue
		}
		f, err := os.Open(filepath.Join(dist, e.Name()))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%x  %s\n", h.Sum(nil), e.Name())
	}
	return os.WriteFile(filepath.Join(dist, "checksums.txt"), []byte(b.String()), 0o644)
}
