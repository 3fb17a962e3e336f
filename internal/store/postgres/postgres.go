package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/store"
)

// Options tune the engine. The zero value is the default.
type Options struct {
	// MaxConns bounds the connection pool. 0 means the URL's
	// pool_max_conns parameter when it has one, otherwise DefaultMaxConns.
	MaxConns int32
	// Logger receives the engine's warnings; nil discards them.
	Logger *slog.Logger
}

// DefaultMaxConns returns the pool bound used when none is configured:
// four connections per core, at least 8. Writers use one connection at a
// time (they are serialized), the rest serve reads.
func DefaultMaxConns() int32 {
	return int32(max(8, 4*runtime.GOMAXPROCS(0)))
}

// Advisory lock keys (pg_advisory_xact_lock), the same on every replica.
// They are scoped to the database, so that several Basalt databases on one
// server do not contend.
const (
	// writerLockKey serializes InTx across connections and replicas.
	writerLockKey int64 = 0x6261_7361_6c74_0001 // "basalt" 1
	// migrateLockKey makes concurrent Opens apply system migrations once.
	migrateLockKey int64 = 0x6261_7361_6c74_0002
)

// beginWriter returns the statements that start a write transaction
// holding the writer lock.
func beginWriter() string {
	return fmt.Sprintf("BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(%d)", writerLockKey)
}

// Store is the PostgreSQL engine.
type Store struct {
	reader
	pool   *pgxpool.Pool
	logger *slog.Logger
	// writer admits one InTx of this process at a time, so that writers
	// waiting for the cluster-wide lock never hold more than one pooled
	// connection and reads keep the rest.
	writer chan struct{}
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by url (postgres://… or a libpq
// key=value string), bounded by opts.MaxConns connections, and brings its
// system tables up to date. Several processes may Open one database at
// once: the migrations run once, under an advisory lock.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("opening postgres store: parsing the connection string: %w", err)
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns()
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	// Every statement is parsed on each run (one round trip, no prepared
	// statement kept per connection): collection tables change shape at
	// run time, and a cached statement whose result columns changed would
	// fail, inside a transaction for good.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.ConnConfig.RuntimeParams["application_name"] = "basalt"
	// Dates are text in Basalt's own layout; nothing depends on the
	// session's time zone, but keep it fixed for anything printed.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening postgres store: %w", err)
	}
	s := &Store{pool: pool, logger: logger, writer: make(chan struct{}, 1)}
	s.reader = reader{q: pool, filters: filter.NewCache(filterCacheSize), tables: newTableCache()}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("opening postgres store: %w", formatError(ctx, err))
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrating postgres system tables: %w", err)
	}
	return s, nil
}

// Close releases the pool's connections, waiting for those in use.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// InTx runs fn in one transaction (READ COMMITTED) that first takes the
// cluster-wide writer lock, a transaction-scoped advisory lock released by
// the commit or rollback. It commits when fn returns nil and rolls back
// otherwise (also when fn panics or ctx is canceled before the commit),
// returning fn's error unchanged. Calling InTx again from inside fn
// deadlocks: use the Tx.
//
// Serializing writers is what the port promises (a read-modify-write in fn
// never loses an update, as on SQLite's single writer) and what orders the
// outbox: a writer draws its event seqs while holding the lock and commits
// before releasing it, so seq order is commit order everywhere.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return formatError(ctx, err)
	}
	select {
	case s.writer <- struct{}{}:
	case <-ctx.Done():
		return formatError(ctx, ctx.Err())
	}
	defer func() { <-s.writer }()

	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return formatError(ctx, fmt.Errorf("acquiring a connection: %w", err))
	}
	defer conn.Release()
	// BEGIN and the lock travel in one round trip (simple protocol; the key
	// is a constant).
	ptx, err := conn.BeginTx(ctx, pgx.TxOptions{BeginQuery: beginWriter()})
	if err != nil {
		return formatError(ctx, fmt.Errorf("beginning transaction and taking the writer lock: %w", err))
	}
	done := false
	defer func() {
		if !done { // fn panicked
			s.rollback(ptx, conn)
		}
	}()
	if err := fn(&tx{reader: reader{q: ptx, filters: s.filters, tables: s.tables}, tx: ptx}); err != nil {
		done = true
		s.rollback(ptx, conn)
		return err
	}
	if err := ctx.Err(); err != nil {
		done = true
		s.rollback(ptx, conn)
		return formatError(ctx, err)
	}
	// Commit is not cut short by ctx: fn's work is complete, and a commit
	// interrupted halfway would leave the outcome unclear to the caller.
	err = ptx.Commit(context.WithoutCancel(ctx))
	done = true
	if err != nil {
		s.rollback(ptx, conn)
		return formatError(ctx, fmt.Errorf("committing transaction: %w", err))
	}
	return nil
}

// rollback ends the transaction; when that fails the connection is closed
// rather than returned to the pool with a transaction open.
func (s *Store) rollback(ptx pgx.Tx, conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ptx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		s.logger.Error("postgres rollback failed; closing the connection", "err", err)
		_ = conn.Conn().Close(ctx)
	}
}

// tx is a write transaction.
type tx struct {
	reader
	tx pgx.Tx
	// notified is set once the transaction has queued its commit
	// notification for event listeners (see ListenEvents).
	notified bool
}

var _ store.Tx = (*tx)(nil)

// exec runs one writing statement inside a savepoint, so that a failing
// statement (a unique violation, say) leaves the transaction usable, as a
// failing statement does on SQLite. The savepoint, the statement and the
// release travel in one round trip.
func (t *tx) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT basalt_stmt")
	b.Queue(sql, args...)
	b.Queue("RELEASE SAVEPOINT basalt_stmt")
	br := t.tx.SendBatch(ctx, b)
	_, spErr := br.Exec()
	tag, err := br.Exec()
	_, relErr := br.Exec()
	closeErr := br.Close()
	if spErr != nil {
		return tag, spErr
	}
	if err == nil {
		return tag, errors.Join(relErr, closeErr)
	}
	bg := context.WithoutCancel(ctx)
	if _, rbErr := t.tx.Exec(bg, "ROLLBACK TO SAVEPOINT basalt_stmt"); rbErr != nil {
		return tag, errors.Join(err, rbErr)
	}
	_, _ = t.tx.Exec(bg, "RELEASE SAVEPOINT basalt_stmt")
	return tag, err
}

// queryRow runs one writing statement that returns a row (INSERT …
// RETURNING) inside a savepoint, as exec does, scanning the row into dst.
func (t *tx) queryRow(ctx context.Context, dst []any, sql string, args ...any) error {
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT basalt_stmt")
	b.Queue(sql, args...)
	b.Queue("RELEASE SAVEPOINT basalt_stmt")
	br := t.tx.SendBatch(ctx, b)
	_, spErr := br.Exec()
	err := br.QueryRow().Scan(dst...)
	_, relErr := br.Exec()
	closeErr := br.Close()
	if spErr != nil {
		return spErr
	}
	if err == nil {
		return errors.Join(relErr, closeErr)
	}
	bg := context.WithoutCancel(ctx)
	if _, rbErr := t.tx.Exec(bg, "ROLLBACK TO SAVEPOINT basalt_stmt"); rbErr != nil {
		return errors.Join(err, rbErr)
	}
	_, _ = t.tx.Exec(bg, "RELEASE SAVEPOINT basalt_stmt")
	return err
}

// savepoint runs fn inside a savepoint of the transaction, so that a failing
// multi-statement change leaves the transaction as it was.
func (t *tx) savepoint(ctx context.Context, fn func() error) error {
	if _, err := t.tx.Exec(ctx, "SAVEPOINT basalt_change"); err != nil {
		return formatError(ctx, fmt.Errorf("opening savepoint: %w", err))
	}
	if err := fn(); err != nil {
		// Rolling back must not be cut short by a canceled ctx.
		bg := context.WithoutCancel(ctx)
		if _, rbErr := t.tx.Exec(bg, "ROLLBACK TO SAVEPOINT basalt_change"); rbErr == nil {
			_, _ = t.tx.Exec(bg, "RELEASE SAVEPOINT basalt_change")
		}
		return err
	}
	if _, err := t.tx.Exec(ctx, "RELEASE SAVEPOINT basalt_change"); err != nil {
		return formatError(ctx, fmt.Errorf("releasing savepoint: %w", err))
	}
	return nil
}

// internalf returns an Internal error for a broken invariant.
func internalf(format string, args ...any) error {
	return apperr.Wrap(apperr.Internal, "Something went wrong while processing your request.", fmt.Errorf(format, args...))
}
