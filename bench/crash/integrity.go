package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	// The SQLite driver Basalt itself uses, so that the files are read as
	// the server reads them.
	_ "modernc.org/sqlite"
)

// checkImage checks the SQLite file name (with its WAL) as the kill of
// round n left it: it copies the files, opens the copy, which recovers the
// WAL as a restarting server would, and runs the integrity checks there. The
// server's own files are left for the server.
func (t *test) checkImage(ctx context.Context, n int, name string) bool {
	dir := filepath.Join(t.work, "images", fmt.Sprintf("round-%02d", n))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.problems = append(t.problems, err.Error())
		return false
	}
	defer os.RemoveAll(dir)
	for _, suffix := range []string{"", "-wal"} {
		err := copyFile(filepath.Join(t.dataDir(), name+suffix), filepath.Join(dir, name+suffix))
		if err != nil && !(suffix != "" && errors.Is(err, os.ErrNotExist)) {
			t.problems = append(t.problems, fmt.Sprintf("round %d: copying %s%s: %v", n, name, suffix, err))
			return false
		}
	}
	return t.checkFiles(ctx, fmt.Sprintf("round %d image", n), dir, name, false)
}

// checkFiles runs the integrity checks on dir/name and records the result;
// readOnly opens the file read-only (no server may be running on it).
func (t *test) checkFiles(ctx context.Context, label, dir, name string, readOnly bool) bool {
	problems, err := integrity(ctx, filepath.Join(dir, name), readOnly)
	if err != nil {
		problems = append(problems, err.Error())
	}
	for _, p := range problems {
		t.problems = append(t.problems, fmt.Sprintf("%s: %s: %s", label, name, p))
	}
	if len(problems) > 0 {
		return false
	}
	if strings.HasPrefix(label, "final") {
		t.checks = append(t.checks, fmt.Sprintf("final %s integrity_check ok, foreign_key_check ok", name))
	} else {
		t.images++
	}
	return true
}

// integrity runs PRAGMA integrity_check, which must answer the single row
// "ok", and PRAGMA foreign_key_check, which must answer no rows, on the
// SQLite database at path.
func integrity(ctx context.Context, path string, readOnly bool) (problems []string, err error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	if readOnly {
		q.Set("mode", "ro")
	}
	u := url.URL{Scheme: "file", Opaque: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return nil, fmt.Errorf("integrity_check: %w", err)
	}
	var lines []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, fmt.Errorf("integrity_check: %w", err)
		}
		lines = append(lines, s)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("integrity_check: %w", err)
	}
	if len(lines) != 1 || lines[0] != "ok" {
		problems = append(problems, "integrity_check: "+strings.Join(lines, "; "))
	}

	rows, err = db.QueryContext(ctx, "PRAGMA foreign_key_check")
	if err != nil {
		return problems, fmt.Errorf("foreign_key_check: %w", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return problems, fmt.Errorf("foreign_key_check: %w", err)
		}
		problems = append(problems, fmt.Sprintf("foreign_key_check: %v", vals))
	}
	return problems, rows.Err()
}

// copyFile copies src to dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
