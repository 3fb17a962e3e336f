package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/traced"
	"github.com/basalt-dev/basalt/internal/tracing"
)

// traceOptions configure OpenTelemetry tracing (docs/observability.md,
// Tracing). Tracing is on when --otlp-endpoint or a standard
// OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variable names a collector, unless
// OTEL_SDK_DISABLED is true.
type traceOptions struct {
	endpoint string
	sample   float64
	// fromEnv: a standard variable configures the exporter; disabled:
	// OTEL_SDK_DISABLED=true.
	fromEnv, disabled bool
}

func (o traceOptions) on() bool { return !o.disabled && (o.endpoint != "" || o.fromEnv) }

// traceFlushTimeout bounds the flush of queued spans at shutdown.
const traceFlushTimeout = 5 * time.Second

// traceFlags registers --otlp-endpoint and --trace-sample.
func traceFlags(fs *flag.FlagSet, getenv func(string) string, o *traceOptions) error {
	sample := 1.0
	if v := getenv("BASALT_TRACE_SAMPLE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("BASALT_TRACE_SAMPLE: %w", err)
		}
		sample = f
	}
	fs.StringVar(&o.endpoint, "otlp-endpoint", getenv("BASALT_OTLP_ENDPOINT"), "export traces over OTLP/HTTP to this collector (e.g. http://localhost:4318); tracing is off unless this or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set")
	fs.Float64Var(&o.sample, "trace-sample", sample, "share of new traces recorded when tracing is on, 0 to 1; requests carrying a traceparent follow their caller's sampling decision")
	o.fromEnv = getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	o.disabled = strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true")
	return nil
}

// startTracing starts the tracer provider when tracing is configured and
// adds trace ids to the log lines. Off, it leaves ob.tracer nil, and none
// of the wrappers below installs anything.
func (ob *observability) startTracing(ctx context.Context, o traceOptions) error {
	if !o.on() {
		return nil
	}
	if o.sample < 0 || o.sample > 1 {
		return fmt.Errorf("--trace-sample: want 0 to 1, got %v", o.sample)
	}
	t, err := tracing.Start(ctx, tracing.Config{Endpoint: o.endpoint, SampleRatio: o.sample, ServiceVersion: version})
	if err != nil {
		return fmt.Errorf("--otlp-endpoint: %w", err)
	}
	ob.setTracer(t)
	ob.logger.Info("tracing on", "endpoint", o.endpoint, "sample", o.sample)
	return nil
}

// setTracer installs t (tests pass one exporting to memory).
func (ob *observability) setTracer(t *tracing.Tracer) {
	ob.tracer = t
	ob.logger = slog.New(tracing.LogHandler(ob.logger.Handler()))
}

// stopTracing sends the spans still queued, for at most traceFlushTimeout.
func (ob *observability) stopTracing() {
	if ob.tracer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), traceFlushTimeout)
	defer cancel()
	if err := ob.tracer.Shutdown(ctx); err != nil {
		ob.logger.Warn("shutting down: traces not sent", "err", err)
	}
}

// traceStore wraps st (already timed, perhaps) for tracing; engine is the
// unwrapped engine, which names the database system.
func (ob *observability) traceStore(engine, st store.Store) store.Store {
	if ob.tracer == nil {
		return st
	}
	system := tracing.SystemSQLite
	if _, ok := engine.(*postgres.Store); ok {
		system = tracing.SystemPostgreSQL
	}
	return traced.Wrap(st, ob.tracer, system)
}

// restTracer is the REST server's tracer: nil (an interface holding
// nothing) when tracing is off.
func (ob *observability) restTracer() rest.Tracer {
	if ob.tracer == nil {
		return nil
	}
	return ob.tracer
}

// webhookTransport wraps the webhook delivery transport with a client span
// per attempt that carries the traceparent to the receiver; nil when off.
func (ob *observability) webhookTransport() func(http.RoundTripper) http.RoundTripper {
	if ob.tracer == nil {
		return nil
	}
	return func(rt http.RoundTripper) http.RoundTripper {
		return ob.tracer.Transport(rt, "POST webhook", map[string]string{"webhook-id": "messaging.message.id"})
	}
}

// dispatchTrace gives each event dispatched to the in-process consumers
// (realtime, the webhook fan-out's nudge) a span; nil when off.
func (ob *observability) dispatchTrace() func(context.Context, *store.Event) (context.Context, func()) {
	if ob.tracer == nil {
		return nil
	}
	return func(ctx context.Context, ev *store.Event) (context.Context, func()) {
		return ob.tracer.StartEvent(ctx, tracing.Event{
			ID: ev.ID, Seq: ev.Seq, Collection: ev.CollectionName, Action: string(ev.Action), RecordID: ev.RecordID,
		})
	}
}
