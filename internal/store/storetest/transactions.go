package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

func testTransactions(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("an error rolls everything back", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		kept := baseCollection("kept", field(schema.TypeText, "title"))
		create(t, s, kept)
		insert(t, s, newRecord(kept, "aaaaaaaaaaaaaa1", map[string]any{"title": "before"}))

		fresh := baseCollection("fresh")
		err := s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateCollection(ctx, fresh); err != nil {
				return err
			}
			if err := tx.InsertRecord(ctx, newRecord(fresh, "aaaaaaaaaaaaaa1", nil)); err != nil {
				return err
			}
			if err := tx.UpdateRecord(ctx, newRecord(kept, "aaaaaaaaaaaaaa1", map[string]any{"title": "after"})); err != nil {
				return err
			}
			if err := tx.InsertRecord(ctx, newRecord(kept, "aaaaaaaaaaaaaa2", nil)); err != nil {
				return err
			}
			next := kept.Clone()
			next.Fields = append(next.Fields, field(schema.TypeNumber, "extra"))
			if err := tx.UpdateCollection(ctx, kept, next); err != nil {
				return err
			}
			if err := tx.SetParam(ctx, "settings", []byte(`{}`)); err != nil {
				return err
			}
			// Inside the transaction the writes are visible.
			if n, err := tx.CountRecords(ctx, &store.Query{Collection: next}); err != nil || n != 2 {
				return fmt.Errorf("count inside tx: %d, %v", n, err)
			}
			if got := collections(t, tx); got["fresh"] == nil {
				return fmt.Errorf("new collection not visible inside tx")
			}
			return errTest
		})
		if !errors.Is(err, errTest) {
			t.Fatalf("InTx: got %v, want fn's error", err)
		}
		if got := collections(t, s); len(got) != 1 || got["kept"] == nil || got["kept"].Field("extra") != nil {
			t.Errorf("collections after rollback: %v", keys(got))
		}
		got := all(t, s, kept)
		if len(got) != 1 {
			t.Fatalf("records after rollback: got %v", ids(got))
		}
		wantData(t, got[0], map[string]any{"title": "before"})
		if _, ok := got[0].Data["extra"]; ok {
			t.Errorf("field added in the rolled back tx is visible")
		}
		_, err = s.Param(ctx, "settings")
		wantCode(t, err, apperr.NotFound)
		// The rolled back collection can be created now.
		create(t, s, fresh)
	})

	t.Run("a panic rolls back and propagates", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("posts")
		create(t, s, c)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("panic was swallowed")
				}
			}()
			_ = s.InTx(ctx, func(tx store.Tx) error {
				if err := tx.InsertRecord(ctx, newRecord(c, "aaaaaaaaaaaaaa1", nil)); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		if got := all(t, s, c); len(got) != 0 {
			t.Errorf("records after panic: %v", ids(got))
		}
		insert(t, s, newRecord(c, "aaaaaaaaaaaaaa1", nil)) // the store is still usable
	})

	t.Run("uncommitted writes are invisible outside", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("posts")
		create(t, s, c)
		inTx(t, s, func(tx store.Tx) error {
			if err := tx.InsertRecord(ctx, newRecord(c, "aaaaaaaaaaaaaa1", nil)); err != nil {
				return err
			}
			if n, err := s.CountRecords(ctx, &store.Query{Collection: c}); err != nil || n != 0 {
				return fmt.Errorf("count outside the tx while it runs: %d, %v; want 0", n, err)
			}
			return nil
		})
		if n, err := s.CountRecords(ctx, &store.Query{Collection: c}); err != nil || n != 1 {
			t.Errorf("count after commit: %d, %v; want 1", n, err)
		}
	})

	t.Run("a canceled context stops the transaction", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("posts")
		create(t, s, c)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		called := false
		err := s.InTx(canceled, func(tx store.Tx) error { called = true; return nil })
		if err == nil || called {
			t.Errorf("InTx with a canceled context: err %v, fn called %v", err, called)
		}
		// Canceled while fn runs: nothing is committed.
		canceled, cancel = context.WithCancel(ctx)
		err = s.InTx(canceled, func(tx store.Tx) error {
			if err := tx.InsertRecord(canceled, newRecord(c, "aaaaaaaaaaaaaa1", nil)); err != nil {
				return err
			}
			cancel()
			return nil
		})
		if err == nil {
			t.Errorf("InTx canceled during fn: want an error")
		}
		if got := all(t, s, c); len(got) != 0 {
			t.Errorf("records after a canceled tx: %v", ids(got))
		}
	})

	t.Run("writers serialize", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("posts", field(schema.TypeNumber, "n"))
		create(t, s, c)
		insert(t, s, newRecord(c, "counter00000000", nil))
		const writers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					// Read-modify-write: lost updates would show in the total.
					err := s.InTx(ctx, func(tx store.Tx) error {
						got, err := tx.FindRecords(ctx, &store.Query{Collection: c, IDs: []string{"counter00000000"}})
						if err != nil || len(got) != 1 {
							return fmt.Errorf("reading counter: %v", err)
						}
						r := got[0].Clone()
						r.Data["n"] = r.Data["n"].(float64) + 1
						return tx.UpdateRecord(ctx, r)
					})
					if err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("writer: %v", err)
		}
		wantData(t, byID(t, s, c, "counter00000000"), map[string]any{"n": float64(writers * each)})
	})

	t.Run("readers run during a writer", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("posts", field(schema.TypeText, "title"))
		create(t, s, c)
		const batch = 200
		inWriter := make(chan struct{})
		release := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(tx store.Tx) error {
				for i := 0; i < batch; i++ {
					if err := tx.InsertRecord(ctx, newRecord(c, fmt.Sprintf("r%014d", i), nil)); err != nil {
						return err
					}
				}
				close(inWriter)
				<-release // hold the write transaction open while readers run
				return nil
			})
			if err != nil {
				t.Errorf("writer: %v", err)
			}
		}()
		<-inWriter
		var readers sync.WaitGroup
		for r := 0; r < 6; r++ {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for i := 0; i < 20; i++ {
					n, err := s.CountRecords(ctx, &store.Query{Collection: c})
					if err != nil {
						t.Errorf("reader: %v", err)
						return
					}
					if n != 0 {
						t.Errorf("reader saw %d uncommitted records", n)
						return
					}
					if _, err := s.FindRecords(ctx, &store.Query{Collection: c, Limit: 5}); err != nil {
						t.Errorf("reader: %v", err)
						return
					}
				}
			}()
		}
		readers.Wait() // must finish while the writer is still open
		close(release)
		wg.Wait()
		// After the commit readers see all of it at once.
		if n, err := s.CountRecords(ctx, &store.Query{Collection: c}); err != nil || n != batch {
			t.Errorf("count after commit: %d, %v; want %d", n, err, batch)
		}
	})
}
