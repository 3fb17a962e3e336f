package storetest

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// testFilters checks that filters, their parameters, @request data, relation
// paths and sorts reach the engine's query compiler, and who may read hidden
// fields and private emails. The language itself is tested with the
// compiler; this suite checks the wiring and the results.
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

	guest := &store.Request{Method: "GET", Context: "default"}
	tests := []struct {
		name    string
		filters []string
		client  string
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
		{name: "client filter", client: `rank >= 2`, sort: "rank", want: []string{"banana000000000", "cherry000000000"}},
		{name: "rules and client filter all hold", filters: []string{`rank > 1`}, client: `title != "banana"`, want: []string{"cherry000000000"}},
		{name: "rules may read hidden fields", filters: []string{`author.secret = "s1"`}, req: guest, sort: "title",
			want: []string{"apple0000000000", "cherry000000000"}},
		{name: "rules may read hidden fields with a client filter", filters: []string{`author.secret = "s1"`}, client: `rank > 1`, req: &store.Request{Auth: alice},
			want: []string{"cherry000000000"}},
		{name: "superusers' client filter may read hidden fields", client: `author.secret = "s2"`, req: &store.Request{Auth: superuser}, want: []string{"banana000000000"}},
		{name: "superusers may sort by hidden fields", req: &store.Request{Auth: superuser}, sort: "-author.secret,title",
			want: []string{"banana000000000", "apple0000000000", "cherry000000000"}},
		// A rule and a client filter on the same multi-valued path are one
		// condition: they must hold for the same item. Each alone matches
		// apple (tags a and b); together they need a tag that is both.
		{name: "rule and client filter share joins", filters: []string{`tags:each ?= "a"`}, client: `tags:each ?= "b"`, want: []string{}},
		{name: "rule and client filter on the same item", filters: []string{`tags:each ?= "b"`}, client: `tags:each ?!= "a"`, want: []string{"apple0000000000", "banana000000000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := &store.Query{Collection: posts, Schema: lookup, Filters: tt.filters, ClientFilter: tt.client, Params: tt.params, Request: tt.req, Sort: tt.sort}
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
			if q.IDs == nil {
				wantMatches(t, s, q, tt.want)
			}
		})
	}

	t.Run("unusable filters and sorts are invalid", func(t *testing.T) {
		t.Parallel()
		bad := []store.Query{
			{Filters: []string{`title = `}},
			{Filters: []string{`title = "x" &&`}},
			{Filters: []string{`missing = 1`}},
			{Filters: []string{`author.missing = 1`}},
			{Filters: []string{`title = "x"; DROP TABLE posts`}},
			{ClientFilter: `title = `},
			{ClientFilter: `missing = 1`},
			{Filters: []string{`rank > 0`}, ClientFilter: `title = "x" ||`},
			// Hidden fields in client input, not a superuser.
			{ClientFilter: `author.secret = "s1"`},
			{ClientFilter: `author.secret = "s1"`, Request: guest},
			{ClientFilter: `author.secret = "s1"`, Request: &store.Request{Auth: alice}},
			{Filters: []string{`author.secret = "s1"`}, ClientFilter: `author.secret = "s1"`, Request: guest},
			{Sort: "author.secret"},
			{Sort: "title,-author.secret", Request: &store.Request{Auth: alice}},
			{Sort: "missing"},
			{Sort: "title,"},
		}
		for _, q := range bad {
			q.Collection, q.Schema = posts, lookup
			_, err := s.FindRecords(ctx, &q)
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("filters %q client filter %q sort %q: FindRecords got %q (%v), want invalid", q.Filters, q.ClientFilter, q.Sort, got, err)
			}
			if q.Sort != "" {
				continue // counts and matches ignore the sort
			}
			_, err = s.CountRecords(ctx, &q)
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("filters %q client filter %q: CountRecords got %q (%v), want invalid", q.Filters, q.ClientFilter, got, err)
			}
			// apple passes every filter that compiles, so the evaluation
			// reaches the bad one.
			_, err = s.MatchRecord(ctx, &q, byID(t, s, posts, "apple0000000000"))
			if got := apperr.CodeOf(err); got != apperr.Invalid {
				t.Errorf("filters %q client filter %q: MatchRecord got %q (%v), want invalid", q.Filters, q.ClientFilter, got, err)
			}
		}
	})
}

// testPrivateEmails checks that a client's filter matches the email of an
// auth record only where the record shows it (emailVisibility), on the
// filtered collection and through relations, while rules and superusers see
// every email.
func testPrivateEmails(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	s := open(t)

	members := schema.NewCollection(schema.TypeAuth, "members", func() string { return "secret" })
	members.ID = schema.DefaultCollectionID(schema.TypeAuth, "members")
	members.Fields = append(members.Fields, field(schema.TypeText, "name"))
	author := multi(schema.TypeRelation, "author", 1)
	author.CollectionID = members.ID
	readers := multi(schema.TypeRelation, "readers", 5)
	readers.CollectionID = members.ID
	notes := baseCollection("notes", field(schema.TypeText, "title"), author, readers)
	create(t, s, members, notes)
	member := func(id, email string, visible bool) *schema.Record {
		return newRecord(members, id, map[string]any{"email": email, "emailVisibility": visible, "name": id[:3],
			"tokenKey": id + "-token", "password": "hash"})
	}
	insert(t, s,
		member("ann000000000000", "ann@x.io", false),
		member("bob000000000000", "bob@x.io", true),
		newRecord(notes, "n1aaaaaaaaaaaaa", map[string]any{"title": "by ann", "author": "ann000000000000", "readers": []string{"ann000000000000", "bob000000000000"}}),
		newRecord(notes, "n2bbbbbbbbbbbbb", map[string]any{"title": "by bob", "author": "bob000000000000", "readers": []string{"bob000000000000"}}),
	)
	lookup := func(nameOrID string) *schema.Collection {
		for _, c := range []*schema.Collection{members, notes} {
			if c.Name == nameOrID || c.ID == nameOrID {
				return c
			}
		}
		return nil
	}
	guest := &store.Request{Method: "GET", Context: "default"}
	bob := byID(t, s, members, "bob000000000000")
	superuser := &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID, Name: schema.SuperusersName}, Data: map[string]any{"id": "root00000000000"}}
	root := &store.Request{Auth: superuser}

	tests := []struct {
		name    string
		coll    *schema.Collection
		filters []string
		client  string
		sort    string
		req     *store.Request
		want    []string
	}{
		{name: "private email", coll: members, client: `email = "ann@x.io"`, req: guest, want: []string{}},
		{name: "visible email", coll: members, client: `email = "bob@x.io"`, req: guest, want: []string{"bob000000000000"}},
		{name: "any comparison", coll: members, client: `email ~ "@x.io" || email = ""`, req: &store.Request{Auth: bob}, want: []string{"bob000000000000"}},
		{name: "negated comparison", coll: members, client: `email != "nobody@x.io"`, req: guest, want: []string{"bob000000000000"}},
		{name: "other conditions still apply", coll: members, client: `email = "ann@x.io" || name = "ann"`, req: guest, want: []string{"ann000000000000"}},
		{name: "superuser", coll: members, client: `email ~ "@x.io"`, req: root, sort: "email", want: []string{"ann000000000000", "bob000000000000"}},
		{name: "rule", coll: members, filters: []string{`email ~ "@x.io"`}, req: guest, sort: "email", want: []string{"ann000000000000", "bob000000000000"}},
		{name: "sort by email", coll: members, req: guest, sort: "-email", want: []string{"bob000000000000", "ann000000000000"}},
		{name: "relation", coll: notes, client: `author.email = "ann@x.io"`, req: guest, want: []string{}},
		{name: "relation, visible", coll: notes, client: `author.email = "bob@x.io"`, req: guest, want: []string{"n2bbbbbbbbbbbbb"}},
		{name: "relation, superuser", coll: notes, client: `author.email = "ann@x.io"`, req: root, want: []string{"n1aaaaaaaaaaaaa"}},
		{name: "relation, rule", coll: notes, filters: []string{`author.email = "ann@x.io"`}, req: guest, want: []string{"n1aaaaaaaaaaaaa"}},
		{name: "multi relation", coll: notes, client: `readers.email ?= "ann@x.io"`, req: guest, want: []string{}},
		{name: "multi relation, visible", coll: notes, client: `readers.email ?= "bob@x.io"`, req: guest, sort: "title", want: []string{"n1aaaaaaaaaaaaa", "n2bbbbbbbbbbbbb"}},
		{name: "back-relation", coll: members, client: `notes_via_author.title = "by ann" && email != ""`, req: guest, want: []string{}},
		{name: "rule and client filter", coll: notes, filters: []string{`author.email != ""`}, client: `author.email ~ "ann"`, req: guest, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := &store.Query{Collection: tt.coll, Schema: lookup, Filters: tt.filters, ClientFilter: tt.client, Request: tt.req, Sort: tt.sort}
			got := ids(find(t, s, q))
			if tt.sort != "" && !equalStrings(got, tt.want) || tt.sort == "" && !sameSet(got, tt.want) {
				t.Errorf("FindRecords: got %v, want %v", got, tt.want)
			}
			n, err := s.CountRecords(ctx, q)
			if err != nil || n != int64(len(tt.want)) {
				t.Errorf("CountRecords: got %d, %v; want %d", n, err, len(tt.want))
			}
			wantMatches(t, s, q, tt.want)
		})
	}
}

// wantMatches checks that MatchRecord, the in-memory evaluation of q,
// accepts exactly the records of q.Collection listed in want.
func wantMatches(t *testing.T, s store.Store, q *store.Query, want []string) {
	t.Helper()
	for _, r := range all(t, s, q.Collection) {
		got, err := s.MatchRecord(context.Background(), q, r)
		if err != nil {
			t.Errorf("MatchRecord(%s): %v", r.ID(), err)
			continue
		}
		if got != slices.Contains(want, r.ID()) {
			t.Errorf("MatchRecord(%s): got %v, want %v", r.ID(), got, !got)
		}
	}
}
