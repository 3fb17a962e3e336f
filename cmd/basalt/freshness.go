package main

import (
	"context"
	"sync"

	"github.com/basalt-dev/basalt/internal/store"
)

// configGate gives replicas read-your-writes on configuration: before an
// API request is handled, the replica reads the stored config versions
// with a query that starts after the request arrived, and reloads what
// another replica changed. A collection or settings change acknowledged
// by replica A is therefore in force for the very next request, wherever
// the balancer sends it, instead of after A's notification reaches the
// others (docs/scaling.md).
//
// Requests arriving while a check runs share the next one, so under load
// a replica makes about one version query per database round trip, not
// one per request.
type configGate struct {
	versions func(ctx context.Context) (map[store.ConfigArea]int64, error)
	reload   func(ctx context.Context, area store.ConfigArea) error

	mu      sync.Mutex
	next    *configCheck // the check new arrivals join; its query has not started
	running bool
	loaded  map[store.ConfigArea]int64 // versions this replica has applied
}

type configCheck struct {
	done chan struct{}
	err  error
}

// wait returns once a version check that started after the call has
// finished and its changes are loaded.
func (g *configGate) wait(ctx context.Context) error {
	g.mu.Lock()
	if g.next == nil {
		g.next = &configCheck{done: make(chan struct{})}
	}
	c := g.next
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run serves pending checks one after the other until none is left.
func (g *configGate) run() {
	for {
		g.mu.Lock()
		c := g.next
		g.next = nil
		if c == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		c.err = g.check(context.Background())
		close(c.done)
	}
}

// check reads the versions and reloads every area that moved.
func (g *configGate) check(ctx context.Context) error {
	now, err := g.versions(ctx)
	if err != nil {
		return err
	}
	for area, v := range now {
		if old, ok := g.loaded[area]; ok && old == v {
			continue
		}
		if err := g.reload(ctx, area); err != nil {
			return err
		}
		if g.loaded == nil {
			g.loaded = map[store.ConfigArea]int64{}
		}
		g.loaded[area] = v
	}
	return nil
}

// newConfigGate returns the gate of a, or nil when a's store has no
// config versions to follow (SQLite: one process holds the configuration).
func newConfigGate(a *app) *configGate {
	if a.version != nil {
		return nil
	}
	return &configGate{versions: a.store.ConfigVersions, reload: func(ctx context.Context, area store.ConfigArea) error {
		switch area {
		case store.ConfigCollections:
			return a.collections.Reload(ctx)
		case store.ConfigSettings:
			return a.settings.Reload(ctx)
		}
		return nil
	}}
}

// fresh is the rest.Deps.Fresh of g: nil when g is.
func (g *configGate) fresh() func(ctx context.Context) error {
	if g == nil {
		return nil
	}
	return g.wait
}
