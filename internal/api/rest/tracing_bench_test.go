package rest_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/tracing"
)

// discardExporter drops exported spans.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkTracingOverhead measures what tracing adds to the cheapest
// request: "off" is the handler with tracing off (Deps.Tracer nil, as serve
// leaves it without an OTLP endpoint); "sampled" records every request's
// span and exports it in batches to nowhere; "unsampled" is on with
// --trace-sample 0.
func BenchmarkTracingOverhead(b *testing.B) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "data.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sets, err := settings.New(context.Background(), st)
	if err != nil {
		b.Fatal(err)
	}
	provider := func(s sdktrace.Sampler) *sdktrace.TracerProvider {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}), sdktrace.WithSampler(s))
		b.Cleanup(func() { tp.Shutdown(context.Background()) })
		return tp
	}
	for _, bc := range []struct {
		name   string
		tracer rest.Tracer
	}{
		{"off", nil},
		{"sampled", tracing.New(provider(sdktrace.AlwaysSample()))},
		{"unsampled", tracing.New(provider(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := rest.NewServer(rest.Deps{Logger: quiet, Settings: sets, Tracer: bc.tracer})
			req := httptest.NewRequest(http.MethodGet, "/api/health", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
