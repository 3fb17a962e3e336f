package rest

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// The direct record encoder writes exactly what encoding the map of
// record.Export writes, for every caller: hidden fields, visibleRule
// fields, email visibility, nil JSON values, odd strings and nested
// expands.
func TestAppendItemMatchesExport(t *testing.T) {
	t.Parallel()
	users := schema.NewCollection(schema.TypeAuth, "users", func() string { return "secret" })
	users.ID = "_pb_users_"
	users.Fields = append(users.Fields,
		&schema.Field{ID: "n", Name: "name", Type: schema.TypeText},
		&schema.Field{ID: "s", Name: "salary", Type: schema.TypeNumber, Hidden: true},
		&schema.Field{ID: "p", Name: "phone", Type: schema.TypeText, VisibleRule: "@request.auth.id = id"},
	)
	posts := schema.NewCollection(schema.TypeBase, "posts", nil)
	posts.ID = "pbc_posts"
	posts.Fields = append(posts.Fields,
		&schema.Field{ID: "t", Name: "title", Type: schema.TypeText},
		&schema.Field{ID: "m", Name: "meta", Type: schema.TypeJSON},
		&schema.Field{ID: "a", Name: "author", Type: schema.TypeRelation, CollectionID: users.ID, MaxSelect: 1},
		&schema.Field{ID: "z", Name: "Zeta", Type: schema.TypeBool},
	)
	user := func(id, email string, public bool) *schema.Record {
		r := schema.NewRecord(users)
		r.Data["id"], r.Data["email"], r.Data["emailVisibility"] = id, email, public
		r.Data["name"], r.Data["salary"], r.Data["phone"] = "Ann <&> \u2028", 1000.5, "555"
		r.Data["password"], r.Data["tokenKey"] = "hash", "key"
		return r
	}
	alice, bob := user("alice0000000000", "a@example.com", false), user("bob000000000000", "b@example.com", true)
	post := schema.NewRecord(posts)
	post.Data["id"], post.Data["title"], post.Data["author"], post.Data["Zeta"] = "post00000000000", "Hi \"there\"", alice.ID(), true
	post.Data["meta"] = json.RawMessage(nil)
	withMeta := schema.NewRecord(posts)
	withMeta.Data["id"], withMeta.Data["meta"] = "post00000000001", json.RawMessage(`{"b": [1, 2],"a":null}`)

	guest := &record.Request{}
	asAlice := &record.Request{Auth: alice, Visible: func(*schema.Collection, *schema.Field) bool { return true }}
	super := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}, Data: map[string]any{"id": "root"}}}
	items := []*record.Item{
		{Record: post},
		{Record: withMeta},
		{Record: alice},
		{Record: bob},
		{Record: post, Expand: map[string]any{"author": &record.Item{Record: alice}}},
		{Record: post, Expand: map[string]any{
			"author":        &record.Item{Record: bob, Expand: map[string]any{"posts_via_author": []*record.Item{{Record: post}, {Record: withMeta}}}},
			"empty":         []*record.Item{},
			"posts_via_x":   []*record.Item{{Record: withMeta}},
			"A-upper-first": &record.Item{Record: alice},
		}},
	}
	for _, req := range []*record.Request{nil, guest, asAlice, super} {
		for i, it := range items {
			want, err := json.Marshal(record.Export(it, req))
			if err != nil {
				t.Fatal(err)
			}
			got, err := appendItem([]byte("x"), record.NewExporter(req), it, 0)
			if err != nil {
				t.Fatalf("item %d: %v", i, err)
			}
			if !bytes.Equal(got, append([]byte("x"), want...)) {
				t.Errorf("item %d, caller %+v:\n got %s\nwant x%s", i, req, got, want)
			}
		}
	}
}
