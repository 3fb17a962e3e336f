// Package record is the service for records: listing, viewing, creating,
// updating and deleting them with the collection's access rules, field
// validation, relation integrity, expansion and file handling. Every
// transport (REST, batch, and later GraphQL, gRPC, realtime) goes through it,
// so a rule is enforced the same way everywhere.
//
// record imports the domain model, the storage port, leaf packages and other
// services (collection, file); never adapters or transports.
package record

import (
	"context"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Collections resolves collection definitions.
type Collections interface {
	// Lookup returns a collection by name or id, or nil.
	Lookup(nameOrID string) *schema.Collection
	// All returns every collection.
	All() []*schema.Collection
}

// Service implements record operations.
type Service struct {
	store store.Store
	cols  Collections
	files Files
	now   func() time.Time
	// newID returns the id of a new record whose id field has the default
	// autogeneratePattern.
	newID func() string
	// patterns caches the compiled patterns of text fields.
	patterns *schema.Patterns
	// onCommit is called after every commit that added outbox events.
	onCommit func()
	// Audit records superuser changes and auth record password and email
	// changes; nil records nothing.
	Audit *audit.Log
	// Cache keeps what public reads found; nil reads the store every time.
	Cache *ReadCache
	// hooks runs around writes (hooks.go); nil runs none.
	hooks Hooks
	// exportOrders serves the Exporters of NewExporter.
	exportOrders exportOrders
}

// New returns a record service. files may be nil when file fields are not
// used (uploads are then refused). newID makes the ids of new records whose
// collection keeps the default id pattern (schema.DefaultIDPattern):
// random.RecordID's time-ordered ids keep inserts at the end of the id
// index.
func New(st store.Store, cols Collections, files Files, now func() time.Time, newID func() string) *Service {
	return &Service{store: st, cols: cols, files: files, now: now, newID: newID, patterns: schema.NewPatterns()}
}

// OnCommit sets fn to be called after every committed transaction that
// changed records (and so added events to the outbox), for example to nudge
// the event dispatcher. fn must return quickly and must not block. Call it
// while wiring, before the service is used.
func (s *Service) OnCommit(fn func()) { s.onCommit = fn }

// Request describes the caller of an operation; it is what @request.*
// resolves to. Transports build it from the incoming request.
type Request = store.Request

// IsSuperuser reports whether req is authenticated as a superuser.
func IsSuperuser(req *Request) bool {
	return req != nil && req.Auth != nil && req.Auth.Collection.ID == schema.SuperusersID
}

func notFound() error {
	return apperr.New(apperr.NotFound, "The requested resource wasn't found.")
}

func superusersOnly() error {
	return apperr.New(apperr.Forbidden, "Only superusers can perform this action.")
}

// Collection returns the collection named or identified by nameOrID, or NotFound.
func (s *Service) Collection(nameOrID string) (*schema.Collection, error) {
	if c := s.cols.Lookup(nameOrID); c != nil {
		return c, nil
	}
	return nil, apperr.New(apperr.NotFound, "Missing collection context.")
}

func (s *Service) query(c *schema.Collection, req *Request) *store.Query {
	return &store.Query{Collection: c, Schema: s.cols.Lookup, Request: req}
}

// ruleFilters returns the filters that rule adds for req, or a Forbidden
// error for a superusers-only (nil) rule.
func ruleFilters(rule *string, req *Request) ([]string, error) {
	if IsSuperuser(req) {
		return nil, nil
	}
	if rule == nil {
		return nil, superusersOnly()
	}
	if strings.TrimSpace(*rule) == "" {
		return nil, nil
	}
	return []string{*rule}, nil
}

// findOne returns the record id of c that passes filters, or NotFound.
func findOne(ctx context.Context, rd store.Reader, q *store.Query, id string) (*schema.Record, error) {
	if !validID(id) {
		return nil, notFound()
	}
	q.IDs = []string{id}
	q.Limit = 1
	list, err := rd.FindRecords(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, notFound()
	}
	return list[0], nil
}

// validID reports whether s can be a record id at all; anything else cannot
// exist, so lookups answer 404 without touching the database.
func validID(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// superuserRecord is the identity of internal operations that bypass rules.
func superuserRecord() *schema.Record {
	return &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}
}
