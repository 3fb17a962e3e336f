// Package store declares the storage ports Basalt's services use: one
// interface that every database engine (SQLite now, PostgreSQL next)
// implements, plus the query and request types passed through it.
//
// store imports only the domain model (schema) and leaf packages. Engines
// live in subpackages and must not import services or transports.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
)

// Store is a database engine. Reads outside a transaction may run
// concurrently; InTx serializes writers.
//
// Error contract (every method): apperr NotFound when a looked-up row or
// table does not exist, apperr Conflict for a unique/primary-key violation
// (with Data naming the field when known), apperr Invalid when a filter or
// sort cannot be compiled against the schema or reads a field its author may
// not (see Query), and an Internal error for everything else (the driver
// error kept as Cause).
type Store interface {
	Reader
	Outbox
	AuditLog
	ConfigWatcher
	DeliveryLeaser
	Relay
	JobQueue
	// InTx runs fn in one write transaction. It commits when fn returns nil
	// and rolls back otherwise, returning fn's error.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Close releases the engine's connections.
	Close() error
}

// Reader is the read side, available on the store and inside a transaction.
type Reader interface {
	// Collections returns every collection, oldest first.
	Collections(ctx context.Context) ([]*schema.Collection, error)
	// FindRecords returns the records of q.Collection that match q.
	FindRecords(ctx context.Context, q *Query) ([]*schema.Record, error)
	// CountRecords returns how many records match q (ignoring Limit/Offset/Sort).
	CountRecords(ctx context.Context, q *Query) (int64, error)
	// Param returns a stored settings value; NotFound when absent.
	Param(ctx context.Context, key string) ([]byte, error)
	WebhookReader
	// MatchRecord reports whether r, a record of q.Collection that need not
	// be stored (a deleted record, say), satisfies q's filters and client
	// filter, evaluated in memory with the same meaning FindRecords gives
	// them in the database. Relation paths, back-relations and @collection
	// references read the stored records. q.IDs, Sort, Limit and Offset are
	// ignored. Invalid when a filter does not parse or fit the schema, or
	// (client filter) reads a hidden field the caller may not.
	MatchRecord(ctx context.Context, q *Query, r *schema.Record) (bool, error)
}

// Tx is a write transaction.
type Tx interface {
	Reader
	JobTx
	// CreateCollection stores c and creates its table and indexes.
	// Conflict when a collection or table with the same name or id exists.
	CreateCollection(ctx context.Context, c *schema.Collection) error
	// UpdateCollection stores next in place of prev and migrates the table:
	// fields matched by id are renamed/kept, new fields added, missing ones
	// dropped, indexes recreated. Data of kept fields is preserved.
	UpdateCollection(ctx context.Context, prev, next *schema.Collection) error
	// DeleteCollection drops c's table and definition.
	DeleteCollection(ctx context.Context, c *schema.Collection) error
	// InsertRecord inserts r. Conflict on a duplicate id or unique index.
	InsertRecord(ctx context.Context, r *schema.Record) error
	// UpdateRecord writes every field of r to the row with r's id (NotFound if none).
	UpdateRecord(ctx context.Context, r *schema.Record) error
	// DeleteRecord deletes the row of c with the given id (NotFound if none).
	DeleteRecord(ctx context.Context, c *schema.Collection, id string) error
	// Truncate deletes every record of c.
	Truncate(ctx context.Context, c *schema.Collection) error
	// SetParam stores a settings value under key.
	SetParam(ctx context.Context, key string, value []byte) error
	// TouchConfig records that the transaction changes area: once it
	// commits, ConfigVersions reports a higher version for area and every
	// process's WatchConfig learns of it.
	TouchConfig(ctx context.Context, area ConfigArea) error
	// AppendEvent adds e to the outbox as part of the transaction, so that
	// the event exists if and only if the transaction commits. The engine
	// assigns e.Seq. Invalid when e lacks an ID, collection, record id or
	// a known action; Conflict when an event with e.ID exists.
	AppendEvent(ctx context.Context, e *Event) error
	// AppendAudit adds e to the audit log as part of the transaction: the
	// engine chains it to the newest entry (setting e.Seq, e.PrevHash and
	// e.Hash, and e.Detail to {} when empty) and stores the new head under
	// AuditHeadParam. Invalid when e has no action or its detail is not JSON.
	AppendAudit(ctx context.Context, e *AuditEntry) error
	// SaveWebhook inserts w or replaces the webhook with w's id. Invalid
	// when w lacks an id or URL.
	SaveWebhook(ctx context.Context, w *Webhook) error
	// DeleteWebhook deletes the webhook with id and its deliveries
	// (NotFound if none).
	DeleteWebhook(ctx context.Context, id string) error
	// InsertDelivery adds d. Conflict when a delivery with d's id, or of
	// d's event to d's webhook, exists.
	InsertDelivery(ctx context.Context, d *Delivery) error
	// UpdateDelivery writes status, attempt count, next attempt time and the
	// attempts log of the delivery with d's id (NotFound if none).
	UpdateDelivery(ctx context.Context, d *Delivery) error
	// FinishDelivery writes d's progress as UpdateDelivery does and ends
	// owner's lease on it (see ClaimDeliveries). NotFound when no delivery
	// has d's id; Conflict when it is not leased to owner (never claimed,
	// or claimed by another owner once owner's lease expired), in which
	// case nothing is written.
	FinishDelivery(ctx context.Context, d *Delivery, owner string) error
	// PruneDeliveries deletes up to limit succeeded or dead deliveries last
	// updated before olderThan and returns how many it deleted.
	PruneDeliveries(ctx context.Context, olderThan time.Time, limit int) (int64, error)
}

// Outbox is the read and maintenance side of the transactional outbox, the
// table of committed record changes that the event dispatcher delivers.
type Outbox interface {
	// Events returns up to limit events whose Seq is greater than after, in
	// Seq order (limit <= 0 means a default batch of 100).
	Events(ctx context.Context, after int64, limit int) ([]*Event, error)
	// LastEventSeq returns the highest Seq assigned so far, 0 when none.
	LastEventSeq(ctx context.Context) (int64, error)
	// PruneEvents deletes the events with Seq at most upTo whose Time is
	// before olderThan and returns how many it deleted.
	PruneEvents(ctx context.Context, upTo int64, olderThan time.Time) (int64, error)
}

// Action is what an event did to its record.
type Action string

// The actions of record events.
const (
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
)

// Event is one committed change of one record, as the outbox keeps it.
//
// Seq orders events by commit: an engine assigns increasing numbers and
// makes an event readable only once no event with a lower Seq can still
// appear, so a reader that remembers the last Seq it saw misses nothing.
type Event struct {
	Seq int64
	// ID is a stable random id that identifies the event to consumers
	// across redeliveries.
	ID             string
	CollectionID   string
	CollectionName string
	RecordID       string
	Action         Action
	// Before is the stored record before an update or delete, After the
	// record after a create or update: the record's data as a JSON object
	// of canonical field values by field name (see schema.Record), nil
	// when not applicable.
	Before, After json.RawMessage
	// Time is when the change was made (millisecond precision).
	Time time.Time
}

// Query selects records of one collection.
//
// Its conditions come from two authors. Filters are trusted: collection
// rules and the services' own lookups, which may read every field, hidden
// ones included. ClientFilter and Sort are client input: they may read hidden
// fields only when Request is a superuser's, and otherwise a ClientFilter
// condition on the email of an auth record (the filtered one or one reached
// through a relation) only matches records whose emailVisibility is true.
// All conditions are ANDed into one expression, so a rule and the client's
// filter that follow the same relation look at the same related record.
type Query struct {
	Collection *schema.Collection
	// Schema resolves other collections by name or id, for relation paths,
	// back-relations and @collection references.
	Schema Lookup
	// Filters are trusted filter-language expressions, all of which must
	// hold.
	Filters []string
	// ClientFilter is the client's filter expression ("" for none), which
	// must hold as well.
	ClientFilter string
	// Params fill {:name} placeholders in Filters and ClientFilter.
	Params map[string]any
	// Request is what @request.* resolves to; nil resolves every field to "".
	Request *Request
	// IDs, when non-nil, restricts the result to these record ids.
	IDs []string
	// Sort is the client's sort expression such as "-created,title" (""
	// = storage order).
	Sort   string
	Limit  int // 0 = no limit
	Offset int
}

// Lookup resolves a collection by name or id; nil when there is none.
type Lookup func(nameOrID string) *schema.Collection

// Request is the data a filter's @request.* identifiers resolve to.
type Request struct {
	Method  string
	Context string // default, password, realtime, protectedFile, batch, expand...
	// Auth is the authenticated record, nil for guests.
	Auth *schema.Record
	// Body is the submitted data by field name (canonical values where the
	// field is known).
	Body map[string]any
	// Existing is the stored record for update rules (for :changed), or nil.
	Existing *schema.Record
	Query    map[string]string
	// Headers have lowercased snake_case keys.
	Headers map[string]string
	// Visible, when set, reports whether a field of c with a visibleRule
	// may be shown to this caller (see record.Service.Visibility, which
	// sets it). Without it, such fields are shown to superusers only.
	Visible func(c *schema.Collection, f *schema.Field) bool
}
