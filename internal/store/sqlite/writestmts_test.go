package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// The writer's cached statements stay correct when the table they name is
// dropped and made again (SQLite re-prepares them), and the cache stays
// within its bound under many distinct statements.
func TestWriterStatementCache(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	newNotes := func(extra string) *schema.Collection {
		c := schema.NewCollection(schema.TypeBase, "notes", nil)
		c.ID = "pbc_notes"
		c.Fields = append(c.Fields, &schema.Field{ID: "t", Name: "title", Type: schema.TypeText})
		if extra != "" {
			c.Fields = append(c.Fields, &schema.Field{ID: "x", Name: extra, Type: schema.TypeText})
		}
		return c
	}
	insert := func(c *schema.Collection, id string) {
		t.Helper()
		r := schema.NewRecord(c)
		r.Data["id"], r.Data["title"] = id, "t-"+id
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) }); err != nil {
			t.Fatalf("insert %s: %v", id, err)
		}
	}
	count := func(c *schema.Collection) int64 {
		t.Helper()
		n, err := s.CountRecords(ctx, &store.Query{Collection: c, Schema: func(string) *schema.Collection { return c }})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	c := newNotes("")
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	insert(c, "a00000000000001")
	insert(c, "a00000000000002")
	// Dropped and made again with the same columns: the INSERT text is the
	// same, its cached statement is reused.
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	c = newNotes("")
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	insert(c, "a00000000000003")
	if n := count(c); n != 1 {
		t.Fatalf("after the table was made again it holds %d rows, want 1", n)
	}
	// A duplicate id is still a conflict through a cached statement.
	r := schema.NewRecord(c)
	r.Data["id"] = "a00000000000003"
	err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) })
	if err == nil {
		t.Fatal("a duplicate id was inserted")
	}

	// Many distinct statements: the cache stays bounded and keeps working.
	err = s.InTx(ctx, func(stx store.Tx) error {
		for i := range maxWriterStmts + 50 {
			if _, err := stx.(*tx).conn.ExecContext(ctx, fmt.Sprintf(`UPDATE "notes" SET "title" = ? WHERE "id" = 'none%d'`, i), "x"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.wstmts.stmts); n > maxWriterStmts {
		t.Fatalf("the writer keeps %d statements, want at most %d", n, maxWriterStmts)
	}
	insert(c, "a00000000000004")
	if n := count(c); n != 2 {
		t.Fatalf("holds %d rows, want 2", n)
	}
}

// A statement interrupted by its context leaves the writer connection
// invalid, and database/sql replaces it: the cached statements are
// finalized first, writes go on on the new connection, and Close does not
// touch statements of the closed one.
func TestWriterStatementsSurviveAnInterrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeBase, "notes", nil)
	c.ID = "pbc_notes"
	c.Fields = append(c.Fields, &schema.Field{ID: "t", Name: "title", Type: schema.TypeText})
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	insert := func(id string) error {
		r := schema.NewRecord(c)
		r.Data["id"], r.Data["title"] = id, "t"
		return s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) })
	}
	for round := range 3 {
		if err := insert(fmt.Sprintf("a%014d", round)); err != nil {
			t.Fatalf("round %d: insert before the interrupt: %v", round, err)
		}
		// A statement that runs until its context ends.
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		err := s.InTx(cctx, func(stx store.Tx) error {
			_, err := stx.(*tx).conn.ExecContext(cctx, `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n`)
			return err
		})
		cancel()
		if err == nil {
			t.Fatalf("round %d: the endless statement ended without error", round)
		}
		if err := insert(fmt.Sprintf("b%014d", round)); err != nil {
			t.Fatalf("round %d: insert after the interrupt: %v", round, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// Row writes run without an interrupt watcher, but a context that has ended
// before one starts still stops it: nothing is written.
func TestRowWritesCheckTheirContext(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeBase, "notes", nil)
	c.ID = "pbc_notes"
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	err := s.InTx(ctx, func(tx store.Tx) error {
		r := schema.NewRecord(c)
		r.Data["id"] = "a00000000000001"
		if err := tx.InsertRecord(ended, r); !errors.Is(err, context.Canceled) {
			t.Errorf("InsertRecord with an ended context: %v, want canceled", err)
		}
		e := &store.Event{ID: "ev1", CollectionID: c.ID, CollectionName: c.Name, RecordID: "a00000000000001", Action: store.ActionCreate, Time: time.Now()}
		if err := tx.AppendEvent(ended, e); !errors.Is(err, context.Canceled) {
			t.Errorf("AppendEvent with an ended context: %v, want canceled", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountRecords(ctx, &store.Query{Collection: c, Schema: func(string) *schema.Collection { return c }}); err != nil || n != 0 {
		t.Errorf("records after the refused insert: %d, %v; want 0", n, err)
	}
	if evs, err := s.Events(ctx, 0, 10); err != nil || len(evs) != 0 {
		t.Errorf("events after the refused append: %d, %v; want 0", len(evs), err)
	}
}
