package redis_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/ratelimit/redis"
)

// open returns a limiter on the Redis server of the tests
// (BASALT_TEST_REDIS) with keys of its own; the test is skipped without
// one, except in CI, where it fails.
func open(t *testing.T) *redis.Limiter {
	t.Helper()
	url := os.Getenv("BASALT_TEST_REDIS")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("BASALT_TEST_REDIS is not set: CI must run the Redis tests (.ci/run starts redis-server)")
		}
		t.Skip("BASALT_TEST_REDIS is not set (e.g. redis://127.0.0.1:56379): skipping the Redis rate limit tests")
	}
	l, err := redis.Open(url, redis.Options{Prefix: "basalt-test:" + random.String(random.LowerAlnum, 12) + ":"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := l.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTakeMatchesTheLocalBuckets(t *testing.T) {
	t.Parallel()
	l := open(t)
	ctx := context.Background()
	rule := ratelimit.Rule{Burst: 3, Per: time.Minute} // a token every 20s
	for i, want := range []int{2, 1, 0} {
		res, err := l.Take(ctx, "k", rule)
		if err != nil {
			t.Fatal(err)
		}
		// Redis's clock moves between calls: Reset is a little under 20s.
		if !res.Allowed || res.Remaining != want || res.Reset <= 19*time.Second || res.Reset > 20*time.Second {
			t.Errorf("take %d: got %+v, want allowed, %d left, next token in ~20s", i+1, res, want)
		}
	}
	res, err := l.Take(ctx, "k", rule)
	if err != nil {
		t.Fatal(err)
	}
	if res.Allowed || res.Remaining != 0 || res.Reset <= 19*time.Second || res.Reset > 20*time.Second {
		t.Errorf("4th take: got %+v, want refused, retry in ~20s", res)
	}
	if res, err := l.Take(ctx, "other", rule); err != nil || !res.Allowed {
		t.Errorf("another key: got %+v, %v; want allowed", res, err)
	}
	if res, err := l.Take(ctx, "k", ratelimit.Rule{}); err != nil || !res.Allowed {
		t.Errorf("zero rule: got %+v, %v; want allowed", res, err)
	}
	if l.Failures() != 0 {
		t.Errorf("Failures() = %d, want 0", l.Failures())
	}
}

func TestUnreachableRedisFailsFastAndCounts(t *testing.T) {
	t.Parallel()
	l, err := redis.Open("redis://127.0.0.1:1", redis.Options{Backoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	rule := ratelimit.Rule{Burst: 1, Per: time.Second}
	if _, err := l.Take(ctx, "k", rule); err == nil {
		t.Fatal("Take succeeded without a Redis server")
	}
	start := time.Now()
	if _, err := l.Take(ctx, "k", rule); err != redis.ErrBackoff {
		t.Errorf("second Take: got %v, want ErrBackoff", err)
	}
	if took := time.Since(start); took > 50*time.Millisecond {
		t.Errorf("backing off took %v, want no wait", took)
	}
	if l.Failures() != 2 {
		t.Errorf("Failures() = %d, want 2", l.Failures())
	}
	if _, err := redis.Open("http://x", redis.Options{}); err == nil {
		t.Error("Open accepted a URL that is not redis://")
	}
}
