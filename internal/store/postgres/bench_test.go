package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// benchCollection creates a posts collection with a few fields.
func benchCollection(b *testing.B, s *Store) *schema.Collection {
	b.Helper()
	ctx := context.Background()
	c := &schema.Collection{ID: "pbc_posts", Name: "posts", Type: schema.TypeBase, Fields: []*schema.Field{
		{ID: "f_id", Name: "id", Type: schema.TypeText},
		{ID: "f_title", Name: "title", Type: schema.TypeText},
		{ID: "f_views", Name: "views", Type: schema.TypeNumber},
		{ID: "f_tags", Name: "tags", Type: schema.TypeSelect, MaxSelect: 3, Values: []string{"a", "b"}},
	}}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCreate measures one write transaction as the record service runs
// it (insert and outbox append), from parallel goroutines: writers are
// serialized, so this is the engine's write throughput.
func BenchmarkCreate(b *testing.B) {
	s := openTest(b)
	c := benchCollection(b, s)
	ctx := context.Background()
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			r := schema.NewRecord(c)
			r.Data["id"] = fmt.Sprintf("r%014d", i)
			r.Data["title"] = "hello"
			r.Data["tags"] = []string{"a"}
			err := s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.InsertRecord(ctx, r); err != nil {
					return err
				}
				return tx.AppendEvent(ctx, &store.Event{ID: r.ID(), CollectionID: c.ID, CollectionName: c.Name,
					RecordID: r.ID(), Action: store.ActionCreate, After: []byte(`{}`), Time: time.Now()})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFindByID measures a record read by id outside transactions,
// from parallel goroutines (reads do not take the writer lock).
func BenchmarkFindByID(b *testing.B) {
	s := openTest(b)
	c := benchCollection(b, s)
	ctx := context.Background()
	r := schema.NewRecord(c)
	r.Data["id"] = "r00000000000001"
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			got, err := s.FindRecords(ctx, &store.Query{Collection: c, IDs: []string{"r00000000000001"}})
			if err != nil || len(got) != 1 {
				b.Fatalf("FindRecords: %d, %v", len(got), err)
			}
		}
	})
}
