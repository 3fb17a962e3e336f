package timed_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/timed"
)

// counter is an Observer that counts operations.
type counter struct {
	mu  sync.Mutex
	ops map[string]int
}

func (c *counter) ObserveQuery(op string, took time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if took < 0 {
		op = "negative:" + op
	}
	c.ops[op]++
}

func TestWrapReportsOperations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	raw, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	obs := &counter{ops: map[string]int{}}
	st := timed.Wrap(raw, obs)
	t.Cleanup(func() { st.Close() })

	// The collection service creates the system collections (and tables).
	if _, err := collection.New(ctx, st, time.Now); err != nil {
		t.Fatal(err)
	}
	obs.ops = map[string]int{}
	cols, err := st.Collections(ctx)
	if err != nil || len(cols) == 0 {
		t.Fatalf("Collections = %d, %v", len(cols), err)
	}
	q := &store.Query{Collection: cols[0]}
	if _, err := st.FindRecords(ctx, q); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CountRecords(ctx, q); err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.FindRecords(ctx, q); err != nil {
			return err
		}
		return tx.SetParam(ctx, "timed-test", []byte(`{}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := st.Param(ctx, "timed-test"); err != nil || string(v) != `{}` {
		t.Errorf("Param through the wrapper = %q, %v", v, err)
	}
	if timed.Unwrap(st) != store.Store(raw) || timed.Unwrap(raw) != store.Store(raw) {
		t.Error("Unwrap does not return the engine")
	}
	want := map[string]int{"find": 2, "count": 1, "tx": 1}
	for op, n := range want {
		if obs.ops[op] != n {
			t.Errorf("%s observed %d times, want %d (all: %v)", op, obs.ops[op], n, obs.ops)
		}
	}
}
