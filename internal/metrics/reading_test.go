package metrics_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/metrics"
)

func TestReading(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.ObserveRequest("/a", http.MethodGet, 200, 3*time.Millisecond)
	m.ObserveRequest("/a", http.MethodGet, 500, 30*time.Millisecond)
	m.ObserveRequest("/b", http.MethodPost, 503, 2*time.Second)
	m.Gauge("things", "Things.", func() float64 { return 7 })
	r := m.Read()
	if got := r.Sum("basalt_http_requests_total"); got != 3 {
		t.Errorf("requests = %v, want 3", got)
	}
	if got := r.Sum("basalt_http_requests_total", "code_class", "5xx"); got != 2 {
		t.Errorf("5xx = %v, want 2", got)
	}
	if got := r.Sum("basalt_http_requests_total", "code_class", "5xx", "method", "GET"); got != 1 {
		t.Errorf("5xx GET = %v, want 1", got)
	}
	if got := r.Sum("basalt_things"); got != 7 {
		t.Errorf("gauge = %v, want 7", got)
	}
	if got := r.Sum("no_such_metric"); got != 0 {
		t.Errorf("missing metric = %v, want 0", got)
	}
	b := r.Buckets("basalt_http_request_duration_seconds")
	if len(b) == 0 || !math.IsInf(b[len(b)-1].Le, 1) || b[len(b)-1].Count != 3 {
		t.Fatalf("buckets = %+v, want a last +Inf bucket of 3", b)
	}
	count := func(le float64) float64 {
		for _, x := range b {
			if x.Le == le {
				return x.Count
			}
		}
		t.Fatalf("no bucket %v in %+v", le, b)
		return 0
	}
	// Merged across both routes: 1 within 5 ms, 2 within 50 ms, 3 within 2.5 s.
	if count(0.005) != 1 || count(0.05) != 2 || count(2.5) != 3 {
		t.Errorf("buckets = %+v", b)
	}
	if got := r.Buckets("basalt_things"); got != nil {
		t.Errorf("a gauge has buckets %+v", got)
	}
	var none *metrics.Metrics
	if got := none.Read().Sum("basalt_http_requests_total"); got != 0 {
		t.Errorf("nil metrics read %v", got)
	}
}
