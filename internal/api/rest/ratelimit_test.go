package rest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/ratelimit/redis"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
)

// setRateLimits enables the rateLimits settings with rules (label,
// audience, maxRequests, duration) through the API.
func (e *env) setRateLimits(t *testing.T, enabled bool, excluded []string, rules ...map[string]any) {
	t.Helper()
	if excluded == nil {
		excluded = []string{}
	}
	e.t = t
	e.mustJSON("PATCH", "/api/settings", "superuser", map[string]any{"rateLimits": map[string]any{
		"enabled": enabled, "rules": rules, "excludedIPs": excluded,
	}}, 200)
}

func rule(label, audience string, max, seconds int) map[string]any {
	return map[string]any{"label": label, "audience": audience, "maxRequests": max, "duration": seconds}
}

// wantLimited checks a rejection: PocketBase's body, Retry-After and the
// RateLimit fields naming the policy.
func wantLimited(t *testing.T, what string, res *response, policy, limit string) {
	t.Helper()
	want429(t, what, res, 3600)
	if got := res.header.Get("RateLimit-Policy"); got != policy {
		t.Errorf("%s: RateLimit-Policy = %q, want %q", what, got, policy)
	}
	if got := res.header.Get("RateLimit"); got != limit {
		t.Errorf("%s: RateLimit = %q, want %q", what, got, limit)
	}
	if !strings.HasSuffix(limit, ";t="+res.header.Get("Retry-After")) {
		t.Errorf("%s: Retry-After %q differs from the effective window of %q", what, res.header.Get("Retry-After"), limit)
	}
}

func TestRateLimitsOffByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 30 {
		res := e.do("GET", "/api/health", "", nil, nil)
		wantStatus(t, "health "+strconv.Itoa(i), res, 200)
		if h := res.header.Get("RateLimit"); h != "" {
			t.Fatalf("RateLimit = %q with rate limits disabled, want none", h)
		}
	}
}

func TestRateLimitsEnforced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setRateLimits(t, true, nil,
		rule("/api/health", "", 2, 60),
		rule("*:create", "@guest", 1, 60),
		rule("users:list", "@auth", 2, 60),
		rule("GET /api/collections/", "", 100, 60),
		rule("/api/", "", 1000, 60),
	)

	// An exact path rule: 2 per minute, then 429 with its headers.
	res := e.do("GET", "/api/health", "", nil, nil)
	wantStatus(t, "health 1", res, 200)
	if got, want := res.header.Get("RateLimit-Policy"), `"/api/health";q=2;w=60`; got != want {
		t.Errorf("RateLimit-Policy = %q, want %q", got, want)
	}
	if got, want := res.header.Get("RateLimit"), `"/api/health";r=1;t=30`; got != want {
		t.Errorf("RateLimit = %q, want %q", got, want)
	}
	wantStatus(t, "health 2", e.do("GET", "/api/health", "", nil, nil), 200)
	wantLimited(t, "health 3", e.do("GET", "/api/health", "", nil, nil), `"/api/health";q=2;w=60`, `"/api/health";r=0;t=30`)
	// Superusers are never limited; authenticated users share the guests'
	// rule (audience "").
	wantStatus(t, "health as superuser", e.do("GET", "/api/health", "superuser", nil, nil), 200)
	want429(t, "health as user", e.do("GET", "/api/health", "user", nil, nil), 60)

	// A collection tag for guests only: the second guest sign-up is refused,
	// users are not concerned (their request falls to "/api/").
	signUp := func(who string, n int) *response {
		email := fmt.Sprintf("rl%d-%s@example.com", n, who)
		return e.do("POST", "/api/collections/users/records", who, map[string]any{
			"email": email, "password": userPass, "passwordConfirm": userPass}, nil)
	}
	wantStatus(t, "guest sign-up 1", signUp("", 1), 200)
	res = signUp("", 2)
	want429(t, "guest sign-up 2", res, 60)
	if got, want := res.header.Get("RateLimit-Policy"), `"/api/";q=1000;w=60, "*:create @guest";q=1;w=60`; got != want {
		t.Errorf("sign-up RateLimit-Policy = %q, want %q", got, want)
	}
	// "POST /api/collections/users/records" gives the record CRUD path
	// check first ("/api/"), then the collection check.
	for i := range 3 {
		if r := signUp("user", i); r.status == 429 {
			t.Fatalf("user create %d: got 429, want the @guest rule not to apply", i)
		}
	}

	// An @auth rule on one collection, more specific than the
	// "GET /api/collections/" prefix.
	for i := range 2 {
		wantStatus(t, "user list "+strconv.Itoa(i), e.do("GET", "/api/collections/users/records", "user", nil, nil), 200)
	}
	wantLimited(t, "user list 3", e.do("GET", "/api/collections/users/records", "user", nil, nil),
		`"GET /api/collections/";q=100;w=60, "users:list @auth";q=2;w=60`,
		`"GET /api/collections/";r=97;t=1, "users:list @auth";r=0;t=30`)
	for i := range 5 {
		if r := e.do("GET", "/api/collections/users/records", "", nil, nil); r.status == 429 {
			t.Fatalf("guest list %d: got 429, want the @auth rule not to apply", i)
		}
	}
}

func TestRateLimitsPerClientIPAndExclusions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.t = t
	e.mustJSON("PATCH", "/api/settings", "superuser", map[string]any{"trustedProxy": map[string]any{"headers": []string{"X-Real-IP"}}}, 200)
	e.setRateLimits(t, true, []string{"10.9.0.0/16", "2001:db8::1"}, rule("/api/health", "", 1, 3600))
	from := func(ip string) *response {
		return e.do("GET", "/api/health", "", nil, map[string]string{"X-Real-IP": ip})
	}
	wantStatus(t, "first from 192.0.2.1", from("192.0.2.1"), 200)
	want429(t, "second from 192.0.2.1", from("192.0.2.1"), 3600)
	wantStatus(t, "first from 192.0.2.2", from("192.0.2.2"), 200)
	for i := range 5 {
		wantStatus(t, "excluded range "+strconv.Itoa(i), from("10.9.3.4"), 200)
		wantStatus(t, "excluded address "+strconv.Itoa(i), from("2001:db8::1"), 200)
	}

	// Settings apply at once: a new rule starts with fresh buckets, and
	// disabling lifts every limit.
	e.setRateLimits(t, true, nil, rule("/api/health", "", 2, 3600))
	wantStatus(t, "after the rule changed", from("192.0.2.1"), 200)
	e.setRateLimits(t, false, nil, rule("/api/health", "", 2, 3600))
	for i := range 5 {
		wantStatus(t, "disabled "+strconv.Itoa(i), from("192.0.2.1"), 200)
	}
}

func TestRateLimitsAuthTag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setRateLimits(t, true, nil, rule("*:auth", "", 2, 60), rule("/api/", "", 1000, 60))
	for i := range 2 {
		wantStatus(t, "sign-in "+strconv.Itoa(i), e.do("POST", "/api/collections/users/auth-with-password", "",
			map[string]any{"identity": userEmail, "password": "wrong-password"}, nil), 400)
	}
	res := e.do("POST", "/api/collections/users/auth-with-password", "", map[string]any{"identity": userEmail, "password": userPass}, nil)
	// Auth routes check their collection rule alone, as in PocketBase.
	wantLimited(t, "sign-in 3", res, `"*:auth";q=2;w=60`, `"*:auth";r=0;t=30`)
	// The bucket belongs to the collection and route: another auth
	// collection has its own.
	wantStatus(t, "superuser sign-in", e.do("POST", "/api/collections/_superusers/auth-with-password", "",
		map[string]any{"identity": suEmail, "password": suPassword}, nil), 200)
}

// limitedServer starts a REST server over a fresh database whose rate
// limit buckets live in limiter, with rateLimits enabled with rules.
// It returns the server's URL and a function returning its log so far.
func limitedServer(t *testing.T, limiter rest.RateLimiter, rules ...map[string]any) (string, func() string) {
	t.Helper()
	return limitedServerWith(t, rest.Deps{RateLimiter: limiter}, rules...)
}

// limitedServerWith is limitedServer with more dependencies (d's services
// are filled in).
func limitedServerWith(t *testing.T, d rest.Deps, rules ...map[string]any) (string, func() string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logs := syncBuffer{make(chan struct{}, 1), &bytes.Buffer{}}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	st := openTestStore(t, dir, logger)
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	patch := fmt.Appendf(nil, `{"rateLimits":{"enabled":true,"rules":%s}}`, mustMarshal(rules))
	if _, err := sets.Update(ctx, patch); err != nil {
		t.Fatalf("enabling rate limits: %v", err)
	}
	records := record.New(st, cols, nil, time.Now, random.ID)
	d.Logger, d.Collections, d.Records, d.Auth, d.Settings = logger, cols, records, auth.New(st, cols, records, time.Now), sets
	srv := httptest.NewServer(rest.NewServer(d))
	t.Cleanup(srv.Close)
	return srv.URL, func() string {
		logs.mu <- struct{}{}
		defer func() { <-logs.mu }()
		return logs.buf.String()
	}
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

// redisURL returns the Redis server of the tests (BASALT_TEST_REDIS); the
// test is skipped without one, except in CI, where it fails.
func redisURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("BASALT_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("BASALT_TEST_REDIS is not set: CI must run the Redis tests (.ci/run starts redis-server)")
		}
		t.Skip("BASALT_TEST_REDIS is not set (e.g. redis://127.0.0.1:56379): skipping the Redis rate limit tests")
	}
	return url
}

func openRedis(t *testing.T, url string, opts redis.Options) *redis.Limiter {
	t.Helper()
	l, err := redis.Open(url, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestRateLimitsSharedThroughRedis(t *testing.T) {
	t.Parallel()
	url := redisURL(t)
	// One prefix per run: the buckets of earlier runs do not count.
	prefix := "basalt-test:" + random.String(random.LowerAlnum, 12) + ":"
	a, _ := limitedServer(t, openRedis(t, url, redis.Options{Prefix: prefix}), rule("/api/health", "", 3, 60))
	b, _ := limitedServer(t, openRedis(t, url, redis.Options{Prefix: prefix}), rule("/api/health", "", 3, 60))
	for i, srv := range []string{a, b, a} {
		if res := get(t, srv+"/api/health"); res.StatusCode != 200 {
			t.Fatalf("request %d: got %d, want 200", i+1, res.StatusCode)
		}
	}
	for i, srv := range []string{b, a} {
		res := get(t, srv+"/api/health")
		if res.StatusCode != 429 {
			t.Fatalf("request %d past the shared limit: got %d, want 429", i+4, res.StatusCode)
		}
		if got, want := res.Header.Get("RateLimit"), `"/api/health";r=0;t=20`; got != want {
			t.Errorf("RateLimit = %q, want %q", got, want)
		}
		if got := res.Header.Get("Retry-After"); got != "20" {
			t.Errorf("Retry-After = %q, want 20", got)
		}
	}
}

func TestRateLimitsFailOpenWithoutRedis(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: connections are refused at once.
	ln := httptest.NewServer(http.NotFoundHandler())
	dead := "redis://" + strings.TrimPrefix(ln.URL, "http://")
	ln.Close()
	limiter := openRedis(t, dead, redis.Options{})
	srv, logs := limitedServer(t, limiter, rule("/api/health", "", 1, 60))
	for i := range 5 {
		if res := get(t, srv+"/api/health"); res.StatusCode != 200 {
			t.Fatalf("request %d with Redis down: got %d, want 200 (fail open)", i+1, res.StatusCode)
		}
	}
	if limiter.Failures() < 1 {
		t.Errorf("Failures() = %d, want at least 1", limiter.Failures())
	}
	if got := strings.Count(logs(), "rate limits not enforced"); got != 1 {
		t.Errorf("%d warnings logged, want exactly 1 (spaced out):\n%s", got, logs())
	}
}

func TestRateLimitRejectionsCounted(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	srv, _ := limitedServerWith(t, rest.Deps{Metrics: m}, rule("/api/health", "", 1, 60))
	for range 3 {
		get(t, srv+"/api/health")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	want := `basalt_rate_limit_rejections_total{route="/api/health"} 2`
	if !strings.Contains(rec.Body.String(), want) {
		t.Errorf("metrics lack %s:\n%s", want, rec.Body.String())
	}
}
