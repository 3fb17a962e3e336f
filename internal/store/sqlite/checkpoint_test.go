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
	// Each round commits about 507 kB of pages: the checkpointer copies them
	// into the database file soon after. Waiting until the file holds
	// (nearly) all of them, and then for the next checkpoint period, keeps
	// the test independent of how busy the machine is.
	checkpointed := func(round int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		defer time.Sleep(2 * checkpointEvery)
		for size(path)-start < int64(round+1)*500_000 {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the database file grew by %d bytes in 10 s: nothing was checkpointed (WAL %d bytes)", round, size(path)-start, size(path+"-wal"))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	write(0)
	checkpointed(0)
	// Round after round, the WAL is reused instead of growing with every
	// round's half megabyte.
	for round := 1; round <= 12; round++ {
		write(round)
		checkpointed(round)
	}
	if wal, grown := size(path+"-wal"), size(path)-start; wal > grown/3 {
		t.Fatalf("the WAL holds %d bytes after the database grew by %d: it is not started over", wal, grown)
	}
}
