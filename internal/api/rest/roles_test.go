package rest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
)

// TestRolesExample runs the worked example of docs/roles.md: a role select
// field on users, rules that read @request.auth.role, and a field shown
// only to editors and admins (visibleRule).
func TestRolesExample(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	// users: a role field; sign-up may not pick a role, and only admins
	// change roles.
	users := e.cols.Lookup("users").Clone()
	users.Fields = append(users.Fields, &schema.Field{ID: "select_role", Name: "role", Type: schema.TypeSelect,
		Values: []string{"viewer", "editor", "admin"}, MaxSelect: 1})
	users.CreateRule = schema.Rule(`@request.body.role:isset = false`)
	users.UpdateRule = schema.Rule(`id = @request.auth.id && (@request.body.role:isset = false || @request.auth.role = "admin")`)
	body, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cols.Update(ctx, "users", body); err != nil {
		t.Fatalf("adding the role field: %v", err)
	}
	for name, role := range map[string]string{"editor": "editor", "viewer": "viewer", "admin": "admin"} {
		rec := e.mustJSON("POST", "/api/collections/users/records", "superuser", map[string]any{
			"email": name + "@example.com", "password": userPass, "passwordConfirm": userPass, "role": role}, 200)
		e.vars[name+"Id"] = rec["id"].(string)
		e.tokens[name] = e.login("users", name+"@example.com", userPass)
	}
	e.createCollection(map[string]any{
		"name":       "articles",
		"listRule":   `status = "published" || @request.auth.role = "editor" || @request.auth.role = "admin"`,
		"viewRule":   `status = "published" || @request.auth.role = "editor" || @request.auth.role = "admin"`,
		"createRule": `@request.auth.role = "editor" || @request.auth.role = "admin"`,
		"updateRule": `@request.auth.role = "editor" || @request.auth.role = "admin"`,
		"deleteRule": `@request.auth.role = "admin"`,
		"fields": []any{
			map[string]any{"name": "title", "type": "text", "required": true},
			map[string]any{"name": "status", "type": "select", "values": []string{"draft", "published"}, "maxSelect": 1},
			map[string]any{"name": "reviewNotes", "type": "text",
				"visibleRule": `@request.auth.role = "editor" || @request.auth.role = "admin"`},
		},
	})
	articlesID := e.cols.Lookup("articles").ID
	e.createCollection(map[string]any{
		"name": "comments", "listRule": "", "viewRule": "", "createRule": `@request.auth.id != ""`,
		"fields": []any{
			map[string]any{"name": "text", "type": "text"},
			map[string]any{"name": "article", "type": "relation", "collectionId": articlesID, "maxSelect": 1},
		},
	})

	// Who may write.
	pub := e.mustJSON("POST", "/api/collections/articles/records", "editor",
		map[string]any{"title": "Hello", "status": "published", "reviewNotes": "check the intro"}, 200)
	e.vars["articleId"] = pub["id"].(string)
	e.mustJSON("POST", "/api/collections/articles/records", "admin",
		map[string]any{"title": "Draft", "status": "draft", "reviewNotes": "not yet"}, 200)
	for _, who := range []string{"viewer", "user", ""} {
		if res := e.do("POST", "/api/collections/articles/records", who, map[string]any{"title": "x"}, nil); res.status != 400 {
			t.Errorf("create as %q: %d %s", who, res.status, res.body)
		}
	}
	if res := e.do("DELETE", "/api/collections/articles/records/{{articleId}}", "editor", nil, nil); res.status != 404 {
		t.Errorf("delete as editor: %d", res.status)
	}
	// Roles are not self-service.
	if res := e.do("PATCH", "/api/collections/users/records/{{viewerId}}", "viewer", map[string]any{"role": "admin"}, nil); res.status != 404 {
		t.Errorf("viewer promotes herself: %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/api/collections/users/records", "", map[string]any{
		"email": "sneaky@example.com", "password": userPass, "passwordConfirm": userPass, "role": "admin"}, nil); res.status != 400 {
		t.Errorf("sign-up with a role: %d %s", res.status, res.body)
	}
	e.mustJSON("PATCH", "/api/collections/users/records/{{viewerId}}", "viewer", map[string]any{"name": "Vi"}, 200)
	e.mustJSON("PATCH", "/api/collections/users/records/{{adminId}}", "admin", map[string]any{"role": "admin"}, 200)

	// Who may read what: list, view and expand.
	e.mustJSON("POST", "/api/collections/comments/records", "viewer", map[string]any{"text": "nice", "article": "{{articleId}}"}, 200)
	for _, tt := range []struct {
		who       string
		count     int
		seesNotes bool
	}{
		{"editor", 2, true}, {"admin", 2, true}, {"superuser", 2, true},
		{"viewer", 1, false}, {"user", 1, false}, {"", 1, false},
	} {
		list := e.mustJSON("GET", "/api/collections/articles/records?sort=title", tt.who, nil, 200)
		items := list["items"].([]any)
		if len(items) != tt.count {
			t.Errorf("%q lists %d articles, want %d", tt.who, len(items), tt.count)
		}
		for _, it := range items {
			if _, ok := it.(map[string]any)["reviewNotes"]; ok != tt.seesNotes {
				t.Errorf("%q: reviewNotes in list = %v", tt.who, ok)
			}
		}
		view := e.mustJSON("GET", "/api/collections/articles/records/{{articleId}}", tt.who, nil, 200)
		if notes, ok := view["reviewNotes"]; ok != tt.seesNotes || (ok && notes != "check the intro") {
			t.Errorf("%q: view reviewNotes = %v %v", tt.who, notes, ok)
		}
		com := e.mustJSON("GET", "/api/collections/comments/records?expand=article", tt.who, nil, 200)
		art := com["items"].([]any)[0].(map[string]any)["expand"].(map[string]any)["article"].(map[string]any)
		if _, ok := art["reviewNotes"]; ok != tt.seesNotes || art["title"] != "Hello" {
			t.Errorf("%q: expanded article %v", tt.who, art)
		}
		// Filtering or sorting by the field would leak it.
		res := e.do("GET", "/api/collections/articles/records?filter="+url.QueryEscape(`reviewNotes ~ "intro"`), tt.who, nil, nil)
		if want := map[bool]int{true: 200, false: 400}[tt.seesNotes]; res.status != want {
			t.Errorf("%q filters by reviewNotes: %d, want %d", tt.who, res.status, want)
		}
	}
	// The option round-trips and is validated.
	col := e.mustJSON("GET", "/api/collections/articles", "superuser", nil, 200)
	if !strings.Contains(jsonText(col["fields"]), `"visibleRule":"@request.auth.role = \"editor\" || @request.auth.role = \"admin\""`) {
		t.Errorf("fields: %s", jsonText(col["fields"]))
	}
	if strings.Contains(jsonText(e.mustJSON("GET", "/api/collections/users", "superuser", nil, 200)), "visibleRule") {
		t.Error("visibleRule is encoded on fields without one")
	}
	for _, rule := range []string{`status = "draft"`, `@collection.users.id != ""`, `@request.auth.role =`, `id != ""`} {
		res := e.do("PATCH", "/api/collections/articles", "superuser", map[string]any{"fields": []any{
			map[string]any{"name": "title", "type": "text"},
			map[string]any{"name": "other", "type": "text", "visibleRule": rule}}}, nil)
		if res.status != 400 || !strings.Contains(string(res.body), "visibleRule") {
			t.Errorf("visibleRule %q: %d %s", rule, res.status, res.body)
		}
	}
}
