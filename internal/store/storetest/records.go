package storetest

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// everyType is a collection with one field of each type (and each list
// field in its single and multi form).
func everyType() *schema.Collection {
	return baseCollection("things",
		field(schema.TypeText, "text"),
		field(schema.TypeNumber, "number"),
		field(schema.TypeBool, "bool"),
		field(schema.TypeEmail, "email"),
		field(schema.TypeURL, "url"),
		field(schema.TypeEditor, "editor"),
		field(schema.TypeDate, "date"),
		multi(schema.TypeSelect, "select_one", 1),
		multi(schema.TypeSelect, "select_many", 4),
		multi(schema.TypeRelation, "relation_one", 1),
		multi(schema.TypeRelation, "relation_many", 9),
		multi(schema.TypeFile, "file_one", 1),
		multi(schema.TypeFile, "file_many", 2),
		field(schema.TypeJSON, "json"),
		field(schema.TypePassword, "password"),
	)
}

func testRecords(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("every type round-trips its canonical value", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := everyType()
		create(t, s, c)
		tests := []struct {
			name   string
			values map[string]any
		}{
			{"zero values", map[string]any{
				"text": "", "number": float64(0), "bool": false, "email": "", "url": "", "editor": "",
				"date": "", "select_one": "", "select_many": []string{}, "relation_one": "",
				"relation_many": []string{}, "file_one": "", "file_many": []string{},
				"json": json.RawMessage(nil), "password": "", "created": "", "updated": "",
			}},
			{"typical values", map[string]any{
				"text": "héllo \"quoted\" 'single' \n ✓", "number": 42.0, "bool": true,
				"email": "a@example.com", "url": "https://example.com/a?b=c", "editor": "<p>x</p>",
				"date": "2024-05-06 07:08:09.123Z", "select_one": "b", "select_many": []string{"d", "a"},
				"relation_one": "rrrrrrrrrrrrrr1", "relation_many": []string{"r2", "r1", "r3"},
				"file_one": "a_1234567890.png", "file_many": []string{"x.txt", "y.txt"},
				"json": json.RawMessage(`{"a":[1,2.5,"x"],"b":null}`), "password": "$2a$10$hash",
				"created": "2024-01-01 00:00:00.000Z", "updated": "2024-01-02 00:00:00.000Z",
			}},
			{"numbers", map[string]any{"number": -0.125, "json": json.RawMessage(`1.50`)}},
			{"large integer", map[string]any{"number": float64(1 << 53), "json": json.RawMessage(`12345678901234567890`)}},
			{"tiny and huge", map[string]any{"number": 1e-300, "json": json.RawMessage(`"text"`)}},
			{"max float", map[string]any{"number": math.MaxFloat64, "json": json.RawMessage(`[]`)}},
			{"negative integer", map[string]any{"number": float64(-7), "json": json.RawMessage(`true`)}},
			{"numeric-looking text", map[string]any{"text": "0012", "select_one": "1.50", "select_many": []string{"1", "2"}, "json": json.RawMessage(`"12"`)}},
			{"json whitespace is kept", map[string]any{"json": json.RawMessage(`{ "a" : 1 }`)}},
		}
		for i, tt := range tests {
			id := "rec" + string(rune('a'+i)) + "aaaaaaaaaaa"
			r := newRecord(c, id, tt.values)
			insert(t, s, r)
			got := byID(t, s, c, id)
			if len(got.Data) != len(c.Fields) {
				t.Errorf("%s: got %d values, want one per field (%d)", tt.name, len(got.Data), len(c.Fields))
			}
			if got.Collection != c {
				t.Errorf("%s: record collection is not the queried one", tt.name)
			}
			want := map[string]any{"id": id}
			for k, v := range r.Data {
				want[k] = v
			}
			t.Run(tt.name, func(t *testing.T) { wantData(t, got, want) })
		}
	})

	t.Run("missing values are stored as zero values", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := everyType()
		create(t, s, c)
		r := &schema.Record{Collection: c, Data: map[string]any{"id": "aaaaaaaaaaaaaa1", "text": "x"}}
		insert(t, s, r)
		got := byID(t, s, c, "aaaaaaaaaaaaaa1")
		want := map[string]any{}
		for _, f := range c.Fields {
			want[f.Name] = f.Zero()
		}
		want["id"], want["text"] = "aaaaaaaaaaaaaa1", "x"
		wantData(t, got, want)
	})

	t.Run("update writes every field", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := everyType()
		create(t, s, c)
		insert(t, s, newRecord(c, "aaaaaaaaaaaaaa1", map[string]any{"text": "a", "number": 1.0, "select_many": []string{"a"}, "json": json.RawMessage(`{}`)}))
		insert(t, s, newRecord(c, "aaaaaaaaaaaaaa2", map[string]any{"text": "untouched"}))
		next := newRecord(c, "aaaaaaaaaaaaaa1", map[string]any{"text": "b", "number": 2.5, "bool": true, "select_many": []string{"c", "b"}, "json": json.RawMessage(nil)})
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateRecord(ctx, next) })
		wantData(t, byID(t, s, c, "aaaaaaaaaaaaaa1"), next.Data)
		wantData(t, byID(t, s, c, "aaaaaaaaaaaaaa2"), map[string]any{"text": "untouched"})

		missing := newRecord(c, "zzzzzzzzzzzzzz1", nil)
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateRecord(ctx, missing) })
		wantCode(t, err, apperr.NotFound)
	})

	t.Run("delete and truncate", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		c := everyType()
		other := baseCollection("other")
		create(t, s, c, other)
		insert(t, s,
			newRecord(c, "aaaaaaaaaaaaaa1", nil), newRecord(c, "aaaaaaaaaaaaaa2", nil), newRecord(c, "aaaaaaaaaaaaaa3", nil),
			newRecord(other, "aaaaaaaaaaaaaa1", nil),
		)
		inTx(t, s, func(tx store.Tx) error { return tx.DeleteRecord(ctx, c, "aaaaaaaaaaaaaa2") })
		if got, want := ids(all(t, s, c)), []string{"aaaaaaaaaaaaaa1", "aaaaaaaaaaaaaa3"}; !equalStrings(got, want) {
			t.Errorf("after delete: got %v, want %v", got, want)
		}
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteRecord(ctx, c, "aaaaaaaaaaaaaa2") })
		wantCode(t, err, apperr.NotFound)

		inTx(t, s, func(tx store.Tx) error { return tx.Truncate(ctx, c) })
		if n, err := s.CountRecords(ctx, &store.Query{Collection: c}); err != nil || n != 0 {
			t.Errorf("count after truncate: got %d, %v; want 0", n, err)
		}
		if n, err := s.CountRecords(ctx, &store.Query{Collection: other}); err != nil || n != 1 {
			t.Errorf("other collection after truncate: got %d, %v; want 1", n, err)
		}
	})

	t.Run("operations on a missing table are not found", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		ghost := baseCollection("ghost")
		checks := map[string]func() error{
			"find":  func() error { _, err := s.FindRecords(ctx, &store.Query{Collection: ghost}); return err },
			"count": func() error { _, err := s.CountRecords(ctx, &store.Query{Collection: ghost}); return err },
			"insert": func() error {
				return s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, newRecord(ghost, "aaaaaaaaaaaaaa1", nil)) })
			},
			"delete": func() error {
				return s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteRecord(ctx, ghost, "aaaaaaaaaaaaaa1") })
			},
		}
		for name, check := range checks {
			if got := apperr.CodeOf(check()); got != apperr.NotFound {
				t.Errorf("%s: got %q, want not_found", name, got)
			}
		}
	})
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
