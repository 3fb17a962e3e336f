package job_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/store"
)

func TestEnqueueValidation(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		q := job.New(st, job.Options{})
		ctx := context.Background()
		tests := []struct {
			name  string
			o     job.EnqueueOptions
			field string
		}{
			{"no name", job.EnqueueOptions{}, "name"},
			{"blank name", job.EnqueueOptions{Name: "  "}, "name"},
			{"long name", job.EnqueueOptions{Name: strings.Repeat("n", job.MaxNameLength+1)}, "name"},
			{"bad payload", job.EnqueueOptions{Name: "x", Payload: json.RawMessage(`{"a":`)}, "payload"},
			{"huge payload", job.EnqueueOptions{Name: "x", Payload: json.RawMessage(`"` + strings.Repeat("a", job.MaxPayload) + `"`)}, "payload"},
			{"long key", job.EnqueueOptions{Name: "x", IdempotencyKey: strings.Repeat("k", job.MaxKeyLength+1)}, "idempotencyKey"},
			{"negative attempts", job.EnqueueOptions{Name: "x", MaxAttempts: -1}, "maxAttempts"},
			{"negative delay", job.EnqueueOptions{Name: "x", Delay: -time.Second}, "delay"},
		}
		for _, tt := range tests {
			_, err := q.Enqueue(ctx, tt.o)
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid || e.Data[tt.field] == nil {
				t.Errorf("%s: Enqueue = %v, want invalid with data.%s", tt.name, err, tt.field)
			}
		}
		j, err := q.Enqueue(ctx, job.EnqueueOptions{Name: " mail "})
		if err != nil || j.Name != "mail" || string(j.Payload) != "null" || j.MaxAttempts != job.DefaultMaxAttempts || j.State != store.JobQueued {
			t.Fatalf("Enqueue(defaults) = %+v, %v", j, err)
		}
	})
}

func TestIdempotencyAndTransactions(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		q := job.New(st, job.Options{})
		ctx := context.Background()
		a, err := q.Enqueue(ctx, job.EnqueueOptions{Name: "x", IdempotencyKey: "order-1", Payload: json.RawMessage(`1`)})
		if err != nil {
			t.Fatal(err)
		}
		b, err := q.Enqueue(ctx, job.EnqueueOptions{Name: "x", IdempotencyKey: "order-1", Payload: json.RawMessage(`2`)})
		if err != nil || b.ID != a.ID || string(b.Payload) != "1" {
			t.Fatalf("second enqueue with the key = %+v, %v; want job %s", b, err, a.ID)
		}
		// A rolled back transaction leaves no job behind; a committed one does.
		boom := errors.New("boom")
		var gone *job.Job
		err = st.InTx(ctx, func(tx store.Tx) error {
			gone, err = q.EnqueueTx(ctx, tx, job.EnqueueOptions{Name: "x"})
			if err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if _, err := q.Job(ctx, gone.ID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("job of a rolled back transaction: %v", err)
		}
		var kept *job.Job
		err = st.InTx(ctx, func(tx store.Tx) error {
			kept, err = q.EnqueueTx(ctx, tx, job.EnqueueOptions{Name: "x"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Job(ctx, kept.ID); err != nil {
			t.Errorf("job of a committed transaction: %v", err)
		}
	})
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		jitter  float64
		attempt int
		want    time.Duration
	}{
		{0, 1, 500 * time.Millisecond}, {0.5, 1, 750 * time.Millisecond}, {0.998, 1, 999 * time.Millisecond},
		{0, 2, time.Second}, {0, 3, 2 * time.Second}, {0, 5, 8 * time.Second},
		{0, 10, 30 * time.Second}, {0.5, 60, 45 * time.Second}, // capped at 60s
	} {
		q := job.New(nil, job.Options{BackoffBase: time.Second, BackoffMax: time.Minute, Jitter: func() float64 { return tt.jitter }})
		if got := q.Backoff(tt.attempt).Round(time.Microsecond); got != tt.want {
			t.Errorf("Backoff(%d) with jitter %v = %s, want %s", tt.attempt, tt.jitter, got, tt.want)
		}
	}
}

// TestRetryTiming drives a failing job through its retries, dead-letter
// state and a manual retry with an injected clock.
func TestRetryTiming(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		ctx := context.Background()
		clk := newClock()
		q := job.New(st, job.Options{Now: clk.Now, Jitter: func() float64 { return 0.5 }, BackoffBase: 10 * time.Second, BackoffMax: time.Hour})
		var fail atomic.Bool
		var runs atomic.Int32
		fail.Store(true)
		q.Handle("flaky", func(ctx context.Context, j *job.Job) error {
			runs.Add(1)
			if fail.Load() {
				return errors.New("upstream down")
			}
			return nil
		})
		j, err := q.Enqueue(ctx, job.EnqueueOptions{Name: "flaky", MaxAttempts: 3, Delay: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		runDue := func(want int) {
			t.Helper()
			n, err := q.RunDue(ctx)
			if err != nil || n != want {
				t.Fatalf("RunDue at %s = %d, %v; want %d", clk.Now().Format(time.TimeOnly), n, err, want)
			}
		}
		get := func() *job.Job {
			t.Helper()
			got, err := q.Job(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		runDue(0) // delayed a minute
		clk.Add(time.Minute)
		// Attempt n fails and waits 10s·2^(n-1)·0.75 (jitter 0.5).
		for n, wait := range []time.Duration{7500 * time.Millisecond, 15 * time.Second} {
			runDue(1)
			got := get()
			if got.State != store.JobFailed || got.Attempts != n+1 || got.LastError != "upstream down" || !got.RunAt.Equal(clk.Now().Add(wait)) {
				t.Fatalf("after attempt %d: %s attempts %d error %q runAt %s; want failed, %d, runAt now+%s",
					n+1, got.State, got.Attempts, got.LastError, got.RunAt, n+1, wait)
			}
			clk.Add(wait - time.Millisecond)
			runDue(0)
			clk.Add(time.Millisecond)
		}
		runDue(1)
		if got := get(); got.State != store.JobDead || got.Attempts != 3 {
			t.Fatalf("after the last attempt: %s/%d, want dead/3", got.State, got.Attempts)
		}
		clk.Add(24 * time.Hour)
		runDue(0)
		fail.Store(false)
		if r, err := q.Retry(ctx, j.ID); err != nil || r.State != store.JobQueued || r.Attempts != 0 {
			t.Fatalf("Retry = %+v, %v", r, err)
		}
		runDue(1)
		if got := get(); got.State != store.JobSucceeded || got.Attempts != 1 || runs.Load() != 4 {
			t.Fatalf("after a manual retry: %s/%d, %d runs; want succeeded/1, 4 runs", got.State, got.Attempts, runs.Load())
		}
		// Jobs without a handler fail like any attempt.
		orphan, _ := q.Enqueue(ctx, job.EnqueueOptions{Name: "nobody", MaxAttempts: 1})
		runDue(1)
		if got, _ := q.Job(ctx, orphan.ID); got.State != store.JobDead || !strings.Contains(got.LastError, "no handler") {
			t.Errorf("job without a handler: %s %q", got.State, got.LastError)
		}
		// A panicking handler fails its attempt.
		q.Handle("panics", func(context.Context, *job.Job) error { panic("kaboom") })
		p, _ := q.Enqueue(ctx, job.EnqueueOptions{Name: "panics", MaxAttempts: 1})
		runDue(1)
		if got, _ := q.Job(ctx, p.ID); got.State != store.JobDead || !strings.Contains(got.LastError, "kaboom") {
			t.Errorf("panicking job: %s %q", got.State, got.LastError)
		}
	})
}

// TestExpiredLease re-runs a job whose worker died (its lease expired) and
// buries one whose last attempt died.
func TestExpiredLease(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		ctx := context.Background()
		clk := newClock()
		q := job.New(st, job.Options{Now: clk.Now, Lease: time.Minute})
		var runs atomic.Int32
		q.Handle("x", func(context.Context, *job.Job) error { runs.Add(1); return nil })
		a, _ := q.Enqueue(ctx, job.EnqueueOptions{Name: "x", MaxAttempts: 2})
		// A worker claims it and dies.
		if list, err := st.ClaimJobs(ctx, "crashed", clk.Now(), clk.Now().Add(time.Minute), 10); err != nil || len(list) != 1 {
			t.Fatalf("claim = %v, %v", list, err)
		}
		if n, _ := q.RunDue(ctx); n != 0 {
			t.Fatalf("ran a job under another worker's lease")
		}
		clk.Add(2 * time.Minute)
		if n, _ := q.RunDue(ctx); n != 1 || runs.Load() != 1 {
			t.Fatalf("after the lease expired: ran %d (%d runs), want 1", n, runs.Load())
		}
		if got, _ := q.Job(ctx, a.ID); got.State != store.JobSucceeded || got.Attempts != 2 {
			t.Errorf("re-run job: %s/%d, want succeeded/2", got.State, got.Attempts)
		}
		// A job whose every attempt died is dead, not run again.
		b, _ := q.Enqueue(ctx, job.EnqueueOptions{Name: "x", MaxAttempts: 1})
		st.ClaimJobs(ctx, "crashed", clk.Now(), clk.Now().Add(time.Minute), 10)
		clk.Add(2 * time.Minute)
		q.RunDue(ctx)
		if got, _ := q.Job(ctx, b.ID); got.State != store.JobDead || got.Attempts != 1 || runs.Load() != 1 {
			t.Errorf("job whose last attempt died: %s/%d (%d runs), want dead/1 and no run", got.State, got.Attempts, runs.Load())
		}
	})
}
