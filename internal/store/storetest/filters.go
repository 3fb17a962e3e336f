package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// testFilters checks that filters, their parameters, @request data, relation
// paths and sorts reach the engine's query compiler. The language itself is
// tested with the compiler; this suite checks the wiring and the results.
func testFilters(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)

	secret := field(schema.TypeText, "secret")
	secret.Hidden = true
	people := baseCollection("people", field(schema.TypeText, "name"), secret)
	author := multi(schema.TypeRelation, "author", 1)
	author.CollectionID = people.ID
	posts := baseCollection("posts",
		field(schema.TypeText, "title"),
		field(schema.TypeNumber, "rank"),
		field(schema.TypeBool, "draft"),
		multi(schema.TypeSelect, "tags", 4),
		author,
		field(schema.TypeJSON, "meta"),
	)
	create(t, s, people, posts)
	insert(t, s,
		newRecord(people, "alice0000000000", map[string]any{"name": "Alice", "secret": "s1"}),
		newRecord(people, "bob000000000000", map[string]any{"name": "Bob", "secret": "s2"}),
		newRecord(posts, "apple0000000000", map[string]any{"title": "apple", "rank": 1.0, "tags": []string{"a", "b"}, "author": "alice0000000000", "meta": json.RawMessage(`{"color":"red"}`)}),
		newRecord(posts, "banana000000000", map[string]any{"title": "banana", "rank": 2.0, "draft": true, "tags": []string{"b"}, "author": "bob000000000000"}),
		newRecord(posts, "cherry000000000", map[string]any{"title": "cherry", "rank": 3.0, "tags": []string{"c"}, "author": "alice0000000000", "meta": json.RawMessage(`{"color":"dark red"}`)}),
	)
	lookup := func(nameOrID string) *schema.Collection {
		for _, c := range []*schema.Collection{people, posts} {
			if c.Name == nameOrID || c.ID == nameOrID {
				return c
			}
		}
		return nil
	}
	alice := byID(t, s, people, "alice0000000000")
	superuser := &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID, Name: schema.SuperusersName}, Data: map[string]any{"id": "root00000000000"}}

	tests := []struct {
		name    string
		filters []string
		params  map[string]any
		req     *store.Request
		sort    string
		want    []string
	}{
		{name: "equality", filters: []string{`title = "apple"`}, want: []string{"apple0000000000"}},
		{name: "numbers and bools", filters: []string{`rank >= 2 && draft = false`}, want: []string{"cherry000000000"}},
		{name: "or", filters: []string{`title = "apple" || rank = 3`}, sort: "-rank", want: []string{"cherry000000000", "apple0000000000"}},
		{name: "like", filters: []string{`title ~ "an"`}, want: []string{"banana000000000"}},
		{name: "several filters are all applied", filters: []string{`rank > 1`, `title != "banana"`}, want: []string{"cherry000000000"}},
		{name: "any item of a multi value", filters: []string{`tags:each ?= "b"`}, sort: "title", want: []string{"apple0000000000", "banana000000000"}},
		{name: "every item of a multi value", filters: []string{`tags:each != "c"`}, sort: "title", want: []string{"apple0000000000", "banana000000000"}},
		{name: "length of a multi value", filters: []string{`tags:length > 1`}, want: []string{"apple0000000000"}},
		{name: "relation path", filters: []string{`author.name = "Alice"`}, sort: "-title", want: []string{"cherry000000000", "apple0000000000"}},
		{name: "json path", filters: []string{`meta.color ~ "red"`}, sort: "title", want: []string{"apple0000000000", "cherry000000000"}},
		{name: "placeholders", filters: []string{`title = {:t} || rank = {:r}`}, params: map[string]any{"t": "banana", "r": 3}, sort: "title",
			want: []string{"banana000000000", "cherry000000000"}},
		{name: "request auth", filters: []string{`author = @request.auth.id`}, req: &store.Request{Method: "GET", Auth: alice}, sort: "title",
			want: []string{"apple0000000000", "cherry000000000"}},
		{name: "no request: auth is empty", filters: []string{`author = @request.auth.id`}, want: []string{}},
		{name: "sort by a relation path", sort: "author.name,-rank", want: []string{"cherry000000000", "apple0000000000", "banana000000000"}},
		{name: "superusers may use hidden fields", filters: []string{`author.secret = "s2"`}, req: &store.Request{Auth: superuser}, want: []string{"banana000000000"}},
		{name: "filters and ids", filters: []string{`rank < 3`}, want: []string{"apple0000000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := &store.Query{Collection: posts, Schema: lookup, Filters: tt.filters, Params: tt.params, Request: tt.req, Sort: tt.sort}
			if tt.name == "filters and ids" {
				q.IDs = []string{"apple0000000000", "cherry000000000"}
			}
			got := ids(find(t, s, q))
			if tt.sort != "" && !equalStrings(got, tt.want) || tt.sort == "" && !sameSet(got, tt.want) {
				t.Errorf("FindRecords: got %v, want %v", got, tt.want)
			}
			n, err := s.CountRecords(ctx, q)
			if err != nil || n != int64(len(tt.want)) {
				t.Errorf("CountRecords: got %d, %v; want %d", n, err, len(tt.want))
			}
			// The same query inside a transaction gives the same answer.
			inTx(t, s, func(tx store.Tx) error {
				if got := ids(find(t, tx, q)); !sameSet(got, tt.want) {
					t.Errorf("FindRecords in a transaction: got %v, want %v", got, tt.want)
				}
				return nil
			})
		})
	}

	t.Run("unusable filters and sorts are invalid", func(t *testing.T) {
		t.Parallel()
		bad := []store.Query{
			{Filters: []string{`title = `}},
			{Filters: []string{`title = "x" &&`}},
			{Filters: []string{`missing = 1`}},
			{Filters: []string{`author.missing = 1`}},
			{Filters: []string{`author.secret = "s1"`}}, // hidden, not a superuser
			{Filters: []string{`title = "x"; DROP TABLE posts`}},
			{Sort: "missing"},
			{Sort: "title,"},
		}
		for _, q := range bad {
			q.Collection, q.Schema = posts, lookup
			_, err := s.FindRecords(ctx, &q)
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("filters %q sort %q: FindRecords got %q (%v), want invalid", q.Filters, q.Sort, got, err)
			}
			if q.Sort != "" {
				continue // counts ignore the sort
			}
			_, err = s.CountRecords(ctx, &q)
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("filters %q: CountRecords got %q (%v), want invalid", q.Filters, got, err)
			}
		}
	})
}
