// Package storetest is the engine-neutral conformance suite for store.Store.
// Every storage engine runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openTestStore(t) })
//	}
//
// The suite talks to the engine only through the store interfaces, so the
// same expectations hold for SQLite and PostgreSQL. storetest imports only
// the domain model, the store port and leaf packages.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Run runs the conformance suite. open must return a fresh, empty store for
// each call and arrange for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("collections", func(t *testing.T) { testCollections(t, open) })
	t.Run("migrations", func(t *testing.T) { testMigrations(t, open) })
	t.Run("indexes", func(t *testing.T) { testIndexes(t, open) })
	t.Run("records", func(t *testing.T) { testRecords(t, open) })
	t.Run("queries", func(t *testing.T) { testQueries(t, open) })
	t.Run("filters", func(t *testing.T) { testFilters(t, open) })
	t.Run("private emails", func(t *testing.T) { testPrivateEmails(t, open) })
	t.Run("transactions", func(t *testing.T) { testTransactions(t, open) })
	t.Run("params", func(t *testing.T) { testParams(t, open) })
	t.Run("config", func(t *testing.T) { testConfig(t, open) })
	t.Run("relay", func(t *testing.T) { testRelay(t, open) })
	t.Run("outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("match", func(t *testing.T) { testMatch(t, open) })
	t.Run("webhooks", func(t *testing.T) { testWebhooks(t, open) })
	t.Run("delivery leases", func(t *testing.T) { testDeliveryLeases(t, open) })
	t.Run("jobs", func(t *testing.T) { testJobs(t, open) })
}

// field returns a field of the given type with a stable id.
func field(typ, name string) *schema.Field {
	return &schema.Field{ID: schema.DefaultFieldID(typ, name), Name: name, Type: typ}
}

// multi returns a list field (select, relation or file) holding up to max values.
func multi(typ, name string, max int) *schema.Field {
	f := field(typ, name)
	f.MaxSelect = max
	if typ == schema.TypeSelect {
		f.Values = []string{"a", "b", "c", "d"}
	}
	if typ == schema.TypeRelation {
		f.CollectionID = "pbc_target"
	}
	return f
}

// baseCollection returns a base collection with an id field, the given
// fields and created/updated autodates.
func baseCollection(name string, fields ...*schema.Field) *schema.Collection {
	c := schema.NewCollection(schema.TypeBase, name, nil)
	c.ID = schema.DefaultCollectionID(schema.TypeBase, name)
	c.Fields = append(c.Fields, fields...)
	c.Fields = append(c.Fields, schema.AutodateFields(false)...)
	c.Created = "2024-01-02 03:04:05.000Z"
	c.Updated = c.Created
	return c
}

// newRecord returns a record of c with the given id and values.
func newRecord(c *schema.Collection, id string, values map[string]any) *schema.Record {
	r := schema.NewRecord(c)
	r.Data["id"] = id
	for k, v := range values {
		r.Data[k] = v
	}
	return r
}

// inTx runs fn in a transaction and fails the test on error.
func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

// create stores the collections and returns them.
func create(t *testing.T, s store.Store, cs ...*schema.Collection) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error {
		for _, c := range cs {
			if err := tx.CreateCollection(context.Background(), c); err != nil {
				return err
			}
		}
		return nil
	})
}

// insert stores the records.
func insert(t *testing.T, s store.Store, rs ...*schema.Record) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error {
		for _, r := range rs {
			if err := tx.InsertRecord(context.Background(), r); err != nil {
				return err
			}
		}
		return nil
	})
}

// find returns the records q selects, failing the test on error.
func find(t *testing.T, r store.Reader, q *store.Query) []*schema.Record {
	t.Helper()
	got, err := r.FindRecords(context.Background(), q)
	if err != nil {
		t.Fatalf("FindRecords: %v", err)
	}
	return got
}

// all returns every record of c in id order.
func all(t *testing.T, r store.Reader, c *schema.Collection) []*schema.Record {
	t.Helper()
	return find(t, r, &store.Query{Collection: c, Sort: "id"})
}

// byID returns the record with the given id, failing when it is missing.
func byID(t *testing.T, r store.Reader, c *schema.Collection, id string) *schema.Record {
	t.Helper()
	got := find(t, r, &store.Query{Collection: c, IDs: []string{id}})
	if len(got) != 1 {
		t.Fatalf("record %s of %s: got %d records, want 1", id, c.Name, len(got))
	}
	return got[0]
}

// ids returns the records' ids in order.
func ids(rs []*schema.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID()
	}
	return out
}

// wantCode fails unless err carries the given apperr code.
func wantCode(t *testing.T, err error, want apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != want {
		t.Fatalf("error code: got %q (%v), want %q", got, err, want)
	}
}

// wantData compares a record's values with want exactly, types included.
func wantData(t *testing.T, got *schema.Record, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got.Data[k]
		if !ok {
			t.Errorf("field %s: missing", k)
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("field %s: got %#v (%T), want %#v (%T)", k, g, g, w, w)
		}
	}
}

// collectionJSON encodes c as stored (secrets included) for comparisons.
func collectionJSON(t *testing.T, c *schema.Collection) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("encoding collection: %v", err)
	}
	return string(b)
}

// collections returns the stored collections by name.
func collections(t *testing.T, r store.Reader) map[string]*schema.Collection {
	t.Helper()
	list, err := r.Collections(context.Background())
	if err != nil {
		t.Fatalf("Collections: %v", err)
	}
	out := make(map[string]*schema.Collection, len(list))
	for _, c := range list {
		out[c.Name] = c
	}
	return out
}

var errTest = errors.New("storetest: deliberate failure")
