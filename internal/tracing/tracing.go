// Package tracing is Basalt's OpenTelemetry tracing: it starts the SDK
// tracer provider with an OTLP/HTTP exporter when tracing is configured, and
// makes the spans of HTTP requests, outbound HTTP calls (webhook
// deliveries), event dispatch and the trace id of log lines. Store spans
// come from internal/store/traced.
//
// When tracing is not configured nothing here is created: callers hold a nil
// *Tracer and install none of its middleware, so requests pay nothing.
//
// The exporter (otlp.go) is Basalt's own: it posts the OTLP protobuf
// messages over HTTP without linking gRPC.
//
// tracing imports OpenTelemetry (with its OTLP messages and protobuf) and
// the standard library only; never a Basalt domain package, service or
// transport.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ServiceName is the service.name of Basalt's spans.
const ServiceName = "basalt"

// instrumentation names the tracer (the instrumentation scope).
const instrumentation = "github.com/basalt-dev/basalt"

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP collector: a base URL such as
	// "http://localhost:4318" (spans are posted to /v1/traces under it) or
	// the full URL of the traces endpoint when it has a path. Empty leaves
	// the exporter to the standard OTEL_EXPORTER_OTLP_ENDPOINT and
	// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT variables.
	Endpoint string
	// SampleRatio is the share of new traces recorded, 0 to 1; a request
	// that arrives with a trace context follows its caller's decision.
	SampleRatio float64
	// ServiceVersion is service.version (the build's version).
	ServiceVersion string
	// Getenv reads the standard OTEL_EXPORTER_OTLP_* variables (headers,
	// compression, timeout, certificates; see otlp_config.go); nil reads
	// the process environment.
	Getenv func(string) string
}

// Tracer makes Basalt's spans. A nil *Tracer is never used: callers skip
// tracing altogether when it is off.
type Tracer struct {
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	shutdown func(context.Context) error
}

// New returns a Tracer making its spans with tp (tests pass an SDK provider
// with an in-memory exporter). Shutdown does nothing to tp.
func New(tp trace.TracerProvider) *Tracer {
	return &Tracer{
		tracer:   tp.Tracer(instrumentation),
		prop:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		shutdown: func(context.Context) error { return nil },
	}
}

// Start starts the SDK tracer provider exporting over OTLP/HTTP in batches
// and returns the Tracer using it. Nothing is sent until the first span
// ends; an unreachable collector only costs dropped spans.
func Start(ctx context.Context, c Config) (*Tracer, error) {
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return nil, fmt.Errorf("trace sample ratio: want 0 to 1, got %v", c.SampleRatio)
	}
	var endpoint string
	if c.Endpoint != "" {
		u, err := endpointURL(c.Endpoint)
		if err != nil {
			return nil, err
		}
		endpoint = u
	}
	getenv := c.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	ec, err := exportConfigFrom(endpoint, getenv)
	if err != nil {
		return nil, err
	}
	exp := newExporter(ec)
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(ServiceName), semconv.ServiceVersion(c.ServiceVersion)))
	if err != nil {
		return nil, fmt.Errorf("describing the service: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(c.SampleRatio))),
	)
	t := New(tp)
	t.shutdown = tp.Shutdown
	return t, nil
}

// Shutdown sends the spans still queued and stops the exporter; ctx bounds
// how long it may take.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("flushing traces: %w", err)
	}
	return nil
}

// endpointURL turns --otlp-endpoint into the traces URL: a base URL gets
// /v1/traces, as OTEL_EXPORTER_OTLP_ENDPOINT does.
func endpointURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("OTLP endpoint: want an http:// or https:// URL such as http://localhost:4318")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}
