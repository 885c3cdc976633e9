// Package browsertest drives a headless Chromium for the tests of the web
// page: it opens the page, types and clicks as a person would, and records
// what the page sends, what it logs and what it looks like.
//
// Each Browser is one Chromium process with a fresh profile, closed when
// the test ends. A helper that fails ends the test with the selector it
// waited for and the path of a screenshot taken at that moment.
//
// When no Chromium is found, New skips the test, except when CI=true:
// there no test skips itself, so New fails it.
package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/heapprofiler"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/systeminfo"
	"github.com/chromedp/chromedp"
)

// DefaultTimeout bounds each helper that waits for the page, unless the
// Timeout option says otherwise.
const DefaultTimeout = 10 * time.Second

// Option configures New.
type Option func(*config)

type config struct {
	width, height int64
	scale         float64
	mobile        bool
	locale        string
	timeout       time.Duration
}

// Phone emulates a phone: a 390×844 viewport at device scale factor 2,
// mobile (viewport meta honored, overlay scrollbars) with touch.
func Phone() Option {
	return func(c *config) { c.width, c.height, c.scale, c.mobile = 390, 844, 2, true }
}

// Desktop is a 1280×800 desktop window, the default.
func Desktop() Option {
	return func(c *config) { c.width, c.height, c.scale, c.mobile = 1280, 800, 1, false }
}

// Locale makes the browser speak a language, as a BCP 47 tag such as
// "ar-EG": navigator.language and navigator.languages report it (the tag,
// then its bare language), every request carries it in Accept-Language,
// and Intl formats in it by default.
func Locale(tag string) Option {
	return func(c *config) { c.locale = tag }
}

// Timeout sets how long each helper waits for the page (DefaultTimeout
// otherwise).
func Timeout(d time.Duration) Option {
	return func(c *config) { c.timeout = d }
}

// Browser is a headless Chromium with one tab. Its methods are for the
// test's goroutine; Requests and ConsoleErrors may be called from any.
type Browser struct {
	t       testing.TB
	ctx     context.Context // the tab
	timeout time.Duration

	mu       sync.Mutex
	reqs     []*Request
	byID     map[network.RequestID]*Request
	early    map[network.RequestID]network.Headers // extra info that came before its request
	console  []ConsoleEntry
	shotSeq  int
	shotsFor string // the test the numbering is for
}

// FindChromium returns the browser New would start: $CHROMIUM if set,
// else /usr/bin/chromium, else chromium, chromium-browser or google-chrome
// on PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("$CHROMIUM=%q: %w", p, err)
		}
		return found, nil
	}
	if _, err := exec.LookPath("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if found, err := exec.LookPath(name); err == nil {
			return found, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH, no /usr/bin/chromium and no $CHROMIUM")
}

// New starts a headless Chromium with a fresh profile and opens a blank
// tab, emulating the viewport and locale of opts (Desktop by default). It
// is closed when the test ends.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	cfg := config{timeout: DefaultTimeout}
	Desktop()(&cfg)
	for _, o := range opts {
		o(&cfg)
	}
	path, err := FindChromium()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browsertest: %v (CI installs the Debian package chromium)", err)
		}
		t.Skipf("browsertest: %v", err)
	}

	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		// As root, and in containers, the sandbox cannot start.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		// The machines have no internet: nothing may dial out on its own.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		// No spare renderer waiting for the next tab: the one renderer
		// is the tab's, for TabMemory. The rest is chromedp's default.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,SpareRendererForSitePerProcess"),
		chromedp.WindowSize(int(cfg.width), int(cfg.height)),
	)
	if cfg.locale != "" {
		// --accept-lang sets navigator.language(s) and the
		// Accept-Language header (--lang does neither in headless
		// Chromium on Linux). Intl's default is set per tab, below.
		flags = append(flags, chromedp.Flag("accept-lang", acceptLang(cfg.locale)))
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), flags...)
	b := &Browser{
		t:       t,
		timeout: cfg.timeout,
		byID:    map[network.RequestID]*Request{},
		early:   map[network.RequestID]network.Headers{},
	}
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(b.onEvent))
	b.ctx = ctx
	t.Cleanup(func() {
		cancel()
		acancel() // waits for the browser to exit, before t.TempDir goes
	})

	setup := []chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(cfg.width, cfg.height, viewportOpts(cfg)...),
	}
	if cfg.locale != "" {
		setup = append(setup, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetLocaleOverride,
				emulation.SetLocaleOverrideParams{Locale: strings.ReplaceAll(cfg.locale, "-", "_")})
			return err
		}))
	}
	// The first Do starts the browser; it must not carry a timeout, or
	// the browser would end with it. So it is watched instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browsertest: starting %s: %v", path, err)
		}
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("browsertest: %s did not start within 30s", path)
	}
	sctx, scancel := context.WithTimeout(ctx, 30*time.Second)
	defer scancel()
	if err := chromedp.Do(sctx, setup...); err != nil {
		t.Fatalf("browsertest: setting up the tab: %v", err)
	}
	return b
}

// acceptLang turns "ar-EG" into "ar-EG,ar", as a browser set to Egyptian
// Arabic sends it.
func acceptLang(tag string) string {
	if base, _, ok := strings.Cut(tag, "-"); ok {
		return tag + "," + base
	}
	return tag
}

func viewportOpts(cfg config) []chromedp.EmulateViewportOption {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(cfg.scale)}
	if cfg.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	return opts
}

// SetTimeout changes how long the helpers wait for the page from now on.
func (b *Browser) SetTimeout(d time.Duration) { b.timeout = d }

// Context is the tab's context, for chromedp actions the helpers lack.
func (b *Browser) Context() context.Context { return b.ctx }

// run runs actions under the helper timeout d and fails the test on error,
// naming what and sel.
func (b *Browser) run(what, sel string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(what, sel, d, err)
	}
}

// fail ends the test, saying what failed on which selector, with a
// screenshot of the page as it is now.
func (b *Browser) fail(what, sel string, d time.Duration, err error) {
	b.t.Helper()
	msg := what
	if sel != "" {
		msg += fmt.Sprintf(" %q", sel)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, chromedp.ErrPollingTimeout) {
		msg += fmt.Sprintf(": timed out after %v", d)
		if sel != "" {
			msg += ": " + b.describe(sel)
		}
	} else {
		msg += ": " + err.Error()
	}
	if errs := b.consoleErrors(); len(errs) > 0 {
		msg += fmt.Sprintf("; %d console errors, the first: %s", len(errs), errs[0])
	}
	b.t.Fatalf("browsertest: %s (screenshot: %s)", msg, b.failureShot(what))
}

// describe says, briefly, what the page has at sel, for a timeout message.
func (b *Browser) describe(sel string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
		const all = document.querySelectorAll(%s);
		if (all.length === 0) return "no element matches (page " + location.href + ")";
		const e = all[0];
		const r = e.getBoundingClientRect();
		return all.length + " match(es); the first is " + e.outerHTML.slice(0, 200) +
			(r.width && r.height ? "" : " (not visible)") + (e.disabled ? " (disabled)" : "");
	})()`, jsString(sel))))
	if err != nil {
		return "could not look: " + err.Error()
	}
	return s
}

// failureShot takes a screenshot for a failure message, or says why not.
func (b *Browser) failureShot(what string) string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	path, err := b.saveShot(ctx, "failed-"+what)
	if err != nil {
		return "none: " + err.Error()
	}
	return path
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// Navigate loads url and waits for its load event. It fails unless the
// document's status is 2xx.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.fail("Navigate", url, b.timeout, err)
	}
	if resp != nil && (resp.Status < 200 || resp.Status > 299) {
		b.t.Fatalf("browsertest: Navigate %q: status %d %s (screenshot: %s)",
			url, resp.Status, resp.StatusText, b.failureShot("Navigate"))
	}
}

// Fill empties the input or textarea at sel and types text into it key by
// key, so the page sees keydown, input and keyup events.
func (b *Browser) Fill(sel, text string) {
	b.t.Helper()
	clear := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const e = document.querySelector(%s);
			if (e.value !== "") { e.value = ""; e.dispatchEvent(new Event("input", {bubbles: true})); }
		})()`, jsString(sel)))(ctx, t)
		return err
	})
	b.run("Fill", sel, b.timeout,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		clear,
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

// Select sets the value of the select element at sel, as a person picking
// the option would: the page gets input and change events. It fails when no
// option has that value.
func (b *Browser) Select(sel, value string) {
	b.t.Helper()
	b.run("Select", sel, b.timeout, chromedp.WaitReady(chromedp.CSS(sel)))
	var res string
	b.eval("Select", sel, fmt.Sprintf(`(() => {
		const e = document.querySelector(%s), v = %s;
		const values = Array.from(e.options || [], o => o.value);
		if (!values.includes(v)) return "no option " + JSON.stringify(v) + " in " + JSON.stringify(values);
		e.value = v;
		e.dispatchEvent(new Event("input", {bubbles: true}));
		e.dispatchEvent(new Event("change", {bubbles: true}));
		return "";
	})()`, jsString(sel), jsString(value)), &res)
	if res != "" {
		b.fail("Select", sel, 0, errors.New(res))
	}
}

// Click waits until the element at sel is visible and clicks its center
// with the mouse.
func (b *Browser) Click(sel string) {
	b.t.Helper()
	b.run("Click", sel, b.timeout, chromedp.Click(chromedp.CSS(sel)))
}

// WaitStatus waits up to timeout until the element at sel has a non-empty
// data-status attribute, and returns it.
func (b *Browser) WaitStatus(sel string, timeout time.Duration) string {
	b.t.Helper()
	// The predicate runs in the page every 20 ms; the context only backs
	// up its own timeout.
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	status, err := chromedp.Run(ctx, chromedp.PollFunction[string](
		`(sel) => { const e = document.querySelector(sel); return e && e.getAttribute("data-status"); }`,
		chromedp.WithPollingArgs(sel),
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		b.fail("WaitStatus", sel, timeout, err)
	}
	return status
}

// Text returns the rendered text (innerText) of the element at sel,
// waiting for it to exist.
func (b *Browser) Text(sel string) string {
	b.t.Helper()
	b.run("Text", sel, b.timeout, chromedp.WaitReady(chromedp.CSS(sel)))
	var s string
	b.eval("Text", sel, fmt.Sprintf(`document.querySelector(%s).innerText`, jsString(sel)), &s)
	return s
}

// Attr returns the attribute name of the element at sel ("" when it has
// none), waiting for the element to exist.
func (b *Browser) Attr(sel, name string) string {
	b.t.Helper()
	b.run("Attr", sel, b.timeout, chromedp.WaitReady(chromedp.CSS(sel)))
	var s *string
	b.eval("Attr", sel, fmt.Sprintf(`document.querySelector(%s).getAttribute(%s)`, jsString(sel), jsString(name)), &s)
	if s == nil {
		return ""
	}
	return *s
}

// Eval evaluates the JavaScript expression js in the page, awaits it if it
// is a promise, and decodes its JSON value into out (unless out is nil). A
// thrown exception fails the test.
func (b *Browser) Eval(js string, out any) {
	b.t.Helper()
	b.eval("Eval", "", js, out)
}

func (b *Browser) eval(what, sel, js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		if what == "Eval" {
			err = fmt.Errorf("%s: %w", abbrev(js), err)
		}
		b.fail(what, sel, b.timeout, err)
	}
	if out == nil {
		return
	}
	if len(raw) == 0 {
		b.fail(what, sel, 0, fmt.Errorf("%s: the value is undefined", abbrev(js)))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		b.fail(what, sel, 0, fmt.Errorf("%s: decoding %s: %w", abbrev(js), abbrev(string(raw)), err))
	}
}

func abbrev(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// Memory is what a tab uses, in bytes.
type Memory struct {
	// JSHeap is the JavaScript heap in use after a full garbage
	// collection (Runtime.getHeapUsage's usedSize).
	JSHeap int64
	// ArrayBuffers is the backing stores of ArrayBuffers and external
	// strings. A WebAssembly.Memory is not in it.
	ArrayBuffers int64
	// Renderer is the resident memory of the browser's renderer processes
	// (one: the tab's), read from /proc; 0 where there is no /proc. It is
	// the one number that counts a WebAssembly module's memory.
	Renderer int64
}

// TabMemory measures the memory of the tab, after a full garbage
// collection, for benchmarks of the page.
func (b *Browser) TabMemory() Memory {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
		b.fail("TabMemory", "", b.timeout, err)
	}
	u, err := chromedp.Call(ctx, runtime.GetHeapUsage, cdp.Empty{})
	if err != nil {
		b.fail("TabMemory", "", b.timeout, err)
	}
	m := Memory{JSHeap: int64(u.UsedSize), ArrayBuffers: int64(u.BackingStorageSize)}
	procs, err := chromedp.CallBrowser(ctx, systeminfo.GetProcessInfo, cdp.Empty{})
	if err != nil {
		b.fail("TabMemory", "", b.timeout, err)
	}
	for _, p := range procs.ProcessInfo {
		if p.Type == "renderer" {
			m.Renderer += residentBytes(p.ID)
		}
	}
	return m
}

// residentBytes is the VmRSS of process pid, or 0.
func residentBytes(pid int64) int64 {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(st)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Screenshot saves a PNG of the whole page (beyond the viewport) as
// <test>-<n>-<name>.png in the screenshot directory, logs its path and
// returns it. The directory is $PHONECHECK_SCREENSHOTS if set, else a
// temporary directory made once per test binary and left for a person to
// look at.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	path, err := b.saveShot(ctx, name)
	if err != nil {
		b.t.Fatalf("browsertest: Screenshot %q: %v", name, err)
	}
	b.t.Logf("browsertest: screenshot %s", path)
	return path
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func (b *Browser) saveShot(ctx context.Context, name string) (string, error) {
	dir, err := ScreenshotDir()
	if err != nil {
		return "", err
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return "", err
	}
	b.mu.Lock()
	if b.shotsFor != b.t.Name() {
		b.shotsFor, b.shotSeq = b.t.Name(), 0
	}
	b.shotSeq++
	n := b.shotSeq
	b.mu.Unlock()
	file := fmt.Sprintf("%s-%02d-%s.png", unsafeName.ReplaceAllString(b.t.Name(), "_"), n, unsafeName.ReplaceAllString(name, "_"))
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return "", err
	}
	return path, nil
}

var screenshots struct {
	once sync.Once
	dir  string
	err  error
}

// ScreenshotDir returns the directory screenshots go to, making it if
// need be: $PHONECHECK_SCREENSHOTS, or one temporary directory per process.
func ScreenshotDir() (string, error) {
	if d := os.Getenv("PHONECHECK_SCREENSHOTS"); d != "" {
		return d, os.MkdirAll(d, 0o755)
	}
	screenshots.once.Do(func() {
		screenshots.dir, screenshots.err = os.MkdirTemp("", "phonecheck-screens-")
	})
	return screenshots.dir, screenshots.err
}

// ConsoleEntry is an error the page reported: a console.error or failed
// console.assert call, an uncaught exception or unhandled rejection, or an
// error in the browser's log (a Content-Security-Policy violation, a failed
// resource load).
type ConsoleEntry struct {
	Source string // "console", "exception", or the log's source: "security", "network", ...
	Text   string
	URL    string // where it happened, when known
}

func (e ConsoleEntry) String() string {
	s := e.Source + ": " + e.Text
	if e.URL != "" {
		s += " (" + e.URL + ")"
	}
	return s
}

// ConsoleErrors returns the errors the page reported so far.
func (b *Browser) ConsoleErrors() []ConsoleEntry {
	b.t.Helper()
	b.flush()
	return b.consoleErrors()
}

func (b *Browser) consoleErrors() []ConsoleEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]ConsoleEntry(nil), b.console...)
}

// flush makes a round trip to the tab, so that every event the browser
// sent before it has been seen.
func (b *Browser) flush() {
	ctx, cancel := context.WithTimeout(b.ctx, b.timeout)
	defer cancel()
	chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`0`))
}

// onEvent sees each event of the tab, in order, on the tab's reading
// goroutine: it must be quick and send no command.
func (b *Browser) onEvent(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		b.onRequest(ev)
	case *network.EventRequestWillBeSentExtraInfo:
		b.onRequestExtra(ev)
	case *network.EventResponseReceived:
		b.onResponse(ev)
	case *network.EventLoadingFailed:
		b.onFailed(ev)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, remoteText(a))
			}
			b.addConsole(ConsoleEntry{Source: "console", Text: strings.Join(parts, " "), URL: stackURL(ev.StackTrace)})
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		url := d.URL
		if url == "" {
			url = stackURL(d.StackTrace)
		}
		b.addConsole(ConsoleEntry{Source: "exception", Text: text, URL: url})
	case *cdplog.EventEntryAdded:
		if e := ev.Entry; e.Level == cdplog.EntryLevelError {
			b.addConsole(ConsoleEntry{Source: string(e.Source), Text: e.Text, URL: e.URL})
		}
	}
}

func (b *Browser) addConsole(e ConsoleEntry) {
	b.mu.Lock()
	b.console = append(b.console, e)
	b.mu.Unlock()
}

// remoteText renders a console argument as the console shows it, briefly.
func remoteText(o *runtime.RemoteObject) string {
	if o.Type == runtime.RemoteObjectTypeString {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	}
	if o.Description != "" {
		return o.Description
	}
	if o.UnserializableValue != "" {
		return string(o.UnserializableValue)
	}
	return string(o.Value)
}

func stackURL(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	return st.CallFrames[0].URL
}
