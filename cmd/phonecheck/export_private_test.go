//go:build unix

package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/phonecheck/phonecheck/checker"
)

// TestExportPrivate: export of a private index writes its buckets as
// static files with the key document, without the key; a plain file
// server of them (the CDN) and an evaluation server together answer
// 'check --server' and 'batch --server' given the file server's URL, with
// the results of the plain index.
func TestExportPrivate(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	id := privateFixture(t, dir, "--bits", "12")
	eval := privateHTTPServer(t, dir, checker.PrivateHandlerOptions{Rate: -1})

	// Usage: a private index needs --evaluate-url; a plain one refuses it.
	if code, _, errOut := runPC(t, "export", "--index", p("private.idx"), "--out", p("cdn")); code != 2 || !strings.Contains(errOut, "needs --evaluate-url") {
		t.Errorf("no --evaluate-url: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, "export", "--index", p("plain.idx"), "--out", p("cdn"), "--evaluate-url", eval); code != 2 || !strings.Contains(errOut, "go with a private index") {
		t.Errorf("plain index with --evaluate-url: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runPC(t, "export", "--index", p("private.idx"), "--out", p("cdn"), "--evaluate-url", eval, "--bits", "16"); code != 2 || !strings.Contains(errOut, "1 to 12") {
		t.Errorf("--bits 16 of a 12-bit index: exit %d: %s", code, errOut)
	}

	// info never prints the padding seed, in either form.
	ix, err := checker.OpenPrivate(p("private.idx"), nil)
	if err != nil {
		t.Fatal(err)
	}
	seed := ix.Index().Meta().Info[checker.InfoPadSeed]
	ix.Close()
	if len(seed) != 64 {
		t.Fatalf("pad seed %q", seed)
	}
	for _, args := range [][]string{{"info", p("private.idx")}, {"info", "--json", p("private.idx")}} {
		if code, out, errOut := runPC(t, args...); code != 0 || strings.Contains(out, seed) || !strings.Contains(out, "not shown") {
			t.Errorf("%v: exit %d, seed shown %v: %s", args, code, strings.Contains(out, seed), errOut)
		}
	}

	code, _, errOut := runPC(t, "export", "--quiet", "--index", p("private.idx"), "--out", p("cdn"), "--evaluate-url", eval)
	if code != 0 || !strings.Contains(errOut, "wrote 4096 private bucket files") || !strings.Contains(errOut, "key id "+id) {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	var man checker.ExportManifest
	data, err := os.ReadFile(p("cdn/manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &man); err != nil || man.Format != checker.PrivateExportFormat || man.KeyID != id || !man.Padding {
		t.Errorf("manifest: %s %v", data, err)
	}
	if fi, err := os.Stat(p("cdn/v1/private/bucket/12/9E1")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("bucket file: %v", err)
	}
	// The datasets document lists the lengths written and says they are
	// padded; the stats document has per-dataset counts but no
	// index-wide countries, and none at all with --country-stats=false.
	var si checker.ServerInfo
	if data, err := os.ReadFile(p("cdn/v1/datasets")); err != nil || json.Unmarshal(data, &si) != nil ||
		!slices.Equal(si.PrefixBits, []int{12}) || !si.Padding || !si.Static || !si.Private {
		t.Errorf("v1/datasets: %s %v", data, err)
	}
	if data, err := os.ReadFile(p("cdn/v1/stats")); err != nil || strings.Contains(string(data), `"countries"`) || !strings.Contains(string(data), `"datasets"`) {
		t.Errorf("v1/stats: %s %v", data, err)
	}
	if code, _, errOut := runPC(t, "export", "--quiet", "--index", p("private.idx"), "--out", p("cdn-nostats"), "--evaluate-url", eval, "--country-stats=false"); code != 0 {
		t.Fatalf("export --country-stats=false: exit %d: %s", code, errOut)
	}
	if data, err := os.ReadFile(p("cdn-nostats/v1/stats")); err != nil || strings.Join(strings.Fields(string(data)), "") != `{"keys":`+strconv.FormatInt(si.Index.Keys, 10)+`}` {
		t.Errorf("v1/stats with --country-stats=false: %s %v", data, err)
	}
	cdn := httptest.NewServer(http.FileServer(http.Dir(p("cdn"))))
	defer cdn.Close()

	code, out, errOut := runPC(t, "check", "--server", cdn.URL, "--server-key", id, "+1 415 555 0132")
	if code != 0 {
		t.Fatalf("check: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"+14155550132 (US) is EXPOSED: it is in 2 datasets.",
		"Private mode: sent prefix 9E1 (12 bits) to " + cdn.URL + " and a blinded element, without the prefix, to " + eval,
		"(pinned)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runPC(t, "check", "--server", cdn.URL, "+1 415 555 0199")
	if code != 0 || !strings.Contains(out, "+14155550199 (US) is not in any of the 2 datasets") {
		t.Errorf("check, not exposed: exit %d: %s %s", code, out, errOut)
	}
	// An Aruba number: answered at 12 bits, the only length the export
	// holds, with no larger download to offer, and 8 bits refused.
	code, out, errOut = runPC(t, "check", "--server", cdn.URL, "+297 560 1234")
	if code != 0 || !strings.Contains(out, "+2975601234 (AW) is not in any of the 2 datasets") ||
		!strings.Contains(out, "without the prefix, to "+eval+"; your number is one of about 264 valid AW numbers with this prefix, fewer than the 1000 asked for: AW has few numbers.\n") ||
		!strings.Contains(out, "\nNo larger download to offer: this server takes no prefix shorter than 12 bits.\n") {
		t.Errorf("check, AW: exit %d: %s %s", code, out, errOut)
	}
	code, _, errOut = runPC(t, "check", "--server", cdn.URL, "--prefix-bits", "8", "+297 560 1234")
	if code != 2 || !strings.Contains(errOut, "--prefix-bits 8: the server takes 12 bits") {
		t.Errorf("check --prefix-bits 8 of a 12-bit export: exit %d: %s", code, errOut)
	}

	if err := os.WriteFile(p("subs.csv"), []byte(subscribers), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--quiet", "--region", "US", "--in", p("subs.csv"), "--id", "subscriber"}
	if code, _, errOut := runPC(t, append([]string{"batch", "--index", p("plain.idx"), "--out", p("local.csv")}, common...)...); code != 0 {
		t.Fatalf("batch --index: exit %d: %s", code, errOut)
	}
	code, out, errOut = runPC(t, append([]string{"batch", "--server", cdn.URL, "--server-key", id, "--out", p("remote.csv")}, common...)...)
	if code != 0 {
		t.Fatalf("batch --server: exit %d: %s", code, errOut)
	}
	if local, remote := readFile(t, p("local.csv")), readFile(t, p("remote.csv")); local != remote {
		t.Errorf("batch through the export differs:\n%s\nwant:\n%s", remote, local)
	}
	if !strings.Contains(out, "Evaluations went to "+eval+checker.PrivateQueryPath+", which saw the blinded elements only") {
		t.Errorf("summary does not say where evaluations went:\n%s", out)
	}
}
