package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

// claimGather is how long the dispatcher waits for more free slots
// before a claim while jobs are running.
const claimGather = time.Millisecond

// runState is a started worker pool.
type runState struct {
	mu      sync.Mutex
	started bool
	stop    chan struct{} // closed by Shutdown: claim nothing more
	done    chan struct{} // closed when the dispatcher has returned
	// base is the context of running handlers, canceled when Shutdown's
	// deadline passes.
	base   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// active holds the running jobs by id, for release at shutdown.
	active map[string]*Job
}

// Start runs the worker pool until Shutdown: it claims due jobs whenever a
// slot is free and runs them with their handlers. ctx bounds the pool's
// life as well (its end stops claiming, like Shutdown without waiting).
func (q *Queue) Start(ctx context.Context) {
	r := &q.run
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started {
		return
	}
	r.started = true
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	r.base, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.active = map[string]*Job{}
	go q.dispatch(ctx)
}

// Shutdown stops claiming jobs and waits for the running ones to finish
// until ctx ends; it then cancels their handlers and releases their jobs
// (queued again, the interrupted attempt not counted) so that another
// worker runs them. It returns ctx's error when it had to release jobs.
func (q *Queue) Shutdown(ctx context.Context) error {
	r := &q.run
	r.mu.Lock()
	if !r.started {
		r.mu.Unlock()
		return nil
	}
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	r.mu.Unlock()
	<-r.done
	finished := make(chan struct{})
	go func() { r.wg.Wait(); close(finished) }()
	select {
	case <-finished:
		r.cancel()
		return nil
	case <-ctx.Done():
	}
	r.cancel()
	r.mu.Lock()
	jobs := make([]*Job, 0, len(r.active))
	for id, j := range r.active {
		jobs = append(jobs, j)
		delete(r.active, id)
	}
	r.mu.Unlock()
	bg := context.WithoutCancel(ctx)
	for _, j := range jobs {
		q.release(bg, j)
	}
	q.opts.Logger.Warn("jobs: shutdown deadline passed; released running jobs", "count", len(jobs))
	return fmt.Errorf("releasing %d running jobs: %w", len(jobs), ctx.Err())
}

// dispatch claims and starts jobs until stopped.
func (q *Queue) dispatch(ctx context.Context) {
	r := &q.run
	defer close(r.done)
	slots := make(chan struct{}, q.opts.Concurrency)
	interval := q.opts.PollMin
	for {
		select {
		case slots <- struct{}{}:
		case <-r.stop:
			return
		case <-ctx.Done():
			return
		}
		// Under load, slots free one at a time: gathering them for a
		// moment makes one claim serve several (a claim is a write).
		free := 1
		gather := time.NewTimer(claimGather)
	collect:
		for free < q.opts.Concurrency {
			select {
			case slots <- struct{}{}:
				free++
			case <-gather.C:
				break collect
			}
		}
		gather.Stop()
		jobs, err := q.claim(r.base, free)
		for range free - len(jobs) {
			<-slots
		}
		for _, j := range jobs {
			r.wg.Add(1)
			go func() {
				defer func() { <-slots; r.wg.Done() }()
				q.execute(r.base, j, true)
			}()
		}
		if err != nil && r.base.Err() == nil {
			q.opts.Logger.Error("jobs: claiming failed", "err", err)
		}
		if err == nil && len(jobs) == free {
			interval = q.opts.PollMin
			continue // there may be more
		}
		wait := interval
		if len(jobs) > 0 {
			interval = q.opts.PollMin
			wait = interval
		} else {
			interval = min(2*interval, q.opts.PollMax)
		}
		t := time.NewTimer(wait)
		select {
		case <-q.wake:
			interval = q.opts.PollMin
		case <-t.C:
		case <-r.stop:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

func (q *Queue) claim(ctx context.Context, limit int) ([]*Job, error) {
	now := q.opts.Now()
	return q.store.ClaimJobs(ctx, q.opts.Owner, now, now.Add(q.opts.Lease), limit)
}

// RunDue claims up to Options.Concurrency due jobs, runs them and waits for
// them, returning how many it ran. It is the pool's step without the
// polling, for tests with an injected clock and for tools.
func (q *Queue) RunDue(ctx context.Context) (int, error) {
	jobs, err := q.claim(ctx, q.opts.Concurrency)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { q.execute(ctx, j, false) })
	}
	wg.Wait()
	return len(jobs), nil
}

// execute runs one claimed attempt of j and records its outcome. pooled
// jobs are tracked for release at shutdown.
func (q *Queue) execute(ctx context.Context, j *Job, pooled bool) {
	if j.Attempts > j.MaxAttempts {
		// Its last attempt's worker died: the lease expired.
		j.Attempts = j.MaxAttempts
		q.finish(ctx, j, store.JobDead, "the worker running the last attempt stopped before it finished")
		return
	}
	if pooled {
		q.run.mu.Lock()
		q.run.active[j.ID] = j
		q.run.mu.Unlock()
	}
	hctx, cancel := context.WithCancel(ctx)
	stopBeat := q.heartbeat(hctx, cancel, j)
	err := q.call(hctx, j)
	stopBeat()
	cancel()
	if pooled {
		q.run.mu.Lock()
		_, mine := q.run.active[j.ID]
		delete(q.run.active, j.ID)
		q.run.mu.Unlock()
		if !mine {
			return // Shutdown released it
		}
	}
	switch {
	case err == nil:
		q.finish(ctx, j, store.JobSucceeded, "")
	case ctx.Err() != nil:
		q.release(context.WithoutCancel(ctx), j)
	case j.Attempts >= j.MaxAttempts:
		q.finish(ctx, j, store.JobDead, err.Error())
	default:
		j.RunAt = q.opts.Now().Add(q.Backoff(j.Attempts))
		q.finish(ctx, j, store.JobFailed, err.Error())
	}
}

// call runs j's handler, turning a missing handler or a panic into an
// error.
func (q *Queue) call(ctx context.Context, j *Job) (err error) {
	h := q.handler(j.Name)
	if h == nil {
		return fmt.Errorf("no handler for jobs named %q", j.Name)
	}
	defer func() {
		if v := recover(); v != nil {
			q.opts.Logger.Error("jobs: handler panicked", "job", j.ID, "name", j.Name, "panic", v)
			err = fmt.Errorf("handler panicked: %v", v)
		}
	}()
	return h(ctx, j)
}

// heartbeat renews j's lease every Lease/3 while its handler runs and
// cancels the handler when the lease is lost. The returned function stops
// it.
func (q *Queue) heartbeat(ctx context.Context, cancel context.CancelFunc, j *Job) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(q.opts.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			err := q.store.ExtendJobLease(ctx, j.ID, q.opts.Owner, q.opts.Now().Add(q.opts.Lease))
			if apperr.CodeOf(err) == apperr.Conflict || apperr.CodeOf(err) == apperr.NotFound {
				q.opts.Logger.Warn("jobs: lease lost; stopping the handler", "job", j.ID, "name", j.Name)
				cancel()
				return
			}
			if err != nil && ctx.Err() == nil {
				q.opts.Logger.Error("jobs: renewing lease failed", "job", j.ID, "err", err)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// finish records the outcome of j's attempt.
func (q *Queue) finish(ctx context.Context, j *Job, state store.JobState, msg string) {
	if len(msg) > maxErrorLength {
		msg = msg[:maxErrorLength]
	}
	j.State, j.LastError, j.Updated = state, msg, q.opts.Now()
	if state != store.JobFailed {
		j.RunAt = j.Updated
	}
	err := q.store.FinishJob(context.WithoutCancel(ctx), j, q.opts.Owner)
	switch {
	case err == nil:
		if state == store.JobDead {
			q.opts.Logger.Warn("jobs: job is dead", "job", j.ID, "name", j.Name, "attempts", j.Attempts, "err", msg)
		}
	case apperr.CodeOf(err) == apperr.Conflict:
		q.opts.Logger.Warn("jobs: lease lost before the outcome was recorded; the job runs again", "job", j.ID, "name", j.Name)
	default:
		q.opts.Logger.Error("jobs: recording the outcome failed", "job", j.ID, "name", j.Name, "err", err)
	}
}

// release puts j back as queued without counting the interrupted attempt.
func (q *Queue) release(ctx context.Context, j *Job) {
	r := *j
	r.State, r.Attempts, r.RunAt, r.Updated = store.JobQueued, max(j.Attempts-1, 0), q.opts.Now(), q.opts.Now()
	if err := q.store.FinishJob(ctx, &r, q.opts.Owner); err != nil && !errors.Is(err, context.Canceled) && apperr.CodeOf(err) != apperr.Conflict {
		q.opts.Logger.Error("jobs: releasing a job failed", "job", j.ID, "err", err)
	}
}
