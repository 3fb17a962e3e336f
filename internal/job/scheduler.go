package job

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/cron"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/store"
)

// CronFunc is the work of a cron entry.
type CronFunc func(ctx context.Context) error

// CronEntry is a scheduled function as listings show it.
type CronEntry struct {
	ID         string `json:"id"`
	Expression string `json:"expression"`
}

// cronRunRetention is how long the database remembers which process ran a
// scheduled minute.
const cronRunRetention = 24 * time.Hour

// SchedulerOptions configure a Scheduler; zero values take defaults.
type SchedulerOptions struct {
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Owner names this process in the run ledger (a random id when empty).
	Owner string
}

// entry is one scheduled function.
type entry struct {
	schedule *cron.Schedule
	fn       CronFunc
}

// Scheduler runs functions on cron schedules, each scheduled minute once
// across the processes sharing the database. Its methods are safe for
// concurrent use.
type Scheduler struct {
	ledger store.JobQueue
	opts   SchedulerOptions

	mu      sync.RWMutex
	entries map[string]*entry

	runs   sync.WaitGroup
	cancel context.CancelFunc
	done   chan struct{}
}

// NewScheduler returns a scheduler that records runs in ledger. Nothing
// runs until Start.
func NewScheduler(ledger store.JobQueue, opts SchedulerOptions) *Scheduler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Owner == "" {
		opts.Owner = random.ID()
	}
	return &Scheduler{ledger: ledger, opts: opts, entries: map[string]*entry{}}
}

// Add schedules fn under id with the cron expression expr, replacing an
// entry with the same id. Invalid when id is empty or expr does not parse.
func (s *Scheduler) Add(id, expr string, fn CronFunc) error {
	if strings.TrimSpace(id) == "" || fn == nil {
		return apperr.New(apperr.Invalid, "A cron job needs an id and a function.")
	}
	sch, err := cron.Parse(expr)
	if err != nil {
		e := apperr.Wrap(apperr.Invalid, "Invalid cron expression.", err)
		e.Data = map[string]any{"expression": apperr.Field{Code: "validation_invalid_cron", Message: err.Error()}}
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[id] = &entry{schedule: sch, fn: fn}
	return nil
}

// Remove unschedules id (nothing when absent).
func (s *Scheduler) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, id)
}

// List returns the entries ordered by id.
func (s *Scheduler) List() []CronEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]CronEntry, 0, len(s.entries))
	for id, e := range s.entries {
		out = append(out, CronEntry{ID: id, Expression: e.schedule.String()})
	}
	slices.SortFunc(out, func(a, b CronEntry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// RunNow starts entry id at once in this process, outside its schedule and
// the run ledger, and returns without waiting for it. NotFound when absent.
func (s *Scheduler) RunNow(ctx context.Context, id string) error {
	s.mu.RLock()
	e := s.entries[id]
	s.mu.RUnlock()
	if e == nil {
		return apperr.New(apperr.NotFound, "Missing or invalid cron job.")
	}
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		s.call(context.WithoutCancel(ctx), id, e.fn)
	}()
	return nil
}

// Start runs the entries due at every minute (UTC) until Stop or ctx's end.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		for {
			now := s.opts.Now()
			next := now.Truncate(time.Minute).Add(time.Minute)
			t := time.NewTimer(next.Sub(now))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			s.Tick(ctx, next)
		}
	}()
}

// Stop ends the schedule and waits for the runs in progress.
func (s *Scheduler) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	s.runs.Wait()
}

// Tick starts, each in its own goroutine, the entries due at minute t whose
// run this process records first, and returns how many it started. Once an
// hour it also forgets the runs of ticks older than a day.
func (s *Scheduler) Tick(ctx context.Context, t time.Time) int {
	t = t.UTC().Truncate(time.Minute)
	s.mu.RLock()
	due := map[string]*entry{}
	for id, e := range s.entries {
		if e.schedule.Matches(t) {
			due[id] = e
		}
	}
	s.mu.RUnlock()
	started := 0
	for id, e := range due {
		won, err := s.ledger.ClaimCronRun(ctx, id, t, s.opts.Owner)
		if err != nil {
			if ctx.Err() == nil {
				s.opts.Logger.Error("cron: recording the run failed; skipped", "id", id, "tick", t, "err", err)
			}
			continue
		}
		if !won {
			continue
		}
		started++
		s.runs.Add(1)
		go func() {
			defer s.runs.Done()
			s.call(ctx, id, e.fn)
		}()
	}
	if t.Minute() == 0 {
		if _, err := s.ledger.PruneCronRuns(ctx, t.Add(-cronRunRetention)); err != nil && ctx.Err() == nil {
			s.opts.Logger.Warn("cron: pruning the run ledger failed", "err", err)
		}
	}
	return started
}

// call runs fn, logging its error or panic.
func (s *Scheduler) call(ctx context.Context, id string, fn CronFunc) {
	defer func() {
		if v := recover(); v != nil {
			s.opts.Logger.Error("cron: job panicked", "id", id, "panic", fmt.Sprint(v))
		}
	}()
	if err := fn(ctx); err != nil && ctx.Err() == nil {
		s.opts.Logger.Error("cron: job failed", "id", id, "err", err)
	}
}
