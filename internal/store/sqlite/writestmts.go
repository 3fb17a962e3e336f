package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
)

// maxWriterStmts bounds the prepared statements kept for the writer.
const maxWriterStmts = 128

// writerStmts keeps the writer connection's prepared statements by SQL
// text. Writes repeat a few statements (a collection's INSERT, the outbox
// INSERT, SAVEPOINT and RELEASE), and SQLite's parse and plan step was a
// seventh of a create's cost when every Exec prepared its statement anew.
// Statements are prepared on the driver connection itself: database/sql
// ties a prepared *sql.Stmt to the *sql.Conn it came from, and the writer
// takes a new *sql.Conn (the same driver connection) per transaction.
//
// Only the holder of the writer uses it, so it needs no lock. SQLite
// re-prepares a cached statement by itself after a schema change.
type writerStmts struct {
	dc    any // the driver connection the statements belong to
	stmts map[string]driver.Stmt
}

// writeConn is the writer connection of a transaction: its ExecContext
// runs through the statement cache.
type writeConn struct {
	*sql.Conn
	cache *writerStmts
}

// execRow is ExecContext for a statement that writes one row by its key
// (a record, an outbox or audit entry): ctx is checked before it runs, but
// it is not interrupted while it runs. It takes microseconds, while the
// goroutine the driver starts for every statement given a cancellable
// context, to interrupt it, cost about 4% of a record create.
func (c writeConn) execRow(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.ExecContext(context.WithoutCancel(ctx), query, args...)
}

// queryInt runs query, which answers one integer and takes microseconds,
// through the statement cache, not interrupted while it runs (as execRow).
func (c writeConn) queryInt(ctx context.Context, query string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	ctx = context.WithoutCancel(ctx)
	var n int64
	err := c.Raw(func(dc any) error {
		st, err := c.cache.prepared(ctx, dc, query)
		if err != nil {
			return err
		}
		q, ok := st.(driver.StmtQueryContext)
		if !ok {
			return fmt.Errorf("sqlite statement %T cannot query", st)
		}
		rows, err := q.QueryContext(ctx, nil)
		if err != nil {
			return err
		}
		defer rows.Close()
		dest := make([]driver.Value, 1)
		if err := rows.Next(dest); err != nil {
			return fmt.Errorf("reading %q: %w", query, err)
		}
		v, ok := dest[0].(int64)
		if !ok {
			return fmt.Errorf("%q answered %T, not an integer", query, dest[0])
		}
		n = v
		return nil
	})
	return n, err
}

// ExecContext runs query with args on the writer, preparing it once.
// Arguments are converted as database/sql converts them.
func (c writeConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		v, err := driver.DefaultParameterConverter.ConvertValue(a)
		if err != nil {
			return nil, fmt.Errorf("converting argument %d: %w", i+1, err)
		}
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	var res driver.Result
	err := c.Raw(func(dc any) error {
		st, err := c.cache.prepared(ctx, dc, query)
		if err != nil {
			return err
		}
		res, err = st.(driver.StmtExecContext).ExecContext(ctx, named)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// prepared returns the statement for query on the driver connection dc.
func (w *writerStmts) prepared(ctx context.Context, dc any, query string) (driver.Stmt, error) {
	if w.dc != dc {
		// database/sql replaced the connection without release being
		// called first: the old statements went with it. They cannot be
		// closed now; they are dropped.
		w.dc, w.stmts = dc, nil
	}
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("sqlite driver connection %T cannot prepare statements", dc)
	}
	st, err := pc.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := st.(driver.StmtExecContext); !ok {
		st.Close()
		return nil, fmt.Errorf("sqlite statement %T cannot execute with a context", st)
	}
	if len(w.stmts) >= maxWriterStmts {
		w.release(dc)
		w.dc = dc
	}
	if w.stmts == nil {
		w.stmts = make(map[string]driver.Stmt)
	}
	w.stmts[query] = st
	return st, nil
}

// release forgets every statement, finalizing them when they belong to
// dc, the open driver connection the caller holds (within (*sql.Conn).Raw).
// Statements of a connection already closed cannot be finalized: SQLite's
// handle went with it.
func (w *writerStmts) release(dc any) {
	if w.dc == dc {
		for _, st := range w.stmts {
			st.Close()
		}
	}
	w.dc, w.stmts = nil, nil
}

// releaseIfDiscarded releases the statements when database/sql is about to
// discard dc as it returns to the pool (after an interrupted statement,
// SQLite's driver reports the connection invalid): they are finalized while
// the connection is still open.
func (w *writerStmts) releaseIfDiscarded(dc any) {
	if v, ok := dc.(driver.Validator); ok && !v.IsValid() {
		w.release(dc)
	}
}
