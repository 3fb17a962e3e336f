package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/blob/local"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/logs"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/logdb"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

const metricsToken = "scrape-secret-0123456789"

// lockedBuffer collects the concurrent console log.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// obsEnv is an instance wired with the observability parts: the log
// service over a real log database, metrics, trusted proxies and a
// readiness switch.
type obsEnv struct {
	url     string
	console *lockedBuffer // JSON console log
	logs    *logs.Service
	ready   *atomic.Bool
	suToken string
}

func newObsEnv(t *testing.T, proxies ...netip.Prefix) *obsEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	console := &lockedBuffer{}
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	ldb, err := logdb.Open(ctx, filepath.Join(dir, "auxiliary.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ldb.Close() })
	logSvc := logs.New(ldb, logs.Options{Settings: func() settings.Logs { return sets.Get().Logs }})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- logSvc.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	logger := slog.New(logs.NewHandler(slog.NewJSONHandler(console, &slog.HandlerOptions{Level: slog.LevelDebug}), logSvc))

	blobs, err := local.New(filepath.Join(dir, "storage"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	files := file.New(blobs, func(n int) string { return random.String(random.LowerAlnum, n) })
	records := record.New(st, cols, files.ForRecords(), time.Now, random.ID)
	authSvc := auth.New(st, cols, records, time.Now)
	ready := &atomic.Bool{}
	ready.Store(true)
	handler := rest.NewServer(rest.Deps{
		Logger: logger, Collections: cols, Records: records, Auth: authSvc, Settings: sets, Files: files,
		Metrics: metrics.New(), MetricsToken: metricsToken, Logs: logSvc, TrustedProxies: proxies,
		Ready: func(context.Context) error {
			if !ready.Load() {
				return errors.New("shutting down")
			}
			return nil
		},
	})
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)

	c := cols.Lookup("_superusers").Clone()
	c.Field("password").Cost = bcrypt.MinCost
	body, _ := json.Marshal(c)
	if _, err := cols.Update(ctx, "_superusers", body); err != nil {
		t.Fatal(err)
	}
	if err := authSvc.UpsertSuperuser(ctx, suEmail, suPassword); err != nil {
		t.Fatal(err)
	}
	e := &obsEnv{url: srv.URL, console: console, logs: logSvc, ready: ready}
	res, _ := e.do(t, "POST", "/api/collections/_superusers/auth-with-password", "",
		map[string]string{"Content-Type": "application/json"},
		`{"identity":"`+suEmail+`","password":"`+suPassword+`"}`)
	var login struct{ Token string }
	if err := json.Unmarshal(res, &login); err != nil || login.Token == "" {
		t.Fatalf("superuser login: %s", res)
	}
	e.suToken = login.Token
	t.Cleanup(func() {
		if t.Failed() && testing.Verbose() {
			t.Logf("console log:\n%s", console.String())
		}
	})
	return e
}

// do sends a request and returns the body and the response.
func (e *obsEnv) do(t *testing.T, method, path, token string, headers map[string]string, body string) ([]byte, *http.Response) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

// accessLines returns the console's access log lines for path.
func (e *obsEnv) accessLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(e.console.String(), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("console line is not JSON: %q", line)
		}
		if m["type"] == "request" && strings.HasPrefix(m["url"].(string), path) {
			out = append(out, m)
		}
	}
	return out
}

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	e := newObsEnv(t)
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"sane id is kept", "req-42_a.b:c", true},
		{"uuid is kept", "0b7ad3c2-5f5e-4a8e-9a51-2a3d8d8c1f10", true},
		{"absent is generated", "", false},
		{"space is refused", "bad id", false},
		{"newline is refused", "bad%0Aid", false},
		{"too long is refused", strings.Repeat("a", 129), false},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		headers := map[string]string{}
		if tt.sent != "" {
			headers["X-Request-Id"] = tt.sent
		}
		_, res := e.do(t, "GET", "/api/collections/nope/records", "", headers, "")
		got := res.Header.Get("X-Request-Id")
		if res.StatusCode != 404 {
			t.Errorf("%s: status %d, want 404", tt.name, res.StatusCode)
		}
		switch {
		case tt.kept && got != tt.sent:
			t.Errorf("%s: X-Request-Id = %q, want %q", tt.name, got, tt.sent)
		case !tt.kept && (len(got) != 20 || got == tt.sent || seen[got]):
			t.Errorf("%s: X-Request-Id = %q, want a fresh generated id", tt.name, got)
		}
		seen[got] = true
	}
	_, res := e.do(t, "GET", "/api/health", "", map[string]string{"Origin": "https://app.example.com"}, "")
	if got := res.Header.Get("Access-Control-Expose-Headers"); got != "X-Request-Id" {
		t.Errorf("Access-Control-Expose-Headers = %q, want X-Request-Id", got)
	}
	// The id is in the error's log line and in problem details.
	body, res := e.do(t, "GET", "/api/collections/nope/records", "", map[string]string{"X-Request-Id": "trace-me", "Accept": "application/problem+json"}, "")
	if res.Header.Get("X-Request-Id") != "trace-me" {
		t.Errorf("problem response X-Request-Id = %q", res.Header.Get("X-Request-Id"))
	}
	var pb map[string]any
	if err := json.Unmarshal(body, &pb); err != nil || pb["status"] != float64(404) || pb["requestId"] != "trace-me" {
		t.Errorf("problem body = %s, want status 404 and requestId trace-me", body)
	}
	// PocketBase's envelope keeps its exact shape: the id is in the header.
	body, res = e.do(t, "GET", "/api/collections/nope/records", "", map[string]string{"X-Request-Id": "trace-me"}, "")
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil || len(env) != 3 || res.Header.Get("X-Request-Id") != "trace-me" {
		t.Errorf("error envelope = %s (X-Request-Id %q), want exactly status, message, data", body, res.Header.Get("X-Request-Id"))
	}
	found := false
	for _, m := range e.accessLines(t, "/api/collections/nope/records") {
		if m["requestId"] == "trace-me" {
			found = true
		}
	}
	if !found {
		t.Errorf("no access log line carries the request id:\n%s", e.console.String())
	}
}

func TestAccessLogLine(t *testing.T) {
	t.Parallel()
	e := newObsEnv(t)
	e.do(t, "GET", "/api/collections/users/records?perPage=1&token=s3cr3t-value&filter=x", e.suToken,
		map[string]string{"User-Agent": "probe/1.0", "Referer": "https://app.example.com/?code=oauth-code"}, "")
	lines := e.accessLines(t, "/api/collections/users/records")
	if len(lines) != 1 {
		t.Fatalf("got %d access lines, want 1:\n%s", len(lines), e.console.String())
	}
	m := lines[0]
	want := map[string]any{
		"method": "GET", "route": "/api/collections/{collection}/records", "status": float64(400),
		"auth": "_superusers", "userIP": "127.0.0.1", "remoteIP": "127.0.0.1", "userAgent": "probe/1.0",
		"level": "WARN",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, m[k], v, m)
		}
	}
	if msg, _ := m["error"].(string); !strings.HasPrefix(msg, "Invalid") || m["details"] != nil {
		t.Errorf("error = %v, details = %v; want the client's message and no details for a 4xx", m["error"], m["details"])
	}
	if id, _ := m["authId"].(string); len(id) != 15 {
		t.Errorf("authId = %v, want the superuser's id", m["authId"])
	}
	if size, _ := m["size"].(float64); size <= 0 {
		t.Errorf("size = %v, want the body size", m["size"])
	}
	if _, ok := m["execTime"].(float64); !ok {
		t.Errorf("execTime = %v", m["execTime"])
	}
	all := e.console.String()
	for _, secret := range []string{"s3cr3t-value", "oauth-code", e.suToken} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds a secret %q:\n%s", secret, all)
		}
	}
	if u := m["url"].(string); !strings.Contains(u, "token=REDACTED") || !strings.Contains(u, "perPage=1") {
		t.Errorf("url = %q, want the token redacted and the rest kept", u)
	}
}

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	fwd := map[string]string{"X-Forwarded-For": "203.0.113.9"}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		want    string
	}{
		{"peer is a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.9"},
		{"peer is not a trusted proxy", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "127.0.0.1"},
		{"no proxies and no header settings", nil, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newObsEnv(t, tt.proxies...)
			body, _ := e.do(t, "GET", "/api/health", e.suToken, fwd, "")
			var h struct{ Data struct{ RealIP string } }
			if err := json.Unmarshal(body, &h); err != nil {
				t.Fatal(err)
			}
			if h.Data.RealIP != tt.want {
				t.Errorf("realIP = %q, want %q", h.Data.RealIP, tt.want)
			}
			lines := e.accessLines(t, "/api/health")
			if len(lines) == 0 || lines[len(lines)-1]["userIP"] != tt.want {
				t.Errorf("access log userIP: %v, want %q", lines, tt.want)
			}
		})
	}
}

func TestLogsAPI(t *testing.T) {
	t.Parallel()
	e := newObsEnv(t)
	e.do(t, "GET", "/api/health", "", map[string]string{"X-Request-Id": "first"}, "")
	e.do(t, "GET", "/api/collections/nope/records", "", nil, "")
	if err := e.logs.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	get := func(path, token string, wantStatus int) []byte {
		t.Helper()
		body, res := e.do(t, "GET", path, token, nil, "")
		if res.StatusCode != wantStatus {
			t.Fatalf("GET %s: status %d, want %d: %s", path, res.StatusCode, wantStatus, body)
		}
		return body
	}
	var list struct {
		Page, PerPage, TotalItems, TotalPages int
		Items                                 []struct {
			ID, Created, Message string
			Level                int
			Data                 map[string]any
		}
	}
	body := get("/api/logs?filter="+url.QueryEscape(`data.requestId = "first"`), e.suToken, 200)
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if list.TotalItems != 1 || len(list.Items) != 1 || list.Items[0].Message != "GET /api/health" ||
		list.Items[0].Data["status"] != float64(200) || list.Items[0].Data["type"] != "request" {
		t.Fatalf("list = %s", body)
	}
	id := list.Items[0].ID
	if _, err := time.Parse("2006-01-02 15:04:05.000Z", list.Items[0].Created); err != nil {
		t.Errorf("created %q is not in PocketBase's date format", list.Items[0].Created)
	}

	body = get("/api/logs?filter="+url.QueryEscape(`data.status >= 400`)+"&sort=-created&perPage=1", e.suToken, 200)
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	if list.PerPage != 1 || len(list.Items) != 1 || list.Items[0].Level != int(slog.LevelWarn) {
		t.Errorf("4xx list = %s", body)
	}

	var one map[string]any
	if err := json.Unmarshal(get("/api/logs/"+id, e.suToken, 200), &one); err != nil || one["id"] != id {
		t.Errorf("view = %v, %v", one, err)
	}
	get("/api/logs/missing0000000", e.suToken, 404)

	var stats []struct {
		Date  string
		Total int
	}
	if err := json.Unmarshal(get("/api/logs/stats?filter="+url.QueryEscape(`data.type = "request"`), e.suToken, 200), &stats); err != nil {
		t.Fatal(err)
	}
	if len(stats) == 0 || stats[len(stats)-1].Total < 2 || !strings.HasSuffix(stats[0].Date, ":00:00.000Z") {
		t.Errorf("stats = %+v", stats)
	}

	get("/api/logs", "", 401)
	get("/api/logs/stats", "", 401)
	get("/api/logs?filter="+url.QueryEscape(`nope = 1`), e.suToken, 400)

	if _, res := e.do(t, "DELETE", "/api/logs", e.suToken, nil, ""); res.StatusCode != 204 {
		t.Errorf("DELETE /api/logs: status %d", res.StatusCode)
	}
}

func TestHealthzAndReadyz(t *testing.T) {
	t.Parallel()
	e := newObsEnv(t)
	check := func(path string, want int) {
		t.Helper()
		body, res := e.do(t, "GET", path, "", nil, "")
		if res.StatusCode != want {
			t.Errorf("GET %s: %d, want %d: %s", path, res.StatusCode, want, body)
		}
	}
	check("/healthz", 200)
	check("/readyz", 200)
	check("/api/health", 200)
	e.ready.Store(false) // shutdown began
	check("/readyz", 503)
	check("/healthz", 200)
	check("/api/health", 200)
}

// scrape fetches /metrics with the token and parses it with the
// Prometheus text parser.
func (e *obsEnv) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	body, res := e.do(t, "GET", "/metrics", "Bearer "+metricsToken, nil, "")
	if res.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	e := newObsEnv(t)
	for range 3 {
		e.do(t, "GET", "/api/collections/users/records", e.suToken, nil, "")
	}
	e.do(t, "GET", "/api/collections/nope/records", "", nil, "")
	e.do(t, "GET", "/no/such/page", "", nil, "")

	for _, tok := range []string{"", "Bearer wrong", metricsToken} {
		if _, res := e.do(t, "GET", "/metrics", tok, nil, ""); res.StatusCode != 401 {
			t.Errorf("GET /metrics with %q: %d, want 401", tok, res.StatusCode)
		}
	}

	fams := e.scrape(t)
	for _, name := range []string{
		"basalt_http_requests_total", "basalt_http_request_duration_seconds", "basalt_http_requests_in_flight",
		"go_goroutines", "go_memstats_alloc_bytes", "process_resident_memory_bytes",
	} {
		if fams[name] == nil {
			t.Errorf("family %s missing", name)
		}
	}
	counts := map[[3]string]float64{}
	for _, m := range fams["basalt_http_requests_total"].GetMetric() {
		l := labels(m)
		counts[[3]string{l["route"], l["method"], l["code_class"]}] += m.GetCounter().GetValue()
	}
	for key, want := range map[[3]string]float64{
		{"/api/collections/{collection}/records", "GET", "2xx"}: 3,
		{"/api/collections/{collection}/records", "GET", "4xx"}: 1,
		{"unmatched", "GET", "4xx"}:                             1,
	} {
		if counts[key] != want {
			t.Errorf("requests %v = %v, want %v (all: %v)", key, counts[key], want, counts)
		}
	}
	for key := range counts {
		if strings.Contains(key[0], "nope") || strings.Contains(key[0], "users") {
			t.Errorf("route label %q is a raw path, not a template", key[0])
		}
	}
	var samples uint64
	for _, m := range fams["basalt_http_request_duration_seconds"].GetMetric() {
		if l := labels(m); l["route"] == "/api/collections/{collection}/records" && l["method"] == "GET" {
			samples = m.GetHistogram().GetSampleCount()
		}
	}
	if samples != 4 {
		t.Errorf("duration samples for the records route = %d, want 4", samples)
	}
	// The scrape itself is in flight while it is answered.
	if got := fams["basalt_http_requests_in_flight"].GetMetric()[0].GetGauge().GetValue(); got != 1 {
		t.Errorf("in flight during the scrape = %v, want 1", got)
	}
}
