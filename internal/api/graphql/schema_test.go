package graphql

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenCollections covers every field type, relations both ways, hidden
// and password fields, a superusers-only collection and names that clash
// with generated ones.
func goldenCollections() []*schema.Collection {
	open := schema.Rule("")
	users := &schema.Collection{ID: "_pb_users_auth_", Name: "users", Type: schema.TypeAuth, ListRule: open, ViewRule: open,
		AuthOptions: &schema.AuthOptions{},
		Fields: []*schema.Field{
			{Name: "id", Type: schema.TypeText, PrimaryKey: true},
			{Name: "password", Type: schema.TypePassword, Hidden: true},
			{Name: "tokenKey", Type: schema.TypeText, Hidden: true},
			{Name: "email", Type: schema.TypeEmail},
			{Name: "emailVisibility", Type: schema.TypeBool},
			{Name: "verified", Type: schema.TypeBool},
			{Name: "name", Type: schema.TypeText},
			{Name: "created", Type: schema.TypeAutodate},
		}}
	posts := &schema.Collection{ID: "posts_id", Name: "posts", Type: schema.TypeBase,
		ListRule: open, ViewRule: open, CreateRule: open, UpdateRule: open,
		Indexes: []string{"CREATE UNIQUE INDEX idx_slug ON posts (slug)"},
		Fields: []*schema.Field{
			{Name: "id", Type: schema.TypeText, PrimaryKey: true},
			{Name: "title", Type: schema.TypeText, Required: true},
			{Name: "body", Type: schema.TypeEditor},
			{Name: "views", Type: schema.TypeNumber},
			{Name: "published", Type: schema.TypeBool},
			{Name: "when", Type: schema.TypeDate},
			{Name: "status", Type: schema.TypeSelect, Values: []string{"draft", "live"}, MaxSelect: 1},
			{Name: "labels", Type: schema.TypeSelect, Values: []string{"a", "b"}, MaxSelect: 2},
			{Name: "cover", Type: schema.TypeFile, MaxSelect: 1},
			{Name: "meta", Type: schema.TypeJSON},
			{Name: "site", Type: schema.TypeURL},
			{Name: "secret", Type: schema.TypeText, Hidden: true},
			{Name: "score", Type: schema.TypeNumber, VisibleRule: "@request.auth.id != ''"},
			{Name: "author", Type: schema.TypeRelation, CollectionID: "_pb_users_auth_", MaxSelect: 1},
			{Name: "authorId", Type: schema.TypeText},
			{Name: "editors", Type: schema.TypeRelation, CollectionID: "_pb_users_auth_", MaxSelect: 3},
			{Name: "parent", Type: schema.TypeRelation, CollectionID: "posts_id", MaxSelect: 1},
			{Name: "audit", Type: schema.TypeRelation, CollectionID: "audit_id", MaxSelect: 1},
			{Name: "updated", Type: schema.TypeAutodate},
		}}
	// A collection named like a generated root field and one whose type
	// name clashes with posts'.
	postsList := &schema.Collection{ID: "pl_id", Name: "postsList", Type: schema.TypeBase, ListRule: open,
		Fields: []*schema.Field{{Name: "id", Type: schema.TypeText, PrimaryKey: true}}}
	underscore := &schema.Collection{ID: "up_id", Name: "_posts", Type: schema.TypeBase, ViewRule: open,
		Fields: []*schema.Field{{Name: "id", Type: schema.TypeText, PrimaryKey: true}, {Name: "__x", Type: schema.TypeText}}}
	audit := &schema.Collection{ID: "audit_id", Name: "audit", Type: schema.TypeBase,
		Fields: []*schema.Field{{Name: "id", Type: schema.TypeText, PrimaryKey: true}, {Name: "note", Type: schema.TypeText}}}
	return []*schema.Collection{users, posts, postsList, underscore, audit}
}

func TestSchemaGolden(t *testing.T) {
	for _, tc := range []struct {
		file  string
		super bool
	}{{"public.graphql", false}, {"superuser.graphql", true}} {
		b, err := build(goldenCollections(), tc.super)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		got := printSDL(&b.schema)
		path := filepath.Join("testdata", tc.file)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the generated schema (run with -update and review the diff):\n%s", path, got)
		}
		// The same collections give the same schema.
		again, err := build(goldenCollections(), tc.super)
		if err != nil || printSDL(&again.schema) != got {
			t.Errorf("%s: a second build differs", tc.file)
		}
	}
}
