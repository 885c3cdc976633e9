package browsertest

import (
	"bytes"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed testdata
var testdata embed.FS

// server serves the test page (an HTML file and its script, under a CSP
// that allows only its own origin) and the two endpoints its check calls.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	posts [][]byte // the bodies of POST /api/blob, as received
}

func newServer(t *testing.T) *server {
	s := &server{}
	files, _ := fs.Sub(testdata, "testdata")
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServerFS(files))
	mux.HandleFunc("GET /api/check", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"not_exposed"}`)
	})
	mux.HandleFunc("POST /api/blob", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.posts = append(s.posts, b)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// allBytes is what the page's bodyBytes(n) makes.
func allBytes(n int) []byte {
	b := make([]byte, 256+n)
	for i := range b {
		if i < 256 {
			b[i] = byte(i)
		} else {
			b[i] = byte(i*7 + 3)
		}
	}
	return b
}

func find(reqs []Request, method, pathPrefix string) *Request {
	for i := range reqs {
		r := &reqs[i]
		if r.Method == method && strings.Contains(r.URL, pathPrefix) {
			return r
		}
	}
	return nil
}

func TestCheckFlow(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := New(t)
	b.Navigate(s.URL)
	b.Fill("#number", "+201001234567")
	b.Select("#region", "US")
	b.Click("#check")
	if got := b.WaitStatus("#result", 5*time.Second); got != "not_exposed" {
		t.Fatalf("status %q, want not_exposed", got)
	}
	if got := b.Text("#result"); got != "Not exposed" {
		t.Errorf("text %q", got)
	}
	if got := b.Attr("#result", "data-status"); got != "not_exposed" {
		t.Errorf("Attr data-status %q", got)
	}
	var events struct{ Input, Change int }
	b.Eval(`({input: window.inputEvents, change: window.changeEvents})`, &events)
	if events.Input != len("+201001234567") || events.Change != 1 {
		t.Errorf("the page saw %d input and %d change events, want %d and 1", events.Input, events.Change, len("+201001234567"))
	}
	// Typing again replaces the value, in any script.
	var value string
	b.Fill("#number", "٠١٠٠١٢٣٤٥٦٧")
	b.Eval(`document.getElementById("number").value`, &value)
	if value != "٠١٠٠١٢٣٤٥٦٧" {
		t.Errorf("after typing Arabic-Indic digits the value is %q", value)
	}
	b.Fill("#number", "12")
	b.Eval(`document.getElementById("number").value`, &value)
	if value != "12" {
		t.Errorf("after a third Fill the value is %q", value)
	}
	b.Click("#check")
	if got := b.WaitStatus("#result", 5*time.Second); got != "invalid" {
		t.Errorf("status %q after typing 12, want invalid", got)
	}
	if errs := b.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}

	reqs := b.Requests()
	for _, r := range reqs {
		t.Logf("%s %s", r.Type, r.String())
	}
	doc := find(reqs, "GET", s.URL+"/")
	if doc == nil || doc.Type != "Document" || doc.Status != 200 || doc.ResponseHeader.Get("Content-Security-Policy") != "default-src 'self'" {
		t.Errorf("the document's request: %+v", doc)
	}
	get := find(reqs, "GET", "/api/check?region=US")
	switch {
	case get == nil:
		t.Fatal("no GET /api/check?region=US recorded")
	case get.Header.Get("X-Test") != "get-header":
		t.Errorf("GET's header X-Test %q; headers %v", get.Header.Get("X-Test"), get.Header)
	case get.SentHeader.Get("X-Test") != "get-header" || get.SentHeader.Get("Host") == "":
		// The wire headers have what the network stack adds too.
		t.Errorf("GET's wire headers %v", get.SentHeader)
	case get.Status != 200 || get.ResponseHeader.Get("Content-Type") != "application/json":
		t.Errorf("GET's response %d %v", get.Status, get.ResponseHeader)
	}
	post := find(reqs, "POST", "/api/blob")
	switch {
	case post == nil:
		t.Fatal("no POST /api/blob recorded")
	case !bytes.Equal(post.Body, allBytes(0)):
		t.Errorf("POST body recorded as %x (%s), want bytes 0..255", post.Body, post.BodyErr)
	case post.Header.Get("Content-Type") != "application/octet-stream" || post.Status != 204:
		t.Errorf("POST %v -> %d", post.Header, post.Status)
	}
	if got := s.received(); len(got) != 1 || !bytes.Equal(got[0], allBytes(0)) {
		t.Errorf("the server got %d POSTs", len(got))
	}
	AssertNotSent(t, reqs, []byte("+201001234567"))

	b.ResetRequests()
	if reqs := b.Requests(); len(reqs) != 0 {
		t.Errorf("after ResetRequests: %v", reqs)
	}
}

// The protocol's event carries a body made of bytes (up to megabytes); a
// Blob body the recorder fetches with Network.getRequestPostData. Either
// way it must be exact.
func TestBinaryBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := New(t)
	b.Navigate(s.URL)
	for _, c := range []struct {
		body    string
		n       int
		fetched bool
	}{
		{"bodyBytes(%d)", 1 << 20, false},
		{"new Blob([bodyBytes(%d)])", 1000, true},
	} {
		b.ResetRequests()
		var status int
		b.Eval(fmt.Sprintf(`fetch("/api/blob", {method: "POST", body: `+c.body+`}).then(r => r.status)`, c.n), &status)
		r := find(b.Requests(), "POST", "/api/blob")
		if r == nil || status != 204 {
			t.Fatalf("status %d, request %v", status, r)
		}
		if !bytes.Equal(r.Body, allBytes(c.n)) {
			t.Errorf("%s: recorded %d bytes (%s), want %d exact", c.body, len(r.Body), r.BodyErr, 256+c.n)
		}
		if r.bodyFetched != c.fetched {
			t.Errorf("%s: fetched with Network.getRequestPostData: %v, want %v", c.body, r.bodyFetched, c.fetched)
		}
	}
}

// fakeTB records what a helper reports instead of failing the test.
type fakeTB struct {
	testing.TB
	mu                    sync.Mutex
	errors, fatals, skips []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skips = append(f.skips, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls fn on its own goroutine, so that Fatalf and Skipf can end it.
func (f *fakeTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestAssertNotSent(t *testing.T) {
	t.Parallel()
	phone := []byte("+201001234567")
	key := []byte{0x00, 0x9f, 0xe3, 0x10, 0x42, 0xff, 0x7a, 0x01, 0xc4, 0x55, 0x80, 0x2b}
	long := append(append([]byte{0xaa}, key...), 0xbb, 0xcc)
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	for _, c := range []struct {
		name string
		req  Request
		want string // where the finding is; "" for none
	}{
		{"clean", Request{Method: "POST", URL: "https://x/api/check?region=EG&v=2026", Header: h("X-Id", "1234"), Body: []byte{1, 2, 3}}, ""},
		{"other digits", Request{Method: "GET", URL: "https://x/t/17312345678901", Header: h("X-N", "20100123456")}, ""},
		{"URL raw", Request{Method: "GET", URL: "https://x/?n=+201001234567"}, "the URL"},
		{"URL encoded", Request{Method: "GET", URL: "https://x/?n=%2B20%20100%20123%204567"}, "the URL (decoded)"},
		{"URL national", Request{Method: "GET", URL: "https://x/lookup/01001234567"}, "national number"},
		{"header formatted", Request{Method: "GET", URL: "https://x/", Header: h("X-Phone", "+20 (100) 123-4567")}, "header X-Phone"},
		{"wire header", Request{Method: "GET", URL: "https://x/", SentHeader: h("Cookie", "n=201001234567")}, "sent header Cookie"},
		{"header name", Request{Method: "GET", URL: "https://x/", Header: h("X-201001234567", "1")}, "the name of header"},
		{"Arabic-Indic digits", Request{Method: "POST", URL: "https://x/", Body: []byte("{\"n\":\"+٢٠١٠٠١٢٣٤٥٦٧\"}")}, "the body"},
		{"key raw", Request{Method: "POST", URL: "https://x/", Body: long}, "raw"},
		{"key hex in URL", Request{Method: "GET", URL: "https://x/?k=" + hex.EncodeToString(key)}, "(hex)"},
		{"key HEX in header", Request{Method: "GET", URL: "https://x/", Header: h("X-Key", strings.ToUpper(hex.EncodeToString(long)))}, "(HEX)"},
		{"key hex in body", Request{Method: "POST", URL: "https://x/", Body: []byte("k=" + hex.EncodeToString(key))}, "the body"},
		{"key base64 inside", Request{Method: "POST", URL: "https://x/", Body: []byte(base64.StdEncoding.EncodeToString(long))}, "base64 at offset 1"},
		{"key base64url", Request{Method: "GET", URL: "https://x/?k=" + base64.RawURLEncoding.EncodeToString(key)}, "base64url"},
		{"phone base64", Request{Method: "GET", URL: "https://x/", Header: h("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("u:+201001234567")))}, "base64"},
	} {
		f := &fakeTB{TB: t}
		f.run(func() { AssertNotSent(f, []Request{c.req}, phone, key) })
		if c.want == "" {
			if len(f.errors) > 0 {
				t.Errorf("%s: false alarm: %q", c.name, f.errors)
			}
			continue
		}
		if len(f.errors) == 0 || !strings.Contains(strings.Join(f.errors, "\n"), c.want) {
			t.Errorf("%s: got %q, want a finding mentioning %q", c.name, f.errors, c.want)
		}
	}
}

// The recorder and AssertNotSent together: a page that leaks is caught
// wherever it puts the secret.
func TestAssertNotSentCatchesPage(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := New(t)
	b.Navigate(s.URL)
	b.ResetRequests()
	secret := []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44}
	b.Eval(`(async () => {
		const key = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22, 0x33, 0x44]);
		const hex = Array.from(key, x => x.toString(16).padStart(2, "0")).join("");
		await fetch("/api/check?k=" + hex);
		await fetch("/api/check", {headers: {"X-Number": "+201001234567"}});
		await fetch("/api/blob", {method: "POST", body: new Uint8Array([9, ...key, 9])});
		await fetch("/api/blob", {method: "POST", body: "k=" + hex.toUpperCase()});
		await fetch("/api/blob", {method: "POST", body: "nothing here"});
	})()`, nil)
	var reqs []Request
	for _, r := range b.Requests() {
		if strings.Contains(r.URL, "/api/") { // not the favicon, which comes when it will
			reqs = append(reqs, r)
		}
	}
	if len(reqs) != 5 {
		t.Fatalf("%d requests: %v", len(reqs), reqs)
	}
	for i, want := range []string{"(hex) in the URL", "header X-Number", "(raw) in the body", "(HEX) in the body", ""} {
		f := &fakeTB{TB: t}
		f.run(func() { AssertNotSent(f, reqs[i:i+1], []byte("+201001234567"), secret) })
		got := strings.Join(f.errors, "\n")
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s: got %q, want %q", reqs[i].String(), got, want)
		}
	}
}

func TestLocale(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, tag := range []string{"ar-EG", "en-US"} {
		t.Run(tag, func(t *testing.T) {
			t.Parallel()
			b := New(t, Locale(tag))
			b.Navigate(s.URL)
			var got struct {
				Language  string
				Languages []string
				Intl      string
			}
			b.Eval(`({language: navigator.language, languages: navigator.languages,
				intl: Intl.DateTimeFormat().resolvedOptions().locale})`, &got)
			base, _, _ := strings.Cut(tag, "-")
			if got.Language != tag || !slices.Equal(got.Languages, []string{tag, base}) || got.Intl != tag {
				t.Errorf("the page sees %+v", got)
			}
			doc := find(b.Requests(), "GET", s.URL)
			if al := doc.SentHeader.Get("Accept-Language"); !strings.HasPrefix(al, tag+",") {
				t.Errorf("Accept-Language %q", al)
			}
		})
	}
}

func TestViewport(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, c := range []struct {
		name         string
		opt          Option
		width, ratio int
		coarse       bool
	}{{"phone", Phone(), 390, 2, true}, {"desktop", Desktop(), 1280, 1, false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := New(t, c.opt)
			b.Navigate(s.URL)
			var got struct {
				Width, Ratio int
				Coarse       bool
			}
			b.Eval(`({width: window.innerWidth, ratio: window.devicePixelRatio,
				coarse: matchMedia("(pointer: coarse)").matches})`, &got)
			if got.Width != c.width || got.Ratio != c.ratio || got.Coarse != c.coarse {
				t.Errorf("the page sees %+v, want width %d, ratio %d, coarse pointer %v", got, c.width, c.ratio, c.coarse)
			}
			path := b.Screenshot("page")
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			cfg, err := png.DecodeConfig(f)
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if cfg.Width != c.width*c.ratio {
				t.Errorf("the screenshot is %d pixels wide, want %d", cfg.Width, c.width*c.ratio)
			}
		})
	}
}

func TestConsoleErrors(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := New(t)
	b.Navigate(s.URL)
	if errs := b.ConsoleErrors(); len(errs) != 0 {
		t.Fatalf("the page logs errors by itself: %v", errs)
	}
	b.Eval(`console.log("fine"); console.warn("also fine"); console.error("boom", 42)`, nil)
	b.Eval(`setTimeout(() => { throw new Error("kaput") }); Promise.reject(new Error("nobody waits"));
		const s = document.createElement("script"); s.textContent = "1"; document.body.append(s);
		new Promise(r => setTimeout(r, 50))`, nil)
	errs := b.ConsoleErrors()
	all := fmt.Sprint(errs)
	for _, want := range []string{"console: boom 42", "exception: Uncaught Error: kaput", "nobody waits", "security: ", "Content Security Policy"} {
		if !strings.Contains(all, want) {
			t.Errorf("no %q in %d errors: %s", want, len(errs), all)
		}
	}
	if strings.Contains(all, "fine") {
		t.Errorf("log and warn are not errors: %s", all)
	}
}

// A helper that times out says what it waited for and leaves a screenshot.
func TestFailureMessage(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	f := &fakeTB{TB: t}
	b := New(f)
	b.Navigate(s.URL)
	b.SetTimeout(300 * time.Millisecond)
	f.run(func() { b.Click("#missing") })
	f.run(func() { b.WaitStatus("#result", 200*time.Millisecond) })
	if len(f.fatals) != 2 {
		t.Fatalf("fatals: %q", f.fatals)
	}
	for i, want := range []string{`Click "#missing": timed out after 300ms: no element matches`, `WaitStatus "#result": timed out after 200ms: 1 match(es); the first is <p id="result">`} {
		msg := f.fatals[i]
		if !strings.Contains(msg, want) {
			t.Errorf("message %q, want %q", msg, want)
		}
		_, path, ok := strings.Cut(msg, "(screenshot: ")
		path = strings.TrimSuffix(path, ")")
		if st, err := os.Stat(path); !ok || err != nil || st.Size() == 0 {
			t.Errorf("no screenshot at %q: %v", path, err)
		}
	}
}

func TestMissingChromium(t *testing.T) {
	t.Setenv("CHROMIUM", "/nonexistent/chromium")
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f := &fakeTB{TB: t}
		f.run(func() { New(f) })
		if ci == "true" && (len(f.fatals) != 1 || len(f.skips) != 0) || ci == "" && (len(f.skips) != 1 || len(f.fatals) != 0) {
			t.Errorf("CI=%q: fatals %q, skips %q", ci, f.fatals, f.skips)
		}
	}
}

func TestTabMemory(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	b := New(t)
	b.Navigate(s.URL)
	m0 := b.TabMemory()
	b.Eval(`window.big = new Uint8Array(32 << 20).fill(1); 0`, nil)
	m1 := b.TabMemory()
	// What a Go WebAssembly module's memory is: 512 pages of 64 KiB.
	b.Eval(`window.wasm = new WebAssembly.Memory({initial: 512}); new Uint8Array(wasm.buffer).fill(1); 0`, nil)
	m2 := b.TabMemory()
	t.Logf("tab memory: %+v, with a 32 MiB array %+v, and a 32 MiB WebAssembly memory %+v", m0, m1, m2)
	const mib = 1 << 20
	if m0.JSHeap <= 0 || m0.Renderer <= 0 {
		t.Errorf("tab memory %+v", m0)
	}
	if m1.ArrayBuffers-m0.ArrayBuffers < 32*mib || m1.Renderer-m0.Renderer < 30*mib {
		t.Errorf("a 32 MiB array took it from %+v to %+v", m0, m1)
	}
	if m2.Renderer-m1.Renderer < 30*mib {
		t.Errorf("a 32 MiB WebAssembly memory took it from %+v to %+v", m1, m2)
	}
}
