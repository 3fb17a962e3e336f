package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/ratelimit/redis"
)

// rateLimiter returns the store of the rateLimits buckets: nil (buckets in
// this process) without a Redis URL, else Redis, shared by every replica
// given the same URL. An unreachable Redis is only a warning: requests go
// through unlimited until it answers (basalt_rate_limit_store_errors_total
// counts the failed calls).
func rateLimiter(ctx context.Context, url string, logger *slog.Logger, m *metrics.Metrics) (rest.RateLimiter, func(), error) {
	if url == "" {
		return nil, func() {}, nil
	}
	l, err := redis.Open(url, redis.Options{})
	if err != nil {
		return nil, nil, fmt.Errorf("--redis: %w", err)
	}
	if err := l.Ping(ctx); err != nil {
		logger.Warn("rate limits: Redis does not answer; requests are not limited until it does", "err", err)
	}
	m.Counter("rate_limit_store_errors_total",
		"Calls to the shared rate limit store (Redis) that failed; the requests went through unlimited.",
		func() float64 { return float64(l.Failures()) })
	return l, func() { l.Close() }, nil
}
