package job_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/store"
)

// TestPool runs many jobs through two worker pools on one database (two
// replicas): each job runs, and exactly once since none fails.
func TestPool(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, open func() store.Store) {
		ctx := context.Background()
		const n = 60
		var (
			mu   sync.Mutex
			runs = map[string]int{}
		)
		handler := func(_ context.Context, j *job.Job) error {
			mu.Lock()
			runs[j.ID]++
			mu.Unlock()
			return nil
		}
		pools := []*job.Queue{
			job.New(st, job.Options{Concurrency: 3, PollMax: 50 * time.Millisecond}),
			job.New(open(), job.Options{Concurrency: 3, PollMax: 50 * time.Millisecond}),
		}
		for _, q := range pools {
			q.Handle("count", handler)
			q.Start(ctx)
		}
		for i := range n {
			if _, err := pools[i%2].Enqueue(ctx, job.EnqueueOptions{Name: "count", Priority: i % 4}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "every job to succeed", func() bool {
			_, total, err := st.Jobs(ctx, store.JobFilter{State: store.JobSucceeded})
			return err == nil && total == n
		})
		for _, q := range pools {
			if err := q.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(runs) != n {
			t.Errorf("%d jobs ran, want %d", len(runs), n)
		}
		for id, c := range runs {
			if c != 1 {
				t.Errorf("job %s ran %d times", id, c)
			}
		}
	})
}

// TestShutdown waits for a job that finishes in time and releases one that
// does not, which another worker then completes.
func TestShutdown(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, open func() store.Store) {
		ctx := context.Background()
		q := job.New(st, job.Options{Concurrency: 2})
		started := make(chan string, 2)
		q.Handle("quick", func(ctx context.Context, j *job.Job) error {
			started <- "quick"
			time.Sleep(100 * time.Millisecond)
			return nil
		})
		q.Handle("stuck", func(ctx context.Context, j *job.Job) error {
			started <- "stuck"
			<-ctx.Done()
			return ctx.Err()
		})
		quick, _ := q.Enqueue(ctx, job.EnqueueOptions{Name: "quick"})
		stuck, _ := q.Enqueue(ctx, job.EnqueueOptions{Name: "stuck"})
		q.Start(ctx)
		for range 2 {
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("jobs did not start")
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := q.Shutdown(sctx); err == nil {
			t.Error("Shutdown released a job but reported no error")
		}
		if got, _ := st.Job(ctx, quick.ID); got.State != store.JobSucceeded {
			t.Errorf("quick job after shutdown: %s, want succeeded", got.State)
		}
		got, _ := st.Job(ctx, stuck.ID)
		if got.State != store.JobQueued || got.Attempts != 0 || got.LeaseOwner != "" {
			t.Fatalf("stuck job after shutdown: %s/%d owner %q, want queued/0 and no owner", got.State, got.Attempts, got.LeaseOwner)
		}
		// Another worker takes the released job at once.
		next := job.New(open(), job.Options{})
		next.Handle("stuck", func(context.Context, *job.Job) error { return nil })
		if n, err := next.RunDue(ctx); err != nil || n != 1 {
			t.Fatalf("RunDue after release = %d, %v", n, err)
		}
		if got, _ := st.Job(ctx, stuck.ID); got.State != store.JobSucceeded || got.Attempts != 1 {
			t.Errorf("released job: %s/%d, want succeeded/1", got.State, got.Attempts)
		}
	})
}

// TestLeaseRenewal keeps a job that outlives its lease from running twice.
func TestLeaseRenewal(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, open func() store.Store) {
		ctx := context.Background()
		var runs atomic.Int32
		slow := func(ctx context.Context, j *job.Job) error {
			runs.Add(1)
			time.Sleep(900 * time.Millisecond)
			return nil
		}
		a := job.New(st, job.Options{Lease: 300 * time.Millisecond, PollMax: 20 * time.Millisecond})
		b := job.New(open(), job.Options{Lease: 300 * time.Millisecond, PollMax: 20 * time.Millisecond})
		a.Handle("slow", slow)
		b.Handle("slow", slow)
		j, _ := a.Enqueue(ctx, job.EnqueueOptions{Name: "slow"})
		a.Start(ctx)
		b.Start(ctx)
		waitFor(t, "the slow job", func() bool {
			got, err := st.Job(ctx, j.ID)
			return err == nil && got.State == store.JobSucceeded
		})
		a.Shutdown(ctx)
		b.Shutdown(ctx)
		if n := runs.Load(); n != 1 {
			t.Errorf("slow job ran %d times, want 1 (the lease is renewed while it runs)", n)
		}
	})
}
