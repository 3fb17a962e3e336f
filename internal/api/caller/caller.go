// Package caller describes the caller of an HTTP request to the service
// layer. The REST middleware resolves the Authorization header once and
// records the authenticated record here; every transport mounted behind it
// (GraphQL, RPC, admin, function routes) reads the same caller, so a token
// means the same thing on every surface.
//
// caller imports only leaf packages (schema, store).
package caller

import (
	"context"
	"net/http"
	"strings"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

type authKey struct{}

// WithAuth returns ctx carrying auth as the authenticated record of the request.
func WithAuth(ctx context.Context, auth *schema.Record) context.Context {
	return context.WithValue(ctx, authKey{}, auth)
}

// Auth returns the authenticated record of the request, or nil for a guest.
func Auth(ctx context.Context) *schema.Record {
	a, _ := ctx.Value(authKey{}).(*schema.Record)
	return a
}

// IsSuperuser reports whether the request is authenticated as a superuser.
func IsSuperuser(ctx context.Context) bool {
	a := Auth(ctx)
	return a != nil && a.Collection != nil && a.Collection.ID == schema.SuperusersID
}

// Request describes r for rule evaluation (@request.*): its method, its
// query (first value of each key), its headers (first value, keys
// lower-cased with "-" turned into "_", e.g. @request.headers.x_token) and
// its authenticated record. Context is "default"; the caller sets Body.
func Request(r *http.Request) *store.Request {
	query := r.URL.Query()
	q := make(map[string]string, len(query))
	for k, v := range query {
		if len(v) > 0 {
			q[k] = v[0]
		}
	}
	h := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		if len(v) > 0 {
			h[HeaderKey(k)] = v[0]
		}
	}
	return &store.Request{Method: r.Method, Context: "default", Query: q, Headers: h, Auth: Auth(r.Context())}
}

// HeaderKey turns a header name into its @request.headers key.
func HeaderKey(name string) string {
	return strings.ReplaceAll(strings.ToLower(name), "-", "_")
}
