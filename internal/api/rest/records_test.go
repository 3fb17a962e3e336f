package rest_test

import (
	"net/url"
	"strings"
	"testing"
)

// postsEnv is an environment with a public "posts" collection.
func postsEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.createCollection(map[string]any{
		"name": "posts", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
		"fields": []any{
			map[string]any{"name": "title", "type": "text", "required": true, "max": 100},
			map[string]any{"name": "views", "type": "number"},
			map[string]any{"name": "tags", "type": "select", "values": []string{"a", "b", "c", "d"}, "maxSelect": 4},
			map[string]any{"name": "published", "type": "bool"},
			map[string]any{"name": "meta", "type": "json"},
			map[string]any{"name": "author", "type": "relation", "collectionId": "users", "maxSelect": 1},
			map[string]any{"name": "created", "type": "autodate", "onCreate": true},
			map[string]any{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
		},
	})
	return e
}

func TestRecordsCRUD(t *testing.T) {
	t.Parallel()
	e := postsEnv(t)
	var createdAt, updatedAt string
	e.run(t, []scenario{
		{name: "create JSON", method: "POST", url: "/api/collections/posts/records",
			body:       `{"title":"Hello","views":3,"tags":["a","b"],"published":true,"meta":{"k":[1,2]},"author":"{{userId}}"}`,
			wantStatus: 200,
			wantJSON: `{"collectionName":"posts","collectionId":"<nonempty>","id":"<id>","title":"Hello","views":3,"tags":["a","b"],
				"published":true,"meta":{"k":[1,2]},"author":"{{userId}}","created":"<date>","updated":"<date>","expand":"<absent>"}`,
			after: func(t *testing.T, e *env, res *response) {
				m := res.json(t).(map[string]any)
				e.vars["p1"] = m["id"].(string)
				createdAt, updatedAt = m["created"].(string), m["updated"].(string)
			}},
		{name: "view", method: "GET", url: "/api/collections/posts/records/{{p1}}", wantStatus: 200,
			wantJSON: `{"id":"{{p1}}","title":"Hello","views":3,"tags":["a","b"],"meta":{"k":[1,2]}}`},
		{name: "view by collection id", method: "GET", url: "/api/collections/posts/records/{{p1}}", wantStatus: 200,
			before:   func(t *testing.T, e *env) { e.vars["postsId"] = e.collection("posts")["id"].(string) },
			wantJSON: `{"collectionId":"{{postsId}}"}`},
		{name: "view through collection id path", method: "GET", url: "/api/collections/{{postsId}}/records/{{p1}}", wantStatus: 200,
			wantJSON: `{"id":"{{p1}}"}`},
		{name: "create with explicit id", method: "POST", url: "/api/collections/posts/records",
			body: `{"id":"abcdefghij12345","title":"Mine"}`, wantStatus: 200, wantJSON: `{"id":"abcdefghij12345"}`},
		{name: "create with duplicate id", method: "POST", url: "/api/collections/posts/records",
			body: `{"id":"abcdefghij12345","title":"Again"}`, wantStatus: 400, wantJSON: `{"data":{"id":{"code":"<nonempty>"}}}`},
		{name: "create with short id", method: "POST", url: "/api/collections/posts/records",
			body: `{"id":"short","title":"x"}`, wantStatus: 400, wantJSON: `{"data":{"id":{"code":"<nonempty>"}}}`},
		{name: "create with uppercase id", method: "POST", url: "/api/collections/posts/records",
			body: `{"id":"ABCDEFGHIJ12345","title":"x"}`, wantStatus: 400, wantJSON: `{"data":{"id":"<any>"}}`},
		{name: "missing required field", method: "POST", url: "/api/collections/posts/records",
			body: `{"views":1}`, wantStatus: 400,
			wantJSON: `{"status":400,"message":"Failed to create record.","data":{"title":{"code":"validation_required","message":"Cannot be blank."}}}`},
		{name: "too long text", method: "POST", url: "/api/collections/posts/records",
			body: `{"title":"` + strings.Repeat("x", 101) + `"}`, wantStatus: 400, wantJSON: `{"data":{"title":{"code":"<nonempty>"}}}`},
		{name: "select value not allowed", method: "POST", url: "/api/collections/posts/records",
			body: `{"title":"x","tags":["z"]}`, wantStatus: 400, wantJSON: `{"data":{"tags":{"code":"<nonempty>"}}}`},
		{name: "relation to missing record", method: "POST", url: "/api/collections/posts/records",
			body: `{"title":"x","author":"zzzzzzzzzzzzzzz"}`, wantStatus: 400, wantJSON: `{"data":{"author":{"code":"validation_missing_rel_records"}}}`},
		{name: "wrong number type", method: "POST", url: "/api/collections/posts/records",
			body: `{"title":"x","views":"many"}`, wantStatus: 400, wantJSON: `{"data":{"views":{"code":"<nonempty>"}}}`},
		{name: "unknown fields are ignored", method: "POST", url: "/api/collections/posts/records",
			body: `{"title":"extra","nope":1}`, wantStatus: 200, wantJSON: `{"title":"extra","nope":"<absent>"}`},
		{name: "autodate fields cannot be set", method: "POST", url: "/api/collections/posts/records",
			body: `{"title":"dates","created":"2000-01-01 00:00:00.000Z"}`, wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if c := res.json(t).(map[string]any)["created"]; c == "2000-01-01 00:00:00.000Z" {
					t.Errorf("created was set by the client: %v", c)
				}
			}},
		{name: "update", method: "PATCH", url: "/api/collections/posts/records/{{p1}}",
			body: `{"title":"Hello again"}`, wantStatus: 200,
			wantJSON: `{"id":"{{p1}}","title":"Hello again","views":3,"tags":["a","b"]}`,
			after: func(t *testing.T, e *env, res *response) {
				m := res.json(t).(map[string]any)
				if m["created"] != createdAt {
					t.Errorf("created changed on update: %v -> %v", createdAt, m["created"])
				}
				if m["updated"] == "" || m["updated"].(string) < updatedAt {
					t.Errorf("updated = %v, want >= %v", m["updated"], updatedAt)
				}
			}},
		{name: "update id is refused", method: "PATCH", url: "/api/collections/posts/records/{{p1}}",
			body: `{"id":"zzzzzzzzzzzzzzz"}`, wantStatus: 400, wantJSON: `{"data":{"id":"<any>"}}`},
		{name: "update clearing required field", method: "PATCH", url: "/api/collections/posts/records/{{p1}}",
			body: `{"title":""}`, wantStatus: 400, wantJSON: `{"data":{"title":{"code":"validation_required"}}}`,
			after: func(t *testing.T, e *env, _ *response) {
				if r := e.record("posts", e.vars["p1"]); r["title"] != "Hello again" {
					t.Errorf("title = %v after refused update", r["title"])
				}
			}},
		{name: "update unknown id", method: "PATCH", url: "/api/collections/posts/records/zzzzzzzzzzzzzzz",
			body: `{"title":"x"}`, wantStatus: 404},
		{name: "update unknown collection", method: "PATCH", url: "/api/collections/nope/records/{{p1}}",
			body: `{"title":"x"}`, wantStatus: 404},
		{name: "delete", method: "DELETE", url: "/api/collections/posts/records/{{p1}}", wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				if len(res.body) != 0 {
					t.Errorf("204 with a body: %q", res.body)
				}
				if e.record("posts", e.vars["p1"]) != nil {
					t.Error("record still there after delete")
				}
			}},
		{name: "view deleted", method: "GET", url: "/api/collections/posts/records/{{p1}}", wantStatus: 404,
			wantJSON: `{"status":404,"message":"The requested resource wasn't found.","data":{}}`},
		{name: "delete again", method: "DELETE", url: "/api/collections/posts/records/{{p1}}", wantStatus: 404},
		{name: "list unknown collection", method: "GET", url: "/api/collections/nope/records", wantStatus: 404},
		{name: "view unknown collection", method: "GET", url: "/api/collections/nope/records/{{userId}}", wantStatus: 404},
		{name: "create in unknown collection", method: "POST", url: "/api/collections/nope/records", body: `{}`, wantStatus: 404},
		{name: "delete in unknown collection", method: "DELETE", url: "/api/collections/nope/records/{{userId}}", wantStatus: 404},
	})
}

func TestRecordsBodyFormats(t *testing.T) {
	t.Parallel()
	e := postsEnv(t)
	e.run(t, []scenario{
		{name: "urlencoded", method: "POST", url: "/api/collections/posts/records",
			body:       url.Values{"title": {"Form"}, "views": {"12"}, "published": {"true"}, "tags": {"a", "c"}},
			wantStatus: 200, wantJSON: `{"title":"Form","views":12,"published":true,"tags":["a","c"]}`},
		{name: "multipart with @jsonPayload", method: "POST", url: "/api/collections/posts/records",
			body: &multipartBody{fields: map[string][]string{
				"title":        {"from form"},
				"@jsonPayload": {`{"title":"from payload","views":7,"meta":{"nested":true}}`},
			}},
			wantStatus: 200, wantJSON: `{"title":"from payload","views":7,"meta":{"nested":true}}`},
		{name: "multipart plain fields", method: "POST", url: "/api/collections/posts/records",
			body:       &multipartBody{fields: map[string][]string{"title": {"mp"}, "views": {"2"}, "tags": {"b", "d"}}},
			wantStatus: 200, wantJSON: `{"title":"mp","views":2,"tags":["b","d"]}`},
		{name: "multipart invalid @jsonPayload", method: "POST", url: "/api/collections/posts/records",
			body:       &multipartBody{fields: map[string][]string{"@jsonPayload": {`{"title":`}}},
			wantStatus: 400},
		{name: "JSON with charset", method: "POST", url: "/api/collections/posts/records",
			body: rawBody{"application/json; charset=utf-8", []byte(`{"title":"charset"}`)}, wantStatus: 200,
			wantJSON: `{"title":"charset"}`},
		{name: "unsupported content type", method: "POST", url: "/api/collections/posts/records",
			body: rawBody{"text/xml", []byte(`<title>x</title>`)}, wantStatus: 400},
		{name: "empty body", method: "POST", url: "/api/collections/posts/records",
			body: rawBody{"application/json", nil}, wantStatus: 400, wantJSON: `{"data":{"title":{"code":"validation_required"}}}`},
		{name: "date layout", method: "GET", url: "/api/collections/posts/records?perPage=1", wantStatus: 200,
			wantJSON: `{"items":[{"created":"<date>","updated":"<date>","id":"<id>"}]}`},
	})
}

func TestRecordsModifiers(t *testing.T) {
	t.Parallel()
	e := postsEnv(t)
	e.vars["p"] = e.createRecord("posts", map[string]any{"title": "m", "views": 10, "tags": []string{"b"}})
	e.vars["q"] = e.createRecord("posts", map[string]any{"title": "n", "views": 1})
	e.run(t, []scenario{
		{name: "n+", method: "PATCH", url: "/api/collections/posts/records/{{p}}", body: `{"views+":5}`, wantStatus: 200,
			wantJSON: `{"views":15}`},
		{name: "n-", method: "PATCH", url: "/api/collections/posts/records/{{p}}", body: `{"views-":20}`, wantStatus: 200,
			wantJSON: `{"views":-5}`},
		{name: "+tags prepends", method: "PATCH", url: "/api/collections/posts/records/{{p}}", body: `{"+tags":"a"}`, wantStatus: 200,
			wantJSON: `{"tags":["a","b"]}`},
		{name: "tags+ appends", method: "PATCH", url: "/api/collections/posts/records/{{p}}", body: `{"tags+":["c","d"]}`, wantStatus: 200,
			wantJSON: `{"tags":["a","b","c","d"]}`},
		{name: "tags- removes", method: "PATCH", url: "/api/collections/posts/records/{{p}}", body: `{"tags-":["b","d"]}`, wantStatus: 200,
			wantJSON: `{"tags":["a","c"]}`},
		{name: "tags- of a missing value", method: "PATCH", url: "/api/collections/posts/records/{{p}}", body: `{"tags-":"z"}`, wantStatus: 200,
			wantJSON: `{"tags":["a","c"]}`},
		{name: "tags+ with an invalid value", method: "PATCH", url: "/api/collections/posts/records/{{p}}", body: `{"tags+":"zz"}`,
			wantStatus: 400, wantJSON: `{"data":{"tags":"<any>"}}`,
			after: func(t *testing.T, e *env, _ *response) {
				if p := matchJSON("$", decode(`{"tags":["a","c"],"views":-5}`), e.record("posts", e.vars["p"])); len(p) > 0 {
					t.Error(p)
				}
			}},
		{name: "modifiers on create", method: "POST", url: "/api/collections/posts/records",
			body: `{"title":"new","views+":4,"tags+":"a"}`, wantStatus: 200, wantJSON: `{"views":4,"tags":["a"]}`},
		{name: "modifiers in urlencoded form", method: "PATCH", url: "/api/collections/posts/records/{{q}}",
			body: url.Values{"views+": {"2"}, "tags+": {"d"}}, wantStatus: 200, wantJSON: `{"views":3,"tags":["d"]}`},
		{name: "modifier on a text field", method: "PATCH", url: "/api/collections/posts/records/{{q}}",
			body: `{"title+":"x"}`, wantStatus: 400, wantJSON: `{"data":{"title":"<any>"}}`},
		{name: "number modifier with a string", method: "PATCH", url: "/api/collections/posts/records/{{q}}",
			body: `{"views+":"abc"}`, wantStatus: 400, wantJSON: `{"data":{"views":"<any>"}}`,
			after: func(t *testing.T, e *env, _ *response) {
				if r := e.record("posts", e.vars["q"]); r["views"] != float64(3) {
					t.Errorf("views = %v, want 3", r["views"])
				}
			}},
	})
}

func TestRecordsRelationIntegrity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	public := func(m map[string]any) map[string]any {
		for _, k := range []string{"listRule", "viewRule", "createRule", "updateRule", "deleteRule"} {
			m[k] = ""
		}
		return m
	}
	e.createCollection(public(map[string]any{"name": "parents", "fields": []any{map[string]any{"name": "n", "type": "text"}}}))
	e.createCollection(public(map[string]any{"name": "kids", "fields": []any{
		map[string]any{"name": "n", "type": "text"},
		map[string]any{"name": "must", "type": "relation", "collectionId": "parents", "maxSelect": 1, "required": true},
	}}))
	e.createCollection(public(map[string]any{"name": "cascade", "fields": []any{
		map[string]any{"name": "p", "type": "relation", "collectionId": "parents", "maxSelect": 1, "cascadeDelete": true},
	}}))
	e.createCollection(public(map[string]any{"name": "loose", "fields": []any{
		map[string]any{"name": "ps", "type": "relation", "collectionId": "parents", "maxSelect": 3},
	}}))
	e.vars["p1"] = e.createRecord("parents", map[string]any{"n": "one"})
	e.vars["p2"] = e.createRecord("parents", map[string]any{"n": "two"})
	e.vars["p3"] = e.createRecord("parents", map[string]any{"n": "three"})
	e.vars["k1"] = e.createRecord("kids", map[string]any{"n": "k", "must": e.vars["p1"]})
	e.vars["c1"] = e.createRecord("cascade", map[string]any{"p": e.vars["p2"]})
	e.vars["l1"] = e.createRecord("loose", map[string]any{"ps": []string{e.vars["p2"], e.vars["p3"]}})
	e.run(t, []scenario{
		{name: "required reference blocks delete", method: "DELETE", url: "/api/collections/parents/records/{{p1}}", wantStatus: 400,
			after: func(t *testing.T, e *env, _ *response) {
				if e.record("parents", e.vars["p1"]) == nil || e.record("kids", e.vars["k1"]) == nil {
					t.Error("refused delete removed data")
				}
			}},
		{name: "cascade and unlink", method: "DELETE", url: "/api/collections/parents/records/{{p2}}", wantStatus: 204,
			after: func(t *testing.T, e *env, _ *response) {
				if e.record("cascade", e.vars["c1"]) != nil {
					t.Error("cascadeDelete did not delete the referencing record")
				}
				if r := e.record("loose", e.vars["l1"]); r == nil || jsonText(r["ps"]) != jsonText([]any{e.vars["p3"]}) {
					t.Errorf("loose.ps = %v, want [p3]", r)
				}
			}},
		{name: "required relation cannot be emptied", method: "PATCH", url: "/api/collections/kids/records/{{k1}}", body: `{"must":""}`,
			wantStatus: 400, wantJSON: `{"data":{"must":{"code":"validation_required"}}}`},
		{name: "too many relations", method: "PATCH", url: "/api/collections/loose/records/{{l1}}",
			body: `{"ps":["{{p1}}","{{p3}}","{{k1}}","{{c1}}"]}`, wantStatus: 400, wantJSON: `{"data":{"ps":"<any>"}}`},
		{name: "relation to a record of another collection", method: "PATCH", url: "/api/collections/loose/records/{{l1}}",
			body: `{"ps":["{{k1}}"]}`, wantStatus: 400, wantJSON: `{"data":{"ps":{"code":"validation_missing_rel_records"}}}`},
	})
}
