package main

import (
	"context"
	"net/http"

	"github.com/basalt-dev/basalt/bench/sse"
)

// subscribe opens one realtime client (SSE, the PocketBase protocol)
// subscribed to every post; it counts events without keeping them.
func subscribe(ctx context.Context, tr *http.Transport, base string) (*sse.Subscriber, error) {
	return sse.Subscribe(ctx, tr, base, collectionName+"/*", 0)
}
