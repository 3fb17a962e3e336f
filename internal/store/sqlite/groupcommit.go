package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	modernc "modernc.org/sqlite"

	"github.com/basalt-dev/basalt/internal/store"
)

// Group commit. SQLite has one writer, and the cost of a small write
// transaction is mostly its COMMIT (the WAL frames of every page it touched,
// the WAL index, the checkpoint check), not its statements. So concurrent
// InTx calls share one transaction: the caller holding the writer runs its fn
// inside a SAVEPOINT and then, when other callers wait, hands the writer to
// the next one with the transaction still open instead of committing. The
// last caller of a group (no one waiting, or maxGroup reached) commits.
//
//   - A caller's fn sees the writes of the callers before it in its group, as
//     it would have seen them committed without grouping.
//   - A failing fn (error, panic, canceled ctx) rolls back to its savepoint:
//     only its own work is undone, and it returns at once.
//   - A successful caller returns only after the shared COMMIT: nil if it
//     succeeded, and the commit's error for every caller of the group if it
//     failed. Durability is the same as for a transaction of one.
//   - If SQLite rolls the whole transaction back by itself (an interrupted
//     write statement, an I/O error, out of memory), every caller of the group
//     gets an error, and the next caller starts a new transaction.

// maxGroup bounds the callers that share one transaction, so that a steady
// stream of writers still commits regularly.
const maxGroup = 64

// savepointName is the savepoint each caller's fn runs in.
const savepointName = "basalt_caller"

// errRolledBack is the cause reported to the callers of a group whose
// transaction SQLite rolled back.
var errRolledBack = errors.New("the shared write transaction was rolled back")

// writerLock hands the writer connection from caller to caller in arrival
// order. Whoever holds it owns the open group, if any: it must either hand
// both on or finish the group.
type writerLock struct {
	mu    sync.Mutex
	held  bool
	queue []chan struct{} // one per waiting caller, closed when it is handed the writer
	// since is when the writer was last taken while free; busy sums the
	// periods it was held (handovers keep it held).
	since time.Time
	busy  time.Duration
}

// acquire waits for the writer. It returns ctx's error if ctx ends first,
// unless the writer was handed over in the meantime: then the caller holds
// it (and must check ctx itself).
func (l *writerLock) acquire(ctx context.Context) error {
	l.mu.Lock()
	if !l.held {
		l.held = true
		l.since = time.Now()
		l.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	l.queue = append(l.queue, ready)
	l.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if i := slices.Index(l.queue, ready); i >= 0 {
			l.queue = slices.Delete(l.queue, i, i+1)
			return ctx.Err()
		}
		return nil // handed over as ctx ended
	}
}

// handoff passes the writer to the longest-waiting caller and reports
// whether there was one.
func (l *writerLock) handoff() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.handoffLocked()
}

func (l *writerLock) handoffLocked() bool {
	if len(l.queue) == 0 {
		return false
	}
	next := l.queue[0]
	l.queue[0] = nil
	l.queue = l.queue[1:]
	close(next)
	return true
}

// release passes the writer on, or frees it when no one waits.
func (l *writerLock) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.handoffLocked() {
		l.held = false
		l.busy += time.Since(l.since)
	}
}

// busyTime returns how long the writer has been held in all.
func (l *writerLock) busyTime() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held {
		return l.busy + time.Since(l.since)
	}
	return l.busy
}

// group is one write transaction shared by callers.
type group struct {
	conn *sql.Conn
	// joined counts the callers that ran in the transaction; members, those
	// whose work it holds and who wait for the commit.
	joined, members int
	// appended is the highest event seq the members appended (the events
	// of callers rolled back to their savepoint are not counted: SQLite
	// gives their seqs out again).
	appended int64
	// seqs gives the seqs of the events appended in the transaction.
	seqs seqCounter
	// rolledBack is set by SQLite's rollback hook: the transaction is gone.
	rolledBack atomic.Bool
	done       chan struct{} // closed when err holds the outcome
	err        error
}

// groupStats counts commits and the callers they acknowledged, for
// benchmarks and metrics.
type groupStats struct {
	commits, callers atomic.Int64
}

// WriterStats reports the commits of the writer, the callers they
// acknowledged and how long the writer has been held.
func (s *Store) WriterStats() store.WriterStats {
	return store.WriterStats{Commits: s.groups.commits.Load(), Callers: s.groups.callers.Load(), Busy: s.writer.busyTime()}
}

// InTx runs fn in a write transaction on the writer connection, shared with
// concurrent callers (group commit, see above). fn's work is committed when
// fn returns nil and rolled back otherwise (also when fn panics or ctx is
// canceled before fn's work is done). It returns fn's error unchanged, or the
// commit's error. Starting and committing are retried while another process
// holds the write lock; if it keeps it, the error is Unavailable. Calling
// InTx again from inside fn deadlocks (there is one writer): use the Tx.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return formatError(ctx, fmt.Errorf("acquiring writer: %w", err))
	}
	if err := s.writer.acquire(ctx); err != nil {
		return formatError(ctx, fmt.Errorf("acquiring writer: %w", err))
	}
	// From here on this caller holds the writer and must pass it on.
	g := s.open
	if err := ctx.Err(); err != nil {
		if g != nil {
			s.finish(g)
		} else {
			s.writer.release()
		}
		return formatError(ctx, err)
	}
	if g == nil {
		var err error
		if g, err = s.begin(ctx); err != nil {
			s.writer.release()
			return err
		}
		s.open = g
	}
	g.joined++
	return s.runCaller(ctx, g, fn)
}

// begin starts a group's transaction on the writer connection.
func (s *Store) begin(ctx context.Context) (*group, error) {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("acquiring writer: %w", err))
	}
	g := &group{conn: conn, done: make(chan struct{})}
	err = conn.Raw(func(dc any) error {
		h, ok := dc.(modernc.HookRegisterer)
		if !ok {
			return fmt.Errorf("sqlite driver connection %T registers no hooks", dc)
		}
		h.RegisterRollbackHook(func() { g.rolledBack.Store(true) })
		return nil
	})
	if err == nil {
		err = s.retryBusy(ctx, func() error {
			_, err := writeConn{conn, &s.wstmts}.ExecContext(ctx, "BEGIN IMMEDIATE")
			return err
		})
	}
	if err != nil {
		conn.Close()
		return nil, formatError(ctx, fmt.Errorf("beginning transaction: %w", err))
	}
	return g, nil
}

// runCaller runs fn in a savepoint of g's transaction and then passes the
// writer on (finish). It waits for the commit only when fn succeeded.
func (s *Store) runCaller(ctx context.Context, g *group, fn func(tx store.Tx) error) error {
	// Savepoint statements run to completion whatever ctx does: an interrupt
	// there would end the shared transaction.
	bg := context.WithoutCancel(ctx)
	wc := writeConn{g.conn, &s.wstmts}
	if _, err := wc.ExecContext(bg, "SAVEPOINT "+savepointName); err != nil {
		s.abort(g)
		return formatError(ctx, fmt.Errorf("opening savepoint: %w", err))
	}
	mark := g.seqs // the caller's events are undone with its savepoint
	done := false
	defer func() {
		if !done { // fn panicked; the panic goes on after the writer is passed on
			g.seqs = mark
			s.undo(g)
			s.finish(g)
		}
	}()
	t := &tx{reader: reader{q: g.conn, filters: s.filters, tables: s.tables}, conn: wc, lastSeq: &s.lastSeq, seqs: &g.seqs}
	err := fn(t)
	done = true
	if err == nil && ctx.Err() != nil {
		err = formatError(ctx, ctx.Err())
	}
	if err != nil {
		g.seqs = mark
		s.undo(g)
		s.finish(g)
		return err
	}
	if g.rolledBack.Load() {
		// A statement of fn failed in a way that ended the transaction, and
		// fn went on regardless.
		s.abort(g)
		return formatError(ctx, fmt.Errorf("committing transaction: %w", errRolledBack))
	}
	if _, err := wc.ExecContext(bg, "RELEASE "+savepointName); err != nil {
		s.abort(g)
		return formatError(ctx, fmt.Errorf("releasing savepoint: %w", err))
	}
	g.members++
	g.appended = max(g.appended, t.appended)
	s.finish(g)
	<-g.done
	if g.err != nil {
		return formatError(ctx, g.err)
	}
	return nil
}

// undo rolls the current caller's savepoint back. When that fails the
// transaction's state is unknown, and the whole group is rolled back.
func (s *Store) undo(g *group) {
	if g.rolledBack.Load() {
		return // nothing left to undo; finish fails the group
	}
	ctx := context.Background()
	if _, err := g.conn.ExecContext(ctx, "ROLLBACK TO "+savepointName); err != nil {
		s.logger.Error("sqlite rollback to savepoint failed; rolling back the transaction", "err", err)
		g.rolledBack.Store(true)
		return
	}
	if _, err := g.conn.ExecContext(ctx, "RELEASE "+savepointName); err != nil {
		s.logger.Error("sqlite release of a rolled back savepoint failed; rolling back the transaction", "err", err)
		g.rolledBack.Store(true)
	}
}

// finish is called by the caller holding the writer when its part of g is
// done. It hands the writer, with g still open, to a waiting caller when there
// is one and g has room; otherwise it ends g (commit, or rollback when g holds
// no one's work or SQLite rolled it back) and then passes the writer on.
func (s *Store) finish(g *group) {
	if g.rolledBack.Load() {
		s.abort(g)
		return
	}
	if g.joined < maxGroup {
		if s.writer.handoff() {
			return
		}
		// Let goroutines that are about to write reach the queue: under load
		// they join this commit instead of each paying for their own.
		runtime.Gosched()
		if s.writer.handoff() {
			return
		}
	}
	s.open = nil
	if g.members == 0 {
		s.rollback(g.conn)
		s.end(g, nil)
		return
	}
	// Commit is not cut short by any caller's ctx: the callers' work is
	// complete, and a commit interrupted halfway would leave the outcome
	// unclear to them.
	ctx := context.Background()
	err := s.retryBusy(ctx, func() error {
		_, err := writeConn{g.conn, &s.wstmts}.ExecContext(ctx, "COMMIT")
		return err
	})
	if err == nil && g.rolledBack.Load() {
		err = errRolledBack
	}
	if err == nil {
		if s.ckpt != nil {
			s.ckpt.committed()
		}
		if s.groups.commits.Add(1)%optimizeEvery == 0 {
			s.optimize(g.conn)
		}
		s.groups.callers.Add(int64(g.members))
		s.committedSeq(g.appended)
	}
	if err != nil {
		s.rollback(g.conn)
		err = fmt.Errorf("committing transaction: %w", err)
	}
	s.end(g, err)
}

// abort rolls g's transaction back and fails every caller waiting on it.
func (s *Store) abort(g *group) {
	s.open = nil
	s.rollback(g.conn)
	s.end(g, fmt.Errorf("committing transaction: %w", errRolledBack))
}

// end publishes g's outcome to its callers, returns the connection to the
// pool and passes the writer on.
func (s *Store) end(g *group, err error) {
	g.err = err
	_ = g.conn.Raw(func(dc any) error { s.wstmts.releaseIfDiscarded(dc); return nil })
	g.conn.Close()
	close(g.done)
	s.writer.release()
}
