package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
go_memstats_heap_inuse_bytes 1.2e+07
go_gc_duration_seconds{quantile="0.5"} 0.001
process_resident_memory_bytes 5.0e+07
basalt_db_pool_max_connections{pool="read"} 4
basalt_db_pool_max_connections{pool="write"} 1
`
	got, err := parseMetrics(strings.NewReader(text), []string{"go_goroutines", "go_memstats_heap_inuse_bytes", "process_resident_memory_bytes"},
		[]string{"basalt_db_pool_max_connections", "basalt_absent"})
	if err != nil {
		t.Fatal(err)
	}
	if got["go_goroutines"] != 42 || got["go_memstats_heap_inuse_bytes"] != 1.2e7 || got["process_resident_memory_bytes"] != 5e7 || got["basalt_db_pool_max_connections"] != 5 {
		t.Errorf("got %v", got)
	}
	if _, ok := got["basalt_absent"]; ok {
		t.Error("an absent optional metric has a value")
	}
	if _, err := parseMetrics(strings.NewReader(text), []string{"go_memstats_next_gc_bytes"}, nil); err == nil {
		t.Error("a missing metric: no error")
	}
	if _, err := parseMetrics(strings.NewReader("go_goroutines many\n"), []string{"go_goroutines"}, nil); err == nil {
		t.Error("a bad value: no error")
	}
}

func TestHeapGoalAt100(t *testing.T) {
	for _, c := range []struct {
		m    map[string]float64
		want float64
	}{
		{map[string]float64{gogcMetric: 400}, 8 << 20}, // goal 5 × live heap of 4 MiB
		{map[string]float64{gogcMetric: 100}, 20 << 20},
		{map[string]float64{}, 20 << 20}, // a server that does not say: GOGC=100
	} {
		if got := heapGoalAt100(20<<20, c.m); got != c.want {
			t.Errorf("heapGoalAt100(20 MiB, %v) = %.0f, want %.0f", c.m, got, c.want)
		}
	}
}

func TestRecorderWindows(t *testing.T) {
	r := newRecorder()
	for i := 1; i <= 100; i++ {
		r.add("view", time.Duration(i)*time.Millisecond, nil)
	}
	r.add("create", time.Millisecond, errors.New("status 500"))
	// Sign-ins count as requests but not in the percentiles: two slow ones
	// would otherwise be the p99 of these 103 requests.
	r.add(opSignIn, 300*time.Millisecond, nil)
	r.add(opSignIn, 500*time.Millisecond, nil)
	n, errs, p50, p99, signin := r.cut()
	if n != 103 || errs != 1 || p50 != 50*time.Millisecond || p99 != 99*time.Millisecond || signin != 300*time.Millisecond {
		t.Errorf("window: %d requests, %d errors, p50 %s, p99 %s, sign-in %s; want 103, 1, 50ms, 99ms, 300ms", n, errs, p50, p99, signin)
	}
	n, errs, _, _, signin = r.cut()
	if n != 0 || errs != 0 || signin != 0 || r.totalErrors != 1 {
		t.Errorf("next window: %d requests, %d errors, sign-in %s, %d in all; want 0, 0, 0, 1", n, errs, signin, r.totalErrors)
	}
}
