package web

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/phonecheck/phonecheck/checker/internal/web/internal/wasmstamp"
)

// TestWASMUpToDate fails when the committed module was built from other
// sources than the tree's: run go generate ./checker/internal/web.
func TestWASMUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	b, err := os.ReadFile("static/phonecheck.wasm.stamp")
	if err != nil {
		t.Fatal(err)
	}
	var st wasmstamp.Stamp
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	got, err := wasmstamp.Digest(".")
	if err != nil {
		t.Fatal(err)
	}
	if got != st.Inputs {
		t.Fatalf("static/phonecheck.wasm was built from other sources (stamp %s, tree %s): run go generate ./checker/internal/web and commit its output", st.Inputs[:12], got[:12])
	}
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var assetRef = regexp.MustCompile(`(?:src|href)="(app/[^"]+)"`)

func TestPage(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := get(t, s, "/")
	if w.Code != 200 {
		t.Fatalf("GET /: %d", w.Code)
	}
	page := w.Body.String()
	h := w.Header()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self';", "frame-ancestors 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(page, "unsafe-inline") {
		t.Error("the page allows inline code")
	}
	if h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("page headers: %v", h)
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy"`) {
		t.Error("no CSP meta tag: a static host would serve the page without a policy")
	}
	// No inline script, style or handler: the policy would block them.
	for _, re := range []*regexp.Regexp{regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`), regexp.MustCompile(`\son[a-z]+=`), regexp.MustCompile(`\sstyle=`), regexp.MustCompile(`<style`)} {
		if m := re.FindString(page); m != "" {
			t.Errorf("inline code in the page: %q", m)
		}
	}
	for _, id := range []string{`id="number"`, `id="region"`, `id="check"`, `id="result"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the page lacks the hook %s", id)
		}
	}
	// The number has no name: a form submitted without the script
	// (which form-action 'none' blocks anyway) carries nothing.
	if regexp.MustCompile(`<input[^>]*id="number"[^>]*name=`).MatchString(page) {
		t.Error("the number input has a name: a form submission would put it in a URL")
	}
	if get(t, s, "/", "If-None-Match", h.Get("ETag")).Code != 304 {
		t.Error("no 304 for the page's own ETag")
	}

	// Every asset the page names is served, immutable, in each encoding,
	// each decoding to the same bytes.
	refs := assetRef.FindAllStringSubmatch(page, -1)
	var meta struct {
		Wasm string            `json:"wasm"`
		I18n map[string]string `json:"i18n"`
	}
	m := regexp.MustCompile(`name="phonecheck-assets" content="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no phonecheck-assets meta tag")
	}
	if err := json.Unmarshal([]byte(htmlUnescape(m[1])), &meta); err != nil {
		t.Fatal(err)
	}
	paths := []string{meta.Wasm}
	for _, r := range refs {
		paths = append(paths, r[1])
	}
	for _, p := range meta.I18n {
		paths = append(paths, p)
	}
	if len(meta.I18n) < 2 || meta.I18n["ar"] == "" || meta.I18n["en"] == "" {
		t.Errorf("languages %v, want ar and en at least", meta.I18n)
	}
	for _, p := range paths {
		plain := get(t, s, "/"+p)
		if plain.Code != 200 || plain.Header().Get("Content-Encoding") != "" {
			t.Fatalf("%s: %d, encoding %q", p, plain.Code, plain.Header().Get("Content-Encoding"))
		}
		if cc := plain.Header().Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s: Cache-Control %q", p, cc)
		}
		if plain.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: Vary %q", p, plain.Header().Get("Vary"))
		}
		gz := get(t, s, "/"+p, "Accept-Encoding", "gzip, deflate")
		if gz.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: no gzip", p)
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := io.ReadAll(zr); !bytes.Equal(b, plain.Body.Bytes()) {
			t.Errorf("%s: gzip form differs", p)
		}
		if strings.HasSuffix(p, ".wasm") {
			if plain.Header().Get("Content-Type") != "application/wasm" {
				t.Errorf("module Content-Type %q", plain.Header().Get("Content-Type"))
			}
			br := get(t, s, "/"+p, "Accept-Encoding", "gzip, deflate, br")
			if br.Header().Get("Content-Encoding") != "br" {
				t.Fatal("module: no brotli")
			}
			if b, _ := io.ReadAll(brotli.NewReader(br.Body)); !bytes.Equal(b, plain.Body.Bytes()) {
				t.Error("module: brotli form differs")
			}
			if !bytes.HasPrefix(plain.Body.Bytes(), []byte("\x00asm")) {
				t.Error("module: not WebAssembly")
			}

		}
	}
	// The budget: 4 MB compressed in all, page and every asset, gzip.
	total := len(page)
	for _, p := range paths {
		total += get(t, s, "/"+p, "Accept-Encoding", "gzip").Body.Len()
	}
	if total > 4_000_000 {
		t.Errorf("the page and its assets are %d bytes gzipped: over the 4 MB budget", total)
	}
	t.Logf("page and assets: %d bytes gzipped", total)
	if get(t, s, "/app/nothing.js").Code != 404 {
		t.Error("an unknown asset is not a 404")
	}
	if r := httptest.NewRequest("POST", "/", nil); true {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != 405 {
			t.Errorf("POST /: %d", w.Code)
		}
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#34;", `"`, "&quot;", `"`, "&#39;", "'", "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(s)
}

// TestConnectOrigins: a static export's page may send evaluations to its
// evaluation server, and nowhere else.
func TestConnectOrigins(t *testing.T) {
	s, err := New(Options{ConnectOrigins: []string{"https://eval.example.org/some/path"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.CSP(), "connect-src 'self' https://eval.example.org;") {
		t.Errorf("CSP %q", s.CSP())
	}
	if _, err := New(Options{ConnectOrigins: []string{"javascript:alert(1)"}}); err == nil {
		t.Error("a non-http origin was accepted")
	}
}

// TestStrings: every language has every string English has, with the same
// placeholders, and says which way it is written.
func TestStrings(t *testing.T) {
	load := func(name string) map[string]string {
		b, err := static.ReadFile("static/i18n/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return m
	}
	en := load("en.json")
	ph := regexp.MustCompile(`\{[a-z_]+\}`)
	files, _ := static.ReadDir("static/i18n")
	for _, f := range files {
		m := load(f.Name())
		if d := m["dir"]; d != "ltr" && d != "rtl" {
			t.Errorf("%s: dir %q", f.Name(), d)
		}
		for k, v := range en {
			got, ok := m[k]
			if !ok {
				t.Errorf("%s lacks %q", f.Name(), k)
				continue
			}
			if strings.HasSuffix(k, "_one") {
				continue // a language may spell out "one"
			}
			a, b := ph.FindAllString(v, -1), ph.FindAllString(got, -1)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Errorf("%s %q: placeholders %v, English has %v", f.Name(), k, b, a)
			}
		}
	}
	if load("ar.json")["dir"] != "rtl" {
		t.Error("Arabic is not right to left")
	}
}

func TestWriteFiles(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := s.WriteFiles(dir, 0o600); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil || !bytes.Equal(page, get(t, s, "/").Body.Bytes()) {
		t.Fatalf("index.html differs from the page served: %v", err)
	}
	for p := range s.assets {
		for _, suffix := range []string{"", ".gz"} {
			fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p+suffix)))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v", p+suffix, fi.Mode())
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if !bytes.Equal(b, get(t, s, "/"+p).Body.Bytes()) {
			t.Errorf("%s differs from the asset served", p)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "app")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("app/: %v %v", fi.Mode(), err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "app", ".tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestPickEncoding(t *testing.T) {
	for _, c := range []struct {
		ae   string
		br   bool
		want string
	}{
		{"", true, ""},
		{"gzip, deflate", true, "gzip"},
		{"gzip, deflate, br", true, "br"},
		{"gzip, deflate, br", false, "gzip"},
		{"br;q=0.5, gzip", true, "gzip"},
		{"gzip;q=0, identity", true, ""},
		{"BR", true, "br"},
	} {
		if got := pickEncoding(c.ae, c.br); got != c.want {
			t.Errorf("pickEncoding(%q, %v) = %q, want %q", c.ae, c.br, got, c.want)
		}
	}
}
