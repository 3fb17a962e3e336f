package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

func testMigrations(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	// Each case starts from a posts collection with two records, changes its
	// definition and checks the records afterwards.
	tests := []struct {
		name   string
		change func(c *schema.Collection)
		want   map[string]map[string]any // by record id
		absent []string                  // fields that must be gone
	}{
		{
			name: "add a field: existing records get its zero value",
			change: func(c *schema.Collection) {
				c.Fields = append(c.Fields, field(schema.TypeNumber, "views"), multi(schema.TypeSelect, "tags", 3), field(schema.TypeJSON, "meta"))
			},
			want: map[string]map[string]any{
				"aaaaaaaaaaaaaa1": {"title": "first", "views": float64(0), "tags": []string{}, "meta": json.RawMessage(nil)},
			},
		},
		{
			name:   "rename a field keeps its data",
			change: func(c *schema.Collection) { c.Field("title").Name = "headline" },
			want: map[string]map[string]any{
				"aaaaaaaaaaaaaa1": {"headline": "first", "score": float64(1.5)},
				"aaaaaaaaaaaaaa2": {"headline": "second", "score": float64(-2)},
			},
			absent: []string{"title"},
		},
		{
			name: "swap two field names",
			change: func(c *schema.Collection) {
				c.Field("title").Name, c.Field("body").Name = "body", "title"
			},
			want: map[string]map[string]any{
				"aaaaaaaaaaaaaa1": {"body": "first", "title": "body one"},
			},
		},
		{
			name:   "change only the case of a field name",
			change: func(c *schema.Collection) { c.Field("title").Name = "Title" },
			want:   map[string]map[string]any{"aaaaaaaaaaaaaa1": {"Title": "first"}},
			absent: []string{"title"},
		},
		{
			name: "remove a field, add one with its name",
			change: func(c *schema.Collection) {
				c.Fields = removeField(c.Fields, "title")
				c.Fields = append(c.Fields, field(schema.TypeNumber, "title"))
			},
			want: map[string]map[string]any{"aaaaaaaaaaaaaa1": {"title": float64(0), "body": "body one"}},
		},
		{
			name: "remove, rename and add at once",
			change: func(c *schema.Collection) {
				c.Fields = removeField(c.Fields, "body")
				c.Field("score").Name = "rating"
				c.Fields = append(c.Fields, field(schema.TypeBool, "draft"))
			},
			want: map[string]map[string]any{
				"aaaaaaaaaaaaaa2": {"title": "second", "rating": float64(-2), "draft": false},
			},
			absent: []string{"body", "score"},
		},
		{
			name:   "single to multi wraps values",
			change: func(c *schema.Collection) { c.Field("tag").MaxSelect = 3 },
			want: map[string]map[string]any{
				"aaaaaaaaaaaaaa1": {"tag": []string{"a"}, "title": "first"},
				"aaaaaaaaaaaaaa2": {"tag": []string{}},
			},
		},
		{
			name: "single to multi with a rename",
			change: func(c *schema.Collection) {
				c.Field("tag").MaxSelect = 2
				c.Field("tag").Name = "tags"
			},
			want: map[string]map[string]any{"aaaaaaaaaaaaaa1": {"tags": []string{"a"}}},
		},
		{
			name:   "multi to single unwraps values",
			change: func(c *schema.Collection) { c.Field("owners").MaxSelect = 1 },
			want: map[string]map[string]any{
				"aaaaaaaaaaaaaa1": {"owners": "u1"},
				"aaaaaaaaaaaaaa2": {"owners": ""},
			},
		},
		{
			name:   "changing maxSelect within multi keeps values",
			change: func(c *schema.Collection) { c.Field("owners").MaxSelect = 5 },
			want:   map[string]map[string]any{"aaaaaaaaaaaaaa1": {"owners": []string{"u1"}}},
		},
		{
			name:   "rename the collection and a field",
			change: func(c *schema.Collection) { c.Name = "articles"; c.Field("body").Name = "content" },
			want:   map[string]map[string]any{"aaaaaaaaaaaaaa1": {"content": "body one", "title": "first"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			prev := postsForMigration()
			create(t, s, prev)
			insert(t, s,
				newRecord(prev, "aaaaaaaaaaaaaa1", map[string]any{"title": "first", "body": "body one", "score": 1.5, "tag": "a", "owners": []string{"u1"}}),
				newRecord(prev, "aaaaaaaaaaaaaa2", map[string]any{"title": "second", "score": float64(-2)}),
			)
			next := prev.Clone()
			tt.change(next)
			inTx(t, s, func(tx store.Tx) error { return tx.UpdateCollection(ctx, prev, next) })

			stored := collections(t, s)[next.Name]
			if stored == nil {
				t.Fatalf("collection %s missing after update", next.Name)
			}
			if got, want := collectionJSON(t, stored), collectionJSON(t, next); got != want {
				t.Errorf("stored definition:\n got %s\nwant %s", got, want)
			}
			if got := all(t, s, next); len(got) != 2 {
				t.Fatalf("records after update: got %d, want 2", len(got))
			}
			for id, want := range tt.want {
				got := byID(t, s, next, id)
				wantData(t, got, want)
				for _, name := range tt.absent {
					if _, ok := got.Data[name]; ok {
						t.Errorf("record %s still has field %s", id, name)
					}
				}
			}
			// The migrated table accepts writes of the new shape.
			r := byID(t, s, next, "aaaaaaaaaaaaaa2")
			insert(t, s, newRecord(next, "aaaaaaaaaaaaaa3", nil))
			inTx(t, s, func(tx store.Tx) error { return tx.UpdateRecord(ctx, r) })
		})
	}

	t.Run("multi to single with several values is refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prev := postsForMigration()
		create(t, s, prev)
		insert(t, s,
			newRecord(prev, "aaaaaaaaaaaaaa1", map[string]any{"owners": []string{"u1", "u2"}}),
			newRecord(prev, "aaaaaaaaaaaaaa2", map[string]any{"owners": []string{"u3"}}),
		)
		next := prev.Clone()
		next.Field("owners").MaxSelect = 1
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateCollection(ctx, prev, next) })
		wantCode(t, err, apperr.Invalid)
		if e := apperr.As(err); e == nil || e.Message == "" {
			t.Errorf("want a message explaining the refusal, got %v", err)
		}
		wantData(t, byID(t, s, prev, "aaaaaaaaaaaaaa1"), map[string]any{"owners": []string{"u1", "u2"}})
		if got := collections(t, s)["posts"].Field("owners").MaxSelect; got != 3 {
			t.Errorf("stored maxSelect: got %d, want 3 (unchanged)", got)
		}
	})

	t.Run("refused changes leave the transaction usable", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prev := postsForMigration()
		create(t, s, prev)
		next := prev.Clone()
		next.Field("score").Type = schema.TypeText
		inTx(t, s, func(tx store.Tx) error {
			err := tx.UpdateCollection(ctx, prev, next)
			wantCode(t, err, apperr.Invalid)
			return tx.InsertRecord(ctx, newRecord(prev, "aaaaaaaaaaaaaa9", map[string]any{"score": float64(7)}))
		})
		wantData(t, byID(t, s, prev, "aaaaaaaaaaaaaa9"), map[string]any{"score": float64(7)})
	})

	t.Run("unsupported changes are refused", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		prev := postsForMigration()
		create(t, s, prev)
		tests := []struct {
			name   string
			change func(c *schema.Collection)
		}{
			{"number to text", func(c *schema.Collection) { c.Field("score").Type = schema.TypeText }},
			{"text to json", func(c *schema.Collection) { c.Field("title").Type = schema.TypeJSON }},
			{"drop the id", func(c *schema.Collection) { c.Fields = removeField(c.Fields, "id") }},
			{"rename the id", func(c *schema.Collection) { c.Field("id").Name = "key" }},
			{"change the collection id", func(c *schema.Collection) { c.ID = "pbc_other" }},
			{"bad field name", func(c *schema.Collection) { c.Field("title").Name = "ti tle" }},
			{"duplicate field id", func(c *schema.Collection) {
				f := field(schema.TypeText, "other")
				f.ID = c.Field("title").ID
				c.Fields = append(c.Fields, f)
			}},
		}
		for _, tt := range tests {
			next := prev.Clone()
			tt.change(next)
			err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateCollection(ctx, prev, next) })
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("%s: got %q (%v), want invalid", tt.name, got, err)
			}
		}
		if got, want := collectionJSON(t, collections(t, s)["posts"]), collectionJSON(t, prev); got != want {
			t.Errorf("definition changed by refused updates:\n got %s\nwant %s", got, want)
		}
	})
}

// postsForMigration is the starting point of the migration cases.
func postsForMigration() *schema.Collection {
	tag := multi(schema.TypeSelect, "tag", 1)
	owners := multi(schema.TypeRelation, "owners", 3)
	return baseCollection("posts",
		field(schema.TypeText, "title"),
		field(schema.TypeEditor, "body"),
		field(schema.TypeNumber, "score"),
		tag,
		owners,
	)
}

func removeField(fields []*schema.Field, name string) []*schema.Field {
	out := make([]*schema.Field, 0, len(fields))
	for _, f := range fields {
		if f.Name != name {
			out = append(out, f)
		}
	}
	return out
}
