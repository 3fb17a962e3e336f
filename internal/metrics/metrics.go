// Package metrics collects Basalt's Prometheus metrics in a registry of its
// own (never the global default registry) and serves them in the text
// exposition format.
//
// metrics is telemetry plumbing: it imports no Basalt package. Services and
// adapters never import it either; they expose small hooks (a function or a
// one-method interface they declare) that cmd/basalt connects to a *Metrics.
package metrics

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Basalt metric.
const Namespace = "basalt"

// Metrics is the set of Basalt's metrics. The zero value is not usable; use
// New. A nil *Metrics is valid and records nothing, so callers need no
// checks.
type Metrics struct {
	reg *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	inFlight    prometheus.Gauge
	rateLimited *prometheus.CounterVec
	queries     *prometheus.HistogramVec
	webhooks    *prometheus.CounterVec

	// The series of each label set met, so that a request or query finds
	// its own without hashing its labels into the vectors again (the label
	// sets are bounded: route templates, methods, status classes, ops).
	requestSeries sync.Map // requestLabels → *requestSeries
	querySeries   sync.Map // op → prometheus.Observer
}

type requestLabels struct{ route, method, class string }

type requestSeries struct {
	count prometheus.Counter
	took  prometheus.Observer
}

// New returns metrics registered in a fresh registry, together with the Go
// runtime and process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "http_requests_total",
		Help: "HTTP requests answered, by route template, method and status class (2xx, 4xx, ...).",
	}, []string{"route", "method", "code_class"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "http_request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route template and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "http_requests_in_flight",
		Help: "HTTP requests being served.",
	})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "rate_limit_rejections_total",
		Help: "Requests rejected with 429 Too Many Requests, by route template.",
	}, []string{"route"})
	m.queries = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "db_query_duration_seconds",
		Help:    "Time of database operations, by kind (read, write, tx).",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"op"})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "webhook_deliveries_total",
		Help: "Webhook delivery attempts, by outcome: succeeded, failed (to be retried) or dead (no attempts left).",
	}, []string{"outcome"})
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.rateLimited, m.queries, m.webhooks,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// RequestStarted counts a request in flight until the returned function is
// called.
func (m *Metrics) RequestStarted() (done func()) {
	if m == nil {
		return func() {}
	}
	m.inFlight.Inc()
	return m.inFlight.Dec
}

// ObserveRequest records an answered request. route is the route template
// ("/api/collections/{collection}/records"), never the raw path, so that the
// label set stays bounded.
func (m *Metrics) ObserveRequest(route, method string, status int, took time.Duration) {
	if m == nil {
		return
	}
	labels := requestLabels{route, Method(method), CodeClass(status)}
	v, ok := m.requestSeries.Load(labels)
	if !ok {
		v, _ = m.requestSeries.LoadOrStore(labels, &requestSeries{
			count: m.requests.WithLabelValues(labels.route, labels.method, labels.class),
			took:  m.duration.WithLabelValues(labels.route, labels.method),
		})
	}
	series := v.(*requestSeries)
	series.count.Inc()
	series.took.Observe(took.Seconds())
	if status == http.StatusTooManyRequests {
		m.rateLimited.WithLabelValues(route).Inc()
	}
}

// ObserveQuery records the duration of one database operation; op is a
// small fixed set ("read", "write", "tx").
func (m *Metrics) ObserveQuery(op string, took time.Duration) {
	if m == nil {
		return
	}
	v, ok := m.querySeries.Load(op)
	if !ok {
		v, _ = m.querySeries.LoadOrStore(op, m.queries.WithLabelValues(op))
	}
	v.(prometheus.Observer).Observe(took.Seconds())
}

// WebhookAttempt counts one webhook delivery attempt by outcome.
func (m *Metrics) WebhookAttempt(outcome string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(outcome).Inc()
}

// Gauge registers a gauge read from f at each scrape (realtime connections,
// outbox lag). name is without the namespace.
func (m *Metrics) Gauge(name, help string, f func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, f))
}

// Counter registers a counter read from f at each scrape (a count kept by
// another package, e.g. dropped log entries). name is without the
// namespace and should end in _total.
func (m *Metrics) Counter(name, help string, f func() float64) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, f))
}

// Register adds a collector, such as collectors.NewDBStatsCollector.
func (m *Metrics) Register(c prometheus.Collector) {
	if m == nil {
		return
	}
	m.reg.MustRegister(c)
}

// Method returns the method label of an HTTP method: the standard methods
// as they are, anything else "other", so that clients cannot grow the label
// set.
func Method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// CodeClass returns the status class label of an HTTP status: "2xx",
// "4xx"...
func CodeClass(status int) string {
	switch status / 100 {
	case 1:
		return "1xx"
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return "unknown"
}
