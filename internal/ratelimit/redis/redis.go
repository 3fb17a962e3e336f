// Package redis keeps rate-limit buckets in Redis, so that every replica
// of a cluster draws on the same buckets. Each request runs one atomic
// script (the generic cell rate algorithm of go-redis/redis_rate), which
// behaves as the in-process token buckets of package ratelimit do: Burst
// requests at once, refilled at Burst per Per. Keys expire once their
// bucket is full again, so Redis holds only active buckets.
//
// redis is an adapter: it imports only the ratelimit leaf. Callers decide
// what an error means; Basalt's REST transport lets the request through.
package redis

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"

	"github.com/basalt-dev/basalt/internal/ratelimit"
)

// Options tune a Limiter. The zero value is usable.
type Options struct {
	// Prefix starts every key (default "basalt:"), so that tests and
	// several Basalt deployments can share one Redis.
	Prefix string
	// Timeout bounds one call to Redis (default 500ms): a slow Redis must
	// not hold requests for long.
	Timeout time.Duration
	// Backoff is how long after a failure calls fail at once without
	// trying Redis (default 1s), so that an unreachable Redis costs
	// requests nothing while it is down.
	Backoff time.Duration
}

// ErrBackoff is returned while the limiter waits after a failure.
var ErrBackoff = errors.New("redis rate limiter: backing off after a failure")

// Limiter is a rate limiter on Redis. It is safe for concurrent use.
type Limiter struct {
	client   *goredis.Client
	limiter  *redis_rate.Limiter
	opts     Options
	failures atomic.Int64
	retryAt  atomic.Int64 // unix nanoseconds before which calls back off
}

// Open returns a limiter on the Redis server at url
// (redis://[user:password@]host:port[/db], or rediss:// for TLS). It does
// not connect: use Ping to check the server.
func Open(url string, opts Options) (*Limiter, error) {
	cfg, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parsing redis URL: %w", err)
	}
	if opts.Prefix == "" {
		opts.Prefix = "basalt:"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 500 * time.Millisecond
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if cfg.DialTimeout == 0 || cfg.DialTimeout > opts.Timeout {
		cfg.DialTimeout = opts.Timeout
	}
	cfg.ReadTimeout, cfg.WriteTimeout = opts.Timeout, opts.Timeout
	cfg.MaxRetries = -1 // a retry would double the wait; the next request tries again
	client := goredis.NewClient(cfg)
	return &Limiter{client: client, limiter: redis_rate.NewLimiter(client), opts: opts}, nil
}

// Ping checks that Redis answers.
func (l *Limiter) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	if err := l.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("pinging redis: %w", err)
	}
	return nil
}

// Close closes the connections to Redis.
func (l *Limiter) Close() error { return l.client.Close() }

// Failures returns how many calls failed since Open (for metrics).
func (l *Limiter) Failures() int64 { return l.failures.Load() }

// Take takes one token from key's bucket under rule. It fails, without
// taking anything, when Redis cannot be reached in time, and at once for a
// second (Options.Backoff) after such a failure.
func (l *Limiter) Take(ctx context.Context, key string, rule ratelimit.Rule) (ratelimit.Result, error) {
	if rule.Burst <= 0 || rule.Per <= 0 {
		return ratelimit.Result{Allowed: true}, nil
	}
	if time.Now().UnixNano() < l.retryAt.Load() {
		l.failures.Add(1)
		return ratelimit.Result{}, ErrBackoff
	}
	ctx, cancel := context.WithTimeout(ctx, l.opts.Timeout)
	defer cancel()
	res, err := l.limiter.Allow(ctx, l.opts.Prefix+key, redis_rate.Limit{Rate: rule.Burst, Burst: rule.Burst, Period: rule.Per})
	if err != nil {
		l.failures.Add(1)
		l.retryAt.Store(time.Now().Add(l.opts.Backoff).UnixNano())
		return ratelimit.Result{}, fmt.Errorf("redis rate limiter: %w", err)
	}
	if res.Allowed == 0 {
		return ratelimit.Result{Remaining: 0, Reset: max(0, res.RetryAfter)}, nil
	}
	return ratelimit.Result{Allowed: true, Remaining: res.Remaining, Reset: nextToken(res.ResetAfter, rule.Per/time.Duration(rule.Burst))}, nil
}

// nextToken is the time until a bucket that is full again in resetAfter
// gains its next whole token: 0 when it is full. Redis computes in
// floating-point seconds, so values within a microsecond of a whole token
// count as whole.
func nextToken(resetAfter, every time.Duration) time.Duration {
	if resetAfter <= 0 || every <= 0 {
		return 0
	}
	r := time.Duration(math.Mod(float64(resetAfter), float64(every)))
	if r < time.Microsecond || every-r < time.Microsecond {
		return every
	}
	return r
}
