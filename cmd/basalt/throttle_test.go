package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/ratelimit"
)

func TestThrottleFlags(t *testing.T) {
	t.Parallel()
	env := map[string]string{"BASALT_AUTH_THROTTLE_LOGIN_IP": "7/1h", "BASALT_AUTH_THROTTLE_OTP": "off"}
	o, _, err := parseFlags("serve", []string{"--auth-throttle-login-identity", "3/5m", "--auth-throttle-ip=off"},
		func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := o.throttle
	for name, c := range map[string]struct{ got, want ratelimit.Rule }{
		"login per IP (env)":        {got.LoginPerIP, ratelimit.Rule{Burst: 7, Per: time.Hour}},
		"login per identity (flag)": {got.LoginPerIdentity, ratelimit.Rule{Burst: 3, Per: 5 * time.Minute}},
		"per IP (flag off)":         {got.PerIP, ratelimit.Rule{}},
		"OTP (env off)":             {got.OTPAttempts, ratelimit.Rule{}},
		"per identity (default)":    {got.PerIdentity, ratelimit.Rule{Burst: 5, Per: 10 * time.Minute}},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", name, c.got, c.want)
		}
	}
	// The flag beats the environment.
	o, _, err = parseFlags("serve", []string{"--auth-throttle-login-ip", "2/1m"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil || o.throttle.LoginPerIP != (ratelimit.Rule{Burst: 2, Per: time.Minute}) {
		t.Errorf("flag over env: %v, %v", o.throttle.LoginPerIP, err)
	}
	if _, _, err := parseFlags("serve", []string{"--auth-throttle-login-ip", "lots"}, noEnv, io.Discard); err == nil {
		t.Error("a bad rule: want an error")
	}
	if _, _, err := parseFlags("serve", nil, func(k string) string {
		if k == "BASALT_AUTH_THROTTLE_IP" {
			return "30 per minute"
		}
		return ""
	}, io.Discard); err == nil || !strings.Contains(err.Error(), "BASALT_AUTH_THROTTLE_IP") {
		t.Errorf("a bad environment rule: got %v, want an error naming the variable", err)
	}
	var help bytes.Buffer
	if _, _, err := parseFlags("serve", []string{"--help"}, noEnv, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"-auth-throttle-login-ip", "(default 30/10m)", "-auth-throttle-login-identity", "(default 10/10m)", "BASALT_AUTH_THROTTLE_OTP"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("serve --help lacks %q:\n%s", want, help.String())
		}
	}
}

// TestServeThrottlesPasswordLogin starts "basalt serve" with a login limit
// from a flag and checks the 429 with Retry-After over HTTP.
func TestServeThrottlesPasswordLogin(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"superuser", "upsert", "root@example.com", "root-secret-123", "--dir", dir}, noEnv, nil, &out, &out); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out.String())
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"serve", "--http", addr, "--dir", dir, "--auth-throttle-login-identity", "2/1h"}, noEnv, strings.NewReader(""), logs, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Error("server did not stop")
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(15 * time.Second)
	for {
		if res, err := http.Get(base + "/api/health"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become healthy:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	login := func(pass string) *http.Response {
		t.Helper()
		body := fmt.Sprintf(`{"identity":"root@example.com","password":%q}`, pass)
		res, err := http.Post(base+"/api/collections/_superusers/auth-with-password", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	for i := range 2 {
		if res := login("wrong-password"); res.StatusCode != 400 {
			t.Fatalf("failure %d: status %d", i+1, res.StatusCode)
		}
	}
	res := login("root-secret-123")
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("3rd attempt: status %d, want 429", res.StatusCode)
	}
	if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 || n > 1800 {
		t.Errorf("Retry-After = %q, want 1..1800", res.Header.Get("Retry-After"))
	}

	// Passwords never reach the log: sign-up, sign-in, failures, password
	// change, reset requests (the mail is logged without SMTP: its
	// recipient and subject only).
	send := func(method, path, auth, body string, want int) map[string]any {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode != want {
			t.Fatalf("%s %s: status %d %v, want %d", method, path, res.StatusCode, out, want)
		}
		return out
	}
	post := func(path, body string, want int) map[string]any {
		t.Helper()
		return send("POST", path, "", body, want)
	}
	rec := post("/api/collections/users/records", `{"email":"u@example.com","password":"SIGNUP-pass-4711","passwordConfirm":"SIGNUP-pass-4711"}`, 200)
	post("/api/collections/users/auth-with-password", `{"identity":"u@example.com","password":"GUESS-pass-4711"}`, 400)
	tok := post("/api/collections/users/auth-with-password", `{"identity":"u@example.com","password":"SIGNUP-pass-4711"}`, 200)["token"].(string)
	send("PATCH", "/api/collections/users/records/"+rec["id"].(string), tok,
		`{"oldPassword":"SIGNUP-pass-4711","password":"CHANGED-pass-4711","passwordConfirm":"CHANGED-pass-4711"}`, 200)
	post("/api/collections/users/request-password-reset", `{"email":"u@example.com"}`, 204)
	post("/api/collections/users/confirm-password-reset", `{"token":"x.y.z","password":"RESET-pass-4711","passwordConfirm":"RESET-pass-4711"}`, 400)
	time.Sleep(200 * time.Millisecond) // background mail logging
	for _, secret := range []string{"root-secret-123", "wrong-password", "SIGNUP-pass-4711", "GUESS-pass-4711", "CHANGED-pass-4711", "RESET-pass-4711", "$2a$"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("%q reached the log:\n%s", secret, logs.String())
		}
	}
}
