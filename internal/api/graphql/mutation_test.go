package graphql_test

import (
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/api/graphql"
)

func TestMutations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	// A guest fails the create rule.
	res := e.do("", `mutation { createPosts(data: {title: "x"}) { id } }`, nil)
	if res.code() != "forbidden" && res.code() != "invalid" {
		t.Errorf("guest create: got %s", res.raw)
	}
	// Per-field problems come in extensions.data, as REST's data.
	res = e.do("alice", `mutation { createPosts(data: {views: 1}) { id } }`, nil)
	if res.code() != "invalid" {
		t.Fatalf("missing title: got %s", res.raw)
	}
	data, _ := res.Errors[0].Extensions["data"].(map[string]any)
	if f, _ := data["title"].(map[string]any); f["code"] != "validation_required" {
		t.Errorf("missing title: extensions %v", res.Errors[0].Extensions)
	}
	// A typed input with a relation, a json value and a date.
	res = e.do("alice", `mutation($d: PostsCreateInput!) { createPosts(data: $d) { id title meta when author { name } } }`,
		map[string]any{"d": map[string]any{"title": "mine", "author": e.ids["alice"], "meta": []any{1, 2}, "when": "2026-03-04 05:06:07.000Z"}})
	if len(res.Errors) > 0 {
		t.Fatalf("create: %s", res.raw)
	}
	p := res.Data["createPosts"].(map[string]any)
	id := p["id"].(string)
	if p["title"] != "mine" || p["author"].(map[string]any)["name"] != "alice" || p["when"] != "2026-03-04 05:06:07.000Z" {
		t.Errorf("create: got %v", p)
	}
	// Bob is not the author: the update rule hides the record from him.
	res = e.do("bob", `mutation($id: ID!) { updatePosts(id: $id, data: {title: "stolen"}) { id } }`, map[string]any{"id": id})
	if c := res.code(); c != "not_found" && c != "forbidden" {
		t.Errorf("bob update: got %s", res.raw)
	}
	res = e.do("alice", `mutation($id: ID!) { updatePosts(id: $id, data: {title: "edited", published: true}) { title published } }`, map[string]any{"id": id})
	if len(res.Errors) > 0 || res.Data["updatePosts"].(map[string]any)["title"] != "edited" {
		t.Errorf("alice update: got %s", res.raw)
	}
	// The delete rule is null: only superusers delete, and only their
	// schema has the mutation.
	res = e.do("alice", `mutation($id: ID!) { deletePosts(id: $id) }`, map[string]any{"id": id})
	if res.code() != "invalid" || !strings.Contains(res.Errors[0].Message, "deletePosts") {
		t.Errorf("alice delete: got %s", res.raw)
	}
	res = e.do("superuser", `mutation($id: ID!) { deletePosts(id: $id) }`, map[string]any{"id": id})
	if len(res.Errors) > 0 || res.Data["deletePosts"] != true {
		t.Errorf("superuser delete: got %s", res.raw)
	}
	if res := e.do("superuser", `query($id: ID!) { posts(id: $id) { id } }`, map[string]any{"id": id}); res.code() != "not_found" {
		t.Errorf("after delete: got %s", res.raw)
	}
	// Mutations need POST.
	res = e.send("alice", "GET", "/api/graphql?query="+strings.ReplaceAll(`mutation{createPosts(data:{title:"g"}){id}}`, " ", ""), "", nil)
	if res.code() != "invalid" || !strings.Contains(res.Errors[0].Message, "POST") {
		t.Errorf("GET mutation: got %s", res.raw)
	}
}

// An auth collection's input takes the password and its confirmation.
func TestAuthInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	res := e.do("", `mutation { createUsers(data: {email: "c@example.com", password: "secret-123456", passwordConfirm: "nope-123456"}) { id } }`, nil)
	data, _ := res.Errors[0].Extensions["data"].(map[string]any)
	if _, ok := data["passwordConfirm"]; !ok {
		t.Errorf("mismatched confirmation: got %s", res.raw)
	}
}
