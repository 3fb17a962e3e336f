// Package event is the service that delivers the record changes of the
// transactional outbox to their consumers (realtime now; webhooks, event
// sinks and function triggers later). The dispatcher reads committed events
// in sequence order and hands each to every consumer in that order, and
// prunes delivered events once they are older than the retention.
//
// event imports the storage port and leaf packages; never adapters or
// transports.
package event

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/store"
)

// Outbox is the part of the store the dispatcher reads and prunes.
type Outbox interface {
	Events(ctx context.Context, after int64, limit int) ([]*store.Event, error)
	LastEventSeq(ctx context.Context) (int64, error)
	PruneEvents(ctx context.Context, upTo int64, olderThan time.Time) (int64, error)
}

// Consumer receives committed events. Consume is called for one event at a
// time, in commit order, from the dispatcher's goroutine: it must not block
// for long (a slow consumer delays every other) and must not retain ev
// beyond what it needs, as ev is shared with the other consumers and must
// not be modified.
type Consumer interface {
	Consume(ctx context.Context, ev *store.Event)
}

// Idler is a Consumer that can say it has no use for events now (a realtime
// broker without clients). When every consumer is idle, the dispatcher
// moves past new events without reading them. Idle must turn false before
// the consumer starts wanting events from the outbox position of that
// moment, which the dispatcher reads before asking.
type Idler interface {
	Idle() bool
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc func(ctx context.Context, ev *store.Event)

// Consume calls f(ctx, ev).
func (f ConsumerFunc) Consume(ctx context.Context, ev *store.Event) { f(ctx, ev) }

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	// Poll is how often the outbox is read without a nudge (writes by
	// another process, a missed nudge). Default 1 s.
	Poll time.Duration
	// Batch is how many events one read fetches. Default 256.
	Batch int
	// Retention is how long delivered events stay in the outbox. Default 24 h.
	Retention time.Duration
	// PruneEvery is how often delivered events older than Retention are
	// deleted. Default 10 min.
	PruneEvery time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives read and prune failures; default discards.
	Logger *slog.Logger
	// Trace, when set, is called as each event is handed to the consumers:
	// they get the context it returns, and end is called once all have it
	// (tracing's dispatch span).
	Trace func(ctx context.Context, ev *store.Event) (_ context.Context, end func())
}

// Defaults of Options.
const (
	DefaultPoll       = time.Second
	DefaultBatch      = 256
	DefaultRetention  = 24 * time.Hour
	DefaultPruneEvery = 10 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = DefaultPruneEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Dispatcher delivers outbox events to consumers. Create it with New,
// register consumers with Subscribe, then Run it.
type Dispatcher struct {
	outbox Outbox
	opts   Options
	nudge  chan struct{}
	// started is closed once Run has read its starting point.
	started     chan struct{}
	startedOnce sync.Once

	mu        sync.Mutex
	consumers []Consumer
	holds     []func(ctx context.Context) (int64, error)
	// delivered is the seq of the last event handed to the consumers.
	delivered int64
}

// New returns a dispatcher reading from outbox.
func New(outbox Outbox, opts Options) *Dispatcher {
	return &Dispatcher{outbox: outbox, opts: opts.withDefaults(), nudge: make(chan struct{}, 1), started: make(chan struct{})}
}

// Subscribe adds a consumer. Events committed after Run has started are
// delivered to it; call it before Run so that it sees all of them.
func (d *Dispatcher) Subscribe(c Consumer) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.consumers = append(d.consumers, c)
}

// Hold registers the position of a durable consumer, one that reads the
// outbox itself from a stored cursor (webhooks): pruning never deletes an
// event after the seq pos returns, and skips a round when pos fails.
func (d *Dispatcher) Hold(pos func(ctx context.Context) (int64, error)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.holds = append(d.holds, pos)
}

// Notify tells the dispatcher that new events may have been committed. It
// never blocks; nudges that arrive while one is pending are merged.
func (d *Dispatcher) Notify() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Started returns a channel that is closed once Run has read its starting
// point: every event committed afterwards will be delivered.
func (d *Dispatcher) Started() <-chan struct{} { return d.started }

// Delivered returns the seq of the last event handed to the consumers.
func (d *Dispatcher) Delivered() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.delivered
}

// Run delivers events until ctx is done, then returns nil. Delivery starts
// after the last event committed before Run (realtime clients only see live
// changes); it returns an error only when that starting point cannot be read.
func (d *Dispatcher) Run(ctx context.Context) error {
	start, err := d.outbox.LastEventSeq(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.delivered = start
	d.mu.Unlock()
	d.startedOnce.Do(func() { close(d.started) })

	poll := time.NewTicker(d.opts.Poll)
	defer poll.Stop()
	prune := time.NewTicker(d.opts.PruneEvery)
	defer prune.Stop()
	d.prune(ctx)
	for {
		d.drain(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-d.nudge:
		case <-poll.C:
		case <-prune.C:
			d.prune(ctx)
		}
	}
}

// drain delivers every committed event not delivered yet.
func (d *Dispatcher) drain(ctx context.Context) {
	if skipped, err := d.skipIfIdle(ctx); skipped || err != nil {
		if err != nil && ctx.Err() == nil {
			d.opts.Logger.Error("reading the event outbox position", "err", err)
		}
		return
	}
	for ctx.Err() == nil {
		after := d.Delivered()
		evs, err := d.outbox.Events(ctx, after, d.opts.Batch)
		if err != nil {
			if ctx.Err() == nil {
				d.opts.Logger.Error("reading the event outbox", "after", after, "err", err)
			}
			return
		}
		d.mu.Lock()
		consumers := d.consumers
		d.mu.Unlock()
		for _, ev := range evs {
			ectx, end := ctx, func() {}
			if d.opts.Trace != nil {
				ectx, end = d.opts.Trace(ctx, ev)
			}
			for _, c := range consumers {
				d.consume(ectx, c, ev)
			}
			end()
			d.mu.Lock()
			d.delivered = ev.Seq
			d.mu.Unlock()
		}
		if len(evs) < d.opts.Batch {
			return
		}
	}
}

// skipIfIdle moves past every committed event without reading it when all
// consumers are idle, and reports whether it did. The end of the outbox is
// read between two looks at the consumers: one that stops being idle after
// the second look wants only events after that end. While any consumer is
// busy it costs no query.
func (d *Dispatcher) skipIfIdle(ctx context.Context) (bool, error) {
	d.mu.Lock()
	consumers := d.consumers
	d.mu.Unlock()
	if !allIdle(consumers) {
		return false, nil
	}
	last, err := d.outbox.LastEventSeq(ctx)
	if err != nil || !allIdle(consumers) {
		return false, err
	}
	d.mu.Lock()
	d.delivered = max(d.delivered, last)
	d.mu.Unlock()
	return true, nil
}

// allIdle reports whether there are consumers and every one is an idle
// Idler.
func allIdle(consumers []Consumer) bool {
	for _, c := range consumers {
		if i, ok := c.(Idler); !ok || !i.Idle() {
			return false
		}
	}
	return len(consumers) > 0
}

// consume hands ev to c; a panicking consumer is logged and skipped so that
// it cannot stop delivery to the others.
func (d *Dispatcher) consume(ctx context.Context, c Consumer, ev *store.Event) {
	defer func() {
		if v := recover(); v != nil {
			d.opts.Logger.Error("event consumer panicked", "event", ev.ID, "seq", ev.Seq, "panic", v)
		}
	}()
	c.Consume(ctx, ev)
}

// prune deletes delivered events older than the retention.
func (d *Dispatcher) prune(ctx context.Context) {
	d.mu.Lock()
	upTo, holds := d.delivered, d.holds
	d.mu.Unlock()
	for _, pos := range holds {
		p, err := pos(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.opts.Logger.Error("reading a consumer position before pruning", "err", err)
			}
			return
		}
		upTo = min(upTo, p)
	}
	n, err := d.outbox.PruneEvents(ctx, upTo, d.opts.Now().Add(-d.opts.Retention))
	if err != nil {
		if ctx.Err() == nil {
			d.opts.Logger.Error("pruning the event outbox", "err", err)
		}
		return
	}
	if n > 0 {
		d.opts.Logger.Debug("pruned delivered events", "count", n, "upTo", upTo)
	}
}
