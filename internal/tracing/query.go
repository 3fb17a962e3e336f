package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// The db.system.name values of Basalt's engines.
const (
	SystemSQLite     = "sqlite"
	SystemPostgreSQL = "postgresql"
)

// StartQuery begins the client span of one database operation op (a store
// method name such as "FindRecords") on collection ("" when none), named
// "op collection". Database work is traced only inside a recorded span (a
// request, an event dispatch): without one it returns ctx and a nil span,
// so that background polling makes no traces of its own.
func (t *Tracer) StartQuery(ctx context.Context, system, op, collection string) (context.Context, trace.Span) {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	name := op
	attrs := []attribute.KeyValue{semconv.DBSystemNameKey.String(system), semconv.DBOperationName(op)}
	if collection != "" {
		name += " " + collection
		attrs = append(attrs, semconv.DBCollectionName(collection))
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// EndQuery ends span (nil does nothing), marking it failed when err is not
// nil.
func EndQuery(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
