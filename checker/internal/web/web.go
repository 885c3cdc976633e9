// Package web is the end user's door: the page that checks a number in the
// browser, served by `serve` at / and written next to the buckets by
// `export --web` for a CDN.
//
// The page is plain HTML, CSS and a small script (static/); the check runs
// in phonecheck.wasm, webclient compiled to WebAssembly, the command's own
// code. The module is built by `go generate` (gen.go) and committed,
// precompressed with gzip and brotli, so that a clone serves the page
// without a build step; TestWASMUpToDate fails when its sources changed
// since. Assets are served under names holding a hash of their content,
// cached for a year; the page itself is revalidated on every load.
//
// The page makes no third-party request, sets no cookie, stores nothing but
// the chosen country, never puts the number in a URL, and runs under a
// strict Content-Security-Policy (no inline script; 'wasm-unsafe-eval' for
// the module).
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/phonecheck/phonecheck/checker/phone"
)

//go:generate go run ./internal/genwasm

//go:embed static
var static embed.FS

// AssetDir is the directory, under the page, of its assets.
const AssetDir = "app/"

// Options configure a [Site].
type Options struct {
	// ConnectOrigins are the origins besides the page's own that it sends
	// requests to: a static export's evaluation server. They go into the
	// Content-Security-Policy's connect-src.
	ConnectOrigins []string
}

// A Site is the page and its assets, ready to serve or write.
type Site struct {
	csp    string // the policy of the page's meta tag
	index  []byte
	etag   string
	assets map[string]*asset // by path under the page, e.g. "app/app.1a2b3c4d5e.js"
}

type asset struct {
	ctype    string
	raw, gz  []byte
	br       []byte // nil: no brotli form
	etag     string
	rawOnce  sync.Once
	rawErr   error
	fromGzip bool // raw is computed from gz on first use (the module)
}

// New renders the page and indexes its assets.
func New(opts Options) (*Site, error) {
	s := &Site{assets: map[string]*asset{}}
	names := map[string]string{} // template name -> hashed path
	add := func(name, ctype string, raw, gz, br []byte) error {
		if gz == nil {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(raw)
			if err := zw.Close(); err != nil {
				return err
			}
			gz = buf.Bytes()
		}
		sum := sha256.Sum256(gz)
		h := hex.EncodeToString(sum[:5])
		ext := path.Ext(name)
		p := AssetDir + strings.TrimSuffix(name, ext) + "." + h + ext
		a := &asset{ctype: ctype, raw: raw, gz: gz, br: br, etag: `"` + h + `"`, fromGzip: raw == nil}
		s.assets[p] = a
		names[name] = p
		return nil
	}
	for _, f := range []struct{ name, ctype string }{
		{"app.js", "text/javascript; charset=utf-8"},
		{"wasm_exec.js", "text/javascript; charset=utf-8"},
		{"style.css", "text/css; charset=utf-8"},
	} {
		b, err := static.ReadFile("static/" + f.name)
		if err != nil {
			return nil, err
		}
		if err := add(f.name, f.ctype, b, nil, nil); err != nil {
			return nil, err
		}
	}
	gz, err := static.ReadFile("static/phonecheck.wasm.gz")
	if err != nil {
		return nil, fmt.Errorf("web: the page's module is missing (go generate ./checker/internal/web): %w", err)
	}
	br, err := static.ReadFile("static/phonecheck.wasm.br")
	if err != nil {
		return nil, fmt.Errorf("web: the page's module is missing (go generate ./checker/internal/web): %w", err)
	}
	if err := add("phonecheck.wasm", "application/wasm", nil, gz, br); err != nil {
		return nil, err
	}
	langs, err := fs.Glob(static, "static/i18n/*.json")
	if err != nil {
		return nil, err
	}
	slices.Sort(langs)
	i18n := map[string]string{}
	var langOpts strings.Builder
	for _, f := range langs {
		b, _ := static.ReadFile(f)
		var doc struct {
			Name string `json:"lang_name"`
		}
		if err := json.Unmarshal(b, &doc); err != nil || doc.Name == "" {
			return nil, fmt.Errorf("web: %s: not a strings file with lang_name: %v", f, err)
		}
		code := strings.TrimSuffix(path.Base(f), ".json")
		if err := add(code+".json", "application/json", b, nil, nil); err != nil {
			return nil, err
		}
		i18n[code] = names[code+".json"]
		fmt.Fprintf(&langOpts, `<option value="%s">%s</option>`, html.EscapeString(code), html.EscapeString(doc.Name))
	}
	meta, _ := json.Marshal(map[string]any{"wasm": names["phonecheck.wasm"], "i18n": i18n})

	var regions strings.Builder
	rs := phone.Regions()
	slices.Sort(rs)
	for _, r := range rs {
		info, ok := phone.LookupRegion(r)
		if !ok || r == "001" {
			continue
		}
		fmt.Fprintf(&regions, `<option value="%s" data-cc="%d">%s</option>`, r, info.CountryCode, r)
	}

	connect := []string{"'self'"}
	for _, o := range opts.ConnectOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("web: connect origin %q is not an http(s) origin", o)
		}
		connect = append(connect, u.Scheme+"://"+u.Host)
	}
	s.csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; " +
		"connect-src " + strings.Join(connect, " ") + "; base-uri 'none'; form-action 'none'; object-src 'none'"

	page, err := static.ReadFile("static/index.html")
	if err != nil {
		return nil, err
	}
	repl := []string{"{{csp}}", html.EscapeString(s.csp), "{{assets}}", html.EscapeString(string(meta)),
		"{{languages}}", langOpts.String(), "{{regions}}", regions.String()}
	for name, p := range names {
		repl = append(repl, "{{"+name+"}}", p)
	}
	s.index = []byte(strings.NewReplacer(repl...).Replace(string(page)))
	if i := bytes.Index(s.index, []byte("{{")); i >= 0 {
		return nil, fmt.Errorf("web: index.html: unknown placeholder at byte %d", i)
	}
	sum := sha256.Sum256(s.index)
	s.etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	return s, nil
}

// CSP is the Content-Security-Policy the page runs under. A server sends
// it as a header too, with frame-ancestors, which a meta tag cannot set.
func (s *Site) CSP() string { return s.csp + "; frame-ancestors 'none'" }

// Owns reports whether the path (from the root of a server) is the page's.
func Owns(p string) bool {
	return p == "/" || p == "/index.html" || strings.HasPrefix(p, "/"+AssetDir)
}

// ServeHTTP serves the page at / (and /index.html) and its assets under
// /app/.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" || r.URL.Path == "/index.html" {
		h.Set("Content-Security-Policy", s.CSP())
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", s.etag)
		if match(r.Header.Get("If-None-Match"), s.etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(s.index)))
		if r.Method == http.MethodGet {
			w.Write(s.index)
		}
		return
	}
	a, ok := s.assets[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.Error(w, "no such file", http.StatusNotFound)
		return
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if match(r.Header.Get("If-None-Match"), a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.gz
	switch enc := pickEncoding(r.Header.Get("Accept-Encoding"), a.br != nil); enc {
	case "br":
		body = a.br
		h.Set("Content-Encoding", enc)
	case "gzip":
		h.Set("Content-Encoding", enc)
	default:
		raw, err := a.plain()
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		body = raw
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// plain returns the asset's bytes, uncompressed.
func (a *asset) plain() ([]byte, error) {
	if !a.fromGzip {
		return a.raw, nil
	}
	a.rawOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(a.gz))
		if err != nil {
			a.rawErr = err
			return
		}
		a.raw, a.rawErr = io.ReadAll(zr)
	})
	return a.raw, a.rawErr
}

func match(inm, etag string) bool {
	for _, t := range strings.Split(inm, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// pickEncoding returns "br", "gzip" or "" from an Accept-Encoding header.
func pickEncoding(ae string, haveBr bool) string {
	best, bestQ := "", 0.0
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q <= 0 || (name != "gzip" && !(name == "br" && haveBr)) {
			continue
		}
		// Prefer brotli at equal weight: it is the smaller.
		if q > bestQ || q == bestQ && name == "br" {
			best, bestQ = name, q
		}
	}
	return best
}

// WriteFiles writes the page and its assets under dir, for a static host:
// index.html, and app/ with each asset plainly and precompressed (.gz,
// and .br for the module), the forms nginx's gzip_static and brotli_static
// serve. Each file is written to a temporary name and renamed into place,
// so that a crash never leaves half a file under its final name.
func (s *Site) WriteFiles(dir string, mode os.FileMode) error {
	dirMode := mode | (mode&0o444)>>2
	write := func(rel string, b []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), dirMode); err != nil {
			return err
		}
		f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
		if err != nil {
			return err
		}
		_, werr := f.Write(b)
		if err := errors.Join(werr, f.Chmod(mode), f.Close()); err != nil {
			os.Remove(f.Name())
			return err
		}
		if err := os.Rename(f.Name(), p); err != nil {
			os.Remove(f.Name())
			return err
		}
		return nil
	}
	if err := write("index.html", s.index); err != nil {
		return err
	}
	for p, a := range s.assets {
		raw, err := a.plain()
		if err != nil {
			return err
		}
		if err := write(p, raw); err != nil {
			return err
		}
		if err := write(p+".gz", a.gz); err != nil {
			return err
		}
		if a.br != nil {
			if err := write(p+".br", a.br); err != nil {
				return err
			}
		}
	}
	return nil
}
