package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/logdb"
)

func getStatus(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestServeObservability runs "basalt serve" with a metrics listener and a
// drain period: requests show in the JSON console log with their request id
// and in the metrics (scraped and parsed with the Prometheus text parser),
// /readyz fails while /healthz holds during the drain, and the request log
// reaches auxiliary.db by the time the process ends.
func TestServeObservability(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", addr, "--dir", dir, "--metrics-addr", metricsAddr,
			"--log-format", "json", "--access-log", "--shutdown-drain", "1s", "--auth-throttle-login-identity", "1/1h"}, noEnv, strings.NewReader(""), out, out)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for getStatusQuiet(base+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("never ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	req, _ := http.NewRequest("GET", base+"/api/collections/users/records?token=hidden-value", nil)
	req.Header.Set("X-Request-Id", "obs-test-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if got := res.Header.Get("X-Request-Id"); got != "obs-test-1" {
		t.Errorf("X-Request-Id = %q", got)
	}
	if got := getStatus(t, base+"/healthz"); got != 200 {
		t.Errorf("/healthz = %d", got)
	}
	// /metrics is on its own listener, not on the API one (no token set).
	if got := getStatus(t, base+"/metrics"); got != 404 {
		t.Errorf("/metrics on the API listener = %d, want 404", got)
	}

	// A second failed sign-in for one identity is throttled: a rate-limit
	// rejection in the metrics.
	statuses := []int{}
	for range 2 {
		res, err := http.Post(base+"/api/collections/users/auth-with-password", "application/json",
			strings.NewReader(`{"identity":"nobody@example.com","password":"wrong-password"}`))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses = append(statuses, res.StatusCode)
	}
	if statuses[1] != http.StatusTooManyRequests {
		t.Errorf("failed sign-ins answered %v, want the second throttled (429)", statuses)
	}

	res, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	for _, name := range []string{
		"basalt_http_requests_total", "basalt_http_request_duration_seconds", "basalt_http_requests_in_flight",
		"basalt_db_query_duration_seconds", "basalt_outbox_lag_events", "basalt_realtime_connections",
		"basalt_logs_dropped_total", "go_goroutines", "process_open_fds",
		"basalt_db_pool_connections", "basalt_db_pool_waits_total",
	} {
		if fams[name] == nil {
			t.Errorf("family %s missing", name)
		}
	}
	if !hasSample(fams["basalt_http_requests_total"], map[string]string{"route": "/api/collections/{collection}/records", "method": "GET", "code_class": "2xx"}) {
		t.Errorf("no request sample for the records route: %v", fams["basalt_http_requests_total"])
	}
	if f := fams["basalt_rate_limit_rejections_total"]; !hasSample(f, map[string]string{"route": "/api/collections/{collection}/auth-with-password"}) ||
		f.GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Errorf("rate-limit rejections = %v, want 1 on the auth-with-password route", f)
	}
	if !hasSample(fams["basalt_db_pool_connections"], map[string]string{"pool": "read", "state": "idle"}) {
		t.Errorf("no read pool sample: %v", fams["basalt_db_pool_connections"])
	}
	if !hasSample(fams["basalt_db_query_duration_seconds"], map[string]string{"op": "find"}) {
		t.Errorf("no find query observed: %v", fams["basalt_db_query_duration_seconds"])
	}

	cancel() // shutdown: readiness fails first, for the drain period
	sawDrain := false
	for end := time.Now().Add(900 * time.Millisecond); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if getStatusQuiet(base+"/readyz") == 503 {
			sawDrain = true
			if got := getStatusQuiet(base + "/healthz"); got != 200 {
				t.Errorf("/healthz during the drain = %d, want 200", got)
			}
			break
		}
	}
	if !sawDrain {
		t.Error("/readyz never answered 503 during the drain")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}

	console := out.String()
	if strings.Contains(console, "hidden-value") {
		t.Errorf("the console log holds a token:\n%s", console)
	}
	found := false
	for _, line := range strings.Split(console, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["requestId"] == "obs-test-1" && m["route"] == "/api/collections/{collection}/records" {
			found = true
		}
	}
	if !found {
		t.Errorf("no JSON access line with the request id:\n%s", console)
	}

	db, err := logdb.Open(context.Background(), filepath.Join(dir, "auxiliary.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	list, _, err := db.Logs(context.Background(), store.LogQuery{Filter: `data.requestId = "obs-test-1"`})
	if err != nil || len(list) != 1 {
		t.Fatalf("stored request log: %v, %v", list, err)
	}
	if u, _ := list[0].Data["url"].(string); !strings.Contains(u, "token=REDACTED") {
		t.Errorf("stored url = %q", u)
	}
}

func getStatusQuiet(url string) int {
	res, err := http.Get(url)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func hasSample(f *dto.MetricFamily, want map[string]string) bool {
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}

func TestObserveFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"BASALT_LOG_FORMAT": "json", "BASALT_TRUSTED_PROXY": "10.0.0.0/8, 192.168.1.7", "BASALT_SHUTDOWN_DRAIN": "0s"}
	o, _, err := parseFlags("serve", []string{"--log-level", "debug"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.observe.logFormat != "json" || o.observe.logLevel != "debug" || o.observe.shutdownDrain != 0 {
		t.Errorf("options = %+v", o.observe)
	}
	p, err := parsePrefixes(o.observe.trustedProxy)
	if err != nil || len(p) != 2 || p[1].String() != "192.168.1.7/32" {
		t.Errorf("parsePrefixes = %v, %v", p, err)
	}
	if _, err := parsePrefixes("10.0.0.0/99"); err == nil {
		t.Error("a bad CIDR parsed")
	}
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--trusted-proxy", "nope"}} {
		dir := t.TempDir()
		err := run(context.Background(), append([]string{"serve", "--dir", dir, "--http", "127.0.0.1:0"}, args...), noEnv, nil, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("serve %v: no error", args)
		}
	}
	d, err := time.ParseDuration("5s")
	if o, _, _ := parseFlags("serve", nil, noEnv, io.Discard); err != nil || o.observe.shutdownDrain != d {
		t.Errorf("default drain = %v, want 5s", o.observe.shutdownDrain)
	}
}

// TestServePprof: --pprof serves Go's profiling endpoints on the metrics
// listener only, and refuses to start without one.
func TestServePprof(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := run(context.Background(), []string{"serve", "--http", freeAddr(t), "--dir", dir, "--pprof"}, noEnv, strings.NewReader(""), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Fatalf("--pprof without --metrics-addr: err = %v, want one naming --metrics-addr", err)
	}
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--http", addr, "--dir", t.TempDir(), "--metrics-addr", metricsAddr, "--pprof"},
			noEnv, strings.NewReader(""), out, out)
	}()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(15 * time.Second)
	for getStatusQuiet("http://"+addr+"/readyz") != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("never ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := getStatus(t, "http://"+metricsAddr+"/debug/pprof/heap?debug=1"); got != 200 {
		t.Errorf("/debug/pprof/heap on the metrics listener = %d, want 200", got)
	}
	if got := getStatus(t, "http://"+addr+"/debug/pprof/heap"); got != 404 {
		t.Errorf("/debug/pprof/heap on the API listener = %d, want 404", got)
	}
}
