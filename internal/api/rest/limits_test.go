package rest_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/api/httplimit"
	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/blob/local"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
)

// limitsServer serves the REST API with the Deps that edit sets, over a
// real loopback listener (TLS when tls is true).
func limitsServer(t *testing.T, tls bool, edit func(*rest.Deps)) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	st := openTestStore(t, dir, logger)
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := local.New(filepath.Join(dir, "storage"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	files := file.New(blobs, func(n int) string { return random.String(random.LowerAlnum, n) })
	records := record.New(st, cols, files.ForRecords(), time.Now, random.ID)
	d := rest.Deps{Logger: logger, Collections: cols, Records: records, Settings: sets, Files: files,
		Auth: auth.New(st, cols, records, time.Now)}
	edit(&d)
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(rest.NewServer(d))
	} else {
		srv = httptest.NewServer(rest.NewServer(d))
	}
	t.Cleanup(srv.Close)
	return srv
}

// send makes a request with the given headers and returns the answer with
// its body read.
func send(t *testing.T, c *http.Client, method, url string, headers map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return res, string(b)
}

// wantEnvelope checks a PocketBase error envelope.
func wantEnvelope(t *testing.T, body string, status int, message string) {
	t.Helper()
	var got struct {
		Status  int            `json:"status"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("body %q is not a JSON envelope: %v", body, err)
	}
	if got.Status != status || got.Message != message || got.Data == nil || len(got.Data) != 0 {
		t.Errorf("envelope %s, want status %d, message %q and empty data", body, status, message)
	}
}

func TestCORSOriginList(t *testing.T) {
	t.Parallel()
	const app = "https://app.example.com"
	srv := limitsServer(t, false, func(d *rest.Deps) {
		d.CORSOrigins = rest.ParseOrigins(" https://app.example.com/ , https://admin.example.com")
	})
	c := srv.Client()
	tests := []struct {
		name, method, origin string
		preflight            bool
		wantStatus           int
		wantOrigin           string
	}{
		{name: "listed origin", method: "GET", origin: app, wantStatus: 200, wantOrigin: app},
		{name: "other listed origin", method: "GET", origin: "https://admin.example.com", wantStatus: 200, wantOrigin: "https://admin.example.com"},
		{name: "unlisted origin", method: "GET", origin: "https://evil.example.com", wantStatus: 200},
		{name: "listed origin's preflight", method: "OPTIONS", origin: app, preflight: true, wantStatus: 204, wantOrigin: app},
		{name: "unlisted origin's preflight", method: "OPTIONS", origin: "https://evil.example.com", preflight: true, wantStatus: 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Origin": tt.origin}
			if tt.preflight {
				h["Access-Control-Request-Method"] = "PATCH"
				h["Access-Control-Request-Headers"] = "authorization,content-type"
			}
			res, _ := send(t, c, tt.method, srv.URL+"/api/health", h, "")
			if res.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if got := res.Header.Values("Vary"); !strings.Contains(strings.Join(got, ","), "Origin") {
				t.Errorf("Vary = %q, want Origin", got)
			}
			methods := res.Header.Get("Access-Control-Allow-Methods")
			if tt.preflight && (tt.wantOrigin != "") != strings.Contains(methods, "PATCH") {
				t.Errorf("Access-Control-Allow-Methods = %q for an allowed origin %v", methods, tt.wantOrigin != "")
			}
		})
	}
	t.Run("star allows any", func(t *testing.T) {
		srv := limitsServer(t, false, func(d *rest.Deps) { d.CORSOrigins = []string{"*"} })
		res, _ := send(t, srv.Client(), "GET", srv.URL+"/api/health", map[string]string{"Origin": "https://x.example"}, "")
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	api := map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Resource-Policy": "same-origin",
	}
	files := map[string]string{
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "SAMEORIGIN",
		"Referrer-Policy":              "no-referrer",
		"Cross-Origin-Resource-Policy": "cross-origin",
	}
	for _, tls := range []bool{false, true} {
		srv := limitsServer(t, tls, func(*rest.Deps) {})
		for path, want := range map[string]map[string]string{
			"/api/health":                     api,
			"/api/collections/nope/records":   api, // an error answer
			"/api/files/nope/record/file.png": files,
		} {
			res, _ := send(t, srv.Client(), "GET", srv.URL+path, nil, "")
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("TLS %v, %s: %s = %q, want %q", tls, path, k, got, v)
				}
			}
			hsts := res.Header.Get("Strict-Transport-Security")
			if tls && !strings.HasPrefix(hsts, "max-age=") || !tls && hsts != "" {
				t.Errorf("TLS %v, %s: Strict-Transport-Security = %q", tls, path, hsts)
			}
		}
	}
}

func TestMaxBody(t *testing.T) {
	t.Parallel()
	srv := limitsServer(t, false, func(d *rest.Deps) { d.MaxBody = 1000 })
	big := `{"name":"` + strings.Repeat("x", 2000) + `"}`
	// _superusers has no file fields: its create body limit is MaxBody.
	res, body := send(t, srv.Client(), "POST", srv.URL+"/api/collections/_superusers/records", map[string]string{"Content-Type": "application/json"}, big)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413 (%s)", res.StatusCode, body)
	}
	wantEnvelope(t, body, 413, "Request entity too large.")
	// Within the limit the body is read (and rejected for its content).
	res, body = send(t, srv.Client(), "POST", srv.URL+"/api/collections/_superusers/records", map[string]string{"Content-Type": "application/json"}, `{"email":"x"}`)
	if res.StatusCode == http.StatusRequestEntityTooLarge {
		t.Errorf("small body: status 413 (%s)", body)
	}
}

// blockingRequest starts a request whose body never arrives in full, so
// that its handler holds a slot until the returned function closes the
// connection.
func blockingRequest(t *testing.T, srv *httptest.Server) (stop func()) {
	t.Helper()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.WriteString(c, "POST /api/collections/users/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	if err != nil {
		t.Fatal(err)
	}
	return func() { c.Close() }
}

func TestLoadShedding(t *testing.T) {
	t.Parallel()
	lim := httplimit.New(httplimit.Options{MaxConcurrent: 1, QueueWait: 10 * time.Millisecond})
	srv := limitsServer(t, false, func(d *rest.Deps) { d.Limits = lim })
	c := srv.Client()
	stop := blockingRequest(t, srv)
	waitUntil(t, "the blocking request holds the slot", func() bool { return lim.InFlight() == 1 })

	res, body := send(t, c, "GET", srv.URL+"/api/collections/users/records", nil, "")
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("over the cap: status %d, want 503 (%s)", res.StatusCode, body)
	}
	if got := res.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	wantEnvelope(t, body, 503, "The server is busy, try again later.")
	// Probes and realtime streams are not held back by the cap.
	for _, path := range []string{"/api/health", "/healthz", "/readyz", "/api/realtime", "/api/ws"} {
		if res, body := send(t, c, "GET", srv.URL+path, nil, ""); res.StatusCode == http.StatusServiceUnavailable {
			t.Errorf("GET %s over the cap: 503 (%s), want it exempt", path, body)
		}
	}
	if lim.Shed() != 1 {
		t.Errorf("Shed() = %d, want 1", lim.Shed())
	}

	stop()
	waitUntil(t, "the slot to be free", func() bool { return lim.InFlight() == 0 })
	if res, body := send(t, c, "GET", srv.URL+"/api/collections/users/records", nil, ""); res.StatusCode == http.StatusServiceUnavailable {
		t.Errorf("after the blocker: 503 (%s)", body)
	}
}

// waitUntil polls cond for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
