package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Event describes one outbox event handed to the in-process consumers.
type Event struct {
	ID         string
	Seq        int64
	Collection string
	Action     string
	RecordID   string
}

// StartEvent begins the consumer span of the dispatch of e: a new trace
// (dispatch runs in the background, after the writer's request ended),
// named "dispatch COLLECTION", with the event's id, seq, action and record.
// The returned function ends it.
func (t *Tracer) StartEvent(ctx context.Context, e Event) (context.Context, func()) {
	ctx, span := t.tracer.Start(ctx, "dispatch "+e.Collection,
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKey.String("basalt"),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingOperationName("dispatch"),
			semconv.MessagingDestinationName(e.Collection),
			semconv.MessagingMessageID(e.ID),
			attribute.Int64("basalt.event.seq", e.Seq),
			attribute.String("basalt.event.action", e.Action),
			attribute.String("basalt.record.id", e.RecordID),
		))
	return ctx, func() { span.End() }
}
