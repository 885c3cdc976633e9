//go:build unix

package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonecheck/phonecheck/hashset"
)

// flipped writes a copy of the index at src with one bit flipped in the
// named section ("header" for the fixed header) to dst, by rename.
func flipped(t *testing.T, src, dst, section string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	off := int64(20) // the header's file size field
	if section != "header" {
		r, err := hashset.Open(src)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		found := false
		for _, s := range r.Sections() {
			if s.Name == section {
				off, found = s.Offset+s.Length/2, true
			}
		}
		if !found {
			t.Fatalf("%s has no section %s", src, section)
		}
	}
	data[off] ^= 0x04
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// rangeAnswer is what a client sees of one range.
func rangeAnswer(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + resp.Header.Get("ETag") + " " + resp.Header.Get("Cache-Control") + "\n" + string(body)
}

// reloadFails sends SIGHUP and waits for the n-th failed reload in the
// log, which must name want (the file and section).
func reloadFails(t *testing.T, errOut *lockedBuffer, n int, want ...string) {
	t.Helper()
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(errOut.String(), "reload failed") < n {
		if time.Now().After(deadline) {
			t.Fatalf("no failed reload #%d after SIGHUP: %s", n, errOut.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	lines := strings.Split(errOut.String(), "reload failed")
	last := lines[len(lines)-1]
	last, _, _ = strings.Cut(last, "\n")
	for _, w := range want {
		if !strings.Contains(last, w) {
			t.Errorf("reload log %q does not name %q", last, w)
		}
	}
	if strings.Contains(errOut.String(), "reloaded") {
		t.Fatalf("a corrupt index was reloaded: %s", errOut.String())
	}
}

// TestServeRefusesCorruptIndex flips a bit in each section of a served
// index (renamed into place), then sends SIGHUP: the reload fails, says
// which file and section, and the previous index keeps answering the
// same, with the same ETag. Start-up refuses the corrupt file unless
// --no-verify.
func TestServeRefusesCorruptIndex(t *testing.T) {
	dir := t.TempDir()
	good, idx := filepath.Join(dir, "good.idx"), filepath.Join(dir, "served.idx")
	if code, _, errOut := runPC(t, "build", "--quiet", "--out", good, "--manifest",
		filepath.Join("..", "..", "testdata", "demo", "manifest.toml")); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(idx, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sections := []string{"header"}
	r, err := hashset.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Sections() {
		if s.Length > 0 {
			sections = append(sections, s.Name)
		}
	}
	r.Close()
	for _, want := range []string{"KEYS", "DIR", "BLOOM", "IDS", "META", "SETS"} {
		if !strings.Contains(strings.Join(sections, " "), want) {
			t.Errorf("the demo index has no %s section to damage: %v", want, sections)
		}
	}

	var errOut lockedBuffer
	url, stop := startServe(t, &errOut, "--index", idx)
	urls := []string{url + "/range/9E191", url + "/range/9E19", url + "/range/00000", url + "/v1/datasets"}
	var before []string
	for _, u := range urls {
		before = append(before, rangeAnswer(t, u))
	}
	for i, sec := range sections {
		flipped(t, good, idx, sec)
		want := []string{idx, "section " + sec}
		if sec == "header" {
			want = []string{idx, "checksum mismatch: header"}
		}
		reloadFails(t, &errOut, i+1, want...)
		for j, u := range urls {
			if got := rangeAnswer(t, u); got != before[j] {
				t.Errorf("after a refused %s reload, %s answers\n%s\nwant\n%s", sec, u, got, before[j])
			}
		}
	}
	stop()

	// Start-up with a corrupt file fails and names it and the section.
	for _, sec := range []string{"KEYS", "BLOOM", "DIR"} {
		flipped(t, good, idx, sec)
		testServeListening = func(string) { syscall.Kill(os.Getpid(), syscall.SIGTERM) }
		code, _, stderr := runPC(t, "serve", "--addr", "127.0.0.1:0", "--index", idx)
		testServeListening = nil
		if code != 1 || !strings.Contains(stderr, idx+": hashset: checksum mismatch: section "+sec) {
			t.Errorf("serve of an index with a damaged %s: exit %d: %s", sec, code, stderr)
		}
	}
	// --no-verify serves it.
	var errOut2 lockedBuffer
	_, stop2 := startServe(t, &errOut2, "--no-verify", "--index", idx)
	stop2()
}

// TestServePrivateRefusesCorruptIndex: the private index and the plain
// index of --plain-ranges are both checked, at start and on reload.
func TestServePrivateRefusesCorruptIndex(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	if code, _, errOut := runPC(t, "build", "--quiet", "--out", p("plain.good"), "--manifest",
		filepath.Join("..", "..", "testdata", "demo", "manifest.toml")); code != 0 {
		t.Fatalf("build: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, "keygen", "--out", p("server.key")); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, "seal", "--quiet", "--key", p("server.key"), "--in", p("plain.good"), "--out", p("private.good")); code != 0 {
		t.Fatalf("seal: exit %d: %s", code, errOut)
	}
	cp := func(src, dst string) {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+".tmp", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(dst+".tmp", dst); err != nil {
			t.Fatal(err)
		}
	}
	cp(p("plain.good"), p("plain.idx"))
	cp(p("private.good"), p("private.idx"))
	args := []string{"--private", "--key", p("server.key"), "--index", p("private.idx"), "--plain-ranges", p("plain.idx"), "--rate", "0"}

	var errOut lockedBuffer
	url, stop := startServe(t, &errOut, args...)
	urls := []string{url + "/v1/private/key", url + "/range/9E191", url + "/v1/datasets"}
	var before []string
	for _, u := range urls {
		before = append(before, rangeAnswer(t, u))
	}
	flipped(t, p("private.good"), p("private.idx"), "KEYS")
	reloadFails(t, &errOut, 1, p("private.idx"), "section KEYS")
	cp(p("private.good"), p("private.idx"))
	flipped(t, p("plain.good"), p("plain.idx"), "BLOOM")
	reloadFails(t, &errOut, 2, p("plain.idx"), "section BLOOM")
	for j, u := range urls {
		if got := rangeAnswer(t, u); got != before[j] {
			t.Errorf("after refused reloads, %s answers\n%s\nwant\n%s", u, got, before[j])
		}
	}
	stop()

	flipped(t, p("private.good"), p("private.idx"), "DIR")
	testServeListening = func(string) { syscall.Kill(os.Getpid(), syscall.SIGTERM) }
	code, _, stderr := runPC(t, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	testServeListening = nil
	if code != 1 || !strings.Contains(stderr, p("private.idx")+": hashset: checksum mismatch: section DIR") {
		t.Errorf("serve --private of an index with a damaged DIR: exit %d: %s", code, stderr)
	}
}
