package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/basalt-dev/basalt/internal/audit"
)

// auditCmd runs "basalt audit verify": it walks the audit log's hash chain
// and reports "ok, N entries", or the first altered, inserted or deleted
// entry as an error (so the process exits 1).
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, pos, err := parseFlags("audit", args, getenv, stderr)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "verify" {
		return errors.New("usage: basalt audit verify [--dir DIR | --db URL]")
	}
	if o.db == "" {
		// Verifying must not create an empty database where none was.
		if _, err := os.Stat(filepath.Join(o.dir, "data.db")); err != nil {
			return fmt.Errorf("no database in %s: %w", o.dir, err)
		}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := openStore(ctx, o.dir, o.db, logger)
	if err != nil {
		return fmt.Errorf("opening database: %w", err)
	}
	defer st.Close()
	n, err := audit.Verify(ctx, st)
	if err != nil {
		var b *audit.Break
		if errors.As(err, &b) {
			fmt.Fprintf(stdout, "audit log broken after %d good entries: %v\n", n, err)
		}
		return err
	}
	fmt.Fprintf(stdout, "ok, %d entries\n", n)
	return nil
}
