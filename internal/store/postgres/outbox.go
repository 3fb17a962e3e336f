package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// The outbox lives in the "_events" system table (migration 0003_events).
//
// Ordering: seq comes from an identity sequence, drawn inside InTx while
// the transaction holds the cluster-wide writer lock, and the transaction
// commits (becomes visible) before the lock is released. So the next writer
// draws a higher seq and commits later: seq order is commit order on every
// replica, and the committed events always form a prefix of the seq order
// with only gaps of rolled-back numbers, never a hole that fills later. A
// reader that remembers the last seq it saw therefore misses nothing.
// (Without the writer lock, two writers could draw 10 and 11 and commit 11
// first; a reader seeing 11 would skip 10 for good.)

const (
	defaultEventBatch = 100
	// pruneChunk bounds the rows one pruning statement deletes.
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
	var seq int64
	err := t.queryRow(ctx, []any{&seq}, `INSERT INTO "_events" ("id", "collectionId", "collectionName", "recordId", "action", "before", "after", "created")
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING "seq"`,
		e.ID, e.CollectionID, e.CollectionName, e.RecordID, string(e.Action),
		nullJSON(e.Before), nullJSON(e.After), schema.FormatTime(e.Time))
	if err != nil {
		return formatError(ctx, fmt.Errorf("appending event: %w", err))
	}
	e.Seq = seq
	return t.notifyEvents(ctx)
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
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM "_events" WHERE "seq" > $1 ORDER BY "seq" LIMIT $2`, after, int64(limit))
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading events: %w", err))
	}
	defer rows.Close()
	out := []*store.Event{}
	for rows.Next() {
		var (
			e               store.Event
			action, created string
			before, after   *string
		)
		if err := rows.Scan(&e.Seq, &e.ID, &e.CollectionID, &e.CollectionName, &e.RecordID, &action, &before, &after, &created); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading event: %w", err))
		}
		e.Action = store.Action(action)
		if before != nil {
			e.Before = json.RawMessage(*before)
		}
		if after != nil {
			e.After = json.RawMessage(*after)
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

// LastEventSeq returns the highest seq of a committed event, kept across
// pruning by _eventsPruned, 0 when none. A seq drawn by a transaction that
// has not committed (or rolled back) is not counted: a reader starting from
// the result must still see that event if it commits.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, `SELECT GREATEST(
		(SELECT COALESCE(MAX("seq"), 0) FROM "_events"),
		(SELECT COALESCE(MAX("seq"), 0) FROM "_eventsPruned"))`).Scan(&seq)
	if err != nil {
		return 0, formatError(ctx, fmt.Errorf("reading the last event seq: %w", err))
	}
	return seq, nil
}

// PruneEvents deletes events with seq at most upTo that are older than
// olderThan, in statements of at most pruneChunk rows, each of which also
// raises the pruned high-water mark. It does not take the writer lock:
// deleting delivered events never reorders the outbox.
func (s *Store) PruneEvents(ctx context.Context, upTo int64, olderThan time.Time) (int64, error) {
	cutoff := schema.FormatTime(olderThan)
	var total int64
	for {
		var n int64
		err := s.pool.QueryRow(ctx, `WITH "del" AS (
				DELETE FROM "_events" WHERE "seq" IN (
					SELECT "seq" FROM "_events" WHERE "seq" <= $1 AND "created" < $2 ORDER BY "seq" LIMIT $3)
				RETURNING "seq"),
			"mark" AS (
				UPDATE "_eventsPruned" SET "seq" = GREATEST("seq", (SELECT COALESCE(MAX("seq"), 0) FROM "del"))
				WHERE EXISTS (SELECT 1 FROM "del"))
			SELECT COUNT(*) FROM "del"`, upTo, cutoff, int64(pruneChunk)).Scan(&n)
		total += n
		if err != nil {
			return total, formatError(ctx, fmt.Errorf("pruning events: %w", err))
		}
		if n < pruneChunk {
			return total, nil
		}
	}
}
