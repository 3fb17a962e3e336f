// Package timed wraps any storage engine (store.Store) so that the duration
// of its operations is reported to an Observer: the database query duration
// metric, measured the same way for SQLite and PostgreSQL without either
// engine knowing about metrics.
//
// timed is an adapter over the storage port; it imports only the port and
// declares the Observer it reports to. cmd/basalt connects it to metrics.
package timed

import (
	"context"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Observer receives the duration of one operation. op is one of a small
// fixed set: "find", "count", "match" (reads), "tx" (a whole write
// transaction), "insert", "update", "delete" (record writes inside one).
type Observer interface {
	ObserveQuery(op string, took time.Duration)
}

// Wrap returns st reporting to obs. Every other method of store.Store
// passes through. Methods beyond store.Store that an engine offers (pool
// statistics, event notifications) are hidden by the wrapper: find them on
// Unwrap(st).
func Wrap(st store.Store, obs Observer) store.Store {
	return &timedStore{Store: st, obs: obs}
}

// Unwrap returns the engine under st: it removes the wrapper of Wrap and
// any other wrapper with an Unwrap() store.Store method (tracing's), in any
// order.
func Unwrap(st store.Store) store.Store {
	for {
		switch w := st.(type) {
		case *timedStore:
			st = w.Store
		case interface{ Unwrap() store.Store }:
			st = w.Unwrap()
		default:
			return st
		}
	}
}

type timedStore struct {
	store.Store
	obs Observer
}

func (s *timedStore) FindRecords(ctx context.Context, q *store.Query) ([]*schema.Record, error) {
	defer s.since("find", time.Now())
	return s.Store.FindRecords(ctx, q)
}

func (s *timedStore) CountRecords(ctx context.Context, q *store.Query) (int64, error) {
	defer s.since("count", time.Now())
	return s.Store.CountRecords(ctx, q)
}

func (s *timedStore) MatchRecord(ctx context.Context, q *store.Query, r *schema.Record) (bool, error) {
	defer s.since("match", time.Now())
	return s.Store.MatchRecord(ctx, q, r)
}

func (s *timedStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	defer s.since("tx", time.Now())
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		return fn(&timedTx{Tx: tx, obs: s.obs})
	})
}

func (s *timedStore) since(op string, start time.Time) {
	s.obs.ObserveQuery(op, time.Since(start))
}

type timedTx struct {
	store.Tx
	obs Observer
}

func (t *timedTx) FindRecords(ctx context.Context, q *store.Query) ([]*schema.Record, error) {
	defer t.since("find", time.Now())
	return t.Tx.FindRecords(ctx, q)
}

func (t *timedTx) CountRecords(ctx context.Context, q *store.Query) (int64, error) {
	defer t.since("count", time.Now())
	return t.Tx.CountRecords(ctx, q)
}

func (t *timedTx) InsertRecord(ctx context.Context, r *schema.Record) error {
	defer t.since("insert", time.Now())
	return t.Tx.InsertRecord(ctx, r)
}

func (t *timedTx) UpdateRecord(ctx context.Context, r *schema.Record) error {
	defer t.since("update", time.Now())
	return t.Tx.UpdateRecord(ctx, r)
}

func (t *timedTx) DeleteRecord(ctx context.Context, c *schema.Collection, id string) error {
	defer t.since("delete", time.Now())
	return t.Tx.DeleteRecord(ctx, c, id)
}

func (t *timedTx) since(op string, start time.Time) {
	t.obs.ObserveQuery(op, time.Since(start))
}
