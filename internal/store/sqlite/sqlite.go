package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/store"
)

// options are the connection settings; tests shorten the waits.
type options struct {
	// busyTimeout makes SQLite wait inside the driver before a lock attempt
	// reports SQLITE_BUSY (another process holds the write lock). On top of
	// that, starting and committing a write transaction are retried
	// busyRetries times with exponential backoff.
	busyTimeout                      time.Duration
	busyRetries                      int
	busyBackoffFirst, busyBackoffMax time.Duration
}

var defaultOptions = options{
	busyTimeout:      5 * time.Second,
	busyRetries:      6,
	busyBackoffFirst: 25 * time.Millisecond,
	busyBackoffMax:   800 * time.Millisecond,
}

// pragmas returns the settings every connection starts with. The readers
// leave journal_mode alone (WAL is a property of the file, set by the
// writer) and are query-only. Connections map up to 256 MiB of the
// database file: each commit empties every other connection's page cache,
// and pages then come back from the map instead of a read system call and
// a copy each (a quarter of a create's CPU went to the outbox readers'
// re-reads).
func (o options) pragmas(readOnly bool) []string {
	p := []string{
		fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()),
		"synchronous(NORMAL)",
		"foreign_keys(ON)",
		"temp_store(MEMORY)",
		"cache_size(-32000)",
		"mmap_size(268435456)",
	}
	if readOnly {
		return append(p, "query_only(1)")
	}
	// The checkpointer (checkpoint.go) copies the WAL back, not the writer.
	return append(p, "journal_mode(WAL)", "journal_size_limit(200000000)", "wal_autocheckpoint(0)")
}

// checkpointPragmas returns the settings of the checkpointer's connection.
func (o options) checkpointPragmas() []string {
	return []string{fmt.Sprintf("busy_timeout(%d)", o.busyTimeout.Milliseconds()), "synchronous(NORMAL)", "journal_size_limit(200000000)"}
}

// Store is the SQLite engine. Every write transaction runs on one writer
// connection; reads outside transactions use a separate read-only pool, which
// WAL mode lets proceed while a writer is active.
type Store struct {
	reader
	write  *sql.DB
	read   *sql.DB
	stmts  *stmtCache
	logger *slog.Logger
	opts   options
	// writer passes the writer connection between InTx callers; open is the
	// transaction they share, owned by whoever holds writer (groupcommit.go).
	writer writerLock
	open   *group
	groups groupStats
	// wstmts are the writer's prepared statements, used by whoever holds
	// the writer.
	wstmts writerStmts
	ckpt   *checkpointer
	// lastSeq is the highest event seq committed (LastEventSeq): read from
	// the file at open, then raised after each commit by the writer, which
	// is the only one (one process owns the file).
	lastSeq atomic.Int64
	closed  atomic.Bool
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and brings its
// system tables up to date.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	return open(ctx, path, logger, defaultOptions)
}

func open(ctx context.Context, path string, logger *slog.Logger, opts options) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// Separate writer and reader pools must reach the same file.
		return nil, fmt.Errorf("opening sqlite store: path must name a database file, got %q", path)
	}
	write, err := sql.Open("sqlite", dsn(path, opts.pragmas(false)))
	if err != nil {
		return nil, fmt.Errorf("opening sqlite writer: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)

	readConns := max(4, 2*runtime.GOMAXPROCS(0))
	read, err := sql.Open("sqlite", dsn(path, opts.pragmas(true)))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("opening sqlite readers: %w", err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	// Readers load the planner's statistics when they connect: renewing
	// them now and then brings in what optimize refreshed since.
	read.SetConnMaxLifetime(readerLifetime)

	s := &Store{write: write, read: read, logger: logger, opts: opts}
	s.stmts = newStmtCache(read)
	s.reader = reader{q: cachedQuerier{DB: read, cache: s.stmts}, filters: filter.NewCache(filterCacheSize), tables: newTableCache()}
	// The writer connects first: it switches the file to WAL mode, which the
	// query-only readers could not do.
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("migrating sqlite system tables: %w", err)
	}
	s.optimize(write)
	if err := read.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("opening sqlite readers: %w", err)
	}
	if err := s.loadLastSeq(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.startCheckpointer(path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds the driver's connection string: a file: URI whose _pragma
// parameters run on every new connection.
func dsn(path string, pragmas []string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Opaque: escapePath(path), RawQuery: q.Encode()}
	return u.String()
}

// escapePath percent-encodes the characters that would end the path part of
// a file: URI.
func escapePath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(p)
}

// readerLifetime is how long a reader connection is used before it is
// replaced (and so reloads the planner's statistics).
const readerLifetime = 10 * time.Minute

// optimizeEvery is how many commits pass between two refreshes of the
// query planner's statistics while the store is open.
const optimizeEvery = 2000

// execer runs a statement: the writer pool or its connection.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// optimize refreshes the query planner's statistics of every table whose
// size changed much since they were taken (PRAGMA optimize with 0x10000:
// all tables, not only those this connection queried). Without it the
// statistics of a database first opened nearly empty (by `basalt superuser
// upsert`, say) keep saying "_events has one row", and SQLite then plans
// the outbox read WHERE seq > ? as a scan of the whole table, which grows
// with every write. Run on the writer; a failure is only logged.
func (s *Store) optimize(w execer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := w.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		s.logger.Warn("sqlite optimize failed", "err", err)
	}
	// The outbox is read only by seq ranges, which SQLite plans best
	// without statistics; and its size changes too fast for them.
	// ANALYZE sqlite_schema makes this connection load the result.
	if _, err := w.ExecContext(ctx, `DELETE FROM "sqlite_stat1" WHERE "tbl" = '_events'`); err != nil && !strings.Contains(err.Error(), "no such table") {
		s.logger.Warn("sqlite: dropping the outbox statistics failed", "err", err)
	} else if _, err := w.ExecContext(ctx, "ANALYZE sqlite_schema"); err != nil {
		s.logger.Warn("sqlite: reloading the planner statistics failed", "err", err)
	}
}

// Close releases both connection pools. It first lets SQLite refresh the
// statistics its query planner uses (PRAGMA optimize), which is cheap.
func (s *Store) Close() error {
	s.closed.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if conn, err := s.write.Conn(ctx); err == nil {
		_ = conn.Raw(func(dc any) error { s.wstmts.release(dc); return nil })
		if _, err := conn.ExecContext(ctx, "PRAGMA optimize"); err != nil {
			s.logger.Warn("sqlite optimize on close failed", "err", err)
		}
		conn.Close()
	}
	if s.stmts != nil {
		s.stmts.close()
	}
	var ckptErr error
	if s.ckpt != nil {
		ckptErr = s.ckpt.close()
	}
	return errors.Join(ckptErr, s.read.Close(), s.write.Close())
}

// rollback ends the open transaction on conn. When that fails for any reason
// other than SQLite having already rolled back, the connection is discarded
// so that a half-open transaction never leaks into the next group.
func (s *Store) rollback(conn *sql.Conn) {
	_, err := conn.ExecContext(context.Background(), "ROLLBACK")
	if err == nil || strings.Contains(err.Error(), "no transaction is active") {
		return
	}
	s.logger.Error("sqlite rollback failed; discarding writer connection", "err", err)
	_ = conn.Raw(func(dc any) error { s.wstmts.release(dc); return driver.ErrBadConn })
}

// retryBusy runs op, retrying with bounded exponential backoff while it fails
// with SQLITE_BUSY (another process holds the write lock).
func (s *Store) retryBusy(ctx context.Context, op func() error) error {
	wait := s.opts.busyBackoffFirst
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil || !isBusy(err) || attempt >= s.opts.busyRetries {
			return err
		}
		s.logger.Warn("sqlite busy, retrying", "attempt", attempt+1, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, s.opts.busyBackoffMax)
	}
}

// tx is a write transaction on the writer connection.
type tx struct {
	reader
	conn writeConn
	// appended is the highest seq of the events appended through tx.
	appended int64
	// lastSeq is the store's highest committed event seq.
	lastSeq *atomic.Int64
	// seqs is the event seq counter of the group tx belongs to.
	seqs *seqCounter
}

var _ store.Tx = (*tx)(nil)

// internalf returns an Internal error for a broken invariant.
func internalf(format string, args ...any) error {
	return apperr.Wrap(apperr.Internal, "Something went wrong while processing your request.", fmt.Errorf(format, args...))
}
