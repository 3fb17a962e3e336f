package traced_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/timed"
	"github.com/basalt-dev/basalt/internal/store/traced"
	"github.com/basalt-dev/basalt/internal/tracing"
)

type noObserver struct{}

func (noObserver) ObserveQuery(string, time.Duration) {}

// TestWrap traces a real SQLite store under a request span, makes no spans
// without one, and lets timed.Unwrap reach the engine through both wrappers.
func TestWrap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	engine, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	st := traced.Wrap(timed.Wrap(engine, noObserver{}), tracing.New(tp), tracing.SystemSQLite)
	if got := timed.Unwrap(st); got != store.Store(engine) {
		t.Errorf("timed.Unwrap = %T, want the engine", got)
	}

	if _, err := st.LastEventSeq(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 {
		t.Errorf("%d spans without a parent span", n)
	}

	rctx, req := tp.Tracer("test").Start(ctx, "request")
	if _, err := st.LastEventSeq(rctx); err != nil {
		t.Fatal(err)
	}
	if err := st.InTx(rctx, func(tx store.Tx) error { return tx.SetParam(rctx, "k", []byte(`{}`)) }); err != nil {
		t.Fatal(err)
	}
	req.End()
	names := map[string]string{}
	for _, sp := range exp.GetSpans() {
		names[sp.Name] = sp.Parent.SpanID().String()
	}
	for _, n := range []string{"LastEventSeq", "InTx"} {
		if p, ok := names[n]; !ok || p != req.SpanContext().SpanID().String() {
			t.Errorf("span %q: present %v, parent %s; want a child of the request (spans %v)", n, ok, p, names)
		}
	}
}
