package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	t.Parallel()
	out := "Running 10s test @ http://127.0.0.1:1/\n" +
		"BENCH-RESULT requests=1000 duration_us=2000000 p50_us=1500 p99_us=9000 max_us=12000 " +
		"err_connect=1 err_read=2 err_write=0 err_status=3 err_timeout=4\n"
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.requests != 1000 || r.rps != 500 || r.p50 != 1500*time.Microsecond || r.p99 != 9*time.Millisecond ||
		r.errors != 7 || r.non2xx != 3 {
		t.Errorf("parseWrk = %+v", r)
	}
	for _, bad := range []string{"", "BENCH-RESULT requests=x", "BENCH-RESULT requests=1 duration_us=1"} {
		if _, err := parseWrk(bad); err == nil {
			t.Errorf("parseWrk(%q): no error", bad)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// The command name holds spaces and a parenthesis; utime=250, stime=50.
	line := "4242 (bas alt) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 100 0 0"
	got, err := parseStatCPU(line)
	if err != nil || got != 3 {
		t.Errorf("parseStatCPU = %v, %v; want 3", got, err)
	}
	if _, err := parseStatCPU("4242 (x) S 1"); err == nil {
		t.Error("short line: no error")
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	runs := []*result{{rps: 30}, {rps: 10}, {rps: 20}, {rps: 40}}
	if got := median(runs); got.rps != 20 {
		t.Errorf("median = %v, want the lower middle run (20)", got.rps)
	}
	// Runs with a bare reference: the median ratio, not the median rate
	// (the machine was twice as fast during the 30 and 40 req/s runs).
	runs = []*result{{rps: 30, bare: 100}, {rps: 10, bare: 50}, {rps: 20, bare: 50}, {rps: 40, bare: 100}}
	if got := median(runs); got.rps != 30 || got.ratio() != 0.3 {
		t.Errorf("median = %v (ratio %v), want the run of ratio 0.3", got.rps, got.ratio())
	}
	o := &outcome{bare: []*result{{rps: 10}, {rps: 30}}}
	if got := o.bareRPS(); got != 20 {
		t.Errorf("bareRPS = %v, want 20", got)
	}
}
