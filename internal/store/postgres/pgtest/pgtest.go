// Package pgtest gives tests a fresh, empty PostgreSQL database on the
// server named by BASALT_TEST_POSTGRES (a postgres:// URL with rights to
// create databases; .ci/run starts one and sets it).
//
// When the variable is unset the test is skipped with a message saying so,
// except under CI=true, where a missing server fails the test: CI must never
// pass on skipped PostgreSQL tests.
package pgtest

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/basalt-dev/basalt/internal/random"
)

// EnvVar names the environment variable holding the server's URL.
const EnvVar = "BASALT_TEST_POSTGRES"

// ServerURL returns the URL of the test server, skipping (or, under CI,
// failing) t when none is configured.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI must run the PostgreSQL tests (see .ci/run)", EnvVar)
		}
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://user@127.0.0.1:port/postgres to run them", EnvVar)
	}
	return u
}

// NewDatabase creates an empty database for t, dropped when t ends, and
// returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	name := "basalt_test_" + random.String("abcdefghijklmnopqrstuvwxyz0123456789", 12)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvVar, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// DROP DATABASE waits until every backend of the server, in any
		// database, has acknowledged it (a ProcSignalBarrier), so a long
		// query of another test on the same server holds it up. A database
		// that cannot be dropped in time is left behind on the throwaway
		// server with a note, rather than failing a test that passed.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Logf("pgtest: connect to drop %s (left on the server): %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop database %s (left on the server): %v", name, err)
		}
	})
	parsed, err := url.Parse(server)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvVar, err)
	}
	parsed.Path = "/" + name
	return parsed.String()
}
