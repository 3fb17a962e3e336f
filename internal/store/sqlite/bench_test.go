package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// benchStore returns a store with a posts collection holding n records.
func benchStore(b *testing.B, n int) (*Store, *schema.Collection) {
	b.Helper()
	s := openTest(b)
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.ID = "pbc_posts"
	c.Fields = append(c.Fields,
		&schema.Field{ID: "t", Name: "title", Type: schema.TypeText},
		&schema.Field{ID: "r", Name: "rank", Type: schema.TypeNumber},
		&schema.Field{ID: "g", Name: "tags", Type: schema.TypeSelect, MaxSelect: 3, Values: []string{"a", "b", "c"}},
	)
	c.Fields = append(c.Fields, schema.AutodateFields(false)...)
	c.Indexes = []string{"CREATE INDEX `idx_rank` ON `posts` (`rank`)"}
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			r := schema.NewRecord(c)
			r.Data["id"] = fmt.Sprintf("r%014d", i)
			r.Data["title"] = fmt.Sprintf("title %d", i)
			r.Data["rank"] = float64(i % 100)
			r.Data["tags"] = []string{"a", "b"}
			if err := tx.InsertRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, c
}

func BenchmarkFindByID(b *testing.B) {
	s, c := benchStore(b, 1000)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			q := &store.Query{Collection: c, IDs: []string{fmt.Sprintf("r%014d", i%1000)}}
			if got, err := s.FindRecords(ctx, q); err != nil || len(got) != 1 {
				b.Fatalf("FindRecords: %d, %v", len(got), err)
			}
			i++
		}
	})
}

func BenchmarkListFiltered(b *testing.B) {
	s, c := benchStore(b, 1000)
	ctx := context.Background()
	q := &store.Query{Collection: c, Filters: []string{`rank > 10 && title ~ "1"`}, Sort: "-rank,title", Limit: 30}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.FindRecords(ctx, q); err != nil {
				b.Fatal(err)
			}
			if _, err := s.CountRecords(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkInsert(b *testing.B) {
	s, c := benchStore(b, 0)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := schema.NewRecord(c)
		r.Data["id"] = fmt.Sprintf("i%014d", i)
		r.Data["title"] = "hello"
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) }); err != nil {
			b.Fatal(err)
		}
	}
}
