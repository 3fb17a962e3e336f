package deadline_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/deadline"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// guard bounds how long a cancelled query may take to return; far above
// the limit, so that a query that is not interrupted fails the test
// instead of hanging it.
const guard = 30 * time.Second

// slowFilter joins the collection with itself four times under a cyclic
// order that no four records satisfy (a < b < c < d < a): on a few hundred
// rows an engine enumerates millions of combinations before it can answer.
const slowFilter = `@collection.posts:a.n ?< @collection.posts:b.n && @collection.posts:b.n ?< @collection.posts:c.n && ` +
	`@collection.posts:c.n ?< @collection.posts:d.n && @collection.posts:d.n ?< @collection.posts:a.n`

func engines() map[string]func(t *testing.T) store.Store {
	logger := slog.New(slog.DiscardHandler)
	return map[string]func(t *testing.T) store.Store{
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "data.db"), logger)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"postgres": func(t *testing.T) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// posts creates a posts collection of n records in st.
func posts(t *testing.T, st store.Store, n int) *schema.Collection {
	t.Helper()
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.ID = schema.DefaultCollectionID(schema.TypeBase, "posts")
	c.Fields = append(c.Fields,
		&schema.Field{ID: schema.DefaultFieldID(schema.TypeText, "title"), Name: "title", Type: schema.TypeText},
		&schema.Field{ID: schema.DefaultFieldID(schema.TypeNumber, "n"), Name: "n", Type: schema.TypeNumber})
	err := st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		for i := range n {
			r := schema.NewRecord(c)
			r.Data["id"] = fmt.Sprintf("post%011d", i)
			r.Data["title"] = fmt.Sprintf("title %d", i)
			r.Data["n"] = float64(i)
			if err := tx.InsertRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("creating posts: %v", err)
	}
	return c
}

func slowQuery(c *schema.Collection) *store.Query {
	return &store.Query{
		Collection: c,
		Schema:     func(string) *schema.Collection { return c },
		Filters:    []string{slowFilter},
	}
}

// wantTimedOut checks that err is the engine's answer to a cancelled query.
func wantTimedOut(t *testing.T, what string, err error) {
	t.Helper()
	if apperr.CodeOf(err) != apperr.Unavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%s: got %v, want an unavailable error caused by the deadline", what, err)
	}
}

// within runs f and fails the test when it does not return within guard.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- f() }()
	select {
	case err := <-done:
		t.Logf("%s returned after %v", what, time.Since(start).Round(time.Millisecond))
		return err
	case <-time.After(guard):
		t.Fatalf("%s: still running after %v, the deadline did not cancel it", what, guard)
		return nil
	}
}

func TestQueriesPastTheLimitAreCancelled(t *testing.T) {
	for name, open := range engines() {
		t.Run(name, func(t *testing.T) {
			engine := open(t)
			c := posts(t, engine, 300)
			st := deadline.Wrap(engine, 200*time.Millisecond)
			ctx := context.Background()

			// Within the limit, queries answer as before.
			if n, err := st.CountRecords(ctx, &store.Query{Collection: c}); err != nil || n != 300 {
				t.Fatalf("CountRecords: %d, %v; want 300", n, err)
			}

			err := within(t, "FindRecords", func() error {
				_, err := st.FindRecords(ctx, slowQuery(c))
				return err
			})
			wantTimedOut(t, "FindRecords", err)
			err = within(t, "CountRecords", func() error {
				_, err := st.CountRecords(ctx, slowQuery(c))
				return err
			})
			wantTimedOut(t, "CountRecords", err)

			// In a transaction the operations share its deadline, although
			// they are given the caller's context; the transaction is
			// rolled back.
			err = within(t, "InTx", func() error {
				return st.InTx(ctx, func(tx store.Tx) error {
					r := schema.NewRecord(c)
					r.Data["id"] = "rolledback00001"
					r.Data["title"] = "never stored"
					if err := tx.InsertRecord(ctx, r); err != nil {
						return err
					}
					_, err := tx.FindRecords(ctx, slowQuery(c))
					return err
				})
			})
			wantTimedOut(t, "InTx", err)
			// An operation given another context than InTx's is held to the
			// transaction's deadline too.
			type key struct{}
			err = within(t, "InTx with another context", func() error {
				return st.InTx(ctx, func(tx store.Tx) error {
					_, err := tx.FindRecords(context.WithValue(ctx, key{}, "other"), slowQuery(c))
					return err
				})
			})
			wantTimedOut(t, "InTx with another context", err)

			// The engine serves on after the cancelled queries, and the
			// timed-out transaction left nothing. Asked without the 200 ms
			// limit: on a busy machine the server may still be running the
			// cancelled queries for a while (PostgreSQL cancels them
			// asynchronously), which slows every other query down.
			got, err := engine.FindRecords(ctx, &store.Query{Collection: c, IDs: []string{"rolledback00001"}})
			if err != nil || len(got) != 0 {
				t.Errorf("the timed-out transaction's insert: found %d records (%v), want it rolled back", len(got), err)
			}
			if n, err := engine.CountRecords(ctx, &store.Query{Collection: c}); err != nil || n != 300 {
				t.Errorf("CountRecords after the timeouts: %d, %v; want 300", n, err)
			}
		})
	}
}

func TestZeroLimitIsNoWrapper(t *testing.T) {
	st := engines()["sqlite"](t)
	if got := deadline.Wrap(st, 0); got != st {
		t.Errorf("Wrap(st, 0) = %T, want st itself", got)
	}
	w := deadline.Wrap(st, time.Second)
	if u, ok := w.(interface{ Unwrap() store.Store }); !ok || u.Unwrap() != st {
		t.Errorf("Wrap(st, 1s) does not unwrap to st")
	}
}
