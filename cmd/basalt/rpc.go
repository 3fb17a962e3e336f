package main

import (
	"net/http"

	"github.com/basalt-dev/basalt/internal/api/rpc"
)

// rpcMounts returns the gRPC, gRPC-Web and Connect handlers (with server
// reflection) for rest.Deps.Mounts; Watch streams take changes from w.
func rpcMounts(a *app, w rpc.Watcher) map[string]http.Handler {
	return rpc.Handlers(rpc.Options{Records: a.records, Watcher: w, Logger: a.logger})
}

// joinMounts merges the handlers of several transports for
// rest.Deps.Mounts.
func joinMounts(ms ...map[string]http.Handler) map[string]http.Handler {
	out := map[string]http.Handler{}
	for _, m := range ms {
		for pattern, h := range m {
			out[pattern] = h
		}
	}
	return out
}
