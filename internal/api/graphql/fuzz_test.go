package graphql

import (
	"context"
	"testing"

	"github.com/basalt-dev/basalt/internal/api/caller"
	"github.com/basalt-dev/basalt/internal/schema"
)

type fixedCollections []*schema.Collection

func (f fixedCollections) All() []*schema.Collection { return f }

// FuzzQuery feeds arbitrary documents to the query entry point (parsing,
// limits, validation): it must answer errors with a code, never panic or
// hang.
func FuzzQuery(f *testing.F) {
	for _, seed := range []string{
		`{ postsList(perPage: 5) { items { id author { name posts_via_author { title } } } } }`,
		`query($id: ID!) { posts(id: $id) { ...F } } fragment F on Posts { title editors { id } }`,
		`mutation { createPosts(data: {title: "x", meta: {a: [1, {b: null}]}}) { id } }`,
		`{ postsList { ...A } } fragment A on PostsList_2 { ...B } fragment B on PostsList_2 { ...A }`,
		`{ __schema { types { fields { type { fields { name } } } } } }`,
		`subscription { postsChanged(filter: "views > 1") { action record { id } } }`,
		`{ a: postsList { b: page } c: usersList { d: page } }`,
		`{`, `query { ... on Query { ... on Query { postsList { page } } } }`,
	} {
		f.Add(seed)
	}
	h := New(Deps{Collections: fixedCollections(goldenCollections()), Limits: DefaultLimits()})
	ctx := context.Background()
	super := caller.WithAuth(ctx, &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}})
	f.Fuzz(func(t *testing.T, query string) {
		for _, c := range []context.Context{ctx, super} {
			pr, errs := h.prepare(c, params{Query: query, Variables: map[string]any{"id": "x"}})
			if pr == nil && len(errs) == 0 {
				t.Fatalf("no result and no error for %q", query)
			}
			for _, e := range errs {
				if code, _ := e.Extensions["code"].(string); code == "" || code == "internal" {
					t.Fatalf("error without a client code for %q: %+v", query, e)
				}
			}
		}
	})
}
