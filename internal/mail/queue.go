package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of Queue.Send.
var (
	ErrQueueFull   = errors.New("mail queue is full")
	ErrQueueClosed = errors.New("mail queue is closed")
)

// QueueOptions configure a Queue; zero values take the defaults.
type QueueOptions struct {
	// Size is how many messages may wait for delivery (default 1000).
	Size int
	// Workers is how many messages are delivered at once (default 2).
	Workers int
	// Attempts is how often delivery of one message is tried (default 5).
	Attempts int
	// Backoff is the wait before the second attempt; it doubles after each
	// failure up to MaxBackoff, with ±20% jitter (defaults 2s and 1m).
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one delivery attempt (default 1m).
	Timeout time.Duration
}

func (o QueueOptions) withDefaults() QueueOptions {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Size, 1000)
	def(&o.Workers, 2)
	def(&o.Attempts, 5)
	defDur(&o.Backoff, 2*time.Second)
	defDur(&o.MaxBackoff, time.Minute)
	defDur(&o.Timeout, time.Minute)
	return o
}

// Queue delivers messages in the background through another Sender, so a
// slow or failing mail server never holds up the caller. Temporary failures
// are retried with exponential backoff; messages that still fail are logged
// (recipient and subject only) and dropped. It is safe for concurrent use.
type Queue struct {
	next    Sender
	logger  *slog.Logger
	opts    QueueOptions
	jobs    chan *Message
	mu      sync.RWMutex // guards closed against sends on a closed channel
	closed  bool
	ctx     context.Context // canceled when Close gives up waiting
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	dropped atomic.Int64
}

// NewQueue starts the workers of a queue in front of next.
func NewQueue(next Sender, logger *slog.Logger, opts QueueOptions) *Queue {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	q := &Queue{next: next, logger: logger, opts: opts, jobs: make(chan *Message, opts.Size), ctx: ctx, cancel: cancel}
	for range opts.Workers {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for m := range q.jobs {
				q.deliver(m)
			}
		}()
	}
	return q
}

// Send queues m for delivery and returns at once. It fails only when the
// queue is full (ErrQueueFull) or closed (ErrQueueClosed); delivery errors
// are logged, never returned.
func (q *Queue) Send(ctx context.Context, m *Message) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrQueueClosed
	}
	select {
	case q.jobs <- m:
		return nil
	default:
		q.dropped.Add(1)
		q.logger.ErrorContext(ctx, "mail dropped: the queue is full", "to", m.Recipients(), "subject", m.Subject)
		return ErrQueueFull
	}
}

// SendNow delivers m at once, bypassing the queue, and returns the result;
// for callers that must report it, such as a test email.
func (q *Queue) SendNow(ctx context.Context, m *Message) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Timeout)
	defer cancel()
	return q.next.Send(ctx, m)
}

// Pending returns the number of messages waiting for a worker.
func (q *Queue) Pending() int { return len(q.jobs) }

// Dropped returns how many messages were given up on so far.
func (q *Queue) Dropped() int64 { return q.dropped.Load() }

func (q *Queue) deliver(m *Message) {
	wait := q.opts.Backoff
	for attempt := 1; ; attempt++ {
		if q.ctx.Err() != nil {
			q.dropped.Add(1)
			q.logger.Error("mail dropped: shutting down", "to", m.Recipients(), "subject", m.Subject)
			return
		}
		ctx, cancel := context.WithTimeout(q.ctx, q.opts.Timeout)
		err := q.next.Send(ctx, m)
		cancel()
		if err == nil {
			if attempt > 1 {
				q.logger.Info("mail delivered after retrying", "to", m.Recipients(), "subject", m.Subject, "attempts", attempt)
			}
			return
		}
		if IsPermanent(err) || attempt >= q.opts.Attempts {
			q.dropped.Add(1)
			q.logger.Error("mail delivery failed", "to", m.Recipients(), "subject", m.Subject, "attempts", attempt, "err", err)
			return
		}
		q.logger.Warn("mail delivery failed, retrying", "to", m.Recipients(), "subject", m.Subject,
			"attempt", attempt, "retryIn", wait, "err", err)
		t := time.NewTimer(jitter(wait))
		select {
		case <-t.C:
		case <-q.ctx.Done():
			t.Stop()
		}
		wait = min(2*wait, q.opts.MaxBackoff)
	}
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Close stops accepting messages and waits until the queued ones are
// delivered (retries included) or ctx ends; then the deliveries still
// running are abandoned and the rest dropped, with a log line each.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.jobs)
	}
	q.mu.Unlock()
	done := make(chan struct{})
	go func() {
		q.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		q.cancel()
		return nil
	case <-ctx.Done():
		before := q.dropped.Load()
		q.cancel()
		<-done
		return fmt.Errorf("closing mail queue: %d messages not delivered: %w", q.dropped.Load()-before, ctx.Err())
	}
}
