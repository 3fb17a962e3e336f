package ratelimit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestAllowBurstThenRefill(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(c.now)
	rule := Rule{Burst: 3, Per: 30 * time.Second} // one token every 10s
	for i := range 3 {
		if err := l.Allow("k", rule); err != nil {
			t.Fatalf("request %d: got %v, want allowed", i+1, err)
		}
	}
	err := l.Allow("k", rule)
	var ex *Exceeded
	if !errors.As(err, &ex) {
		t.Fatalf("4th request: got %v, want *Exceeded", err)
	}
	if ex.RetryAfter != 10*time.Second || ex.RetryAfterSeconds() != 10 {
		t.Errorf("RetryAfter = %v (%ds), want 10s", ex.RetryAfter, ex.RetryAfterSeconds())
	}
	c.add(4 * time.Second)
	if err := l.Allow("k", rule); !errors.As(err, &ex) || ex.RetryAfter != 6*time.Second {
		t.Errorf("after 4s: got %v, want retry after 6s", err)
	}
	c.add(6 * time.Second)
	if err := l.Allow("k", rule); err != nil {
		t.Errorf("after a refill: got %v, want allowed", err)
	}
	if err := l.Allow("other", rule); err != nil {
		t.Errorf("another key: got %v, want allowed", err)
	}
}

func TestZeroRuleAllowsEverything(t *testing.T) {
	t.Parallel()
	l := New(time.Now)
	for range 100 {
		if err := l.Allow("k", Rule{}); err != nil {
			t.Fatalf("got %v", err)
		}
	}
	if l.Len() != 0 {
		t.Errorf("Len = %d, want 0 (no buckets for a zero rule)", l.Len())
	}
}

func TestRetryAfterSecondsRoundsUp(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, 1500 * time.Millisecond: 2, 3 * time.Second: 3} {
		if got := (&Exceeded{RetryAfter: d}).RetryAfterSeconds(); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}

func TestSweepDropsIdleBuckets(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(c.now)
	rule := Rule{Burst: 1, Per: time.Second}
	for i := range sweepEvery - 1 {
		_ = l.Allow(fmt.Sprint("k", i), rule)
	}
	c.add(time.Minute)
	_ = l.Allow("last", rule) // the sweepEvery-th bucket triggers a sweep
	if got := l.Len(); got != 1 {
		t.Errorf("Len after sweep = %d, want 1", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	l := New(time.Now)
	rule := Rule{Burst: 50, Per: time.Hour}
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.Allow("shared", rule) == nil {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 50 {
		t.Errorf("allowed %d of 200 concurrent requests, want exactly 50", allowed)
	}
}

func TestRefundGivesBackOneToken(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(c.now)
	rule := Rule{Burst: 2, Per: time.Hour}
	for range 2 {
		if err := l.Allow("k", rule); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Allow("k", rule); err == nil {
		t.Fatal("3rd request allowed, want refused")
	}
	l.Refund("k", rule)
	if err := l.Allow("k", rule); err != nil {
		t.Errorf("after a refund: got %v, want allowed", err)
	}
	if err := l.Allow("k", rule); err == nil {
		t.Error("a refund gave back more than one token")
	}
	// Refunds never raise a bucket above its burst.
	for range 10 {
		l.Refund("full", rule)
	}
	l.Refund("never-seen", rule)
	for i := range 3 {
		err := l.Allow("full", rule)
		if (err == nil) != (i < 2) {
			t.Errorf("request %d after 10 refunds: got %v", i+1, err)
		}
	}
	l.Refund("k", Rule{}) // a zero rule has no bucket: no-op
}

func TestParseRule(t *testing.T) {
	t.Parallel()
	good := map[string]Rule{
		"30/1m":     {Burst: 30, Per: time.Minute},
		" 5 / 10m ": {Burst: 5, Per: 10 * time.Minute},
		"1/1h30m":   {Burst: 1, Per: 90 * time.Minute},
		"off":       {},
		"0":         {},
		"0/1m":      {},
	}
	for in, want := range good {
		got, err := ParseRule(in)
		if err != nil || got != want {
			t.Errorf("ParseRule(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if err == nil && !want.off() {
			if back, err := ParseRule(got.String()); err != nil || back != want {
				t.Errorf("ParseRule(%q.String() = %q) = %+v, %v", in, got.String(), back, err)
			}
		}
	}
	for _, in := range []string{"", "30", "x/1m", "-1/1m", "30/", "30/soon", "30/-1m", "1000/1ns", "on"} {
		if got, err := ParseRule(in); err == nil {
			t.Errorf("ParseRule(%q) = %+v, want an error", in, got)
		}
	}
	for r, want := range map[Rule]string{
		{Burst: 30, Per: time.Minute}:            "30/1m",
		{Burst: 5, Per: 90 * time.Minute}:        "5/1h30m",
		{Burst: 2, Per: 3 * time.Hour}:           "2/3h",
		{Burst: 1, Per: 1500 * time.Millisecond}: "1/1.5s",
	} {
		if got := r.String(); got != want {
			t.Errorf("%+v.String() = %q, want %q", r, got, want)
		}
	}
	var r Rule
	if err := r.Set("3/1s"); err != nil || r != (Rule{Burst: 3, Per: time.Second}) {
		t.Errorf("Set: %+v, %v", r, err)
	}
	if (Rule{}).String() != "off" {
		t.Errorf("zero rule String = %q, want off", Rule{}.String())
	}
}

func TestTakeReportsRemainingAndReset(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(c.now)
	rule := Rule{Burst: 3, Per: 30 * time.Second} // one token every 10s
	tests := []struct {
		wait time.Duration
		want Result
	}{
		{0, Result{Allowed: true, Remaining: 2, Reset: 10 * time.Second}},
		{0, Result{Allowed: true, Remaining: 1, Reset: 10 * time.Second}},
		{4 * time.Second, Result{Allowed: true, Remaining: 0, Reset: 6 * time.Second}},
		{0, Result{Allowed: false, Remaining: 0, Reset: 6 * time.Second}},
		{6 * time.Second, Result{Allowed: true, Remaining: 0, Reset: 10 * time.Second}},
		{30 * time.Second, Result{Allowed: true, Remaining: 2, Reset: 10 * time.Second}},
	}
	for i, tt := range tests {
		c.add(tt.wait)
		if got := l.Take("k", rule); got != tt.want {
			t.Errorf("take %d: got %+v, want %+v", i+1, got, tt.want)
		}
	}
	if got := l.Take("k", Rule{}); got != (Result{Allowed: true}) {
		t.Errorf("zero rule: got %+v, want allowed with nothing to report", got)
	}
}

func TestBoundedBuckets(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := NewBounded(c.now, 100)
	rule := Rule{Burst: 1, Per: time.Hour} // buckets stay empty: idle sweeps cannot drop them
	for i := range 1000 {
		if err := l.Allow(fmt.Sprint("ip", i), rule); err != nil {
			t.Fatalf("key %d: got %v, want allowed (a new key has a full bucket)", i, err)
		}
		if n := l.Len(); n > 100 {
			t.Fatalf("after %d keys: %d buckets, want at most 100", i+1, n)
		}
	}
	if err := l.Allow("ip999", rule); err == nil {
		t.Error("the key inserted last lost its bucket; want evictions to happen before an insert, never after")
	}
}
