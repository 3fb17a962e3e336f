// Package traced wraps any storage engine (store.Store) so that its
// operations appear as client spans in the trace of the request or event
// dispatch that made them (docs/observability.md, Tracing), for SQLite and
// PostgreSQL alike without either engine knowing about tracing.
//
// traced is an adapter over the storage port, like internal/store/timed; it
// imports only the port, the schema and internal/tracing. cmd/basalt
// installs it only when tracing is configured.
package traced

import (
	"context"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/tracing"
	"go.opentelemetry.io/otel/trace"
)

// Wrap returns st with its reads, its transactions and the writes inside
// them traced by t; system is the db.system.name (tracing.SystemSQLite or
// tracing.SystemPostgreSQL). Other methods pass through. Methods beyond
// store.Store that an engine offers are hidden: find them through Unwrap
// (timed.Unwrap follows it).
func Wrap(st store.Store, t *tracing.Tracer, system string) store.Store {
	return &tracedStore{Store: st, t: t, system: system}
}

type tracedStore struct {
	store.Store
	t      *tracing.Tracer
	system string
}

// Unwrap returns the store under the wrapper.
func (s *tracedStore) Unwrap() store.Store { return s.Store }

func (s *tracedStore) start(ctx context.Context, op, collection string) (context.Context, trace.Span) {
	return s.t.StartQuery(ctx, s.system, op, collection)
}

func (s *tracedStore) Collections(ctx context.Context) (_ []*schema.Collection, err error) {
	ctx, span := s.start(ctx, "Collections", "")
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.Collections(ctx)
}

func (s *tracedStore) FindRecords(ctx context.Context, q *store.Query) (_ []*schema.Record, err error) {
	ctx, span := s.start(ctx, "FindRecords", collectionOf(q))
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.FindRecords(ctx, q)
}

func (s *tracedStore) CountRecords(ctx context.Context, q *store.Query) (_ int64, err error) {
	ctx, span := s.start(ctx, "CountRecords", collectionOf(q))
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.CountRecords(ctx, q)
}

func (s *tracedStore) MatchRecord(ctx context.Context, q *store.Query, r *schema.Record) (_ bool, err error) {
	ctx, span := s.start(ctx, "MatchRecord", collectionOf(q))
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.MatchRecord(ctx, q, r)
}

func (s *tracedStore) Param(ctx context.Context, key string) (_ []byte, err error) {
	ctx, span := s.start(ctx, "Param", "")
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.Param(ctx, key)
}

func (s *tracedStore) Webhooks(ctx context.Context) (_ []*store.Webhook, err error) {
	ctx, span := s.start(ctx, "Webhooks", "")
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.Webhooks(ctx)
}

func (s *tracedStore) Webhook(ctx context.Context, id string) (_ *store.Webhook, err error) {
	ctx, span := s.start(ctx, "Webhook", "")
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.Webhook(ctx, id)
}

func (s *tracedStore) Events(ctx context.Context, after int64, limit int) (_ []*store.Event, err error) {
	ctx, span := s.start(ctx, "Events", "")
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.Events(ctx, after, limit)
}

func (s *tracedStore) LastEventSeq(ctx context.Context) (_ int64, err error) {
	ctx, span := s.start(ctx, "LastEventSeq", "")
	defer func() { tracing.EndQuery(span, err) }()
	return s.Store.LastEventSeq(ctx)
}

// InTx traces the transaction as a whole; the operations inside it are its
// children (whatever context the caller hands them, which is the one it
// gave InTx or a child of it).
func (s *tracedStore) InTx(ctx context.Context, fn func(tx store.Tx) error) (err error) {
	ctx, span := s.start(ctx, "InTx", "")
	defer func() { tracing.EndQuery(span, err) }()
	if span == nil {
		return s.Store.InTx(ctx, fn)
	}
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		return fn(&tracedTx{Tx: tx, s: s, span: span})
	})
}

// tracedTx parents its operations' spans on the transaction's span.
type tracedTx struct {
	store.Tx
	s    *tracedStore
	span trace.Span
}

func (t *tracedTx) start(ctx context.Context, op, collection string) (context.Context, trace.Span) {
	return t.s.start(trace.ContextWithSpan(ctx, t.span), op, collection)
}

func (t *tracedTx) FindRecords(ctx context.Context, q *store.Query) (_ []*schema.Record, err error) {
	ctx, span := t.start(ctx, "FindRecords", collectionOf(q))
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.FindRecords(ctx, q)
}

func (t *tracedTx) CountRecords(ctx context.Context, q *store.Query) (_ int64, err error) {
	ctx, span := t.start(ctx, "CountRecords", collectionOf(q))
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.CountRecords(ctx, q)
}

func (t *tracedTx) InsertRecord(ctx context.Context, r *schema.Record) (err error) {
	ctx, span := t.start(ctx, "InsertRecord", recordCollection(r))
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.InsertRecord(ctx, r)
}

func (t *tracedTx) UpdateRecord(ctx context.Context, r *schema.Record) (err error) {
	ctx, span := t.start(ctx, "UpdateRecord", recordCollection(r))
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.UpdateRecord(ctx, r)
}

func (t *tracedTx) DeleteRecord(ctx context.Context, c *schema.Collection, id string) (err error) {
	name := ""
	if c != nil {
		name = c.Name
	}
	ctx, span := t.start(ctx, "DeleteRecord", name)
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.DeleteRecord(ctx, c, id)
}

func (t *tracedTx) AppendEvent(ctx context.Context, e *store.Event) (err error) {
	ctx, span := t.start(ctx, "AppendEvent", e.CollectionName)
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.AppendEvent(ctx, e)
}

func (t *tracedTx) AppendAudit(ctx context.Context, e *store.AuditEntry) (err error) {
	ctx, span := t.start(ctx, "AppendAudit", "")
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.AppendAudit(ctx, e)
}

func (t *tracedTx) InsertDelivery(ctx context.Context, d *store.Delivery) (err error) {
	ctx, span := t.start(ctx, "InsertDelivery", "")
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.InsertDelivery(ctx, d)
}

func (t *tracedTx) FinishDelivery(ctx context.Context, d *store.Delivery, owner string) (err error) {
	ctx, span := t.start(ctx, "FinishDelivery", "")
	defer func() { tracing.EndQuery(span, err) }()
	return t.Tx.FinishDelivery(ctx, d, owner)
}

func collectionOf(q *store.Query) string {
	if q == nil || q.Collection == nil {
		return ""
	}
	return q.Collection.Name
}

func recordCollection(r *schema.Record) string {
	if r == nil || r.Collection == nil {
		return ""
	}
	return r.Collection.Name
}
