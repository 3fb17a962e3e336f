// Package deadline wraps any storage engine (store.Store) so that record
// queries and transactions run under a time limit (basalt serve
// --query-timeout). A query still running at its deadline is cancelled
// through its context, which both engines honour (SQLite interrupts the
// statement, PostgreSQL cancels it), and the caller gets the engine's
// unavailable error ("The request was canceled or timed out.") instead of
// waiting.
//
// deadline is an adapter over the storage port, like internal/store/timed;
// it imports only the port and the schema.
package deadline

import (
	"context"
	"reflect"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Wrap returns st with each read of records (FindRecords, CountRecords,
// MatchRecord) limited to limit, and each transaction (InTx, from waiting
// for the writer to the commit) too; the record and collection operations
// inside a transaction share its deadline. A caller's earlier deadline
// still holds. Other methods pass through, and methods beyond store.Store
// that an engine offers are hidden: find them through Unwrap (timed.Unwrap
// follows it). limit <= 0 returns st as it is.
func Wrap(st store.Store, limit time.Duration) store.Store {
	if limit <= 0 {
		return st
	}
	return &limitedStore{Store: st, limit: limit}
}

type limitedStore struct {
	store.Store
	limit time.Duration
}

// Unwrap returns the store under the wrapper.
func (s *limitedStore) Unwrap() store.Store { return s.Store }

func (s *limitedStore) FindRecords(ctx context.Context, q *store.Query) ([]*schema.Record, error) {
	ctx, cancel := context.WithTimeout(ctx, s.limit)
	defer cancel()
	return s.Store.FindRecords(ctx, q)
}

func (s *limitedStore) CountRecords(ctx context.Context, q *store.Query) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.limit)
	defer cancel()
	return s.Store.CountRecords(ctx, q)
}

func (s *limitedStore) MatchRecord(ctx context.Context, q *store.Query, r *schema.Record) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.limit)
	defer cancel()
	return s.Store.MatchRecord(ctx, q, r)
}

func (s *limitedStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	txCtx, cancel := context.WithTimeout(ctx, s.limit)
	defer cancel()
	t := &limitedTx{txCtx: txCtx}
	if reflect.TypeOf(ctx).Comparable() {
		t.caller = ctx
	}
	return s.Store.InTx(txCtx, func(tx store.Tx) error {
		t.Tx = tx
		return fn(t)
	})
}

// limitedTx gives the transaction's deadline to the operations run in it:
// callers pass them their own context, which does not carry it.
type limitedTx struct {
	store.Tx
	// caller is the context InTx was given (nil when contexts of its type
	// cannot be compared), txCtx the one limited to the transaction's
	// deadline made from it.
	caller, txCtx context.Context
}

// bound returns ctx limited to the transaction's deadline. Callers mostly
// pass the context they gave InTx, and then the transaction's own serves:
// a new one per operation cost a timer each.
func (t *limitedTx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.caller != nil && ctx == t.caller {
		return t.txCtx, func() {}
	}
	end, _ := t.txCtx.Deadline()
	return context.WithDeadline(ctx, end)
}

func (t *limitedTx) FindRecords(ctx context.Context, q *store.Query) ([]*schema.Record, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.FindRecords(ctx, q)
}

func (t *limitedTx) CountRecords(ctx context.Context, q *store.Query) (int64, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.CountRecords(ctx, q)
}

func (t *limitedTx) MatchRecord(ctx context.Context, q *store.Query, r *schema.Record) (bool, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.MatchRecord(ctx, q, r)
}

func (t *limitedTx) InsertRecord(ctx context.Context, r *schema.Record) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.InsertRecord(ctx, r)
}

func (t *limitedTx) UpdateRecord(ctx context.Context, r *schema.Record) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.UpdateRecord(ctx, r)
}

func (t *limitedTx) DeleteRecord(ctx context.Context, c *schema.Collection, id string) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.DeleteRecord(ctx, c, id)
}

func (t *limitedTx) CreateCollection(ctx context.Context, c *schema.Collection) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.CreateCollection(ctx, c)
}

func (t *limitedTx) UpdateCollection(ctx context.Context, prev, next *schema.Collection) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.UpdateCollection(ctx, prev, next)
}

func (t *limitedTx) DeleteCollection(ctx context.Context, c *schema.Collection) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.DeleteCollection(ctx, c)
}

func (t *limitedTx) Truncate(ctx context.Context, c *schema.Collection) error {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	return t.Tx.Truncate(ctx, c)
}
