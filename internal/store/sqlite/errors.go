package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	modernc "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// notUnique is the per-field problem reported for a unique violation.
var notUnique = apperr.Field{Code: "validation_not_unique", Message: "Value must be unique."}

// formatError translates a driver error into Basalt's error codes. It is the
// only place that knows SQLite's result codes and messages. Errors that are
// already *apperr.Error pass through unchanged; ctx tells an interrupt caused
// by cancellation apart from other failures.
func formatError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if apperr.As(err) != nil {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if ctxErr == nil {
			ctxErr = err
		}
		return apperr.Wrap(apperr.Unavailable, "The request was canceled or timed out.", errors.Join(ctxErr, err))
	}
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.Wrap(apperr.NotFound, "The requested resource wasn't found.", err)
	}
	var se *modernc.Error
	if !errors.As(err, &se) {
		return apperr.Wrap(apperr.Internal, "Something went wrong while processing your request.", err)
	}
	msg := se.Error()
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CONSTRAINT:
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			e := apperr.Wrap(apperr.Conflict, "Value must be unique.", err)
			if cols := uniqueColumns(msg); len(cols) > 0 {
				e.Data = make(map[string]any, len(cols))
				for _, c := range cols {
					e.Data[c] = notUnique
				}
			}
			return e
		}
		return apperr.Wrap(apperr.Invalid, "The data violates a constraint.", err)
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return apperr.Wrap(apperr.Unavailable, "The database is busy, try again later.", err)
	case sqlite3.SQLITE_INTERRUPT:
		return apperr.Wrap(apperr.Unavailable, "The request was canceled or timed out.", err)
	case sqlite3.SQLITE_FULL:
		return apperr.Wrap(apperr.Unavailable, "The database is full.", err)
	case sqlite3.SQLITE_TOOBIG:
		return apperr.Wrap(apperr.TooLarge, "The value is too large.", err)
	case sqlite3.SQLITE_ERROR:
		switch {
		case strings.Contains(msg, "no such table"):
			return apperr.Wrap(apperr.NotFound, "The requested resource wasn't found.", err)
		case strings.Contains(msg, "already exists"), strings.Contains(msg, "there is already"):
			return apperr.Wrap(apperr.Conflict, "A table or index with the same name already exists.", err)
		}
	}
	return apperr.Wrap(apperr.Internal, "Something went wrong while processing your request.", err)
}

// uniqueColumns extracts the column names from SQLite's
// "UNIQUE constraint failed: posts.title, posts.slug" message.
func uniqueColumns(msg string) []string {
	const marker = "constraint failed: "
	i := strings.Index(msg, marker)
	if i < 0 {
		return nil
	}
	rest := msg[i+len(marker):]
	if j := strings.IndexAny(rest, "()\n"); j >= 0 {
		rest = rest[:j]
	}
	var cols []string
	for _, part := range strings.Split(rest, ",") {
		part = strings.TrimSpace(part)
		if strings.HasPrefix(part, "index ") {
			return nil // an expression index: the column is unknown
		}
		if dot := strings.LastIndexByte(part, '.'); dot >= 0 {
			part = part[dot+1:]
		}
		if validIdent(part) {
			cols = append(cols, part)
		}
	}
	return cols
}

// isBusy reports whether err is SQLite's "database is locked" (SQLITE_BUSY),
// which is worth retrying.
func isBusy(err error) bool {
	var se *modernc.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
