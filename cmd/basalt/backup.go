package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/basalt-dev/basalt/internal/backup"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/timed"
)

// postgresBackups is the answer of the backup endpoints and commands on a
// PostgreSQL database.
const postgresBackups = "Backups of a PostgreSQL database are made with PostgreSQL's own tools (pg_dump, pg_basebackup or continuous archiving); see docs/backups.md."

// snapshotFunc adapts a function to backup.Snapshotter.
type snapshotFunc func(ctx context.Context, path string) error

func (f snapshotFunc) Snapshot(ctx context.Context, path string) error { return f(ctx, path) }

// newBackups returns the backup service of the data directory dir whose
// main database is st (SQLite; anything else makes backups unsupported).
// The log database (auxiliary.db) goes into backups too when it exists.
func newBackups(dir string, st store.Store, set *settings.Service, logger *slog.Logger, restart func()) *backup.Service {
	opts := backup.Options{Dir: dir, Check: sqlite.CheckFile, Restart: restart, Logger: logger}
	if set != nil {
		opts.AppName = func() string { return set.Get().Meta.AppName }
	}
	// The metrics wrapper hides the engine's Snapshot: look underneath.
	snap, ok := timed.Unwrap(st).(backup.Snapshotter)
	if !ok {
		opts.Unsupported = postgresBackups
		return backup.New(opts)
	}
	opts.Databases = []backup.Database{{Name: "data.db", DB: snap}}
	aux := filepath.Join(dir, "auxiliary.db")
	opts.Databases = append(opts.Databases, backup.Database{Name: "auxiliary.db", DB: snapshotFunc(func(ctx context.Context, path string) error {
		if _, err := os.Stat(aux); err != nil {
			return backup.ErrNoDatabase // no log database yet
		}
		return sqlite.SnapshotFile(ctx, aux, path)
	})})
	return backup.New(opts)
}

// applyRestore swaps a staged restore in before any store opens.
func applyRestore(dir string, out io.Writer) error {
	applied, err := backup.Apply(dir)
	if err != nil {
		return err
	}
	if applied {
		fmt.Fprintf(out, "Restored a backup into %s.\n", dir)
	}
	return nil
}

// backupCommand runs "basalt backup create [NAME]" and "basalt backup
// restore NAME". A restore must run while no server uses the directory.
func backupCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	const use = "usage: basalt backup create [NAME.zip] | restore NAME.zip | list  [--dir ./basalt_data]"
	o, pos, err := parseFlags("backup", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New(use)
	}
	if o.db != "" {
		return errors.New(postgresBackups)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	switch {
	case pos[0] == "create" && len(pos) <= 2:
		a, err := open(ctx, o.dir, o.db, logger)
		if err != nil {
			return err
		}
		defer a.store.Close()
		defer a.closeBackground(context.WithoutCancel(ctx))
		name := ""
		if len(pos) == 2 {
			name = pos[1]
		}
		key, err := newBackups(o.dir, a.store, a.settings, logger, nil).Create(ctx, name)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(stdout, "Backup %s created in %s.\n", key, filepath.Join(o.dir, "backups"))
	case pos[0] == "list" && len(pos) == 1:
		svc := backup.New(backup.Options{Dir: o.dir})
		list, err := svc.List(ctx)
		if err != nil {
			return describe(err)
		}
		for _, b := range list {
			fmt.Fprintf(stdout, "%s\t%d\t%s\n", b.Key, b.Size, b.Modified.Format("2006-01-02 15:04:05Z"))
		}
	case pos[0] == "restore" && len(pos) == 2:
		// No store is opened: the backup is checked, staged and swapped in.
		svc := backup.New(backup.Options{Dir: o.dir, Check: sqlite.CheckFile,
			Databases: []backup.Database{{Name: "data.db"}, {Name: "auxiliary.db"}}})
		if err := svc.Stage(ctx, pos[1]); err != nil {
			return describe(err)
		}
		if err := applyRestore(o.dir, io.Discard); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Backup %s restored into %s.\n", pos[1], o.dir)
	default:
		return errors.New(use)
	}
	return nil
}
