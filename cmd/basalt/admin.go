package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/api/admin"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/monitor"
)

// monitorInterval and monitorSpan shape the history the dashboard charts:
// a point every 10 seconds for the last hour (360 points).
const (
	monitorInterval = 10 * time.Second
	monitorSpan     = time.Hour
)

// startMonitor samples m into the dashboard's history until ctx ends.
func startMonitor(ctx context.Context, m *metrics.Metrics) *monitor.Monitor {
	mon := monitor.New(func() monitor.Reading { return readVitals(m) }, monitorInterval, monitorSpan)
	go mon.Run(ctx)
	return mon
}

// readVitals reads the monitor's inputs from the metrics registry.
func readVitals(m *metrics.Metrics) monitor.Reading {
	r := m.Read()
	var latency []monitor.Bucket
	for _, b := range r.Buckets("basalt_http_request_duration_seconds") {
		latency = append(latency, monitor.Bucket{Le: b.Le, Count: b.Count})
	}
	return monitor.Reading{
		Requests:   r.Sum("basalt_http_requests_total"),
		Errors:     r.Sum("basalt_http_requests_total", "code_class", "5xx"),
		Latency:    latency,
		InFlight:   r.Sum("basalt_http_requests_in_flight"),
		Realtime:   r.Sum("basalt_realtime_connections"),
		OutboxLag:  r.Sum("basalt_outbox_lag_events"),
		RSS:        r.Sum("process_resident_memory_bytes"),
		Heap:       r.Sum("go_memstats_heap_alloc_bytes"),
		CPUSeconds: r.Sum("process_cpu_seconds_total"),
	}
}

// adminMounts serves the admin dashboard at /_/. The handler reads and
// hashes the embedded files (and loads the system's MIME table) on the
// first request under /_/ rather than at start: a server whose dashboard
// nobody opens does not keep a copy of it in memory.
func adminMounts() map[string]http.Handler {
	dashboard := sync.OnceValue(admin.New)
	return map[string]http.Handler{admin.Prefix: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dashboard().ServeHTTP(w, r)
	})}
}
