package rest_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/logs"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/logdb"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// BenchmarkObserveOverhead measures what request ids, the access log (JSON
// console + log database queue) and metrics add to the cheapest request.
func BenchmarkObserveOverhead(b *testing.B) {
	quiet := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	db, err := logdb.Open(context.Background(), filepath.Join(b.TempDir(), "auxiliary.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := logs.New(db, logs.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "data.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sets, err := settings.New(context.Background(), st)
	if err != nil {
		b.Fatal(err)
	}
	full := slog.New(logs.NewHandler(slog.NewJSONHandler(io.Discard, nil), svc))

	for _, bc := range []struct {
		name string
		deps rest.Deps
	}{
		{"quiet", rest.Deps{Logger: quiet, Settings: sets}},
		{"logged", rest.Deps{Logger: full, Settings: sets, Logs: svc}},
		{"logged+metrics", rest.Deps{Logger: full, Settings: sets, Metrics: metrics.New(), Logs: svc}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := rest.NewServer(bc.deps)
			req := httptest.NewRequest(http.MethodGet, "/api/health", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
	b.Logf("dropped log entries: %d", svc.Dropped())
}
