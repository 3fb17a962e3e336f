package rest_test

import (
	"fmt"
	"testing"
)

// blogEnv has authors → posts → comments with relations in both directions
// and public rules everywhere.
func blogEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	public := map[string]any{"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": ""}
	def := func(name string, fields ...any) map[string]any {
		m := map[string]any{"name": name, "fields": fields}
		for k, v := range public {
			m[k] = v
		}
		return m
	}
	e.createCollection(def("authors", map[string]any{"name": "name", "type": "text"}))
	e.createCollection(def("posts",
		map[string]any{"name": "title", "type": "text"},
		map[string]any{"name": "views", "type": "number"},
		map[string]any{"name": "tags", "type": "select", "values": []string{"go", "db", "web"}, "maxSelect": 3},
		map[string]any{"name": "author", "type": "relation", "collectionId": "authors", "maxSelect": 1},
		map[string]any{"name": "editors", "type": "relation", "collectionId": "authors", "maxSelect": 5},
		map[string]any{"name": "created", "type": "autodate", "onCreate": true},
	))
	e.createCollection(def("comments",
		map[string]any{"name": "body", "type": "text"},
		map[string]any{"name": "post", "type": "relation", "collectionId": "posts", "maxSelect": 1},
		map[string]any{"name": "by", "type": "relation", "collectionId": "authors", "maxSelect": 1},
	))
	e.vars["ann"] = e.createRecord("authors", map[string]any{"name": "Ann"})
	e.vars["bob"] = e.createRecord("authors", map[string]any{"name": "Bob"})
	posts := []struct {
		title   string
		views   int
		tags    []string
		author  string
		editors []string
	}{
		{"alpha", 10, []string{"go"}, "ann", []string{"bob"}},
		{"beta", 30, []string{"go", "db"}, "bob", []string{"ann", "bob"}},
		{"gamma", 20, []string{"web"}, "ann", nil},
		{"delta", 5, nil, "", nil},
		{"epsilon", 50, []string{"db"}, "bob", nil},
	}
	for _, p := range posts {
		var editors []string
		for _, ed := range p.editors {
			editors = append(editors, e.vars[ed])
		}
		data := map[string]any{"title": p.title, "views": p.views, "tags": p.tags, "editors": editors}
		if p.author != "" {
			data["author"] = e.vars[p.author]
		}
		e.vars[p.title] = e.createRecord("posts", data)
	}
	e.vars["c1"] = e.createRecord("comments", map[string]any{"body": "first!", "post": e.vars["alpha"], "by": e.vars["bob"]})
	e.vars["c2"] = e.createRecord("comments", map[string]any{"body": "nice", "post": e.vars["alpha"], "by": e.vars["ann"]})
	e.vars["c3"] = e.createRecord("comments", map[string]any{"body": "meh", "post": e.vars["beta"], "by": e.vars["ann"]})
	return e
}

func TestRecordsListParams(t *testing.T) {
	t.Parallel()
	e := blogEnv(t)
	list := "/api/collections/posts/records"
	e.run(t, []scenario{
		{name: "defaults", method: "GET", url: list, wantStatus: 200,
			wantJSON: `{"page":1,"perPage":30,"totalItems":5,"totalPages":1,"items":"<len:5>"}`},
		{name: "perPage and page", method: "GET", url: list + "?perPage=2&page=2&sort=title", wantStatus: 200,
			wantJSON: `{"page":2,"perPage":2,"totalItems":5,"totalPages":3,"items":[{"title":"delta"},{"title":"epsilon"}]}`},
		{name: "last partial page", method: "GET", url: list + "?perPage=2&page=3&sort=title", wantStatus: 200,
			wantJSON: `{"page":3,"items":[{"title":"gamma"}]}`},
		{name: "page past the end", method: "GET", url: list + "?perPage=2&page=99", wantStatus: 200,
			wantJSON: `{"page":99,"totalItems":5,"items":[]}`},
		{name: "perPage max 1000", method: "GET", url: list + "?perPage=5000", wantStatus: 200, wantJSON: `{"perPage":1000}`},
		{name: "perPage 1000", method: "GET", url: list + "?perPage=1000", wantStatus: 200, wantJSON: `{"perPage":1000}`},
		{name: "perPage zero means default", method: "GET", url: list + "?perPage=0", wantStatus: 200, wantJSON: `{"perPage":30}`},
		{name: "negative page", method: "GET", url: list + "?page=-3", wantStatus: 200, wantJSON: `{"page":1}`},
		{name: "non-numeric page", method: "GET", url: list + "?page=abc&perPage=x", wantStatus: 200, wantJSON: `{"page":1,"perPage":30}`},
		{name: "skipTotal", method: "GET", url: list + "?skipTotal=1&perPage=2", wantStatus: 200,
			wantJSON: `{"totalItems":-1,"totalPages":-1,"items":"<len:2>"}`},
		{name: "skipTotal=true", method: "GET", url: list + "?skipTotal=true", wantStatus: 200, wantJSON: `{"totalItems":-1}`},
		{name: "sort asc", method: "GET", url: list + "?sort=views", wantStatus: 200,
			wantJSON: `{"items":[{"title":"delta"},{"title":"alpha"},{"title":"gamma"},{"title":"beta"},{"title":"epsilon"}]}`},
		{name: "sort desc", method: "GET", url: list + "?sort=-views", wantStatus: 200,
			wantJSON: `{"items":[{"title":"epsilon"},{"title":"beta"},{"title":"gamma"},{"title":"alpha"},{"title":"delta"}]}`},
		{name: "sort plus prefix", method: "GET", url: list + "?sort=" + q("+title"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"alpha"},{"title":"beta"},{"title":"delta"},{"title":"epsilon"},{"title":"gamma"}]}`},
		{name: "sort two keys", method: "GET", url: list + "?sort=" + q("author,-views") + "&filter=" + q("author != ''"), wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				items := res.json(t).(map[string]any)["items"].([]any)
				if len(items) != 4 {
					t.Fatalf("got %d items", len(items))
				}
				first, second := items[0].(map[string]any), items[1].(map[string]any)
				if first["author"] != second["author"] || first["views"].(float64) < second["views"].(float64) {
					t.Errorf("not sorted by author then -views: %v", items)
				}
			}},
		{name: "sort by relation field", method: "GET", url: list + "?sort=" + q("-author.name,title") + "&filter=" + q("author != ''"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"beta"},{"title":"epsilon"},{"title":"alpha"},{"title":"gamma"}]}`},
		{name: "sort @random", method: "GET", url: list + "?sort=@random", wantStatus: 200, wantJSON: `{"items":"<len:5>"}`},
		{name: "sort @rowid", method: "GET", url: list + "?sort=-@rowid", wantStatus: 200,
			wantJSON: `{"items":[{"title":"epsilon"},{"title":"delta"},{"title":"gamma"},{"title":"beta"},{"title":"alpha"}]}`},
		{name: "sort unknown field", method: "GET", url: list + "?sort=nope", wantStatus: 400},
		{name: "filter number", method: "GET", url: list + "?sort=title&filter=" + q("views > 15"), wantStatus: 200,
			wantJSON: `{"totalItems":3,"items":[{"title":"beta"},{"title":"epsilon"},{"title":"gamma"}]}`},
		{name: "filter and/or with parens", method: "GET", url: list + "?sort=title&filter=" + q("(views < 8 || views > 40) && title != 'delta'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"epsilon"}]}`},
		{name: "filter like", method: "GET", url: list + "?sort=title&filter=" + q("title ~ 'ta'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"beta"},{"title":"delta"}]}`},
		{name: "filter not like", method: "GET", url: list + "?sort=title&filter=" + q("title !~ 'a'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"epsilon"}]}`},
		{name: "filter any-of multi select", method: "GET", url: list + "?sort=title&filter=" + q("tags ?= 'db'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"beta"},{"title":"epsilon"}]}`},
		{name: "filter all-of multi select", method: "GET", url: list + "?sort=title&filter=" + q("tags = 'go'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"alpha"}]}`},
		{name: "filter through relation", method: "GET", url: list + "?sort=title&filter=" + q("author.name = 'Bob'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"beta"},{"title":"epsilon"}]}`},
		{name: "filter through multi relation", method: "GET", url: list + "?sort=title&filter=" + q("editors.name ?= 'Ann'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"beta"}]}`},
		{name: "filter through back-relation", method: "GET", url: list + "?sort=title&filter=" + q("comments_via_post.body ?~ 'nic'"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"alpha"}]}`},
		{name: "filter empty relation", method: "GET", url: list + "?filter=" + q("author = ''"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"delta"}]}`},
		{name: "filter with :length", method: "GET", url: list + "?sort=title&filter=" + q("tags:length = 2"), wantStatus: 200,
			wantJSON: `{"items":[{"title":"beta"}]}`},
		{name: "filter with datetime macro", method: "GET", url: list + "?filter=" + q("created <= @now"), wantStatus: 200,
			wantJSON: `{"totalItems":5}`},
		{name: "filter by id", method: "GET", url: list + "?filter=" + q("id = '{{gamma}}'"), wantStatus: 200,
			wantJSON: `{"totalItems":1,"items":[{"id":"{{gamma}}","title":"gamma"}]}`},
		{name: "filter matches nothing", method: "GET", url: list + "?filter=" + q("views > 1000"), wantStatus: 200,
			wantJSON: `{"totalItems":0,"totalPages":0,"items":[]}`},
		{name: "filter syntax error", method: "GET", url: list + "?filter=" + q("views >"), wantStatus: 400,
			wantJSON: `{"status":400,"data":{}}`},
		{name: "filter unknown field", method: "GET", url: list + "?filter=" + q("nope = 1"), wantStatus: 400},
		{name: "filter too long", method: "GET", url: list + "?filter=" + q("title != '"+string(make([]byte, 0))+fmt.Sprintf("%03600d", 0)+"'"), wantStatus: 400},
	})
}

func TestRecordsExpandAndFields(t *testing.T) {
	t.Parallel()
	e := blogEnv(t)
	e.run(t, []scenario{
		{name: "expand single relation", method: "GET", url: "/api/collections/posts/records/{{alpha}}?expand=author", wantStatus: 200,
			wantJSON: `{"author":"{{ann}}","expand":{"author":{"id":"{{ann}}","name":"Ann","collectionName":"authors"}}}`},
		{name: "expand multi relation keeps order", method: "GET", url: "/api/collections/posts/records/{{beta}}?expand=editors", wantStatus: 200,
			wantJSON: `{"expand":{"editors":[{"id":"{{ann}}"},{"id":"{{bob}}"}]}}`},
		{name: "expand two paths", method: "GET", url: "/api/collections/posts/records/{{beta}}?expand=" + q("author,editors"), wantStatus: 200,
			wantJSON: `{"expand":{"author":{"name":"Bob"},"editors":"<len:2>"}}`},
		{name: "expand empty relation leaves no expand", method: "GET", url: "/api/collections/posts/records/{{delta}}?expand=author", wantStatus: 200,
			wantJSON: `{"expand":"<absent>"}`},
		{name: "expand unknown relation is ignored", method: "GET", url: "/api/collections/posts/records/{{alpha}}?expand=nope", wantStatus: 200,
			wantJSON: `{"title":"alpha"}`},
		{name: "nested expand", method: "GET", url: "/api/collections/comments/records/{{c1}}?expand=" + q("post.author,by"), wantStatus: 200,
			wantJSON: `{"expand":{"by":{"name":"Bob"},"post":{"id":"{{alpha}}","expand":{"author":{"name":"Ann"}}}}}`},
		{name: "back-relation expand", method: "GET", url: "/api/collections/posts/records/{{alpha}}?expand=comments_via_post", wantStatus: 200,
			wantJSON: `{"expand":{"comments_via_post":"<len:2>"}}`},
		{name: "back-relation with nested expand", method: "GET", url: "/api/collections/authors/records/{{ann}}?expand=" + q("posts_via_author.comments_via_post.by"), wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				m := res.json(t).(map[string]any)
				posts, _ := m["expand"].(map[string]any)["posts_via_author"].([]any)
				if len(posts) != 2 {
					t.Fatalf("posts_via_author = %v", m["expand"])
				}
				found := false
				for _, p := range posts {
					pm := p.(map[string]any)
					if pm["id"] == e.vars["alpha"] {
						cs := pm["expand"].(map[string]any)["comments_via_post"].([]any)
						for _, c := range cs {
							if c.(map[string]any)["expand"].(map[string]any)["by"] != nil {
								found = true
							}
						}
					}
				}
				if !found {
					t.Errorf("nested back-relation expand missing: %s", res.body)
				}
			}},
		{name: "expand in list", method: "GET", url: "/api/collections/posts/records?sort=title&perPage=2&expand=author", wantStatus: 200,
			wantJSON: `{"items":[{"title":"alpha","expand":{"author":{"name":"Ann"}}},{"title":"beta","expand":{"author":{"name":"Bob"}}}]}`},
		{name: "expand on create", method: "POST", url: "/api/collections/posts/records?expand=author",
			body: `{"title":"zeta","author":"{{bob}}"}`, wantStatus: 200, wantJSON: `{"expand":{"author":{"name":"Bob"}}}`},
		{name: "expand on update", method: "PATCH", url: "/api/collections/posts/records/{{delta}}?expand=author",
			body: `{"author":"{{ann}}"}`, wantStatus: 200, wantJSON: `{"expand":{"author":{"name":"Ann"}}}`},
		{name: "expand too deep", method: "GET", url: "/api/collections/posts/records/{{alpha}}?expand=" + q("author.a.b.c.d.e.f"), wantStatus: 400},
		{name: "fields picks keys", method: "GET", url: "/api/collections/posts/records/{{alpha}}?fields=" + q("id,title"), wantStatus: 200,
			wantJSON: `{"id":"{{alpha}}","title":"alpha","views":"<absent>","collectionId":"<absent>"}`},
		{name: "fields per item in lists", method: "GET", url: "/api/collections/posts/records?sort=title&perPage=1&fields=title", wantStatus: 200,
			wantJSON: `{"page":1,"totalItems":6,"items":[{"title":"alpha","id":"<absent>"}]}`},
		{name: "fields with expand subfields", method: "GET", url: "/api/collections/posts/records/{{alpha}}?expand=author&fields=" + q("title,expand.author.name"), wantStatus: 200,
			wantJSON: `{"title":"alpha","id":"<absent>","expand":{"author":{"name":"Ann","id":"<absent>"}}}`},
		{name: "fields star", method: "GET", url: "/api/collections/posts/records/{{alpha}}?expand=author&fields=" + q("*,expand.author.name"), wantStatus: 200,
			wantJSON: `{"title":"alpha","id":"{{alpha}}","views":10,"expand":{"author":{"name":"Ann","id":"<absent>"}}}`},
		{name: "fields excerpt", method: "GET", url: "/api/collections/comments/records/{{c1}}?fields=" + q("body:excerpt(3,true)"), wantStatus: 200,
			wantJSON: `{"body":"fir..."}`},
		{name: "fields unknown key", method: "GET", url: "/api/collections/posts/records/{{alpha}}?fields=nope", wantStatus: 200,
			wantJSON: `{"title":"<absent>"}`},
		{name: "fields on create", method: "POST", url: "/api/collections/posts/records?fields=title",
			body: `{"title":"eta"}`, wantStatus: 200, wantJSON: `{"title":"eta","id":"<absent>"}`},
	})
}
