package postgres

import (
	"context"
	"log/slog"
	"testing"

	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/storetest"
)

// openTest opens a store on a fresh database that is closed when the test
// ends (and dropped by pgtest after that).
func openTest(t testing.TB) *Store {
	t.Helper()
	return openURL(t, pgtest.NewDatabase(t))
}

// openTestURL returns the URL of a fresh database without opening it.
func openTestURL(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabase(t)
}

func openURL(t testing.TB, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, Options{MaxConns: 8, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}
