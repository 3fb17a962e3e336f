package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// limitsGuard bounds how long a protection may take to act in these tests;
// it is far above the configured timeouts, so that only a protection that
// does not act at all fails them.
const limitsGuard = 20 * time.Second

// serveWith runs "basalt serve" on dir with extra flags and waits for
// /api/health through client (plain HTTP when client is nil). The server
// stops with t, or earlier through stop.
func serveWith(t *testing.T, dir string, client *http.Client, args ...string) (addr string, stop func()) {
	t.Helper()
	addr = freeAddr(t)
	scheme := "https"
	if client == nil {
		client, scheme = http.DefaultClient, "http"
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &syncBuffer{}
	args = append([]string{"serve", "--http", addr, "--dir", dir}, args...)
	go func() { done <- run(ctx, args, noEnv, strings.NewReader(""), out, out) }()
	waitHealthy(t, client, scheme+"://"+addr, limitsGuard, done, cancel, out)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(40 * time.Second):
				t.Errorf("server %s did not stop", addr)
			}
		})
	}
	t.Cleanup(stop)
	return addr, stop
}

// superuserToken creates a superuser in dir (before the server starts).
func createSuperuser(t *testing.T, dir string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"superuser", "upsert", "root@example.com", "root-pass-123", "--dir", dir}, noEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, errOut.String())
	}
}

func superuserLogin(t *testing.T, addr string) string {
	t.Helper()
	status, body := call(t, http.MethodPost, addr, "/api/collections/_superusers/auth-with-password", "",
		map[string]any{"identity": "root@example.com", "password": "root-pass-123"})
	if status != http.StatusOK {
		t.Fatalf("superuser login: %d %v", status, body)
	}
	token, _ := body["token"].(string)
	return token
}

// wantPBError checks an answer in PocketBase's error envelope.
func wantPBError(t *testing.T, what string, status int, body []byte, wantStatus int, wantMessage string) {
	t.Helper()
	var env struct {
		Status  int            `json:"status"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Errorf("%s: body %q is not an error envelope: %v", what, body, err)
		return
	}
	if status != wantStatus || env.Status != wantStatus || env.Message != wantMessage || env.Data == nil {
		t.Errorf("%s: %d %s, want %d with message %q and data {}", what, status, body, wantStatus, wantMessage)
	}
}

// raw sends a request's bytes over a fresh connection to addr.
func raw(t *testing.T, addr, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitClosed reads c until the server ends the connection and returns what
// it answered; it fails t when that takes longer than wait.
func waitClosed(t *testing.T, c net.Conn, wait time.Duration, what string) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadAll(c)
	if isTimeout(err) {
		t.Fatalf("%s: the server kept the connection open for %v", what, wait)
	}
	return string(got)
}

func count(t *testing.T, addr, token, collection string) float64 {
	t.Helper()
	status, body := call(t, http.MethodGet, addr, "/api/collections/"+collection+"/records?perPage=1", token, nil)
	if status != http.StatusOK {
		t.Fatalf("listing %s: %d %v", collection, status, body)
	}
	n, _ := body["totalItems"].(float64)
	return n
}

// TestServeTimeoutsAndBodyLimits covers the connection timeouts, the body
// limit (JSON and multipart), CORS origins, security headers and the query
// time limit of one server.
func TestServeTimeoutsAndBodyLimits(t *testing.T) {
	dir := t.TempDir()
	createSuperuser(t, dir)
	addr, _ := serveWith(t, dir, nil,
		"--read-header-timeout", "300ms", "--read-timeout", "300ms",
		"--max-body", "64K", "--query-timeout", "1s",
		"--cors-origins", "https://app.example.com")
	token := superuserLogin(t, addr)
	for _, c := range []map[string]any{
		{"name": "notes", "type": "base", "listRule": "", "createRule": "",
			"fields": []map[string]any{{"name": "title", "type": "text"}, {"name": "n", "type": "number"}}},
		{"name": "docs", "type": "base", "listRule": "", "createRule": "",
			"fields": []map[string]any{{"name": "doc", "type": "file", "maxSize": 1000, "maxSelect": 1}}},
	} {
		if status, body := call(t, http.MethodPost, addr, "/api/collections", token, c); status != http.StatusOK {
			t.Fatalf("creating %s: %d %v", c["name"], status, body)
		}
	}

	t.Run("slowloris headers", func(t *testing.T) {
		// Half a request line's headers, then nothing.
		c := raw(t, addr, "GET /api/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		// Well above the 300 ms set, well below the 10 s default.
		waitClosed(t, c, 5*time.Second, "unfinished headers")
	})

	t.Run("trickled body", func(t *testing.T) {
		c := raw(t, addr, "POST /api/collections/notes/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		// One byte every 50 ms would take 50 s to send the body.
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		waitClosed(t, c, limitsGuard, "trickled body")
		if n := count(t, addr, "", "notes"); n != 0 {
			t.Errorf("notes after the cut request: %v, want 0", n)
		}
	})

	t.Run("oversize JSON body", func(t *testing.T) {
		body := `{"title":"` + strings.Repeat("x", 100<<10) + `"}`
		res, err := http.Post("http://"+addr+"/api/collections/notes/records", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		wantPBError(t, "oversize JSON", res.StatusCode, got, http.StatusRequestEntityTooLarge, "Request entity too large.")
		if n := count(t, addr, "", "notes"); n != 0 {
			t.Errorf("notes after the oversize body: %v, want 0", n)
		}
	})

	t.Run("oversize upload", func(t *testing.T) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, err := mw.CreateFormFile("doc", "big.txt")
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(bytes.Repeat([]byte("y"), 200<<10)) // over 64 KiB + the field's 1000 bytes
		mw.Close()
		res, err := http.Post("http://"+addr+"/api/collections/docs/records", mw.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		wantPBError(t, "oversize upload", res.StatusCode, got, http.StatusRequestEntityTooLarge, "Request entity too large.")
		if n := count(t, addr, "", "docs"); n != 0 {
			t.Errorf("docs after the oversize upload: %v, want 0", n)
		}
	})

	t.Run("CORS origins and security headers", func(t *testing.T) {
		for origin, want := range map[string]string{"https://app.example.com": "https://app.example.com", "https://evil.example.com": ""} {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/health", nil)
			req.Header.Set("Origin", origin)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != want {
				t.Errorf("Origin %s: Access-Control-Allow-Origin = %q, want %q", origin, got, want)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		}
	})

	t.Run("query time limit", func(t *testing.T) {
		for i := range 200 {
			if status, body := call(t, http.MethodPost, addr, "/api/collections/notes/records", "", map[string]any{"title": fmt.Sprint("note ", i), "n": i}); status != http.StatusOK {
				t.Fatalf("creating note %d: %d %v", i, status, body)
			}
		}
		// Four joins of notes under an order no four notes satisfy: the
		// engine enumerates millions of combinations.
		filter := `@collection.notes:a.n ?< @collection.notes:b.n && @collection.notes:b.n ?< @collection.notes:c.n && ` +
			`@collection.notes:c.n ?< @collection.notes:d.n && @collection.notes:d.n ?< @collection.notes:a.n`
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/api/collections/notes/records?filter="+url.QueryEscape(filter), nil)
		req.Header.Set("Authorization", token)
		client := &http.Client{Timeout: limitsGuard}
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("slow list: %v (the query time limit did not end it)", err)
		}
		got, _ := io.ReadAll(res.Body)
		res.Body.Close()
		wantPBError(t, "slow list", res.StatusCode, got, http.StatusServiceUnavailable, "The request was canceled or timed out.")
		// The server answers on.
		if n := count(t, addr, "", "notes"); n != 200 {
			t.Errorf("notes: %v, want 200", n)
		}
	})
}

// TestServeSheds saturates a server capped at two requests with requests
// whose bodies never arrive: the next ones get 503 with Retry-After while
// probes and the realtime streams (SSE and WebSocket) go on, and the server
// recovers. The streams outlive the write timeout.
func TestServeSheds(t *testing.T) {
	dir := t.TempDir()
	createSuperuser(t, dir)
	// Set up without the short write timeout, which would cut a password
	// check (bcrypt) under the race detector.
	addr, stop := serveWith(t, dir, nil)
	if status, body := call(t, http.MethodPost, addr, "/api/collections", superuserLogin(t, addr), map[string]any{
		"name": "notes", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
		"fields": []map[string]any{{"name": "title", "type": "text"}}}); status != http.StatusOK {
		t.Fatalf("creating notes: %d %v", status, body)
	}
	stop()
	addr, _ = serveWith(t, dir, nil, "--max-concurrent-requests", "2", "--queue-wait", "10ms",
		"--write-timeout", "300ms", "--metrics-token", "metrics-secret", "--shutdown-drain", "0")
	// The stream is open before the cap fills and stays open past the
	// write timeout: it is neither counted nor cut.
	sseStart := time.Now()
	events := openSSE(t, addr)
	var connect struct {
		ClientID string `json:"clientId"`
	}
	json.Unmarshal([]byte(nextEvent(t, events, "PB_CONNECT", limitsGuard).data), &connect)
	ws := dialWS(t, addr)

	blocker := "POST /api/collections/notes/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
	idle := inFlight(t, addr)
	blockers := []net.Conn{raw(t, addr, blocker), raw(t, addr, blocker)}

	// Wait until the server handles both. Nothing else competes for the two
	// slots meanwhile, so neither blocker can have been shed unless the
	// stream took a slot.
	deadline := time.Now().Add(limitsGuard)
	for inFlight(t, addr) != idle+2 {
		if time.Now().After(deadline) {
			t.Fatalf("the blockers are not in flight: %d requests, want %d", inFlight(t, addr), idle+2)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for i, c := range blockers {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(make([]byte, 1)); n > 0 || !isTimeout(err) {
			t.Errorf("blocker %d was answered (%d bytes, %v): the realtime stream took a slot", i, n, err)
		}
	}

	res, err := http.Get("http://" + addr + "/api/collections/notes/records")
	if err != nil {
		t.Fatalf("request over the cap: %v (the server must answer, not collapse)", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	wantPBError(t, "over the cap", res.StatusCode, body, http.StatusServiceUnavailable, "The server is busy, try again later.")
	if got := res.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	for _, path := range []string{"/api/health", "/healthz", "/readyz"} {
		if got := getStatus(t, "http://"+addr+path); got != http.StatusOK {
			t.Errorf("GET %s over the cap: %d, want 200", path, got)
		}
	}
	if m := scrape(t, addr); !strings.Contains(m, "basalt_http_requests_shed_total 1\n") {
		t.Errorf("metrics over the cap: want basalt_http_requests_shed_total 1 in\n%s", m)
	}

	// The blockers' clients go away: their slots free up.
	for _, c := range blockers {
		c.Close()
	}
	deadline = time.Now().Add(limitsGuard)
	for getStatusQuiet("http://"+addr+"/api/collections/notes/records") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("requests still refused after the blockers ended")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Well past the write timeout the stream still delivers.
	if wait := 3*300*time.Millisecond - time.Since(sseStart); wait > 0 {
		time.Sleep(wait)
	}
	if status, body := call(t, http.MethodPost, addr, "/api/realtime", "", map[string]any{"clientId": connect.ClientID, "subscriptions": []string{"notes"}}); status != http.StatusNoContent {
		t.Fatalf("subscribing: %d %v", status, body)
	}
	if status, body := call(t, http.MethodPost, addr, "/api/collections/notes/records", "", map[string]any{"title": "after"}); status != http.StatusOK {
		t.Fatalf("creating a note: %d %v", status, body)
	}
	if ev := nextEvent(t, events, "notes", limitsGuard); !strings.Contains(ev.data, `"after"`) {
		t.Errorf("event %s, want the new note", ev.data)
	}
	// So does the WebSocket, open as long.
	ctx, cancel := context.WithTimeout(context.Background(), limitsGuard)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","id":"7"}`)); err != nil {
		t.Fatalf("WebSocket write after the write timeout: %v", err)
	}
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("WebSocket read after the write timeout: %v", err)
		}
		if strings.Contains(string(msg), `"pong"`) {
			break
		}
	}
}

// dialWS opens addr's realtime WebSocket and reads its connect message.
func dialWS(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limitsGuard)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/ws", nil)
	if err != nil {
		t.Fatalf("dialing /api/ws: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), `"connect"`) {
		t.Fatalf("WebSocket connect message: %s, %v", msg, err)
	}
	return c
}

// scrape returns addr's metrics (served under the token "metrics-secret").
func scrape(t *testing.T, addr string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer metrics-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, b)
	}
	return string(b)
}

// inFlight returns addr's basalt_http_requests_in_flight.
func inFlight(t *testing.T, addr string) int {
	t.Helper()
	for _, l := range strings.Split(scrape(t, addr), "\n") {
		if v, ok := strings.CutPrefix(l, "basalt_http_requests_in_flight "); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("basalt_http_requests_in_flight %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no basalt_http_requests_in_flight in the metrics")
	return 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// writeCert writes a self-signed certificate for 127.0.0.1 with the given
// serial number to certFile and keyFile.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "basalt test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// The key first: a reload sees a matching pair once the certificate
	// is written.
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert
}

// tlsClient trusts the given certificates only, with a fresh connection for
// each request.
func tlsClient(certs ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return &http.Client{Timeout: limitsGuard, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true, ForceAttemptHTTP2: true}}
}

func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, 1)
	addr, _ := serveWith(t, dir, tlsClient(first), "--tls-cert", certFile, "--tls-key", keyFile)

	res, err := tlsClient(first).Get("https://" + addr + "/api/health")
	if err != nil {
		t.Fatalf("HTTPS request: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", res.StatusCode)
	}
	if res.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2 over TLS", res.Proto)
	}
	if got := res.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q, want max-age", got)
	}
	// Plain HTTP gets net/http's refusal, never the API.
	if got := getStatusQuiet("http://" + addr + "/api/health"); got == http.StatusOK {
		t.Error("plain HTTP request to the HTTPS listener: 200")
	}

	// A renewed certificate is served from the next connection on.
	second := writeCert(t, certFile, keyFile, 2)
	deadline := time.Now().Add(limitsGuard)
	for {
		res, err := tlsClient(first, second).Get("https://" + addr + "/api/health")
		if err != nil {
			t.Fatalf("HTTPS request after the renewal: %v", err)
		}
		res.Body.Close()
		if res.TLS.PeerCertificates[0].SerialNumber.Int64() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not loaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLimitFlags(t *testing.T) {
	o, _, err := parseFlags("serve", nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l := o.limits
	if l.readHeaderTimeout != 10*time.Second || l.idleTimeout != 120*time.Second || l.maxBody != 32<<20 ||
		l.maxConcurrent != defaultMaxConcurrent || l.queryTimeout != defaultQueryTimeout || len(l.corsOrigins) != 1 || l.corsOrigins[0] != "*" {
		t.Errorf("defaults: %+v", l)
	}
	env := map[string]string{"BASALT_MAX_BODY": "2M", "BASALT_QUERY_TIMEOUT": "5s", "BASALT_MAX_CONCURRENT_REQUESTS": "7",
		"BASALT_CORS_ORIGINS": "https://a.example, https://b.example/"}
	o, _, err = parseFlags("serve", []string{"--write-timeout", "0"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l = o.limits
	if l.maxBody != 2<<20 || l.queryTimeout != 5*time.Second || l.maxConcurrent != 7 || l.writeTimeout != 0 ||
		strings.Join(l.corsOrigins, " ") != "https://a.example https://b.example" {
		t.Errorf("from the environment: %+v", l)
	}
	for _, bad := range [][]string{{"--max-body", "lots"}, {"--max-body", "0"}, {"--tls-cert", "x.pem"}, {"--max-concurrent-requests", "-1"}} {
		if _, _, err := parseFlags("serve", bad, noEnv, io.Discard); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	if _, _, err := parseFlags("serve", nil, func(k string) string {
		if k == "BASALT_READ_TIMEOUT" {
			return "soon"
		}
		return ""
	}, io.Discard); err == nil {
		t.Error("BASALT_READ_TIMEOUT=soon: want an error")
	}
}
