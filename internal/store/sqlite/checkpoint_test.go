package sqlite

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Committed pages reach the database file through the checkpointer (the
// writer does not checkpoint), and the WAL is started over rather than
// growing without end.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeBase, "blobs", nil)
	c.ID = "pbc_blobs"
	c.Fields = append(c.Fields, &schema.Field{ID: "b", Name: "body", Type: schema.TypeText})
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	size := func(p string) int64 {
		st, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return st.Size()
	}
	start := size(path)
	body := strings.Repeat("x", 4000)
	write := func(round int) {
		for i := range 120 {
			r := schema.NewRecord(c)
			r.Data["id"], r.Data["body"] = fmt.Sprintf("r%03d%011d", round, i), body
			if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0)
	// Half a megabyte was committed: the checkpointer copies it into the
	// database file soon after.
	deadline := time.Now().Add(10 * time.Second)
	for size(path)-start < 450_000 {
		if time.Now().After(deadline) {
			t.Fatalf("the database file grew by %d bytes in 10 s: nothing was checkpointed (WAL %d bytes)", size(path)-start, size(path+"-wal"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Round after round, the WAL is reused instead of growing with every
	// round's megabyte.
	for round := 1; round <= 12; round++ {
		write(round)
		time.Sleep(2 * checkpointEvery)
	}
	if wal, grown := size(path+"-wal"), size(path)-start; wal > grown/3 {
		t.Fatalf("the WAL holds %d bytes after the database grew by %d: it is not started over", wal, grown)
	}
}
