package main

import (
	"context"
	"errors"

	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// startRealtimeCluster lets broker serve subscribe requests for clients
// connected to other replicas sharing the database (and relays its own
// clients' requests made through them), until stop is called. On SQLite it
// is the broker alone.
func startRealtimeCluster(ctx context.Context, a *app, broker *realtime.Broker) (rt *realtime.Cluster, stop func()) {
	rt = realtime.NewCluster(broker, a.store, realtime.ClusterOptions{
		Logger: a.logger,
		LoadAuth: func(ctx context.Context, collectionID, recordID string) (*schema.Record, error) {
			c := a.collections.Lookup(collectionID)
			if c == nil || !c.IsAuth() {
				return nil, apperr.New(apperr.NotFound, "Missing auth collection.")
			}
			list, err := a.store.FindRecords(ctx, &store.Query{Collection: c, Schema: a.collections.Lookup, IDs: []string{recordID}})
			if err != nil {
				return nil, err
			}
			if len(list) == 0 {
				return nil, apperr.New(apperr.NotFound, "Missing auth record.")
			}
			return list[0], nil
		},
	})
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := rt.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("realtime relay stopped", "err", err)
		}
	}()
	return rt, func() { cancel(); <-done }
}
