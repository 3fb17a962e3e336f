package rest_test

import (
	"strings"
	"testing"
)

func TestBatch(t *testing.T) {
	t.Parallel()
	e := postsEnv(t)
	e.createCollection(map[string]any{"name": "locked", "fields": []any{map[string]any{"name": "v", "type": "text"}}})
	e.vars["p1"] = e.createRecord("posts", map[string]any{"title": "one", "views": 1})
	e.vars["p2"] = e.createRecord("posts", map[string]any{"title": "two", "views": 2})
	postsBefore, postsAfter := unchanged("posts")
	batch := func(reqs ...string) string { return `{"requests":[` + strings.Join(reqs, ",") + `]}` }
	create := func(body string) string {
		return `{"method":"POST","url":"/api/collections/posts/records","body":` + body + `}`
	}

	e.run(t, []scenario{
		{name: "disabled by default", method: "POST", url: "/api/batch", body: batch(create(`{"title":"x"}`)), wantStatus: 403,
			wantJSON: `{"status":403,"data":{}}`, before: postsBefore, after: postsAfter},
		{name: "enable through settings", method: "PATCH", url: "/api/settings", auth: "superuser",
			body: `{"batch":{"enabled":true,"maxRequests":3}}`, wantStatus: 200,
			wantJSON: `{"batch":{"enabled":true,"maxRequests":3}}`},
		{name: "create, update and delete", method: "POST", url: "/api/batch", wantStatus: 200,
			body: batch(
				create(`{"title":"three","views":3}`),
				`{"method":"PATCH","url":"/api/collections/posts/records/{{p1}}","body":{"views+":10}}`,
				`{"method":"DELETE","url":"/api/collections/posts/records/{{p2}}"}`,
			),
			wantJSON: `[{"status":200,"body":{"title":"three","id":"<id>"}},{"status":200,"body":{"id":"{{p1}}","views":11}},{"status":204,"body":null}]`,
			after: func(t *testing.T, e *env, _ *response) {
				if e.record("posts", e.vars["p2"]) != nil {
					t.Error("p2 not deleted")
				}
				if n := e.count("posts"); n != 2 {
					t.Errorf("posts count = %d, want 2", n)
				}
			}},
		{name: "all or nothing", method: "POST", url: "/api/batch", wantStatus: 400,
			before: postsBefore, after: postsAfter,
			body: batch(
				create(`{"title":"will roll back"}`),
				`{"method":"PATCH","url":"/api/collections/posts/records/{{p1}}","body":{"title":"changed"}}`,
				create(`{"views":1}`),
			),
			wantJSON: `{"status":400,"message":"<nonempty>","data":{"requests":{"2":{"code":"<nonempty>","message":"<nonempty>",
				"response":{"status":400,"data":{"title":{"code":"validation_required"}}}}}}}`},
		{name: "sub-request rules apply", method: "POST", url: "/api/batch", wantStatus: 400,
			body:     batch(`{"method":"POST","url":"/api/collections/locked/records","body":{"v":"x"}}`),
			wantJSON: `{"data":{"requests":{"0":{"response":{"status":403}}}}}`,
			after: func(t *testing.T, e *env, _ *response) {
				if n := e.count("locked"); n != 0 {
					t.Errorf("locked has %d records", n)
				}
			}},
		{name: "superuser passes sub-request rules", method: "POST", url: "/api/batch", auth: "superuser", wantStatus: 200,
			body:     batch(`{"method":"POST","url":"/api/collections/locked/records","body":{"v":"x"}}`),
			wantJSON: `[{"status":200,"body":{"v":"x"}}]`},
		{name: "missing record in sub-request", method: "POST", url: "/api/batch", wantStatus: 400,
			before: postsBefore, after: postsAfter,
			body:     batch(create(`{"title":"a"}`), `{"method":"DELETE","url":"/api/collections/posts/records/zzzzzzzzzzzzzzz"}`),
			wantJSON: `{"data":{"requests":{"1":{"response":{"status":404}}}}}`},
		{name: "unknown collection in sub-request", method: "POST", url: "/api/batch", wantStatus: 400,
			body:     batch(`{"method":"POST","url":"/api/collections/nope/records","body":{}}`),
			wantJSON: `{"data":{"requests":{"0":{"response":{"status":404}}}}}`},
		{name: "too many requests", method: "POST", url: "/api/batch", wantStatus: 400,
			before: postsBefore, after: postsAfter,
			body:     batch(create(`{"title":"1"}`), create(`{"title":"2"}`), create(`{"title":"3"}`), create(`{"title":"4"}`)),
			wantJSON: `{"data":{"requests":{"code":"<nonempty>"}}}`},
		{name: "non-record action refused", method: "POST", url: "/api/batch", wantStatus: 400,
			before: postsBefore, after: postsAfter,
			body:     batch(create(`{"title":"ok"}`), `{"method":"GET","url":"/api/collections/posts/records"}`),
			wantJSON: `{"data":{"requests":{"1":"<any>"}}}`},
		{name: "collection endpoints refused", method: "POST", url: "/api/batch", auth: "superuser", wantStatus: 400,
			body: batch(`{"method":"DELETE","url":"/api/collections/posts"}`),
			after: func(t *testing.T, e *env, _ *response) {
				if e.do("GET", "/api/collections/posts", "superuser", nil, nil).status != 200 {
					t.Error("posts collection deleted through batch")
				}
			}},
		{name: "empty requests", method: "POST", url: "/api/batch", body: `{"requests":[]}`, wantStatus: 400,
			wantJSON: `{"data":{"requests":{"code":"<nonempty>"}}}`},
		{name: "no requests key", method: "POST", url: "/api/batch", body: `{}`, wantStatus: 400},
		{name: "requests not a list", method: "POST", url: "/api/batch", body: `{"requests":"x"}`, wantStatus: 400},
		{name: "request not an object", method: "POST", url: "/api/batch", body: `{"requests":[1]}`, wantStatus: 400},
		{name: "malformed JSON", method: "POST", url: "/api/batch", body: `{"requests":[`, wantStatus: 400},
		{name: "upsert updates an existing id", method: "POST", url: "/api/batch", wantStatus: 200,
			body:     batch(`{"method":"PUT","url":"/api/collections/posts/records","body":{"id":"{{p1}}","title":"upserted"}}`),
			wantJSON: `[{"status":200,"body":{"id":"{{p1}}","title":"upserted","views":11}}]`},
		{name: "upsert creates a new id", method: "POST", url: "/api/batch", wantStatus: 200,
			body:     batch(`{"method":"PUT","url":"/api/collections/posts/records","body":{"id":"newpost00000001","title":"fresh"}}`),
			wantJSON: `[{"status":200,"body":{"id":"newpost00000001","title":"fresh"}}]`},
		{name: "expand and fields in sub-request", method: "POST", url: "/api/batch", wantStatus: 200,
			body: batch(`{"method":"POST","url":"/api/collections/posts/records?expand=author&fields=title,expand.author.id",
				"body":{"title":"with author","author":"{{userId}}"}}`),
			wantJSON: `[{"status":200,"body":{"title":"with author","id":"<absent>"}}]`},
		{name: "multipart batch with @jsonPayload", method: "POST", url: "/api/batch", wantStatus: 200,
			body:     &multipartBody{fields: map[string][]string{"@jsonPayload": {batch(create(`{"title":"from multipart"}`))}}},
			wantJSON: `[{"status":200,"body":{"title":"from multipart"}}]`},
		{name: "disable again", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"batch":{"enabled":false}}`, wantStatus: 200},
		{name: "disabled again", method: "POST", url: "/api/batch", body: batch(create(`{"title":"x"}`)), wantStatus: 403},
	})
}
