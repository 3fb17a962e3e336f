package main

import (
	"context"
	"fmt"
	"time"

	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/event"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/timed"
	"github.com/basalt-dev/basalt/internal/webhook"
)

// startEvents wires change delivery: the record service nudges the outbox
// dispatcher after each commit, and the dispatcher feeds the realtime broker
// and nudges the webhook service, which reads the outbox from its own stored
// cursor (and holds pruning back to it). It returns once the dispatcher has
// its starting point; stop ends delivery and waits for both. m (nil for
// none) gets the outbox lag, realtime connections and webhook attempts;
// trace (nil for none) spans each dispatched event.
//
// On an engine that announces commits to every replica (PostgreSQL's
// LISTEN/NOTIFY), the dispatcher is also woken by writes made through other
// replicas, so their events reach this replica's subscribers at once rather
// than at the next poll.
func startEvents(ctx context.Context, a *app, retention time.Duration, hookOpts webhook.Options, m *metrics.Metrics, trace func(context.Context, *store.Event) (context.Context, func())) (broker *realtime.Broker, hooks *webhook.Service, stop func(), err error) {
	d := event.New(a.store, event.Options{Retention: retention, Logger: a.logger, Trace: trace})
	if m != nil {
		hookOpts.OnAttempt = m.WebhookAttempt
	}
	broker = realtime.New(a.records, realtime.Options{
		Logger: a.logger,
		Authenticate: func(ctx context.Context, token string) (*schema.Record, error) {
			rec, _, err := a.auth.Authenticate(ctx, token)
			return rec, err
		},
		LastSeq: a.store.LastEventSeq,
	})
	d.Subscribe(broker)
	m.Gauge("realtime_connections", "Realtime clients connected (SSE and WebSocket).", func() float64 { return float64(broker.Clients()) })
	m.Gauge("outbox_lag_events", "Committed change events not yet handed to the consumers (last event seq minus dispatched seq).",
		func() float64 {
			qctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			last, err := a.store.LastEventSeq(qctx)
			if err != nil {
				return 0
			}
			return float64(max(last-d.Delivered(), 0))
		})
	hookOpts.Logger = a.logger
	hooks = webhook.New(a.store, a.collections, a.records, hookOpts)
	hooks.Audit = a.audit
	d.Subscribe(hooks)
	d.Hold(hooks.Position)
	a.records.OnCommit(d.Notify)

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case <-d.Started():
	case err := <-done:
		cancel()
		return nil, nil, nil, fmt.Errorf("starting the event dispatcher: %w", err)
	}
	hooksDone := make(chan error, 1)
	go func() { hooksDone <- hooks.Run(ctx) }()
	listenDone := make(chan struct{})
	if l, ok := timed.Unwrap(a.store).(eventListener); ok {
		go func() {
			defer close(listenDone)
			// It returns only when ctx ends: it reconnects by itself.
			_ = l.ListenEvents(ctx, d.Notify)
		}()
	} else {
		close(listenDone)
	}
	return broker, hooks, func() {
		cancel()
		<-done
		<-listenDone
		if err := <-hooksDone; err != nil {
			a.logger.Error("webhooks stopped", "err", err)
		}
	}, nil
}

// eventListener is an engine that wakes every replica when events are
// committed anywhere (the PostgreSQL store).
type eventListener interface {
	ListenEvents(ctx context.Context, wake func()) error
}
