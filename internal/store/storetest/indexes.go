package storetest

import (
	"context"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

func testIndexes(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("unique violations are conflicts naming the field", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("posts", field(schema.TypeText, "slug"), field(schema.TypeText, "title"))
		c.Indexes = []string{
			"CREATE UNIQUE INDEX `idx_slug` ON `posts` (`slug`)",
			"CREATE INDEX `idx_title` ON `posts` (`title` COLLATE NOCASE DESC)",
		}
		create(t, s, c)
		insert(t, s, newRecord(c, "aaaaaaaaaaaaaa1", map[string]any{"slug": "hello", "title": "x"}))

		tests := []struct {
			name  string
			r     *schema.Record
			field string
		}{
			{"duplicate unique value", newRecord(c, "aaaaaaaaaaaaaa2", map[string]any{"slug": "hello", "title": "x"}), "slug"},
			{"duplicate id", newRecord(c, "aaaaaaaaaaaaaa1", map[string]any{"slug": "other"}), "id"},
		}
		for _, tt := range tests {
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, tt.r) })
			wantCode(t, err, apperr.Conflict)
			wantNotUnique(t, err, tt.field)
		}

		// Updating onto a taken value is a conflict too.
		insert(t, s, newRecord(c, "aaaaaaaaaaaaaa3", map[string]any{"slug": "other"}))
		r := newRecord(c, "aaaaaaaaaaaaaa3", map[string]any{"slug": "hello"})
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateRecord(ctx, r) })
		wantCode(t, err, apperr.Conflict)
		wantNotUnique(t, err, "slug")
	})

	t.Run("partial and case-insensitive unique indexes", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("members", field(schema.TypeEmail, "email"), field(schema.TypeText, "handle"))
		c.Indexes = []string{
			"CREATE UNIQUE INDEX `idx_email` ON `members` (`email`) WHERE `email` != ''",
			`CREATE UNIQUE INDEX "idx_handle" ON "members" ("handle" COLLATE NOCASE)`,
		}
		create(t, s, c)
		// Several empty emails are fine: the index skips them.
		insert(t, s,
			newRecord(c, "aaaaaaaaaaaaaa1", map[string]any{"handle": "one"}),
			newRecord(c, "aaaaaaaaaaaaaa2", map[string]any{"handle": "two"}),
			newRecord(c, "aaaaaaaaaaaaaa3", map[string]any{"email": "a@example.com", "handle": "three"}),
		)
		err := s.InTx(ctx, func(tx store.Tx) error {
			return tx.InsertRecord(ctx, newRecord(c, "aaaaaaaaaaaaaa4", map[string]any{"email": "a@example.com", "handle": "four"}))
		})
		wantCode(t, err, apperr.Conflict)
		err = s.InTx(ctx, func(tx store.Tx) error {
			return tx.InsertRecord(ctx, newRecord(c, "aaaaaaaaaaaaaa5", map[string]any{"handle": "ONE"}))
		})
		wantCode(t, err, apperr.Conflict)
	})

	t.Run("indexes follow updates", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prev := baseCollection("posts", field(schema.TypeText, "slug"))
		create(t, s, prev)
		insert(t, s, newRecord(prev, "aaaaaaaaaaaaaa1", map[string]any{"slug": "dup"}))

		// Adding a unique index while rows repeat a value fails.
		insert(t, s, newRecord(prev, "aaaaaaaaaaaaaa2", map[string]any{"slug": "dup"}))
		next := prev.Clone()
		next.Indexes = []string{"CREATE UNIQUE INDEX `idx_slug` ON `posts` (`slug`)"}
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateCollection(ctx, prev, next) })
		wantCode(t, err, apperr.Conflict)

		inTx(t, s, func(tx store.Tx) error { return tx.DeleteRecord(ctx, prev, "aaaaaaaaaaaaaa2") })
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateCollection(ctx, prev, next) })
		err = s.InTx(ctx, func(tx store.Tx) error {
			return tx.InsertRecord(ctx, newRecord(next, "aaaaaaaaaaaaaa3", map[string]any{"slug": "dup"}))
		})
		wantCode(t, err, apperr.Conflict)

		// Renaming the field and the collection carries the index along.
		renamed := next.Clone()
		renamed.Name = "articles"
		renamed.Field("slug").Name = "path"
		renamed.Indexes = []string{"CREATE UNIQUE INDEX `idx_slug` ON `articles` (`path`)"}
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateCollection(ctx, next, renamed) })
		err = s.InTx(ctx, func(tx store.Tx) error {
			return tx.InsertRecord(ctx, newRecord(renamed, "aaaaaaaaaaaaaa3", map[string]any{"path": "dup"}))
		})
		wantCode(t, err, apperr.Conflict)
		wantNotUnique(t, err, "path")

		// Dropping the index allows duplicates again.
		plain := renamed.Clone()
		plain.Indexes = nil
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateCollection(ctx, renamed, plain) })
		insert(t, s, newRecord(plain, "aaaaaaaaaaaaaa3", map[string]any{"path": "dup"}))
	})

	t.Run("a failed index change leaves the transaction usable", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prev := baseCollection("posts", field(schema.TypeText, "slug"))
		prev.Indexes = []string{"CREATE INDEX `idx_plain` ON `posts` (`slug`)"}
		create(t, s, prev)
		insert(t, s,
			newRecord(prev, "aaaaaaaaaaaaaa1", map[string]any{"slug": "dup"}),
			newRecord(prev, "aaaaaaaaaaaaaa2", map[string]any{"slug": "dup"}),
		)
		next := prev.Clone()
		next.Fields = append(next.Fields, field(schema.TypeNumber, "extra"))
		next.Indexes = []string{"CREATE UNIQUE INDEX `idx_slug` ON `posts` (`slug`)"}
		inTx(t, s, func(tx store.Tx) error {
			err := tx.UpdateCollection(ctx, prev, next)
			wantCode(t, err, apperr.Conflict)
			// The failed update changed nothing: the old shape still works.
			return tx.InsertRecord(ctx, newRecord(prev, "aaaaaaaaaaaaaa3", map[string]any{"slug": "dup"}))
		})
		if got, want := collectionJSON(t, collections(t, s)["posts"]), collectionJSON(t, prev); got != want {
			t.Errorf("definition after a failed update:\n got %s\nwant %s", got, want)
		}
		if got := all(t, s, prev); len(got) != 3 {
			t.Errorf("records: got %v, want 3", ids(got))
		}
		if _, ok := all(t, s, prev)[0].Data["extra"]; ok {
			t.Errorf("the field of the failed update exists")
		}
	})

	t.Run("updates that keep indexes keep them working", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prev := baseCollection("posts", field(schema.TypeText, "slug"), field(schema.TypeText, "title"))
		prev.Indexes = []string{
			"CREATE UNIQUE INDEX `idx_slug` ON `posts` (`slug`)",
			"CREATE INDEX `idx_title` ON `posts` (`title`)",
		}
		create(t, s, prev)
		insert(t, s, newRecord(prev, "aaaaaaaaaaaaaa1", map[string]any{"slug": "a"}))
		steps := []func(c *schema.Collection){
			func(c *schema.Collection) { c.ListRule = schema.Rule("") },
			func(c *schema.Collection) { c.Fields = append(c.Fields, field(schema.TypeBool, "draft")) },
			func(c *schema.Collection) { c.Indexes = c.Indexes[:1] },
			func(c *schema.Collection) {
				c.Field("slug").Name = "path"
				c.Indexes = []string{"CREATE UNIQUE INDEX `idx_slug` ON `posts` (`path`)"}
			},
		}
		for i, step := range steps {
			next := prev.Clone()
			step(next)
			inTx(t, s, func(tx store.Tx) error { return tx.UpdateCollection(ctx, prev, next) })
			name := "slug"
			if next.Field("path") != nil {
				name = "path"
			}
			err := s.InTx(ctx, func(tx store.Tx) error {
				return tx.InsertRecord(ctx, newRecord(next, "aaaaaaaaaaaaab"+string(rune('0'+i)), map[string]any{name: "a"}))
			})
			if got := apperr.CodeOf(err); got != apperr.Conflict {
				t.Fatalf("step %d: duplicate %s: got %q (%v), want conflict", i, name, got, err)
			}
			prev = next
		}
	})

	t.Run("invalid index definitions are refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		defs := []string{
			"CREATE INDEX `idx_x` ON `posts` (`missing`)",
			"CREATE INDEX `idx_x` ON `other` (`title`)",
			"CREATE INDEX `idx_x` ON `posts` (lower(`title`))",
			"CREATE INDEX `idx_x` ON `posts` (`title`) WHERE `title` IN (SELECT 1)",
			"CREATE INDEX `idx_x` ON `posts` (`title`); DROP TABLE `posts`",
			"CREATE INDEX `idx_x` ON `posts` (`title`) WHERE `title` != '' OR 1=1",
			"CREATE INDEX `idx x` ON `posts` (`title`)",
			"CREATE INDEX `idx_x` ON `posts` (`title` COLLATE custom)",
			"CREATE INDEX `idx_x` ON `posts` ()",
			"CREATE TABLE `x` (`a`)",
			"DROP INDEX `idx_x`",
			"",
		}
		for _, def := range defs {
			c := baseCollection("posts", field(schema.TypeText, "title"))
			c.Indexes = []string{def}
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) })
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("%q: got %q (%v), want invalid", def, got, err)
			}
		}
		dup := baseCollection("posts", field(schema.TypeText, "title"))
		dup.Indexes = []string{
			"CREATE INDEX `idx_x` ON `posts` (`title`)",
			"CREATE INDEX `idx_x` ON `posts` (`created`)",
		}
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, dup) })
		wantCode(t, err, apperr.Invalid)
		if got := collections(t, s); len(got) != 0 {
			t.Errorf("collections after refused creates: %v", keys(got))
		}
	})
}

// wantNotUnique fails unless err's data reports field as not unique.
func wantNotUnique(t *testing.T, err error, field string) {
	t.Helper()
	e := apperr.As(err)
	if e == nil {
		t.Fatalf("want an *apperr.Error, got %v", err)
	}
	got, ok := e.Data[field].(apperr.Field)
	if !ok || got.Code != "validation_not_unique" {
		t.Errorf("error data: got %#v, want %s: validation_not_unique", e.Data, field)
	}
}
