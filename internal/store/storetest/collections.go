package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

func testCollections(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("create and list keeps the definition and secrets", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		n := 0
		secret := func() string { n++; return fmt.Sprintf("secret-%02d-abcdefghijklmnopqrstuvwxyz", n) }
		users := schema.Users(secret)
		users.Created = "2024-01-01 00:00:00.000Z"
		posts := baseCollection("posts", field(schema.TypeText, "title"))
		posts.Created = "2024-02-01 00:00:00.000Z"
		posts.ListRule = schema.Rule("")
		create(t, s, users, posts)

		list, err := s.Collections(ctx)
		if err != nil {
			t.Fatalf("Collections: %v", err)
		}
		if len(list) != 2 || list[0].Name != "users" || list[1].Name != "posts" {
			t.Fatalf("Collections: got %v, want [users posts] oldest first", names(list))
		}
		if got, want := collectionJSON(t, list[0]), collectionJSON(t, users); got != want {
			t.Errorf("users round trip:\n got %s\nwant %s", got, want)
		}
		if got, want := collectionJSON(t, list[1]), collectionJSON(t, posts); got != want {
			t.Errorf("posts round trip:\n got %s\nwant %s", got, want)
		}
		if list[0].AuthToken.Secret == "" {
			t.Errorf("auth token secret was not stored")
		}
		if list[1].AuthOptions != nil {
			t.Errorf("base collection got auth options")
		}
	})

	t.Run("conflicts", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		create(t, s, baseCollection("posts"))
		tests := []struct {
			name string
			c    *schema.Collection
		}{
			{"same name", func() *schema.Collection { c := baseCollection("posts"); c.ID = "pbc_other"; return c }()},
			{"same name other case", func() *schema.Collection { c := baseCollection("POSTS"); c.ID = "pbc_other"; return c }()},
			{"same id", func() *schema.Collection { c := baseCollection("other"); c.ID = baseCollection("posts").ID; return c }()},
		}
		for _, tt := range tests {
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, tt.c) })
			if got := apperr.CodeOf(err); got != apperr.Conflict {
				t.Errorf("%s: got %q (%v), want conflict", tt.name, got, err)
			}
		}
	})

	t.Run("invalid definitions are refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		noID := baseCollection("noid")
		noID.Fields = noID.Fields[1:]
		tests := []struct {
			name string
			c    *schema.Collection
		}{
			{"name with a dash", baseCollection("bad-name")},
			{"name starting with a digit", baseCollection("1posts")},
			{"name with a quote", baseCollection(`x"; DROP TABLE y; --`)},
			{"empty name", baseCollection("")},
			{"field with a space", baseCollection("posts", field(schema.TypeText, "my title"))},
			{"field with a backtick", baseCollection("posts", field(schema.TypeText, "a`b"))},
			{"duplicate field", baseCollection("posts", field(schema.TypeText, "title"), field(schema.TypeNumber, "Title"))},
			{"unknown field type", baseCollection("posts", field("color", "c"))},
			{"no id field", noID},
		}
		for _, tt := range tests {
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, tt.c) })
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("%s: got %q (%v), want invalid", tt.name, got, err)
			}
		}
		if got := collections(t, s); len(got) != 0 {
			t.Errorf("collections after refused creates: got %d, want 0", len(got))
		}
	})

	t.Run("rename keeps records", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prev := baseCollection("posts", field(schema.TypeText, "title"))
		create(t, s, prev)
		insert(t, s, newRecord(prev, "aaaaaaaaaaaaaa1", map[string]any{"title": "hello"}))

		for _, name := range []string{"articles", "Articles"} {
			next := prev.Clone()
			next.Name = name
			inTx(t, s, func(tx store.Tx) error { return tx.UpdateCollection(ctx, prev, next) })
			got := collections(t, s)
			if _, ok := got[name]; !ok || len(got) != 1 {
				t.Fatalf("rename to %s: collections %v", name, keys(got))
			}
			wantData(t, byID(t, s, next, "aaaaaaaaaaaaaa1"), map[string]any{"title": "hello"})
			prev = next
		}
		// The old name is free again.
		again := baseCollection("posts")
		again.ID = "pbc_posts_again"
		create(t, s, again)
	})

	t.Run("rename onto a taken name is a conflict", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		a, b := baseCollection("a"), baseCollection("b")
		create(t, s, a, b)
		next := b.Clone()
		next.Name = "A"
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateCollection(ctx, b, next) })
		wantCode(t, err, apperr.Conflict)
	})

	t.Run("update of a missing collection is not found", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("ghost")
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateCollection(ctx, c, c.Clone()) })
		wantCode(t, err, apperr.NotFound)
	})

	t.Run("delete drops definition and records", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := baseCollection("posts", field(schema.TypeText, "title"))
		create(t, s, c)
		insert(t, s, newRecord(c, "aaaaaaaaaaaaaa1", nil))
		inTx(t, s, func(tx store.Tx) error { return tx.DeleteCollection(ctx, c) })
		if got := collections(t, s); len(got) != 0 {
			t.Errorf("collections after delete: %v", keys(got))
		}
		_, err := s.FindRecords(ctx, &store.Query{Collection: c})
		wantCode(t, err, apperr.NotFound)
		err = s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteCollection(ctx, c) })
		wantCode(t, err, apperr.NotFound)
		// The name can be used again, and the new table starts empty.
		create(t, s, c)
		if got := all(t, s, c); len(got) != 0 {
			t.Errorf("recreated collection has %d records", len(got))
		}
	})
}

func names(cs []*schema.Collection) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func keys(m map[string]*schema.Collection) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
