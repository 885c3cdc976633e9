package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/phonecheck/phonecheck/checker"
	"github.com/phonecheck/phonecheck/checker/internal/web"
	"github.com/phonecheck/phonecheck/checker/internal/web/browsertest"
	"github.com/phonecheck/phonecheck/checker/internal/web/webclient"
)

// clickToAnswer presses Check and returns the milliseconds, measured in
// the page, until the result has a status.
const clickToAnswer = `new Promise(r => {
	const res = document.getElementById('result');
	const t0 = performance.now();
	const obs = new MutationObserver(() => { if (res.dataset.status) { obs.disconnect(); r(performance.now() - t0); } });
	obs.observe(res, {attributes: true});
	document.getElementById('check').click();
})`

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// BenchmarkPage measures the page in Chromium against serve --private on
// this machine: the time from pressing Check to the answer, first check
// (in a new browser each time: the module fetched, compiled and started
// at the press, the number set without typing, which would start the load
// earlier, and the cache off) and warm,
// against the same check by the same Go code run natively (the command's
// check --server, without its process start) in the same run; the tab's
// memory; and the module's size against the 4 MB budget.
//
//	go test ./checker/internal/web -run '^$' -bench Page -benchtime 5x
func BenchmarkPage(b *testing.B) {
	p := newPage(b, checker.PrivateHandlerOptions{Rate: -1})
	var cold, warm, native []float64
	var before, after browsertest.Memory
	for i := 0; i < b.N; i++ {
		// Each first check in a new browser: no compiled module, no
		// cache, a new renderer.
		br := browsertest.New(b, browsertest.Desktop(), browsertest.Locale("en-US"), browsertest.Timeout(60*time.Second))
		if _, err := chromedp.Call(br.Context(), network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
			b.Fatal(err)
		}
		br.Navigate(p.privURL)
		if i == 0 {
			before = br.TabMemory()
		}
		br.Eval(`(() => { document.getElementById('region').value = 'US'; document.getElementById('number').value = '`+usExposed+`'; return true })()`, nil)
		var ms float64
		br.Eval(clickToAnswer, &ms)
		if st := br.Attr("#result", "data-status"); st != "exposed" {
			b.Fatalf("cold check: %q", st)
		}
		cold = append(cold, ms)
		for _, n := range []string{usNotThere, usOneLeak, usExposed} {
			br.Eval(`(() => { document.getElementById('number').value = '`+n+`'; return true })()`, nil)
			br.Eval(clickToAnswer, &ms)
			warm = append(warm, ms)
		}
		if i == 0 {
			after = br.TabMemory()
		}
	}
	fe := &fetcherBench{}
	for range 3 * b.N {
		t0 := time.Now()
		out := webclient.Check(context.Background(), fe.fetch, webclient.Options{Number: usNotThere, Base: p.privURL})
		if out.Status != webclient.StatusNotExposed {
			b.Fatalf("native: %+v", out)
		}
		native = append(native, float64(time.Since(t0).Microseconds())/1000)
	}
	b.ReportMetric(median(cold), "ms/cold-check")
	b.ReportMetric(median(warm), "ms/warm-check")
	b.ReportMetric(median(native), "ms/native-check")
	b.ReportMetric(median(warm)/median(native), "warm/native")
	b.ReportMetric(median(cold)/2000, "cold/budget")
	b.ReportMetric(median(warm)/300, "warm/budget")
	b.ReportMetric(float64(before.Renderer)/1e6, "MB-tab-before")
	b.ReportMetric(float64(after.Renderer)/1e6, "MB-tab-after")
	b.ReportMetric(float64(after.Renderer)/float64(max(before.Renderer, 1)), "tab-after/before")
	b.ReportMetric(float64(after.JSHeap)/1e6, "MB-js-heap")

	s, err := web.New(web.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sz := web.ModuleSizes(s)
	b.ReportMetric(float64(sz.Raw)/1e6, "MB-wasm-raw")
	b.ReportMetric(float64(sz.Gzip)/1e6, "MB-wasm-gzip")
	b.ReportMetric(float64(sz.Brotli)/1e6, "MB-wasm-br")
	b.ReportMetric(float64(sz.Gzip)/4e6, "gzip/budget")
}

// fetcherBench is the page's transport in Go, for the native baseline.
type fetcherBench struct{}

func (fetcherBench) fetch(ctx context.Context, r webclient.Request) (webclient.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return webclient.Response{}, err
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return webclient.Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return webclient.Response{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		RetryAfter: resp.Header.Get("Retry-After"), Body: body}, err
}
