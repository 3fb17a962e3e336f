package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Snapshot writes a consistent copy of the database to path, which must not
// exist yet, while the store keeps serving reads and writes.
//
// The copy is made with VACUUM INTO on a connection of its own: it reads the
// database inside one read transaction, which in WAL mode sees a single
// committed state and never blocks the writer (writers append to the WAL
// meanwhile; checkpoints simply cannot pass the snapshot until it ends).
// The writer connection is not involved at all.
func (s *Store) Snapshot(ctx context.Context, path string) error {
	var seq int
	var name, file string
	if err := s.read.QueryRowContext(ctx, "PRAGMA database_list").Scan(&seq, &name, &file); err != nil {
		return fmt.Errorf("snapshot: locating the database file: %w", err)
	}
	return SnapshotFile(ctx, file, path)
}

// SnapshotFile writes a consistent copy of the SQLite database file src to
// dst (which must not exist) without blocking writers of src in WAL mode.
// It serves databases that are not a Store, such as the log database.
func SnapshotFile(ctx context.Context, src, dst string) error {
	if src == "" || dst == "" {
		return errors.New("snapshot: empty path")
	}
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("snapshot: %s already exists", dst)
	}
	db, err := sql.Open("sqlite", dsn(src, []string{"busy_timeout(10000)"}))
	if err != nil {
		return fmt.Errorf("snapshot: opening %s: %w", src, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		_ = os.Remove(dst)
		return fmt.Errorf("snapshot: copying %s: %w", src, err)
	}
	return nil
}

// CheckFile opens the SQLite database file at path read-only and runs
// PRAGMA integrity_check on it. It reports an error when the file is not a
// database or is damaged.
func CheckFile(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("checking database: %w", err)
	}
	u := dsn(path, []string{"busy_timeout(5000)", "query_only(1)"})
	db, err := sql.Open("sqlite", u)
	if err != nil {
		return fmt.Errorf("checking database: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return fmt.Errorf("checking database: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("checking database: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("checking database: %w", err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = problems[:5]
		}
		return fmt.Errorf("database integrity check failed: %s", strings.Join(problems, "; "))
	}
	return nil
}
