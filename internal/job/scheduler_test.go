package job_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/store"
)

func TestSchedulerEntries(t *testing.T) {
	t.Parallel()
	s := job.NewScheduler(nil, job.SchedulerOptions{})
	noop := func(context.Context) error { return nil }
	for _, tt := range []struct{ id, expr string }{{"", "@daily"}, {"x", "61 * * * *"}, {"x", "@every 1m"}, {"x", ""}} {
		if err := s.Add(tt.id, tt.expr, noop); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("Add(%q, %q) = %v, want invalid", tt.id, tt.expr, err)
		}
	}
	if err := s.Add("x", "@daily", nil); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Add without a function = %v, want invalid", err)
	}
	for _, e := range [][2]string{{"b", "@hourly"}, {"a", "*/5 * * * *"}, {"b", " 0 1 * * * "}} {
		if err := s.Add(e[0], e[1], noop); err != nil {
			t.Fatalf("Add(%q, %q): %v", e[0], e[1], err)
		}
	}
	want := []job.CronEntry{{ID: "a", Expression: "*/5 * * * *"}, {ID: "b", Expression: "0 1 * * *"}}
	if got := s.List(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("List = %v, want %v (by id, replaced in place)", got, want)
	}
	s.Remove("a")
	s.Remove("missing")
	if got := s.List(); len(got) != 1 || got[0].ID != "b" {
		t.Errorf("List after Remove = %v", got)
	}
	if err := s.RunNow(context.Background(), "a"); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("RunNow(removed) = %v, want not found", err)
	}
	ran := make(chan struct{})
	s.Add("now", "@yearly", func(context.Context) error { close(ran); return errors.New("logged, not returned") })
	if err := s.RunNow(context.Background(), "now"); err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("RunNow did not run the entry")
	}
	s.Stop()
}

// TestCronExactlyOnce ticks two schedulers (two replicas, each with its own
// connection pool) through the same minutes at the same moments: every due
// (entry, minute) runs exactly once, and entries run only when due.
func TestCronExactlyOnce(t *testing.T) {
	engines(t, func(t *testing.T, st store.Store, open func() store.Store) {
		ctx := context.Background()
		start := time.Date(2026, 11, 23, 11, 58, 0, 0, time.UTC)
		var (
			mu     sync.Mutex
			runs   = map[string]int{}
			owners = map[string]int{}
		)
		replicas := []*job.Scheduler{}
		for _, name := range []string{"r1", "r2"} {
			s := job.NewScheduler(open(), job.SchedulerOptions{Owner: name})
			for _, e := range [][2]string{{"every", "* * * * *"}, {"even", "*/2 * * * *"}, {"hourly", "@hourly"}, {"never", "0 0 31 2 *"}} {
				id := e[0]
				s.Add(id, e[1], func(ctx context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					runs[id]++
					owners[name]++
					return nil
				})
			}
			replicas = append(replicas, s)
		}
		const minutes = 6 // 11:58 … 12:03
		started := 0
		for m := range minutes {
			tick := start.Add(time.Duration(m) * time.Minute)
			var wg sync.WaitGroup
			results := make([]int, len(replicas))
			for i, s := range replicas {
				wg.Go(func() { results[i] = s.Tick(ctx, tick) })
			}
			wg.Wait()
			started += results[0] + results[1]
		}
		for _, s := range replicas {
			s.Stop()
		}
		want := map[string]int{"every": 6, "even": 3, "hourly": 1}
		if fmt.Sprint(runs) != fmt.Sprint(want) || started != 10 {
			t.Errorf("runs per entry = %v (%d started), want %v (10)", runs, started, want)
		}
		// A replica that ticks the same minute again (a restart) runs nothing.
		if n := replicas[0].Tick(ctx, start); n != 0 {
			t.Errorf("repeated tick started %d runs, want 0", n)
		}
		t.Logf("runs per replica: %v", owners)
	})
}
