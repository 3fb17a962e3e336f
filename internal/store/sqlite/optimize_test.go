package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store"
)

// outboxPlan is SQLite's plan for the outbox read of Events.
func outboxPlan(t *testing.T, s *Store) string {
	t.Helper()
	return planOn(t, s.read)
}

func planOn(t *testing.T, db *sql.DB) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `EXPLAIN QUERY PLAN SELECT `+eventColumns+` FROM "_events" WHERE "seq" > ? ORDER BY "seq" LIMIT ?`, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

var seqEvent int

func appendEvents(t *testing.T, s *Store, n int) {
	t.Helper()
	err := s.InTx(context.Background(), func(tx store.Tx) error {
		for range n {
			seqEvent++
			e := &store.Event{ID: fmt.Sprintf("ev%08d", seqEvent), CollectionID: "c", CollectionName: "c", RecordID: "r",
				Action: store.ActionCreate, After: []byte(`{}`), Time: time.Now()}
			if err := tx.AppendEvent(context.Background(), e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOutboxReadStaysARangeSearch reproduces statistics taken when the
// outbox was nearly empty (a database first opened by the CLI), with which
// SQLite plans the outbox read WHERE seq > ? as a scan of the whole table.
// Opening the store and every optimizeEvery commits drop them.
func TestOutboxReadStaysARangeSearch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, s, 1)
	if _, err := s.write.Exec(`ANALYZE`); err != nil { // statistics of a one-event outbox
		t.Fatal(err)
	}
	if plan := planOn(t, s.write); !strings.Contains(plan, "SCAN") {
		t.Fatalf("the stale statistics do not reproduce the scan: %q", plan)
	}
	s.Close()

	s, err = Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, db := range map[string]*sql.DB{"reader": s.read, "writer": s.write} {
		if plan := planOn(t, db); !strings.Contains(plan, "SEARCH") {
			t.Fatalf("after opening, the %s plans the outbox read as %q, want a SEARCH on the primary key", name, plan)
		}
	}

	// While open: stale statistics again, then optimizeEvery commits.
	if _, err := s.write.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	if plan := planOn(t, s.write); !strings.Contains(plan, "SCAN") {
		t.Fatalf("the stale statistics do not reproduce the scan: %q", plan)
	}
	for range optimizeEvery {
		appendEvents(t, s, 1)
	}
	if _, err := s.write.Exec(`ANALYZE sqlite_schema`); err != nil { // load the statistics as a new connection would
		t.Fatal(err)
	}
	if plan := planOn(t, s.write); !strings.Contains(plan, "SEARCH") {
		t.Fatalf("after %d commits the plan is %q", optimizeEvery, plan)
	}
}
