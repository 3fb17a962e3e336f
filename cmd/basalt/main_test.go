package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe output sink for run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits until base/api/health answers 200 through client. It
// fails t (after cancel) when the server exits first, with its output, or
// does not answer within d.
func waitHealthy(t *testing.T, client *http.Client, base string, d time.Duration, done <-chan error, cancel func(), out *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if res, err := client.Get(base + "/api/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server %s exited early: %v\n%s", base, err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server %s did not become healthy: %s", base, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startServer runs "basalt serve" through run and waits for /api/health.
func startServer(t *testing.T, dir string) (addr string, stop func() error) {
	t.Helper()
	addr = freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"serve", "--http", addr, "--dir", dir}, noEnv, strings.NewReader(""), out, out)
	}()
	waitHealthy(t, http.DefaultClient, "http://"+addr, 15*time.Second, done, cancel, out)
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(40 * time.Second):
				stopErr = fmt.Errorf("server did not stop")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return addr, stop
}

func TestVersionAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"--version"}, noEnv, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "basalt ") {
		t.Errorf("--version printed %q", out.String())
	}
	if err := run(context.Background(), nil, noEnv, nil, &out, &errOut); err == nil {
		t.Error("no command: want an error")
	}
	if err := run(context.Background(), []string{"bogus"}, noEnv, nil, &out, &errOut); err == nil {
		t.Error("unknown command: want an error")
	}
}

func TestSuperuserCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	cli := func(args ...string) error {
		out.Reset()
		errOut.Reset()
		return run(ctx, append(args, "--dir", dir), noEnv, nil, &out, &errOut)
	}
	if err := cli("superuser", "upsert", "root@example.com", "first-pass-123"); err != nil {
		t.Fatalf("upsert: %v", err)
	}
	if err := cli("superuser", "upsert", "root@example.com", "second-pass-123"); err != nil {
		t.Fatalf("upsert again: %v", err)
	}
	if err := cli("superuser", "upsert", "not-an-email", "second-pass-123"); err == nil || !strings.Contains(err.Error(), "email") {
		t.Errorf("invalid email: got %v, want an error naming the email", err)
	}
	if err := cli("superuser", "upsert", "x@example.com", "short"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("short password: got %v, want an error naming the password", err)
	}

	addr, stop := startServer(t, dir)
	login := func(pass string) int {
		body := fmt.Sprintf(`{"identity":"root@example.com","password":%q}`, pass)
		res, err := http.Post("http://"+addr+"/api/collections/_superusers/auth-with-password", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := login("second-pass-123"); got != http.StatusOK {
		t.Errorf("login with the new password: status %d, want 200", got)
	}
	if got := login("first-pass-123"); got != http.StatusBadRequest {
		t.Errorf("login with the old password: status %d, want 400", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := cli("superuser", "delete", "root@example.com"); err == nil {
		t.Error("deleting the only superuser: want an error")
	}
	if err := cli("superuser", "upsert", "two@example.com", "second-pass-123"); err != nil {
		t.Fatal(err)
	}
	if err := cli("superuser", "delete", "root@example.com"); err != nil {
		t.Errorf("delete: %v", err)
	}
	if err := cli("superuser", "delete", "nobody@example.com"); err == nil {
		t.Error("deleting an unknown superuser: want an error")
	}
}

// TestGracefulShutdown starts a request whose body is still arriving, stops
// the server, then finishes the body: the request must complete.
func TestGracefulShutdown(t *testing.T) {
	addr, stop := startServer(t, t.TempDir())
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/api/collections/users/records", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		status int
		body   map[string]any
		err    error
	}
	resc := make(chan result, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer res.Body.Close()
		var body map[string]any
		err = json.NewDecoder(res.Body).Decode(&body)
		resc <- result{status: res.StatusCode, body: body, err: err}
	}()
	if _, err := pw.Write([]byte(`{"email":"late@example.com",`)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the request is now being served
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(300 * time.Millisecond) // shutdown has begun and is waiting
	select {
	case err := <-stopped:
		t.Fatalf("server stopped before the in-flight request finished: %v", err)
	default:
	}
	if _, err := pw.Write([]byte(`"password":"late-pass-123","passwordConfirm":"late-pass-123"}`)); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-resc
	if res.err != nil {
		t.Fatalf("in-flight request failed: %v", res.err)
	}
	if id, _ := res.body["id"].(string); res.status != http.StatusOK || len(id) != 15 || res.body["collectionName"] != "users" {
		t.Fatalf("in-flight request: status %d body %v, want 200 with the created user", res.status, res.body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/api/health"); err == nil {
		t.Error("server still answers after shutdown")
	}
}
