package record_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/store"
)

// storedPassword reads the password hash of a users record from the store.
func storedPassword(t *testing.T, f *fixture, id string) string {
	t.Helper()
	list, err := f.st.FindRecords(context.Background(), &store.Query{Collection: f.users, Schema: f.cols.Lookup, IDs: []string{id}, Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("reading user %s: %v (%d found)", id, err, len(list))
	}
	return list[0].String("password")
}

// Password hashing and old-password checks take tens of milliseconds by
// design; they must not run while the write transaction holds SQLite's only
// writer, or every other write of the server waits behind each of them.
func TestPasswordWorkOutsideTheWriter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	before, began := f.st.WriterStats(), time.Now()
	cat := f.create(t, su(), "users", map[string]any{"email": "cat@example.com", "password": "first-pass-1", "passwordConfirm": "first-pass-1"})
	// A user changes their own password: the old one is checked too.
	change := map[string]any{"oldPassword": "password123", "password": "second-pass-2", "passwordConfirm": "second-pass-2"}
	if _, err := f.records.Update(ctx, as(f.ann), "users", f.ann.ID(), record.Input{Data: change}, ""); err != nil {
		t.Fatalf("changing the password: %v", err)
	}
	items, err := f.records.Batch(ctx, su(), []record.Op{
		{Method: http.MethodPost, Collection: "users", Input: record.Input{Data: map[string]any{"email": "fay@example.com", "password": "batch-pass-3", "passwordConfirm": "batch-pass-3"}}},
		{Method: http.MethodPatch, Collection: "users", ID: f.bob.ID(), Input: record.Input{Data: map[string]any{"password": "batch-pass-4", "passwordConfirm": "batch-pass-4"}}},
	})
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	elapsed, busy := time.Since(began), f.st.WriterStats().Busy-before.Busy
	// Five bcrypt computations ran (four new hashes and one old-password
	// check); the writer was held only for the inserts and updates.
	if busy > elapsed/4 {
		t.Errorf("the writer was held %s of the %s the password writes took: the password work ran inside the transaction", busy, elapsed)
	}

	for id, plain := range map[string]string{cat.ID(): "first-pass-1", f.ann.ID(): "second-pass-2", f.bob.ID(): "batch-pass-4", items[0].Record.ID(): "batch-pass-3"} {
		if !password.Check(storedPassword(t, f, id), plain) {
			t.Errorf("user %s: the stored hash is not of %q", id, plain)
		}
	}
}

func TestOldPasswordChecks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, old := range []any{"wrong-password", "", nil} {
		data := map[string]any{"password": "another-pass-9", "passwordConfirm": "another-pass-9"}
		if old != nil {
			data["oldPassword"] = old
		}
		_, err := f.records.Update(ctx, as(f.ann), "users", f.ann.ID(), record.Input{Data: data}, "")
		var problem apperr.Field
		if e := apperr.As(err); e != nil {
			problem, _ = e.Data["oldPassword"].(apperr.Field)
		}
		if problem.Code != "validation_invalid_old_password" {
			t.Errorf("old password %v: %v, want validation_invalid_old_password", old, err)
		}
	}
	if !password.Check(storedPassword(t, f, f.ann.ID()), "password123") {
		t.Error("a refused change replaced the password")
	}
	// Another user may not change ann's password: the update rule refuses
	// bob before any password work (not found, as for a record he cannot see).
	data := map[string]any{"oldPassword": "password123", "password": "another-pass-9", "passwordConfirm": "another-pass-9"}
	if _, err := f.records.Update(ctx, as(f.bob), "users", f.ann.ID(), record.Input{Data: data}, ""); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("bob changing ann's password: %v, want not found", err)
	}
	// A superuser needs no old password.
	if _, err := f.records.Update(ctx, su(), "users", f.ann.ID(), record.Input{Data: map[string]any{"password": "reset-pass-7", "passwordConfirm": "reset-pass-7"}}, ""); err != nil {
		t.Fatalf("superuser setting the password: %v", err)
	}
	if !password.Check(storedPassword(t, f, f.ann.ID()), "reset-pass-7") {
		t.Error("the superuser's new password was not stored")
	}
}
