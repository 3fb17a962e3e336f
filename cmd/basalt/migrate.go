package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/transfer"
)

const migrateUsage = "usage: basalt migrate --dir ./basalt_data --to postgres://… [--batch 500]"

// migrateParams are the _params rows a move carries: the settings and the
// asymmetric token signing keys. The other keys are the engine's own (the
// config versions), the webhook fan-out's outbox cursor (the outbox is not
// copied) and the audit head, which the copied audit log sets again.
var migrateParams = []string{settings.ParamKey, auth.SigningKeysParam}

// migrateCmd runs "basalt migrate": it copies the SQLite database of a data
// directory into an empty PostgreSQL database, then reads both back and
// compares them, failing when they differ (docs/scaling.md).
func migrateCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", envOr(getenv, "BASALT_DIR", "./basalt_data"), "data directory holding the SQLite database (data.db) to copy")
	to := fs.String("to", getenv("BASALT_DB"), "PostgreSQL database URL (postgres://…) to copy into; it must be empty")
	batch := fs.Int("batch", transfer.DefaultBatch, "rows per write transaction")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch <= 0 {
		return errors.New(migrateUsage)
	}
	if *to == "" {
		return errors.New("migrate: --to (or BASALT_DB) must name the PostgreSQL database to copy into; " + migrateUsage)
	}
	dbPath := filepath.Join(*dir, "data.db")
	// Opening a missing file would create an empty database to copy.
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("migrate: no SQLite database in %s: %w", *dir, err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	src, err := sqlite.Open(ctx, dbPath, logger)
	if err != nil {
		return fmt.Errorf("migrate: opening %s: %w", dbPath, err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, *to, postgres.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate: opening the PostgreSQL database: %w", err)
	}
	defer dst.Close()

	fmt.Fprintf(stdout, "Copying %s into %s.\n", dbPath, redactURL(*to))
	bar := newProgressBar(stdout, isTerminal(stdout), time.Now)
	opts := transfer.Options{Params: migrateParams, Batch: *batch, Progress: func(p transfer.Progress) {
		bar.update(p.Collection, p.Done, p.Total, p.Finished)
	}}
	started := time.Now()
	sum, err := transfer.Copy(ctx, src, dst, opts)
	if errors.Is(err, transfer.ErrNotEmpty) {
		return fmt.Errorf("migrate: %w; nothing was written (copy into a new, empty database)", err)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w (the target now holds part of the data: empty it before trying again)", err)
	}
	fmt.Fprintf(stdout, "Copied %d collections, %d records, %d _params rows, %d webhooks, %d webhook deliveries, %d audit log entries and %d jobs in %s.\n",
		sum.Collections, sum.Records, sum.Params, sum.Webhooks, sum.Deliveries, sum.AuditEntries, sum.Jobs, time.Since(started).Round(time.Millisecond))

	fmt.Fprintln(stdout, "Verifying: reading both databases back…")
	rep, err := transfer.Verify(ctx, src, dst, opts)
	if err != nil {
		return fmt.Errorf("migrate: verifying: %w", err)
	}
	failed := printReport(stdout, rep)
	if failed > 0 {
		return fmt.Errorf("migrate: verification failed: %d of %d checks differ", failed, len(rep.Checks))
	}
	fmt.Fprintf(stdout, "All %d checks match.\n", len(rep.Checks))
	fmt.Fprintf(stdout, "Uploaded files were not copied: they stay in %s. Serve the PostgreSQL database with --dir %s\n"+
		"(or that storage/ directory shared at every replica's --dir/storage). The request logs (auxiliary.db) stay behind too.\n",
		filepath.Join(*dir, "storage"), *dir)
	return nil
}

// printReport prints one line per check and returns how many failed.
func printReport(w io.Writer, rep *transfer.Report) int {
	fmt.Fprintf(w, "%-28s %12s %12s  %-12s  %s\n", "", "source rows", "target rows", "sha-256", "")
	failed := 0
	for _, c := range rep.Checks {
		status, sum := "ok", short(c.SourceSum)
		if !c.OK() {
			failed++
			status, sum = "MISMATCH (target "+short(c.TargetSum)+")", short(c.SourceSum)
		}
		target := fmt.Sprint(c.TargetRows)
		if c.TargetRows < 0 {
			target = "missing"
		}
		fmt.Fprintf(w, "%-28s %12d %12s  %-12s  %s\n", c.Name, c.SourceRows, target, sum, status)
	}
	return failed
}

func short(sum string) string { return sum[:min(len(sum), 12)] }

// redactURL hides a password in a database URL.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the PostgreSQL database"
}
