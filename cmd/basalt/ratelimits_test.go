package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/basalt-dev/basalt/internal/metrics"
)

func TestRedisFlag(t *testing.T) {
	t.Parallel()
	env := func(k string) string {
		if k == "BASALT_REDIS" {
			return "redis://env:6379"
		}
		return ""
	}
	o, _, err := parseFlags("serve", nil, env, io.Discard)
	if err != nil || o.redis != "redis://env:6379" {
		t.Errorf("from BASALT_REDIS: got %q, %v", o.redis, err)
	}
	o, _, err = parseFlags("serve", []string{"--redis", "redis://flag:6379/1"}, env, io.Discard)
	if err != nil || o.redis != "redis://flag:6379/1" {
		t.Errorf("from --redis: got %q, %v", o.redis, err)
	}
}

func TestRateLimiterStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, stop, err := rateLimiter(ctx, "", logger, nil)
	if err != nil || l != nil {
		t.Errorf("without --redis: got %v, %v; want a nil store (buckets in the process)", l, err)
	}
	stop()
	if _, _, err := rateLimiter(ctx, "mysql://x", logger, nil); err == nil {
		t.Error("a URL that is not redis:// was accepted")
	}
	// Nothing listens on port 1: a warning, not an error, and the counter
	// is registered.
	m := metrics.New()
	l, stop, err = rateLimiter(ctx, "redis://127.0.0.1:1", logger, m)
	if err != nil || l == nil {
		t.Fatalf("unreachable Redis: got %v, %v; want a store and no error", l, err)
	}
	stop()
}
