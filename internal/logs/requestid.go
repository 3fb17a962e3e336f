package logs

import "context"

type requestIDKey struct{}

// WithRequestID returns a context that carries the request id id: every
// record logged with it (Logger.InfoContext and the like) gets a requestId
// attribute.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
