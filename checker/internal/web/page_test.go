package web_test

// The page in a real browser: headless Chromium (browsertest) against
// `serve` (plain and private, through the event-loop server the command
// runs) and a static export served from another origin than its
// evaluation server. Every test records the page's requests and checks
// that neither the number nor its hash left the browser.

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/checker/internal/private/wire"
	"github.com/phonecheck/phonecheck/checker/internal/synth"
	"github.com/phonecheck/phonecheck/checker/internal/web/browsertest"
	"github.com/phonecheck/phonecheck/hashset"
)

// Test numbers: US NXX-555-01XX lines, reserved for fiction; and an
// Egyptian mobile number from the seeded synthetic generator (Egypt has no
// range reserved for fiction that we know of), never a sample of a leak
// nor libphonenumber's example numbers.
var (
	usExposed  = "+12015550123" // in both leaks
	usOneLeak  = "+12015550145" // in leak-b only
	usNotThere = "+12015550177"
	egExposed  = synthEG()
)

// synthEG is the first Egyptian mobile number of a seeded synthetic draw.
func synthEG() string {
	for _, n := range synth.Numbers(17, 200, map[string]float64{"EG": 1}) {
		if strings.HasPrefix(n, "+201") && len(n) == 13 {
			return n
		}
	}
	panic("no synthetic Egyptian mobile number")
}

// egNational is egExposed as an Egyptian types it: 0 and ten digits.
func egNational() string { return "0" + egExposed[3:6] + " " + egExposed[6:] }

type page struct {
	plainURL, privURL string // serve (plain, page at /), serve --private (page at /)
	key               *checker.OPRFKey
	plain             *checker.Checker
	priv              *checker.PrivateIndex
}

func buildIndex(t testing.TB) *hashset.Reader {
	b := hashset.NewBuilder(hashset.Options{KeyScheme: checker.HashScheme})
	g := b.Group("US")
	a, _ := b.AddDataset(hashset.Dataset{Name: "leak-a", Date: "2022-11", Source: "fictional test data"})
	bb, _ := b.AddDataset(hashset.Dataset{Name: "leak-b", Date: "2024-03", Source: "fictional test data"})
	for _, n := range []string{usExposed, egExposed} {
		b.Add(checker.Key(n), a, g)
	}
	for _, n := range []string{usExposed, usOneLeak, egExposed} {
		b.Add(checker.Key(n), bb, g)
	}
	// Filler, so that buckets hold more than the test numbers.
	for area := 202; area < 990; area++ {
		for line := 100; line < 200; line += 3 {
			b.Add(checker.Key(fmt.Sprintf("+1%d5550%d", area, line)), a, g)
		}
	}
	var buf bytes.Buffer
	if _, err := b.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// serveEvents serves h as `serve` does: the event-loop server, with its
// lean HTTP/1.1 path.
func serveEvents(t testing.TB, s *checker.Server) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	es := s.EventServer()
	go es.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		es.Shutdown(ctx)
	})
	return "http://" + ln.Addr().String() + "/"
}

func newPage(t testing.TB, popts checker.PrivateHandlerOptions, origins ...string) *page {
	t.Helper()
	p := &page{}
	var err error
	if p.plain, err = checker.New(buildIndex(t)); err != nil {
		t.Fatal(err)
	}
	if p.key, err = checker.GenerateOPRFKey(); err != nil {
		t.Fatal(err)
	}
	var sealed bytes.Buffer
	if _, err := checker.Seal(context.Background(), buildIndex(t), &sealed, checker.SealOptions{Key: p.key, BucketBits: 12}); err != nil {
		t.Fatal(err)
	}
	r, err := hashset.NewReader(bytes.NewReader(sealed.Bytes()), int64(sealed.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if p.priv, err = checker.NewPrivate(r, p.key); err != nil {
		t.Fatal(err)
	}
	pageH, err := checker.NewWebPage(checker.WebPageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := checker.NewServer(p.plain, checker.ServerOptions{Page: pageH})
	if err != nil {
		t.Fatal(err)
	}
	p.plainURL = serveEvents(t, ps)
	pv, err := checker.NewServerOf(checker.Indexes{Private: p.priv, Key: p.key},
		checker.ServerOptions{Page: pageH, Private: popts, AllowOrigins: origins})
	if err != nil {
		t.Fatal(err)
	}
	p.privURL = serveEvents(t, pv)
	return p
}

// secrets are what must never leave the browser for a number: its digits
// (AssertNotSent also tries the national number) and its whole key.
func secrets(e164 string) [][]byte {
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], checker.Key(e164))
	return [][]byte{[]byte(e164), key[:], []byte(fmt.Sprintf("%016X", checker.Key(e164))[:10])}
}

// check types raw with region selected, presses Check and returns the
// result's status.
func check(b *browsertest.Browser, region, raw string) string {
	b.Select("#region", region)
	b.Fill("#number", raw)
	b.Click("#check")
	return b.WaitStatus("#result", 30*time.Second)
}

// apiRequests are the requests to the check's routes (not the page and
// its assets).
func apiRequests(reqs []browsertest.Request) []browsertest.Request {
	var out []browsertest.Request
	for _, r := range reqs {
		if strings.Contains(r.URL, "/range/") || strings.Contains(r.URL, "/v1/") {
			out = append(out, r)
		}
	}
	return out
}

func noConsoleErrors(t *testing.T, b *browsertest.Browser, allow ...string) {
	t.Helper()
	for _, e := range b.ConsoleErrors() {
		ok := strings.Contains(e.URL, "favicon.ico")
		for _, a := range allow {
			ok = ok || strings.Contains(e.Text, a) || strings.Contains(e.URL, a)
		}
		if !ok {
			t.Errorf("console: %s", e)
		}
	}
}

func TestPagePlain(t *testing.T) {
	t.Parallel()
	p := newPage(t, checker.PrivateHandlerOptions{Rate: -1})
	b := browsertest.New(t, browsertest.Desktop(), browsertest.Locale("en-US"))
	b.Navigate(p.plainURL)
	if got := b.Attr("#region", "value"); got == "" {
		b.Eval(`document.getElementById('region').value`, &got)
		if got != "US" {
			t.Errorf("default region %q, want US from en-US", got)
		}
	}
	// Nothing is fetched before the person types: not the module.
	for _, r := range b.Requests() {
		if strings.HasSuffix(r.URL, ".wasm") {
			t.Errorf("the module loaded before any typing: %s", r.URL)
		}
	}

	// Typing starts it, without Check.
	b.Fill("#number", "2")
	b.Eval(`new Promise(r => { const w = () => window.phonecheck ? r(true) : setTimeout(w, 20); w(); })`, nil)
	loaded := false
	for _, r := range b.Requests() {
		loaded = loaded || strings.HasSuffix(r.URL, ".wasm") && r.Status == 200
	}
	if !loaded {
		t.Error("typing did not load the module")
	}
	if st := b.Attr("#result", "data-status"); st != "" {
		t.Errorf("typing alone gave a result: %q", st)
	}

	if st := check(b, "US", "(201) 555-0123"); st != "exposed" {
		t.Fatalf("exposed number: status %q: %s", st, b.Text("#result"))
	}
	text := b.Text("#result")
	for _, want := range []string{"leak-a", "leak-b", "2022-11", "What to do", "two-step verification", "SIM"} {
		if !strings.Contains(text, want) {
			t.Errorf("result lacks %q:\n%s", want, text)
		}
	}
	if u := b.Text("#understood"); !strings.Contains(u, "+1 201-555-0123") || !strings.Contains(u, "United States") {
		t.Errorf("understood: %d characters, without the number or the country", len(u)) // the number stays out of test output
	}
	// The "what left" panel says what was sent: the prefix of the one
	// range request.
	reqs := apiRequests(b.Requests())
	var ranges []browsertest.Request
	for _, r := range reqs {
		if strings.Contains(r.URL, "/range/") {
			ranges = append(ranges, r)
		}
	}
	if len(ranges) != 1 {
		t.Fatalf("%d range requests: %v", len(ranges), reqs)
	}
	sentPrefix := ranges[0].URL[strings.LastIndex(ranges[0].URL, "/")+1:]
	if got := b.Attr("#sent", "data-prefix"); got != sentPrefix {
		t.Errorf("panel says prefix %q, the page sent %q", got, sentPrefix)
	}
	if bits := b.Attr("#sent", "data-bits"); bits != strconv.Itoa(4*len(sentPrefix)) {
		t.Errorf("panel says %s bits, the page sent %d hex digits", bits, len(sentPrefix))
	}
	if !strings.Contains(b.Text("#sent-prefix"), sentPrefix) || !strings.Contains(b.Text("#sent-anonymity"), "numbers of United States") {
		t.Errorf("panel: %s", b.Text("#sent"))
	}
	if ranges[0].Header.Get("Add-Padding") != "true" {
		t.Error("the range request did not ask for padding")
	}
	b.Screenshot("plain-exposed")

	if st := check(b, "US", usOneLeak); st != "exposed" || !strings.Contains(b.Text("#result"), "leak-b") || strings.Contains(b.Text("#result"), "leak-a") {
		t.Errorf("one-leak number: %q %s", st, b.Text("#result"))
	}
	if st := check(b, "US", "201 555 0177"); st != "not_exposed" {
		t.Errorf("absent number: status %q: %s", st, b.Text("#result"))
	}
	b.Screenshot("plain-not-exposed")
	// By keyboard alone: Tab from the country to the number, type, Enter.
	b.Eval(`(() => { document.getElementById('region').focus(); return true })()`, nil)
	if err := chromedp.Do(b.Context(), chromedp.KeyEvent("\t"), chromedp.KeyEvent(usOneLeak), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	b.Eval(`new Promise(r => { const w = () => document.getElementById('result').dataset.status ? r(true) : setTimeout(w, 20); w(); })`, nil)
	if st := b.Attr("#result", "data-status"); st != "exposed" {
		t.Errorf("keyboard check (Tab, type, Enter): %q", st)
	}
	var live string
	b.Eval(`document.getElementById('result').getAttribute('aria-live')`, &live)
	if live != "polite" {
		t.Errorf("the result is not announced: aria-live %q", live)
	}
	if st := check(b, "EG", "010 0123"); st != "invalid" || !strings.Contains(b.Text("#result"), "not a valid number in Egypt") {
		t.Errorf("invalid number: %q %q", st, b.Text("#result"))
	}
	b.Screenshot("plain-invalid")

	all := b.Requests()
	for _, n := range []string{usExposed, usOneLeak, usNotThere} {
		browsertest.AssertNotSent(t, all, secrets(n)...)
	}
	for _, r := range all {
		if r.SentHeader.Get("Cookie") != "" || r.Header.Get("Cookie") != "" {
			t.Errorf("a cookie went out with %s", r.URL)
		}
		if !strings.HasPrefix(r.URL, p.plainURL) && !strings.HasPrefix(r.URL, "data:") {
			t.Errorf("a request to another origin: %s", r.URL)
		}
	}
	var stored []string
	b.Eval(`Object.keys(localStorage)`, &stored)
	if len(stored) > 1 || len(stored) == 1 && stored[0] != "phonecheck-region" {
		t.Errorf("localStorage holds %v", stored)
	}
	var cookies string
	b.Eval(`document.cookie`, &cookies)
	if cookies != "" {
		t.Errorf("cookies: %q", cookies)
	}
	// A plain server has no key document: the page's first request, the
	// one that finds the mode, is a 404 the browser logs.
	noConsoleErrors(t, b, "/v1/private/key")
}

func TestPagePrivate(t *testing.T) {
	t.Parallel()
	p := newPage(t, checker.PrivateHandlerOptions{Rate: -1})
	b := browsertest.New(t, browsertest.Phone(), browsertest.Locale("en-US"))
	b.Navigate(p.privURL)
	if st := check(b, "US", usExposed); st != "exposed" {
		t.Fatalf("exposed: %q %s", st, b.Text("#result"))
	}
	// One POST, its prefix the panel's, with one blinded element.
	var posts []browsertest.Request
	for _, r := range apiRequests(b.Requests()) {
		if r.Method == "POST" {
			posts = append(posts, r)
		}
	}
	if len(posts) != 1 {
		t.Fatalf("%d queries", len(posts))
	}
	body := posts[0].Body
	if len(body) < 5 {
		t.Fatalf("query body %d bytes", len(body))
	}
	bits := int(body[2])
	pb := (bits + 7) / 8
	var prefix uint64
	for _, c := range body[3 : 3+pb] {
		prefix = prefix<<8 | uint64(c)
	}
	n := int(binary.BigEndian.Uint16(body[3+pb:]))
	if want := fmt.Sprintf("%0*X", (bits+3)/4, prefix); b.Attr("#sent", "data-prefix") != want || b.Attr("#sent", "data-bits") != strconv.Itoa(bits) {
		t.Errorf("panel says %s (%s bits), the query sent %s (%d bits)", b.Attr("#sent", "data-prefix"), b.Attr("#sent", "data-bits"), want, bits)
	}
	// One element and, as the server's document offers them, its decode
	// hint: 32 bytes each.
	if n != 1 || len(body) != 3+pb+2+32+32 {
		t.Errorf("query: %d elements, %d bytes", n, len(body))
	}
	if req, err := wire.ParseRequest(body, 1); err != nil || len(req.Elements) != 32 || len(req.Hints) != 32 {
		t.Errorf("query: not one element with its hint (%v)", err)
	}
	if !strings.Contains(b.Text("#sent-verified"), p.key.ID()) || b.Attr("#sent", "data-mode") != "private" || !strings.Contains(b.Text("#sent-blinded"), "blinded") {
		t.Errorf("panel: %s", b.Text("#sent"))
	}
	b.Screenshot("private-exposed-phone")
	var width int
	b.Eval(`document.documentElement.scrollWidth`, &width)
	if width > 390 {
		t.Errorf("the page is %d px wide on a 390 px screen", width)
	}
	if st := check(b, "US", usNotThere); st != "not_exposed" {
		t.Errorf("absent: %q", st)
	}
	b.Screenshot("private-not-exposed-phone")
	browsertest.AssertNotSent(t, b.Requests(), append(secrets(usExposed), secrets(usNotThere)...)...)
	noConsoleErrors(t, b)
}

// TestPageStaticExport: the page and the buckets from a static host (one
// origin), evaluations from `serve --private --allow-origin` (another).
func TestPageStaticExport(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cdn := httptest.NewUnstartedServer(nil)
	cdnURL := "http://" + cdn.Listener.Addr().String()
	p := newPage(t, checker.PrivateHandlerOptions{Rate: -1}, cdnURL)
	if _, err := checker.ExportPrivate(context.Background(), p.priv, dir, checker.PrivateExportOptions{EvaluateURL: p.privURL}); err != nil {
		t.Fatal(err)
	}
	if err := checker.WriteWebPage(dir, 0o600, checker.WebPageOptions{ConnectOrigins: []string{p.privURL}}); err != nil {
		t.Fatal(err)
	}
	cdn.Config.Handler = staticHost(dir)
	cdn.Start()
	defer cdn.Close()

	b := browsertest.New(t, browsertest.Desktop(), browsertest.Locale("en-US"))
	b.Navigate(cdnURL + "/")
	if st := check(b, "US", usExposed); st != "exposed" {
		t.Fatalf("exposed: %q %s", st, b.Text("#result"))
	}
	b.Screenshot("export-exposed")
	reqs := apiRequests(b.Requests())
	var bucket, eval []browsertest.Request
	for _, r := range reqs {
		switch {
		case strings.Contains(r.URL, "/v1/private/bucket/") && strings.HasPrefix(r.URL, cdnURL):
			bucket = append(bucket, r)
		case r.Method == "POST" && strings.HasPrefix(r.URL, strings.TrimSuffix(p.privURL, "/")):
			eval = append(eval, r)
		}
	}
	if len(bucket) != 1 || len(eval) != 1 || eval[0].Status != 200 {
		t.Fatalf("bucket requests %v, evaluations %v", bucket, eval)
	}
	if eval[0].Body[2] != 0 {
		t.Errorf("the evaluation server got a prefix of %d bits", eval[0].Body[2])
	}
	if got := b.Attr("#sent", "data-prefix"); !strings.HasSuffix(bucket[0].URL, "/"+got) {
		t.Errorf("panel says prefix %q, the bucket fetched was %s", got, bucket[0].URL)
	}
	if !strings.Contains(b.Text("#sent-blinded"), strings.TrimPrefix(strings.TrimSuffix(p.privURL, "/"), "http://")) {
		t.Errorf("panel does not name the evaluation server: %s", b.Text("#sent"))
	}
	if st := check(b, "US", usNotThere); st != "not_exposed" {
		t.Errorf("absent: %q", st)
	}
	b.Screenshot("export-not-exposed")
	browsertest.AssertNotSent(t, b.Requests(), append(secrets(usExposed), secrets(usNotThere)...)...)
	noConsoleErrors(t, b)
}

// TestPagePlainExport: the page next to a plain export (a static host
// serving ranges, no key document): exposed, in one leak, absent, invalid.
func TestPagePlainExport(t *testing.T) {
	t.Parallel()
	p := newPage(t, checker.PrivateHandlerOptions{Rate: -1})
	dir := t.TempDir()
	if _, err := checker.Export(context.Background(), p.plain, dir, checker.ExportOptions{Bits: []int{12}, Padding: true}); err != nil {
		t.Fatal(err)
	}
	if err := checker.WriteWebPage(dir, 0o600, checker.WebPageOptions{}); err != nil {
		t.Fatal(err)
	}
	cdn := httptest.NewServer(staticHost(dir))
	defer cdn.Close()
	b := browsertest.New(t, browsertest.Desktop(), browsertest.Locale("en-US"))
	b.Navigate(cdn.URL + "/")
	if st := check(b, "US", usExposed); st != "exposed" || !strings.Contains(b.Text("#result"), "leak-a") {
		t.Errorf("exposed: %q %s", st, b.Text("#result"))
	}
	// The text form counts datasets: a number in one of two is "1 of 2".
	if st := check(b, "US", usOneLeak); st != "exposed" || !strings.Contains(b.Text("#result"), "1 of the 2 leaks") {
		t.Errorf("one leak: %q %s", st, b.Text("#result"))
	}
	if st := check(b, "US", usNotThere); st != "not_exposed" || b.Attr("#sent", "data-mode") != "plain" {
		t.Errorf("absent: %q, mode %q", st, b.Attr("#sent", "data-mode"))
	}
	if st := check(b, "US", "201 555"); st != "invalid" {
		t.Errorf("invalid: %q", st)
	}
	b.Screenshot("plain-export")
	browsertest.AssertNotSent(t, b.Requests(), append(secrets(usExposed), append(secrets(usOneLeak), secrets(usNotThere)...)...)...)
	noConsoleErrors(t, b, "/v1/private/key")
}

// staticHost serves dir as a CDN would: precompressed .gz where asked,
// application/wasm for the module, long caching for app/.
func staticHost(dir string) http.Handler {
	fs := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			w.Header().Set("Content-Type", "application/wasm")
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				if f, err := os.Open(filepath.Join(dir, filepath.FromSlash(r.URL.Path)) + ".gz"); err == nil {
					defer f.Close()
					w.Header().Set("Content-Encoding", "gzip")
					io.Copy(w, f)
					return
				}
			}
		}
		fs.ServeHTTP(w, r)
	})
}

func TestPageErrors(t *testing.T) {
	t.Parallel()
	p := newPage(t, checker.PrivateHandlerOptions{Rate: 0.05, Burst: 1, MaxElements: 1})
	b := browsertest.New(t, browsertest.Desktop(), browsertest.Locale("en-US"))

	// A rate limit: the second check is refused, with the wait.
	b.Navigate(p.privURL)
	if st := check(b, "US", usExposed); st != "exposed" {
		t.Fatalf("first check: %q %s", st, b.Text("#result"))
	}
	if st := check(b, "US", usNotThere); st != "error" || !strings.Contains(b.Text("#result"), "Too many checks") || !strings.Contains(b.Text("#result"), "seconds") {
		t.Errorf("rate limited: %q %s", st, b.Text("#result"))
	}
	b.Screenshot("error-429")

	// A proxy that changes one byte of the proof.
	tamper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p2 := strings.TrimSuffix(p.plainURL, "/")
		if strings.HasPrefix(r.URL.Path, "/v1/private/") {
			p2 = strings.TrimSuffix(tamperTarget(t), "/")
		}
		req, _ := http.NewRequest(r.Method, p2+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		req.Header.Del("Origin")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if r.Method == "POST" && resp.StatusCode == 200 && len(body) > 14+32 {
			body[14+32] ^= 1
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	defer tamper.Close()
	b.Navigate(tamper.URL + "/")
	if st := check(b, "US", usExposed); st != "error" || !strings.Contains(b.Text("#result"), "could not be verified") {
		t.Errorf("tampered proof: %q %s", st, b.Text("#result"))
	}
	b.Screenshot("error-proof")

	// The server goes away after the page loaded.
	down := httptest.NewServer(staticHost(pageDir(t)))
	b.Navigate(down.URL + "/")
	b.Fill("#number", "1") // loads the module
	b.Eval(`new Promise(r => { const w = () => window.phonecheck ? r(true) : setTimeout(w, 20); w(); })`, nil)
	down.CloseClientConnections()
	down.Close()
	if st := check(b, "US", usExposed); st != "error" || !strings.Contains(b.Text("#result"), "could not be reached") {
		t.Errorf("server down: %q %s", st, b.Text("#result"))
	}
	b.Screenshot("error-down")
	browsertest.AssertNotSent(t, b.Requests(), append(secrets(usExposed), secrets(usNotThere)...)...)
	noConsoleErrors(t, b, "429", "Failed to load resource", "ERR_CONNECTION_REFUSED", "/v1/")
}

var tamperSrv struct {
	url string
}

// tamperTarget is a private server with no rate limit, for the proxy.
func tamperTarget(t *testing.T) string {
	if tamperSrv.url == "" {
		p := newPage(t, checker.PrivateHandlerOptions{Rate: -1})
		tamperSrv.url = p.privURL
	}
	return tamperSrv.url
}

// pageDir is the page alone, written as export --web writes it.
func pageDir(t *testing.T) string {
	dir := t.TempDir()
	if err := checker.WriteWebPage(dir, 0o600, checker.WebPageOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPageArabic: the page in Arabic, right to left, from the browser's
// language, with the country from it.
func TestPageArabic(t *testing.T) {
	t.Parallel()
	p := newPage(t, checker.PrivateHandlerOptions{Rate: -1})
	for _, view := range []struct {
		name string
		opt  browsertest.Option
	}{{"phone", browsertest.Phone()}, {"desktop", browsertest.Desktop()}} {
		b := browsertest.New(t, view.opt, browsertest.Locale("ar-EG"))
		b.Navigate(p.privURL)
		var state struct {
			Lang, Dir, Region, Title string
			CheckRight, Width        float64
		}
		b.Eval(`new Promise(r => setTimeout(() => r({
			Lang: document.documentElement.lang, Dir: getComputedStyle(document.body).direction,
			Region: document.getElementById('region').value, Title: document.querySelector('h1').textContent,
			CheckRight: document.getElementById('check').getBoundingClientRect().right, Width: document.documentElement.clientWidth}), 300))`, &state)
		if state.Lang != "ar" || state.Dir != "rtl" || state.Region != "EG" || !strings.Contains(state.Title, "تسريب") {
			t.Errorf("%s: %+v", view.name, state)
		}
		if view.name == "desktop" && state.CheckRight < state.Width/2 {
			t.Errorf("the Check button is on the left (right edge %.0f of %.0f): not laid out right to left", state.CheckRight, state.Width)
		}
		if st := check(b, "EG", egNational()); st != "exposed" {
			t.Fatalf("%s: Egyptian number: %q %s", view.name, st, b.Text("#result"))
		}
		// Numbers read left to right inside the Arabic text: the "+" of
		// "+20" is drawn left of the "2", in the country list and in
		// what the page understood.
		var order struct{ Option, Understood []float64 }
		b.Eval(`(() => {
			const xs = (el) => {
				const tn = Array.from(el.childNodes).find(n => n.nodeType === 3 && n.data.includes('+'));
				const i = tn.data.indexOf('+');
				const at = (k) => { const rg = document.createRange(); rg.setStart(tn, k); rg.setEnd(tn, k + 1); return rg.getBoundingClientRect().left; };
				return [at(i), at(i + 1)];
			};
			const sel = document.getElementById('region');
			const sp = document.createElement('span');
			sp.textContent = sel.options[sel.selectedIndex].textContent;
			sel.parentNode.insertBefore(sp, sel);
			const option = xs(sp);
			sp.remove();
			return {Option: option, Understood: xs(document.getElementById('understood'))};
		})()`, &order)
		if len(order.Option) != 2 || order.Option[0] >= order.Option[1] {
			t.Errorf("%s: the country list draws \"+20\" right to left: %v", view.name, order.Option)
		}
		if len(order.Understood) != 2 || order.Understood[0] >= order.Understood[1] {
			t.Errorf("%s: the understood number draws \"+20\" right to left: %v", view.name, order.Understood)
		}
		text := b.Text("#result")
		if !strings.Contains(text, "مكشوف") || !strings.Contains(text, "leak-a") || !strings.Contains(b.Text("#understood"), "مصر") {
			t.Errorf("%s: Arabic result: %s (understood line has the country: %v)", view.name, text, strings.Contains(b.Text("#understood"), "مصر"))
		}
		b.Screenshot("arabic-exposed-" + view.name)
		if st := check(b, "EG", "010"); st != "invalid" || !strings.Contains(b.Text("#result"), "ليس رقمًا صالحًا") {
			t.Errorf("%s: Arabic invalid: %q %s", view.name, st, b.Text("#result"))
		}
		b.Screenshot("arabic-invalid-" + view.name)
		// The person may switch to English.
		b.Select("#lang", "en")
		var dir string
		b.Eval(`new Promise(r => setTimeout(() => r(document.documentElement.dir), 300))`, &dir)
		if dir != "ltr" || !strings.Contains(b.Text("h1"), "leak") {
			t.Errorf("%s: switching to English: dir %q, title %q", view.name, dir, b.Text("h1"))
		}
		browsertest.AssertNotSent(t, b.Requests(), secrets(egExposed)...)
		noConsoleErrors(t, b)
	}
}

// TestPageSmallCountry: an Aruban number gets an answer, the anonymity
// said plainly, and the larger download, which sends 8 bits.
func TestPageSmallCountry(t *testing.T) {
	t.Parallel()
	p := newPage(t, checker.PrivateHandlerOptions{Rate: -1})
	aw := synth.Numbers(19, 1, map[string]float64{"AW": 1})[0] // a seeded synthetic Aruban number
	b := browsertest.New(t, browsertest.Phone(), browsertest.Locale("en-US"))
	b.Navigate(p.privURL)
	if st := check(b, "AW", aw[4:]); st != "not_exposed" {
		t.Fatalf("Aruba: %q %s", st, b.Text("#result"))
	}
	if s := b.Text("#sent-short"); !strings.Contains(s, "fewer than the 1,000") || !strings.Contains(s, "Aruba") {
		t.Errorf("no plain word on the small crowd: %s", b.Text("#sent"))
	}
	if b.Attr("#sent", "data-bits") != "12" {
		t.Errorf("Aruba sent %s bits, want the shortest, 12", b.Attr("#sent", "data-bits"))
	}
	if l := b.Text("#sent"); !strings.Contains(l, "larger answer (about") || !strings.Contains(l, "kB") {
		t.Errorf("the larger download has no size: %s", l)
	}
	b.Screenshot("small-country")
	b.Click("#larger")
	if st := b.WaitStatus("#result", 30*time.Second); st != "not_exposed" || b.Attr("#sent", "data-bits") != "8" {
		t.Errorf("larger download: %q, %s bits", st, b.Attr("#sent", "data-bits"))
	}
	var last browsertest.Request
	for _, r := range b.Requests() {
		if r.Method == "POST" {
			last = r
		}
	}
	if len(last.Body) < 3 || last.Body[2] != 8 {
		t.Errorf("the larger download's query sent %v", last.Body[:min(3, len(last.Body))])
	}
	noConsoleErrors(t, b)
}
