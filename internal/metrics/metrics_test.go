package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/basalt-dev/basalt/internal/metrics"
)

// scrape fetches m's exposition over HTTP and parses it.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing the exposition: %v", err)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestMetricsExposition(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	done := m.RequestStarted()
	m.ObserveRequest("/api/health", "GET", 200, 3*time.Millisecond)
	m.ObserveRequest("/api/health", "GET", 429, time.Millisecond)
	m.ObserveQuery("read", time.Millisecond)
	m.WebhookAttempt("succeeded")
	m.Gauge("realtime_connections", "Realtime clients connected.", func() float64 { return 3 })
	m.Counter("logs_dropped_total", "Dropped log entries.", func() float64 { return 2 })
	m.Pools(func() []metrics.Pool {
		return []metrics.Pool{{Name: "write", InUse: 1, Max: 1, Waits: 3, WaitTime: time.Second}, {Name: "read", Idle: 4, Max: 8}}
	})
	m.Writer(func() metrics.Writer { return metrics.Writer{Commits: 10, Callers: 120, Busy: 1500 * time.Millisecond} })

	fams := scrape(t, m)
	for _, name := range []string{
		"basalt_http_requests_total", "basalt_http_request_duration_seconds", "basalt_http_requests_in_flight",
		"basalt_rate_limit_rejections_total", "basalt_db_query_duration_seconds", "basalt_webhook_deliveries_total",
		"basalt_realtime_connections", "basalt_logs_dropped_total", "go_goroutines", "process_cpu_seconds_total",
		"basalt_db_pool_connections", "basalt_db_pool_max_connections", "basalt_db_pool_waits_total", "basalt_db_pool_wait_seconds_total",
		"basalt_db_write_commits_total", "basalt_db_write_callers_total", "basalt_db_writer_busy_seconds_total",
	} {
		if fams[name] == nil {
			t.Errorf("family %s missing", name)
		}
	}
	classes := map[string]float64{}
	for _, mt := range fams["basalt_http_requests_total"].GetMetric() {
		classes[label(mt, "code_class")] += mt.GetCounter().GetValue()
	}
	if classes["2xx"] != 1 || classes["4xx"] != 1 {
		t.Errorf("code classes = %v, want 2xx:1 4xx:1", classes)
	}
	if got := fams["basalt_http_requests_in_flight"].GetMetric()[0].GetGauge().GetValue(); got != 1 {
		t.Errorf("in flight = %v, want 1", got)
	}
	for _, mt := range fams["basalt_db_pool_connections"].GetMetric() {
		if label(mt, "pool") == "read" && label(mt, "state") == "idle" && mt.GetGauge().GetValue() != 4 {
			t.Errorf("read idle = %v, want 4", mt.GetGauge().GetValue())
		}
	}
	for name, want := range map[string]float64{"basalt_db_write_commits_total": 10, "basalt_db_write_callers_total": 120, "basalt_db_writer_busy_seconds_total": 1.5} {
		if got := fams[name].GetMetric()[0].GetCounter().GetValue(); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if n := len(fams["basalt_db_pool_connections"].GetMetric()); n != 4 {
		t.Errorf("pool connection series = %d, want 4 (2 pools x 2 states)", n)
	}
	done()
	if got := scrape(t, m)["basalt_http_requests_in_flight"].GetMetric()[0].GetGauge().GetValue(); got != 0 {
		t.Errorf("in flight after done = %v, want 0", got)
	}
	if got := fams["basalt_http_request_duration_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); got != 2 {
		t.Errorf("duration samples = %d, want 2", got)
	}
}

func TestNilMetricsRecordNothing(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	m.RequestStarted()()
	m.ObserveRequest("/", "GET", 200, 0)
	m.ObserveQuery("read", 0)
	m.WebhookAttempt("dead")
	m.Gauge("x", "x", func() float64 { return 0 })
	m.Writer(func() metrics.Writer { return metrics.Writer{} })
}

func TestMethod(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "other", "FOOBAR": "other", "": "other"} {
		if got := metrics.Method(in); got != want {
			t.Errorf("Method(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCodeClass(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]string{200: "2xx", 204: "2xx", 301: "3xx", 404: "4xx", 503: "5xx", 0: "unknown", 700: "unknown"} {
		if got := metrics.CodeClass(status); got != want {
			t.Errorf("CodeClass(%d) = %q, want %q", status, got, want)
		}
	}
}
