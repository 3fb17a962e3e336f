package rest

import (
	"context"
	"net/http"
)

// Tracer begins the span of a request (internal/tracing provides it). It
// returns the request context carrying the span and the function that ends
// the span with the matched route template ("" when none matched) and the
// status sent. observe calls it only when Deps.Tracer is set.
type Tracer interface {
	StartRequest(r *http.Request, requestID, clientIP string) (context.Context, func(route string, status int))
}
