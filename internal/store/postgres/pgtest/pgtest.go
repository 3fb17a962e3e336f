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
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("pgtest: connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	parsed, err := url.Parse(server)
	if err != nil {
		t.Fatalf("pgtest: %s is not a URL: %v", EnvVar, err)
	}
	parsed.Path = "/" + name
	return parsed.String()
}
