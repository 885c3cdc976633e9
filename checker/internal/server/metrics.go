package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/phonecheck/phonecheck/checker/internal/rangeapi"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics are a Server's Prometheus metrics, in a registry of its own.
// Labels are routes (patterns, never paths), status codes and prefix
// lengths: never a prefix, a number or a hash.
type httpMetrics struct {
	handler  http.Handler
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ranges   *prometheus.CounterVec
	keys     prometheus.Gauge
	size     prometheus.Gauge
	created  prometheus.Gauge
	loads    prometheus.Counter
	elements prometheus.Counter
	faults   prometheus.Counter

	// The rate store (serve --rate-store): its calls' latency, its
	// failures, and the decisions the local fallback took instead.
	storeLatency  prometheus.Histogram
	storeErrors   prometheus.Counter
	storeFallback prometheus.Counter

	// Pre-resolved children for the hot path: [route][status code].
	fast    map[string]map[int]routeCode
	rngFast [2][rangeapi.MaxPrefixHex + 1]prometheus.Counter // [padded][hex digits]
}

func newHTTPMetrics() *httpMetrics {
	reg := prometheus.NewRegistry()
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "phonecheck_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "phonecheck_http_request_duration_seconds", Help: "Time to answer a request, by route and status code.",
			Buckets: []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 50e-3, 250e-3, 1},
		}, []string{"route", "code"}),
		ranges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "phonecheck_range_requests_total", Help: "Ranges served, by prefix length in bits and padding.",
		}, []string{"bits", "padded"}),
		keys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "phonecheck_index_keys", Help: "Numbers (keys) in the loaded index."}),
		size: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "phonecheck_index_size_bytes", Help: "Size of the loaded index file."}),
		created: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "phonecheck_index_build_timestamp_seconds", Help: "When the loaded index was built (Unix time; 0 if unknown)."}),
		loads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "phonecheck_index_loads_total", Help: "Indexes loaded, the first one and every reload."}),
		elements: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "phonecheck_private_elements_total", Help: "Blinded elements evaluated by the private mode."}),
		faults: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "phonecheck_index_faults_total", Help: "Requests failed by a memory fault reading an index whose file was changed in place."}),
		storeLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "phonecheck_ratestore_call_duration_seconds", Help: "Time of each call to the shared rate store (Redis), failed ones included.",
			Buckets: []float64{100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3},
		}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "phonecheck_ratestore_errors_total", Help: "Calls to the shared rate store (Redis) that failed or timed out."}),
		storeFallback: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "phonecheck_ratestore_fallback_total", Help: "Rate-limit decisions taken by the local fallback limiter while the shared rate store was failing."}),
	}
	reg.MustRegister(m.requests, m.latency, m.ranges, m.keys, m.size, m.created, m.loads, m.elements, m.faults,
		m.storeLatency, m.storeErrors, m.storeFallback,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	m.fast = map[string]map[int]routeCode{}
	for _, r := range append(routes, routeOther, routePage) {
		m.fast[r] = map[int]routeCode{}
		for _, code := range []int{200, 304, 400, 404, 405, 413, 429, 500} {
			m.fast[r][code] = m.child(r, code)
		}
	}
	for p := range 2 {
		for d := rangeapi.MinPrefixHex; d <= rangeapi.MaxPrefixHex; d++ {
			m.rngFast[p][d] = m.ranges.WithLabelValues(strconv.Itoa(4*d), strconv.FormatBool(p == 1))
		}
	}
	return m
}

func (m *httpMetrics) indexLoaded(ix *serverIndex) {
	r := ix.reader
	m.keys.Set(float64(r.Len()))
	m.size.Set(float64(r.Size()))
	m.created.Set(0)
	if c := r.Meta().Created; c != "" {
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, c); err == nil {
				m.created.Set(float64(t.Unix()))
				break
			}
		}
	}
	m.loads.Inc()
}

// routeCode is the count and the latency of one route and status code.
type routeCode struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func (m *httpMetrics) child(route string, code int) routeCode {
	c := strconv.Itoa(code)
	return routeCode{m.requests.WithLabelValues(route, c), m.latency.WithLabelValues(route, c)}
}

func (m *httpMetrics) observe(route string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	c, ok := m.fast[route][status]
	if !ok {
		c = m.child(route, status)
	}
	c.requests.Inc()
	c.latency.Observe(d.Seconds())
}

func (m *httpMetrics) rangeServed(bits int, padded bool) {
	p := 0
	if padded {
		p = 1
	}
	m.rngFast[p][bits/4].Inc()
}

func (m *httpMetrics) elementsEvaluated(n int) { m.elements.Add(float64(n)) }

// StoreCall and Fallback are the [privateapi.LimiterMetrics] of a shared
// rate store.
func (m *httpMetrics) StoreCall(d time.Duration, err error) {
	m.storeLatency.Observe(d.Seconds())
	if err != nil {
		m.storeErrors.Inc()
	}
}

func (m *httpMetrics) Fallback() { m.storeFallback.Inc() }
