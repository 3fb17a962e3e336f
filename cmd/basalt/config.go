package main

import (
	"context"
	"errors"

	"github.com/basalt-dev/basalt/internal/store"
)

// watchConfig keeps a's in-memory configuration (collections, settings) in
// step with changes other replicas commit to a shared database, until stop
// is called. On SQLite the store has nothing to watch and this costs
// nothing.
func watchConfig(ctx context.Context, a *app) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		err := a.store.WatchConfig(ctx, func(area store.ConfigArea) {
			var err error
			switch area {
			case store.ConfigCollections:
				err = a.collections.Reload(ctx)
			case store.ConfigSettings:
				err = a.settings.Reload(ctx)
			}
			if err != nil && ctx.Err() == nil {
				a.logger.Error("reloading configuration changed by another replica", "area", area, "err", err)
			}
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			a.logger.Error("watching configuration changes", "err", err)
		}
	}()
	return func() { cancel(); <-done }
}
