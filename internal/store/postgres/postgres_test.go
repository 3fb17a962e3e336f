package postgres

import (
	"context"
	"log/slog"
	"strings"
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

func TestPoolBound(t *testing.T) {
	url := openTestURL(t)
	if got := openURL(t, url).pool.Config().MaxConns; got != 8 {
		t.Errorf("Options.MaxConns 8: pool bound %d", got)
	}
	s, err := Open(context.Background(), url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.pool.Config().MaxConns; got != DefaultMaxConns() {
		t.Errorf("default pool bound: got %d, want %d", got, DefaultMaxConns())
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	s2, err := Open(context.Background(), url+sep+"pool_max_conns=3", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.pool.Config().MaxConns; got != 3 {
		t.Errorf("pool_max_conns=3: pool bound %d", got)
	}
}
