package job_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// BenchmarkThroughput measures jobs processed per second (claim, no-op
// handler, recorded outcome) by one worker pool of 8, on each engine:
//
//	go test -run '^$' -bench Throughput -benchtime 5000x ./internal/job/
//
// b.N jobs are enqueued before the timer starts (in transactions of 500);
// the timer covers the pool running all of them and recording their
// outcomes.
func BenchmarkThroughput(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			st := benchStore(b, name)
			ctx := context.Background()
			q := job.New(st, job.Options{Concurrency: 8, PollMax: 20 * time.Millisecond})
			var ran atomic.Int64
			all := make(chan struct{})
			q.Handle("noop", func(context.Context, *job.Job) error {
				if ran.Add(1) == int64(b.N) {
					close(all)
				}
				return nil
			})
			for done := 0; done < b.N; {
				n := min(500, b.N-done)
				err := st.InTx(ctx, func(tx store.Tx) error {
					for range n {
						if _, err := q.EnqueueTx(ctx, tx, job.EnqueueOptions{Name: "noop"}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				done += n
			}
			b.ResetTimer()
			start := time.Now()
			q.Start(ctx)
			<-all
			// Shutdown returns once every outcome is recorded.
			if err := q.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			if _, total, err := st.Jobs(ctx, store.JobFilter{State: store.JobSucceeded, Limit: 1}); err != nil || total != int64(b.N) {
				b.Fatalf("%d succeeded jobs (%v), want %d", total, err, b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
		})
	}
}

// benchStore opens a fresh store of engine for b.
func benchStore(b *testing.B, engine string) store.Store {
	b.Helper()
	var (
		st  store.Store
		err error
	)
	if engine == "postgres" {
		st, err = postgres.Open(context.Background(), pgtest.NewDatabase(b), postgres.Options{})
	} else {
		st, err = sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "data.db"), nil)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
