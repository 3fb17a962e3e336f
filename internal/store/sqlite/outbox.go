package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// The outbox lives in the "_events" system table (migrations 0003_events
// and 0011_events_rowid). SQLite has one writer, so the seq of an appended
// event, one more than the highest seq ever committed or appended in the
// open transaction, is higher than that of every event committed before it,
// and readers (WAL snapshots of committed data) see events in commit order.
// Seqs are never given out twice once committed, even after pruning emptied
// the outbox: "_eventsPruned" keeps the highest seq pruning deleted, and the
// store keeps the highest committed one in memory (Store.lastSeq).

// eventsRowidMigration drops the AUTOINCREMENT of "_events": it made every
// append read and rewrite the table's sqlite_sequence row, about 6% of a
// record create. The seq the sequence held (the highest ever given out)
// moves to "_eventsPruned".
var eventsRowidMigration = systemMigration{
	name: "0011_events_rowid",
	sql: []string{
		`CREATE TABLE "_eventsPruned" (
			"one" INTEGER PRIMARY KEY CHECK ("one" = 1),
			"seq" INTEGER NOT NULL
		)`,
		`INSERT INTO "_eventsPruned" ("one", "seq")
			VALUES (1, COALESCE((SELECT "seq" FROM sqlite_sequence WHERE "name" = '_events'), 0))`,
		`CREATE TABLE "_events_rowid" (
			"seq"            INTEGER PRIMARY KEY,
			"id"             TEXT NOT NULL UNIQUE,
			"collectionId"   TEXT NOT NULL,
			"collectionName" TEXT NOT NULL,
			"recordId"       TEXT NOT NULL,
			"action"         TEXT NOT NULL,
			"before"         TEXT,
			"after"          TEXT,
			"created"        TEXT NOT NULL
		)`,
		`INSERT INTO "_events_rowid" SELECT ` + eventColumns + ` FROM "_events" ORDER BY "seq"`,
		`DROP TABLE "_events"`,
		`ALTER TABLE "_events_rowid" RENAME TO "_events"`,
	},
}

const (
	defaultEventBatch = 100
	// pruneChunk bounds the rows one pruning transaction deletes, so that
	// pruning a large backlog never holds the write lock for long.
	pruneChunk = 2000
)

const eventColumns = `"seq", "id", "collectionId", "collectionName", "recordId", "action", "before", "after", "created"`

// AppendEvent inserts e into the outbox within the transaction and sets
// e.Seq. Invalid when e is incomplete; Conflict when e.ID is taken.
func (t *tx) AppendEvent(ctx context.Context, e *store.Event) error {
	if e == nil || e.ID == "" || e.CollectionID == "" || e.RecordID == "" {
		return apperr.New(apperr.Invalid, "Incomplete event.")
	}
	switch e.Action {
	case store.ActionCreate, store.ActionUpdate, store.ActionDelete:
	default:
		return apperr.New(apperr.Invalid, "Unknown event action "+quoteMessage(string(e.Action))+".")
	}
	for _, doc := range []json.RawMessage{e.Before, e.After} {
		if doc != nil && !json.Valid(doc) {
			return apperr.New(apperr.Invalid, "Event record data is not valid JSON.")
		}
	}
	seq, err := t.nextSeq(ctx)
	if err != nil {
		return err
	}
	if _, err := t.conn.execRow(ctx, `INSERT INTO "_events" (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		seq, e.ID, e.CollectionID, e.CollectionName, e.RecordID, string(e.Action),
		nullJSON(e.Before), nullJSON(e.After), schema.FormatTime(e.Time)); err != nil {
		return formatError(ctx, fmt.Errorf("appending event: %w", err))
	}
	t.seqs.last = seq
	e.Seq = seq
	t.appended = max(t.appended, seq)
	return nil
}

// seqCounter is the highest event seq of a write transaction: read once,
// by the transaction's first append, and then counted up, instead of an
// "SELECT MAX(seq)" in every append (about 2% of a record create). A caller
// rolled back to its savepoint restores the counter it found, as SQLite
// undoes its events.
type seqCounter struct {
	last   int64
	loaded bool
}

// nextSeq returns the seq of the next event appended in t: one more than
// the highest ever committed (by any process: read under the write lock,
// with the pruned ones; and t.lastSeq, this store's) or appended in the
// transaction.
func (t *tx) nextSeq(ctx context.Context) (int64, error) {
	if !t.seqs.loaded {
		stored, err := t.conn.queryInt(ctx, `SELECT max(COALESCE((SELECT MAX("seq") FROM "_events"), 0), (SELECT "seq" FROM "_eventsPruned"))`)
		if err != nil {
			return 0, formatError(ctx, fmt.Errorf("reading the last event seq: %w", err))
		}
		*t.seqs = seqCounter{last: max(stored, t.lastSeq.Load()), loaded: true}
	}
	return t.seqs.last + 1, nil
}

// nullJSON stores an absent document as NULL.
func nullJSON(doc json.RawMessage) any {
	if doc == nil {
		return nil
	}
	return string(doc)
}

// Events returns up to limit events after seq after, in seq order.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]*store.Event, error) {
	if limit <= 0 {
		limit = defaultEventBatch
	}
	rows, err := s.reader.q.QueryContext(ctx, `SELECT `+eventColumns+` FROM "_events" WHERE "seq" > ? ORDER BY "seq" LIMIT ?`, after, limit)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading events: %w", err))
	}
	defer rows.Close()
	out := []*store.Event{}
	for rows.Next() {
		var (
			e               store.Event
			action, created string
			before, after   sql.NullString
		)
		if err := rows.Scan(&e.Seq, &e.ID, &e.CollectionID, &e.CollectionName, &e.RecordID, &action, &before, &after, &created); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading event: %w", err))
		}
		e.Action = store.Action(action)
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		t, ok := schema.ParseTime(created)
		if !ok {
			return nil, internalf("event %d has an invalid time %q", e.Seq, created)
		}
		e.Time = t
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading events: %w", err))
	}
	return out, nil
}

// LastEventSeq returns the highest seq of a committed event, 0 when none.
// It reads no table: the store keeps it (see Store.lastSeq), so that the
// consumers that ask after every commit cost nothing.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, formatError(ctx, err)
	}
	if s.closed.Load() {
		return 0, formatError(ctx, fmt.Errorf("reading the last event seq: %w", sql.ErrConnDone))
	}
	return s.lastSeq.Load(), nil
}

// loadLastSeq reads the highest seq ever committed into s.lastSeq: that of
// the newest event, or the highest that pruning deleted.
func (s *Store) loadLastSeq(ctx context.Context) error {
	var seq int64
	err := s.reader.q.QueryRowContext(ctx, `SELECT max(COALESCE((SELECT MAX("seq") FROM "_events"), 0), (SELECT "seq" FROM "_eventsPruned"))`).Scan(&seq)
	if err != nil {
		return formatError(ctx, fmt.Errorf("reading the last event seq: %w", err))
	}
	s.lastSeq.Store(seq)
	return nil
}

// committedSeq raises s.lastSeq to seq, the highest event seq of a commit.
func (s *Store) committedSeq(seq int64) {
	for {
		cur := s.lastSeq.Load()
		if seq <= cur || s.lastSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// PruneEvents deletes events with seq at most upTo that are older than
// olderThan, in short transactions of at most pruneChunk rows.
func (s *Store) PruneEvents(ctx context.Context, upTo int64, olderThan time.Time) (int64, error) {
	cutoff := schema.FormatTime(olderThan)
	var total int64
	for {
		var n int64
		err := s.InTx(ctx, func(storeTx store.Tx) error {
			t := storeTx.(*tx)
			// Oldest first: seq order is time order up to clock steps, so the
			// scan stops at the first chunk's end. The highest seq deleted is
			// kept, so that a reopened store never gives it out again.
			const chunk = `SELECT "seq" FROM "_events" WHERE "seq" <= ? AND "created" < ? ORDER BY "seq" LIMIT ?`
			if _, err := t.conn.ExecContext(ctx, `UPDATE "_eventsPruned" SET "seq" = max("seq", COALESCE((SELECT MAX("seq") FROM (`+chunk+`)), 0))`,
				upTo, cutoff, pruneChunk); err != nil {
				return formatError(ctx, fmt.Errorf("pruning events: %w", err))
			}
			res, err := t.conn.ExecContext(ctx, `DELETE FROM "_events" WHERE "seq" IN (`+chunk+`)`, upTo, cutoff, pruneChunk)
			if err != nil {
				return formatError(ctx, fmt.Errorf("pruning events: %w", err))
			}
			n, err = res.RowsAffected()
			if err != nil {
				return formatError(ctx, fmt.Errorf("pruning events: %w", err))
			}
			return nil
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < pruneChunk {
			return total, nil
		}
	}
}
