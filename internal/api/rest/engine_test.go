package rest_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// openTestStore opens the scenario harness's store: SQLite in dir, or a
// fresh PostgreSQL database when BASALT_TEST_ENGINE=postgres (with
// BASALT_TEST_POSTGRES naming the server). It is closed when t ends.
func openTestStore(t *testing.T, dir string, logger *slog.Logger) store.Store {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	var err error
	switch engine := os.Getenv("BASALT_TEST_ENGINE"); engine {
	case "postgres":
		st, err = postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{MaxConns: 8, Logger: logger})
	case "", "sqlite":
		st, err = sqlite.Open(ctx, filepath.Join(dir, "data.db"), logger)
	default:
		// A misspelt engine must not quietly run the SQLite scenarios again.
		t.Fatalf("BASALT_TEST_ENGINE=%q: want sqlite or postgres", engine)
	}
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
