package graphql_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/api/graphql"
	"github.com/basalt-dev/basalt/internal/schema"
)

func ids(items any) []string {
	var out []string
	for _, it := range items.([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	slices.Sort(out)
	return out
}

func TestListFilterSortPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	for i := 1; i <= 5; i++ {
		e.post(map[string]any{"title": fmt.Sprintf("post %d", i), "views": i, "published": true, "author": e.ids["alice"]})
	}
	res := e.do("", `query($f: String) { postsList(filter: $f, sort: "-views", page: 2, perPage: 2) {
		page perPage totalItems totalPages items { title views published author { name } authorId } } }`,
		map[string]any{"f": "views >= 2"})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %s", res.raw)
	}
	list := res.Data["postsList"].(map[string]any)
	if list["page"] != 2.0 || list["perPage"] != 2.0 || list["totalItems"] != 4.0 || list["totalPages"] != 2.0 {
		t.Errorf("page info: got %v", list)
	}
	items := list["items"].([]any)
	var titles []string
	for _, it := range items {
		m := it.(map[string]any)
		titles = append(titles, m["title"].(string))
		if m["author"].(map[string]any)["name"] != "alice" || m["authorId"] != e.ids["alice"] {
			t.Errorf("author: got %v / %v", m["author"], m["authorId"])
		}
	}
	if want := []string{"post 3", "post 2"}; !slices.Equal(titles, want) {
		t.Errorf("titles: got %v, want %v", titles, want)
	}
	// skipTotal leaves the totals null.
	res = e.do("", `{ postsList(skipTotal: true) { totalItems totalPages items { id } } }`, nil)
	list = res.Data["postsList"].(map[string]any)
	if list["totalItems"] != nil || list["totalPages"] != nil || len(list["items"].([]any)) != 5 {
		t.Errorf("skipTotal: got %s", res.raw)
	}
	// A bad filter is the service's invalid error.
	res = e.do("", `{ postsList(filter: "nope = 1") { totalItems } }`, nil)
	if res.code() != "invalid" || res.Errors[0].Path[0] != "postsList" {
		t.Errorf("bad filter: got %s", res.raw)
	}
}

func TestViewAndTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	id := e.post(map[string]any{"title": "typed", "views": 2.5, "published": true, "meta": map[string]any{"a": []any{1, "x"}},
		"when": "2026-01-02 03:04:05.000Z", "secret": "s3cret", "author": e.ids["bob"]})
	res := e.do("", `query($id: ID!) { posts(id: $id) { id collectionName title views published meta when author { id email } posts_via_author: tags { id } } }`,
		map[string]any{"id": id})
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %s", res.raw)
	}
	p := res.Data["posts"].(map[string]any)
	if p["id"] != id || p["collectionName"] != "posts" || p["views"] != 2.5 || p["published"] != true ||
		p["when"] != "2026-01-02 03:04:05.000Z" || fmt.Sprint(p["meta"]) != "map[a:[1 x]]" {
		t.Errorf("got %v", p)
	}
	// bob's email is not visible to a guest: null, as REST leaves it out.
	if a := p["author"].(map[string]any); a["id"] != e.ids["bob"] || a["email"] != nil {
		t.Errorf("author: got %v", a)
	}
	// Unknown ids are not_found errors.
	res = e.do("", `{ posts(id: "nope12345678901") { id } }`, nil)
	if res.code() != "not_found" || res.Data["posts"] != nil {
		t.Errorf("unknown id: got %s", res.raw)
	}
}

func TestHiddenFieldsNeverExposed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	e.post(map[string]any{"title": "x", "published": true, "secret": "s3cret"})
	for _, who := range []string{"", "alice"} {
		res := e.do(who, `{ postsList { items { secret } } }`, nil)
		if res.code() != "invalid" || !strings.Contains(res.Errors[0].Message, "secret") {
			t.Errorf("%q: hidden field queried: %s", who, res.raw)
		}
		res = e.do(who, `{ usersList { items { password tokenKey } } }`, nil)
		if res.code() != "invalid" {
			t.Errorf("%q: password queried: %s", who, res.raw)
		}
	}
	res := e.do("superuser", `{ postsList { items { secret } } }`, nil)
	if len(res.Errors) > 0 || !strings.Contains(res.raw, "s3cret") {
		t.Errorf("superuser: got %s", res.raw)
	}
	if res := e.do("superuser", `{ usersList { items { password } } }`, nil); res.code() != "invalid" {
		t.Errorf("superuser: password queried: %s", res.raw)
	}
	// Collections no rule opens (superusers) are not in the public schema.
	if res := e.do("alice", `{ superusersList { items { id } } }`, nil); res.code() != "invalid" {
		t.Errorf("alice: superusers listed: %s", res.raw)
	}
}

// A rule hides the same rows over GraphQL as over REST, for every caller.
func TestRulesAgreeWithREST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	e.post(map[string]any{"title": "public", "published": true, "author": e.ids["bob"]})
	e.post(map[string]any{"title": "alice draft", "author": e.ids["alice"]})
	e.post(map[string]any{"title": "bob draft", "author": e.ids["bob"]})
	for _, who := range []string{"", "alice", "bob", "superuser"} {
		restList := e.rest(who, "/api/collections/posts/records?perPage=100&expand=author")
		res := e.do(who, `{ postsList(perPage: 100) { totalItems items { id author { id } } } }`, nil)
		if len(res.Errors) > 0 {
			t.Fatalf("%q: %s", who, res.raw)
		}
		got, want := ids(res.Data["postsList"].(map[string]any)["items"]), ids(restList["items"])
		if !slices.Equal(got, want) {
			t.Errorf("%q: GraphQL ids %v, REST ids %v", who, got, want)
		}
	}
}

// The schema follows collection changes without a restart.
func TestSchemaFollowsCollections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	if res := e.do("", `{ notesList { totalItems } }`, nil); res.code() != "invalid" {
		t.Fatalf("before: %s", res.raw)
	}
	e.createCollection(`{"name":"notes","type":"base","listRule":"","fields":[{"name":"text","type":"text"}]}`)
	if res := e.do("", `{ notesList { totalItems items { text } } }`, nil); len(res.Errors) > 0 {
		t.Fatalf("after create: %s", res.raw)
	}
	c := e.cols.Lookup("notes").Clone()
	c.Fields = append(c.Fields, &schema.Field{Name: "done", Type: schema.TypeBool})
	e.updateCollection("notes", c)
	if res := e.do("", `{ notesList { items { done } } }`, nil); len(res.Errors) > 0 {
		t.Fatalf("after update: %s", res.raw)
	}
	c = e.cols.Lookup("notes").Clone()
	c.ListRule = nil
	e.updateCollection("notes", c)
	if res := e.do("", `{ notesList { totalItems } }`, nil); res.code() != "invalid" {
		t.Fatalf("after closing the rule: %s", res.raw)
	}
}

// Listing 100 posts with their authors and tags costs a bounded number of
// queries, not one per post.
func TestRelationsAreBatched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	su := e.tokens["superuser"]
	_ = su
	var users []string
	for i := 0; i < 20; i++ {
		res := e.do("superuser", `mutation($d: UsersCreateInput!) { createUsers(data: $d) { id } }`, map[string]any{"d": map[string]any{
			"email": fmt.Sprintf("u%d@example.com", i), "password": "secret-123456", "passwordConfirm": "secret-123456", "name": fmt.Sprint("u", i)}})
		if len(res.Errors) > 0 {
			t.Fatalf("creating a user: %s", res.raw)
		}
		users = append(users, res.Data["createUsers"].(map[string]any)["id"].(string))
	}
	tag := e.do("superuser", `mutation { createTags(data: {name: "go"}) { id } }`, nil).Data["createTags"].(map[string]any)["id"]
	for i := 0; i < 100; i++ {
		e.post(map[string]any{"title": fmt.Sprint("p", i), "published": true, "author": users[i%len(users)], "tags": []any{tag}})
	}
	e.store.reads.Store(0)
	res := e.do("", `{ postsList(perPage: 100) { items { title author { name posts_via_author { title } } tags { name } } } }`, nil)
	if len(res.Errors) > 0 {
		t.Fatalf("errors: %s", res.raw)
	}
	items := res.Data["postsList"].(map[string]any)["items"].([]any)
	if len(items) != 100 {
		t.Fatalf("got %d items", len(items))
	}
	for _, it := range items {
		m := it.(map[string]any)
		a, _ := m["author"].(map[string]any)
		if a == nil || len(a["posts_via_author"].([]any)) != 5 || len(m["tags"].([]any)) != 1 {
			t.Fatalf("item %v", m)
		}
	}
	// One page read, one count, authors, tags, back-relations of authors.
	if n := e.store.reads.Load(); n > 6 {
		t.Errorf("the query cost %d store reads, want at most 6", n)
	}
}

// Answers keep the order of the query's selections, aliases and fragments
// included.
func TestResponseOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	e.post(map[string]any{"title": "only", "views": 3, "published": true, "author": e.ids["bob"]})
	res := e.do("", `{ z: postsList { totalItems ...F items { views title author { name id } } } }
		fragment F on PostsList { perPage page }`, nil)
	want := `{"data":{"z":{"totalItems":1,"perPage":30,"page":1,"items":[{"views":3,"title":"only","author":{"name":"bob","id":"` + e.ids["bob"] + `"}}]}}}`
	if strings.TrimSpace(res.raw) != want {
		t.Errorf("got  %s\nwant %s", res.raw, want)
	}
}
