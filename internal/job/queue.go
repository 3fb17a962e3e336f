package job

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/store"
)

// Job is a stored job as handlers and listings see it.
type Job = store.Job

// Handler runs one attempt of a job. A nil error completes the job; any
// other error fails the attempt. ctx ends when the worker shuts down past
// its deadline or loses the job's lease.
type Handler func(ctx context.Context, j *Job) error

// Defaults of Options.
const (
	DefaultConcurrency = 4
	DefaultMaxAttempts = 5
	DefaultLease       = time.Minute
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = time.Hour
	DefaultPollMin     = 20 * time.Millisecond
	DefaultPollMax     = time.Second
	// MaxNameLength bounds a job name, MaxKeyLength an idempotency key and
	// MaxPayload a payload's bytes.
	MaxNameLength = 100
	MaxKeyLength  = 255
	MaxPayload    = 1 << 20
	// maxErrorLength bounds the stored error of an attempt.
	maxErrorLength = 1024
)

// Options configure a Queue; zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// Now is the clock (time.Now when nil); tests inject one.
	Now func() time.Time
	// Jitter returns a number in [0, 1) that spreads retries (rand when
	// nil).
	Jitter func() float64
	// Owner names this worker in leases (a random id when empty).
	Owner string
	// Concurrency is how many jobs run at once in this process.
	Concurrency int
	// MaxAttempts is the default attempt limit of an enqueued job.
	MaxAttempts int
	// Lease is how long a claim holds without renewal; a running handler
	// renews it every Lease/3.
	Lease time.Duration
	// BackoffBase and BackoffMax shape the retry delays.
	BackoffBase, BackoffMax time.Duration
	// PollMin and PollMax bound the idle polling interval, which doubles
	// from PollMin while nothing is due (an Enqueue in this process wakes
	// the worker at once).
	PollMin, PollMax time.Duration
}

// EnqueueOptions describe a job to enqueue.
type EnqueueOptions struct {
	// Name selects the handler (required, at most MaxNameLength bytes).
	Name string
	// Payload is the job's JSON input (null when empty).
	Payload json.RawMessage
	// Delay postpones the first run.
	Delay time.Duration
	// Priority orders due jobs, higher first.
	Priority int
	// IdempotencyKey, when set, makes a later enqueue with the same key
	// return this job instead of adding one (for as long as it is stored).
	IdempotencyKey string
	// MaxAttempts bounds the attempts (Options.MaxAttempts when 0).
	MaxAttempts int
}

// Queue enqueues jobs and runs them. Its methods are safe for concurrent
// use.
type Queue struct {
	store store.Store
	opts  Options

	mu       sync.RWMutex
	handlers map[string]Handler

	// wake nudges the dispatcher after an Enqueue.
	wake chan struct{}
	// run holds the state of a started worker pool (worker.go).
	run runState
}

// New returns a queue over st. Nothing runs until Start.
func New(st store.Store, opts Options) *Queue {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.Owner == "" {
		opts.Owner = random.ID()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	if opts.PollMin <= 0 {
		opts.PollMin = DefaultPollMin
	}
	if opts.PollMax < opts.PollMin {
		opts.PollMax = max(DefaultPollMax, opts.PollMin)
	}
	return &Queue{store: st, opts: opts, handlers: map[string]Handler{}, wake: make(chan struct{}, 1)}
}

// Handle registers fn for jobs named name, replacing any handler it had.
func (q *Queue) Handle(name string, fn Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[name] = fn
}

// Unhandle removes the handler of name.
func (q *Queue) Unhandle(name string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.handlers, name)
}

// Handlers returns the names that have a handler.
func (q *Queue) Handlers() []string {
	q.mu.RLock()
	defer q.mu.RUnlock()
	out := make([]string, 0, len(q.handlers))
	for n := range q.handlers {
		out = append(out, n)
	}
	return out
}

func (q *Queue) handler(name string) Handler {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.handlers[name]
}

// Enqueue stores a job in its own transaction and returns it (the existing
// job when o.IdempotencyKey is taken). Invalid when o is malformed.
func (q *Queue) Enqueue(ctx context.Context, o EnqueueOptions) (*Job, error) {
	var j *Job
	err := q.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		j, err = q.EnqueueTx(ctx, tx, o)
		return err
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// EnqueueTx stores a job as part of tx: it exists if and only if tx
// commits. It returns the job (the existing one when o.IdempotencyKey is
// taken). Invalid when o is malformed.
func (q *Queue) EnqueueTx(ctx context.Context, tx store.Tx, o EnqueueOptions) (*Job, error) {
	j, err := q.newJob(o)
	if err != nil {
		return nil, err
	}
	if _, err := tx.EnqueueJob(ctx, j); err != nil {
		return nil, err
	}
	// The transaction may still be open: the woken worker finds nothing
	// until it commits and then polls again shortly.
	q.Notify()
	return j, nil
}

// Notify wakes this process's worker to look for due jobs now.
func (q *Queue) Notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Queue) newJob(o EnqueueOptions) (*Job, error) {
	fields := map[string]any{}
	name := strings.TrimSpace(o.Name)
	switch {
	case name == "":
		fields["name"] = apperr.Field{Code: "validation_required", Message: "Missing required value."}
	case len(name) > MaxNameLength:
		fields["name"] = apperr.Field{Code: "validation_max_text_constraint", Message: "The job name is too long."}
	}
	payload := o.Payload
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	switch {
	case len(payload) > MaxPayload:
		fields["payload"] = apperr.Field{Code: "validation_max_size_constraint", Message: "The payload is too large."}
	case !json.Valid(payload):
		fields["payload"] = apperr.Field{Code: "validation_invalid_json", Message: "Must be valid JSON."}
	}
	if len(o.IdempotencyKey) > MaxKeyLength {
		fields["idempotencyKey"] = apperr.Field{Code: "validation_max_text_constraint", Message: "The idempotency key is too long."}
	}
	if o.MaxAttempts < 0 {
		fields["maxAttempts"] = apperr.Field{Code: "validation_min_number_constraint", Message: "Must be 0 (the default) or more."}
	}
	if o.Delay < 0 {
		fields["delay"] = apperr.Field{Code: "validation_min_number_constraint", Message: "Must not be negative."}
	}
	if len(fields) > 0 {
		e := apperr.New(apperr.Invalid, "Failed to enqueue the job.")
		e.Data = fields
		return nil, e
	}
	now := q.opts.Now()
	attempts := o.MaxAttempts
	if attempts == 0 {
		attempts = q.opts.MaxAttempts
	}
	return &Job{
		ID: random.ID(), Name: name, Payload: payload, State: store.JobQueued, Priority: o.Priority,
		IdempotencyKey: o.IdempotencyKey, MaxAttempts: attempts, RunAt: now.Add(o.Delay), Created: now, Updated: now,
	}, nil
}

// Backoff returns the delay before the attempt after attempt number
// attempt (1 for the first) failed: BackoffBase·2^(attempt-1) capped at
// BackoffMax, jittered to between half and all of it.
func (q *Queue) Backoff(attempt int) time.Duration {
	d := q.opts.BackoffBase
	for i := 1; i < attempt && d < q.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, q.opts.BackoffMax)
	half := d / 2
	return half + time.Duration(q.opts.Jitter()*float64(d-half))
}

// Jobs lists stored jobs, newest first, with the total count of matches.
func (q *Queue) Jobs(ctx context.Context, f store.JobFilter) ([]*Job, int64, error) {
	return q.store.Jobs(ctx, f)
}

// Job returns one stored job; NotFound when absent.
func (q *Queue) Job(ctx context.Context, id string) (*Job, error) {
	return q.store.Job(ctx, id)
}

// Retry queues a job that is not running again, due now with its attempts
// reset. NotFound when absent, Conflict when running.
func (q *Queue) Retry(ctx context.Context, id string) (*Job, error) {
	j, err := q.store.RetryJob(ctx, id, q.opts.Now())
	if err != nil {
		return nil, err
	}
	q.Notify()
	return j, nil
}

// Delete deletes a job that is not running. NotFound when absent,
// Conflict when running.
func (q *Queue) Delete(ctx context.Context, id string) error {
	return q.store.DeleteJob(ctx, id)
}

// Prune deletes succeeded and dead jobs last updated more than retention
// ago and returns how many it deleted.
func (q *Queue) Prune(ctx context.Context, retention time.Duration) (int64, error) {
	cutoff := q.opts.Now().Add(-retention)
	var total int64
	for {
		n, err := q.store.PruneJobs(ctx, cutoff, 0)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}
