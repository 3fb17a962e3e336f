package main

import (
	"context"
	"fmt"
	"time"

	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/event"
	"github.com/basalt-dev/basalt/internal/schema"
)

// startEvents wires change delivery: the record service nudges the outbox
// dispatcher after each commit, and the dispatcher feeds the realtime broker.
// It returns once the dispatcher has its starting point; stop ends delivery
// and waits for the dispatcher.
func startEvents(ctx context.Context, a *app, retention time.Duration) (broker *realtime.Broker, stop func(), err error) {
	d := event.New(a.store, event.Options{Retention: retention, Logger: a.logger})
	broker = realtime.New(a.records, realtime.Options{
		Logger: a.logger,
		Authenticate: func(ctx context.Context, token string) (*schema.Record, error) {
			rec, _, err := a.auth.Authenticate(ctx, token)
			return rec, err
		},
	})
	d.Subscribe(broker)
	a.records.OnCommit(d.Notify)

	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case <-d.Started():
	case err := <-done:
		cancel()
		return nil, nil, fmt.Errorf("starting the event dispatcher: %w", err)
	}
	return broker, func() {
		cancel()
		<-done
	}, nil
}
