package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/ratelimit"
)

// TestBucketsAreSharedByReplicas takes tokens through two stores on one
// database (two replicas): together they get Burst tokens, no more, and a
// refusal says when the next token comes.
func TestBucketsAreSharedByReplicas(t *testing.T) {
	url := openTestURL(t)
	a, b := openURL(t, url).Buckets(), openURL(t, url).Buckets()
	ctx := context.Background()
	rule := ratelimit.Rule{Burst: 4, Per: time.Hour}
	for i, bk := range []*Buckets{a, b, a, b} {
		if err := bk.Take(ctx, "k\x00ip\x00é", rule); err != nil {
			t.Fatalf("take %d: %v", i, err)
		}
	}
	for _, bk := range []*Buckets{a, b} {
		err := bk.Take(ctx, "k\x00ip\x00é", rule)
		var ex *ratelimit.Exceeded
		if !errors.As(err, &ex) {
			t.Fatalf("fifth take: got %v, want *ratelimit.Exceeded", err)
		}
		// One token refills every 15 minutes; a few seconds have passed at most.
		if ex.RetryAfter < 14*time.Minute || ex.RetryAfter > 15*time.Minute {
			t.Fatalf("RetryAfter = %v, want about 15m", ex.RetryAfter)
		}
	}
	if err := a.Take(ctx, "other", rule); err != nil {
		t.Fatalf("another key: %v", err)
	}

	// A refund gives exactly one token back, to either replica.
	if err := a.Refund(ctx, "k\x00ip\x00é", rule); err != nil {
		t.Fatal(err)
	}
	if err := b.Take(ctx, "k\x00ip\x00é", rule); err != nil {
		t.Fatalf("take after refund: %v", err)
	}
	if err := a.Take(ctx, "k\x00ip\x00é", rule); err == nil {
		t.Fatal("a second take after one refund was allowed")
	}

	// Refunds never raise a bucket above Burst.
	for range 10 {
		if err := a.Refund(ctx, "fresh", rule); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		err := b.Take(ctx, "fresh", rule)
		if (err == nil) != (i < 4) {
			t.Fatalf("take %d of a refunded bucket: %v", i, err)
		}
	}

	// A zero rule allows everything.
	for range 10 {
		if err := a.Take(ctx, "k", ratelimit.Rule{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBucketsUnderConcurrentTakes races many takers on two replicas for
// one bucket: exactly Burst of them win.
func TestBucketsUnderConcurrentTakes(t *testing.T) {
	url := openTestURL(t)
	reps := []*Buckets{openURL(t, url).Buckets(), openURL(t, url).Buckets()}
	rule := ratelimit.Rule{Burst: 10, Per: time.Hour}
	var mu sync.Mutex
	won, refused := 0, 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			err := reps[i%2].Take(context.Background(), "race", rule)
			var ex *ratelimit.Exceeded
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.As(err, &ex):
				refused++
			default:
				t.Errorf("take: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 10 || refused != 30 {
		t.Fatalf("won %d, refused %d; want 10 and 30", won, refused)
	}
}

// TestBucketsRefill checks that a bucket refills with time: with one token
// per 200 ms, a refused key is allowed again after the wait it was told.
func TestBucketsRefill(t *testing.T) {
	bk := openURL(t, openTestURL(t)).Buckets()
	ctx := context.Background()
	rule := ratelimit.Rule{Burst: 1, Per: 200 * time.Millisecond}
	if err := bk.Take(ctx, "r", rule); err != nil {
		t.Fatal(err)
	}
	err := bk.Take(ctx, "r", rule)
	var ex *ratelimit.Exceeded
	if !errors.As(err, &ex) {
		t.Fatalf("second take: %v", err)
	}
	time.Sleep(ex.RetryAfter + 50*time.Millisecond)
	if err := bk.Take(ctx, "r", rule); err != nil {
		t.Fatalf("take after the wait: %v", err)
	}
}

// TestBucketsSweepFullOnes checks that full buckets are deleted as takes
// go on, so the table holds only buckets still in debt.
func TestBucketsSweepFullOnes(t *testing.T) {
	st := openURL(t, openTestURL(t))
	bk := st.Buckets()
	ctx := context.Background()
	short := ratelimit.Rule{Burst: 1, Per: time.Millisecond}
	for i := range sweepBucketsEvery - 1 {
		if err := bk.Take(ctx, "short"+string(rune('a'+i%26))+string(rune('a'+i/26)), short); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond)
	if err := bk.Take(ctx, "long", ratelimit.Rule{Burst: 1, Per: time.Hour}); err != nil { // the sweeping take
		t.Fatal(err)
	}
	var n int
	if err := st.pool.QueryRow(ctx, `SELECT count(*) FROM "_buckets"`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d buckets after the sweep, want the 1 in debt", n)
	}
}
