// Package rpc is Basalt's gRPC, gRPC-Web and Connect transport: the
// RecordService of proto/basalt/v1 (generated into gen/), served with
// connect-go on the API's port, and server reflection (v1 and v1alpha) so
// that tools such as grpcurl discover it.
//
// rpc is thin: it decodes a request, calls the record service, where every
// access rule lives, and encodes the answer, so a rule that hides a record
// from REST hides it here too. Records travel as google.protobuf.Struct
// holding the JSON object REST would answer. The REST middleware that the
// handlers are mounted behind (rest.Deps.Mounts) resolves the
// `authorization` metadata, which is the HTTP Authorization header, into the
// caller (package caller), and applies limits, logs and metrics.
//
// rpc imports services, the realtime feed and leaf packages; never a
// storage engine or another adapter.
package rpc

import (
	"context"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"

	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1/basaltv1connect"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// DefaultMaxMessageBytes bounds a request message, as gRPC's default.
const DefaultMaxMessageBytes = 4 << 20

// compressMinBytes is the smallest answer compressed for a client that
// accepts it (gzip).
const compressMinBytes = 4 << 10

// Watcher is the change feed behind the Watch stream
// (realtime.Broker.Watch).
type Watcher interface {
	Watch(ctx context.Context, auth *schema.Record, topics []string) (<-chan realtime.Message, error)
}

// Options are what the handlers serve with.
type Options struct {
	Records *record.Service
	// Watcher feeds Watch; nil answers Watch with Unimplemented.
	Watcher Watcher
	// Logger receives internal errors (never sent to clients); default
	// discards.
	Logger *slog.Logger
	// MaxMessageBytes bounds a request message; 0 is
	// DefaultMaxMessageBytes. A larger one is answered ResourceExhausted.
	MaxMessageBytes int
}

// Handlers returns the RecordService and the reflection services, by
// http.ServeMux pattern, for rest.Deps.Mounts.
func Handlers(o Options) map[string]http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	s := &service{records: o.Records, watcher: o.Watcher, logger: o.Logger}
	limit := connect.WithReadMaxBytes(o.MaxMessageBytes)
	// Compressing a record or two costs more CPU than it saves bytes.
	compress := connect.WithCompressMinBytes(compressMinBytes)
	out := map[string]http.Handler{}
	path, h := basaltv1connect.NewRecordServiceHandler(s, limit, compress)
	out[path] = exposeHeaders(h)
	reflector := grpcreflect.NewStaticReflector(basaltv1connect.RecordServiceName,
		grpcreflect.ReflectV1ServiceName, grpcreflect.ReflectV1AlphaServiceName)
	path, h = grpcreflect.NewHandlerV1(reflector, limit)
	out[path] = h
	path, h = grpcreflect.NewHandlerV1Alpha(reflector, limit)
	out[path] = h
	return out
}

// IsStream reports whether r opens a long-lived server stream (Watch):
// like realtime streams, such requests go without the write deadline and
// the concurrency cap (rest.Deps.Streams).
func IsStream(r *http.Request) bool {
	return r.URL.Path == basaltv1connect.RecordServiceWatchProcedure
}

// exposeHeaders lets browser clients of another origin (gRPC-Web, Connect)
// read the status of an answer that carries it in headers.
func exposeHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			w.Header().Add("Access-Control-Expose-Headers", "Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin")
		}
		next.ServeHTTP(w, r)
	})
}

// service implements basaltv1connect.RecordServiceHandler.
type service struct {
	records *record.Service
	watcher Watcher
	logger  *slog.Logger
}
