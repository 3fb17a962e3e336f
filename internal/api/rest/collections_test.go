package rest_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// collection returns a collection's definition as the superuser sees it.
func (e *env) collection(nameOrID string) map[string]any {
	e.t.Helper()
	return e.mustJSON("GET", "/api/collections/"+nameOrID, "superuser", nil, 200)
}

// fieldOf returns the field named name of a collection definition, or nil.
func fieldOf(def map[string]any, name string) map[string]any {
	list, _ := def["fields"].([]any)
	for _, f := range list {
		if m, ok := f.(map[string]any); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

// fieldsWith returns def's fields with edit applied (edit returns nil to drop a field).
func fieldsWith(def map[string]any, edit func(f map[string]any) map[string]any) []any {
	var out []any
	for _, f := range def["fields"].([]any) {
		c := map[string]any{}
		for k, v := range f.(map[string]any) {
			c[k] = v
		}
		if m := edit(c); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// everyFieldCollection is a collection definition with every field type and
// options set.
const everyFieldCollection = `{
	"name": "everything", "type": "base",
	"listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
	"fields": [
		{"name": "title", "type": "text", "required": true, "min": 2, "max": 50, "pattern": "^[a-z ]+$", "presentable": true},
		{"name": "slug", "type": "text", "autogeneratePattern": "[a-z]{8}", "help": "auto"},
		{"name": "count", "type": "number", "min": 0, "max": 100, "onlyInt": true},
		{"name": "flag", "type": "bool"},
		{"name": "contact", "type": "email", "onlyDomains": ["example.com"]},
		{"name": "site", "type": "url", "exceptDomains": ["evil.com"]},
		{"name": "body", "type": "editor", "maxSize": 1000, "convertURLs": true},
		{"name": "when", "type": "date", "min": "2020-01-01 00:00:00.000Z", "max": "2030-01-01 00:00:00.000Z"},
		{"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
		{"name": "status", "type": "select", "values": ["draft", "live"], "maxSelect": 1},
		{"name": "meta", "type": "json", "maxSize": 2000},
		{"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
		{"name": "docs", "type": "file", "maxSelect": 2, "maxSize": 1024, "mimeTypes": ["text/plain"], "thumbs": ["50x50"]},
		{"name": "secret", "type": "text", "hidden": true},
		{"name": "created", "type": "autodate", "onCreate": true},
		{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}
	]
}`

func TestCollectionsAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var scenarios []scenario
	endpoints := []struct{ method, url string }{
		{"GET", "/api/collections"},
		{"POST", "/api/collections"},
		{"GET", "/api/collections/users"},
		{"PATCH", "/api/collections/users"},
		{"DELETE", "/api/collections/users"},
		{"DELETE", "/api/collections/users/truncate"},
		{"PUT", "/api/collections/import"},
		{"GET", "/api/collections/meta/scaffolds"},
	}
	for _, ep := range endpoints {
		body := any(nil)
		if ep.method == "POST" || ep.method == "PATCH" || ep.method == "PUT" {
			body = `{"name":"x"}`
		}
		scenarios = append(scenarios,
			scenario{name: ep.method + " " + ep.url + " guest", method: ep.method, url: ep.url, body: body,
				wantStatus: 401, wantJSON: `{"status":401,"data":{}}`},
			scenario{name: ep.method + " " + ep.url + " user", method: ep.method, url: ep.url, body: body, auth: "user",
				wantStatus: 403, wantJSON: `{"status":403,"data":{}}`},
			scenario{name: ep.method + " " + ep.url + " bad token", method: ep.method, url: ep.url, body: body,
				auth: "raw:eyJhbGciOiJIUzI1NiJ9.e30.x", wantStatus: 401},
		)
	}
	e.run(t, scenarios)
	// Nothing was changed by the refused requests.
	if c := e.collection("users"); c["name"] != "users" {
		t.Errorf("users collection changed: %v", c)
	}
	if n := e.count("users"); n != 2 {
		t.Errorf("users has %d records, want 2", n)
	}
}

func TestCollectionsListAndView(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createCollection(map[string]any{"name": "posts", "fields": []any{map[string]any{"name": "title", "type": "text"}}})
	e.createCollection(map[string]any{"name": "zeta"})
	e.run(t, []scenario{
		{name: "system collections exist on first start", method: "GET", url: "/api/collections?sort=created", auth: "superuser",
			wantStatus: 200, wantJSON: `{"page":1,"perPage":30,"totalItems":8,"totalPages":1,"items":[
				{"id":"pbc_3142635823","name":"_superusers","type":"auth","system":true},
				{"id":"_pb_users_auth_","name":"users","type":"auth"},
				{"id":"pbc_2279338944","name":"_mfas","type":"base","system":true},
				{"id":"pbc_1638494021","name":"_otps","type":"base","system":true},
				{"id":"pbc_4275539003","name":"_authOrigins","type":"base","system":true},
				{"id":"pbc_2281828961","name":"_externalAuths","type":"base","system":true},
				{"name":"posts","type":"base","system":false},
				{"name":"zeta"}]}`},
		{name: "secrets of auth collections are not listed", method: "GET", url: "/api/collections", auth: "superuser",
			wantStatus: 200, after: func(t *testing.T, e *env, res *response) {
				for _, item := range res.json(t).(map[string]any)["items"].([]any) {
					m := item.(map[string]any)
					for _, k := range []string{"authToken", "passwordResetToken", "fileToken"} {
						if tc, ok := m[k].(map[string]any); ok {
							if s, ok := tc["secret"]; ok && s != "" {
								t.Errorf("%s.%s.secret is exposed: %v", m["name"], k, s)
							}
						}
					}
				}
			}},
		{name: "sort by name desc", method: "GET", url: "/api/collections?sort=-name", auth: "superuser", wantStatus: 200,
			wantJSON: `{"items":[{"name":"zeta"},{"name":"users"},{"name":"posts"},{"name":"_superusers"},{"name":"_otps"},{"name":"_mfas"},{"name":"_externalAuths"},{"name":"_authOrigins"}]}`},
		{name: "sort by two keys", method: "GET", url: "/api/collections?sort=-system,name", auth: "superuser", wantStatus: 200,
			wantJSON: `{"items":[{"name":"_authOrigins"},{"name":"_externalAuths"},{"name":"_mfas"},{"name":"_otps"},{"name":"_superusers"},{"name":"posts"},{"name":"users"},{"name":"zeta"}]}`},
		{name: "paging", method: "GET", url: "/api/collections?sort=name&page=2&perPage=3", auth: "superuser", wantStatus: 200,
			wantJSON: `{"page":2,"perPage":3,"totalItems":8,"totalPages":3,"items":[{"name":"_otps"},{"name":"_superusers"},{"name":"posts"}]}`},
		{name: "page past the end", method: "GET", url: "/api/collections?page=9", auth: "superuser", wantStatus: 200,
			wantJSON: `{"page":9,"items":[]}`},
		{name: "skipTotal", method: "GET", url: "/api/collections?skipTotal=1&perPage=1", auth: "superuser", wantStatus: 200,
			wantJSON: `{"totalItems":-1,"totalPages":-1,"items":"<len:1>"}`},
		{name: "filter by name", method: "GET", url: "/api/collections?filter=" + q("name='posts'"), auth: "superuser", wantStatus: 200,
			wantJSON: `{"totalItems":1,"items":[{"name":"posts"}]}`},
		{name: "filter by type and system", method: "GET", url: "/api/collections?filter=" + q("type='auth' && system=false"), auth: "superuser",
			wantStatus: 200, wantJSON: `{"totalItems":1,"items":[{"name":"users"}]}`},
		{name: "filter with like", method: "GET", url: "/api/collections?filter=" + q("name~'user'"), auth: "superuser", wantStatus: 200,
			wantJSON: `{"items":[{"name":"_superusers"},{"name":"users"}]}`},
		{name: "filter syntax error", method: "GET", url: "/api/collections?filter=" + q("name = ("), auth: "superuser", wantStatus: 400},
		{name: "filter unknown key", method: "GET", url: "/api/collections?filter=" + q("nope = 1"), auth: "superuser", wantStatus: 400},
		{name: "sort unknown key", method: "GET", url: "/api/collections?sort=nope", auth: "superuser", wantStatus: 400},
		{name: "fields picker", method: "GET", url: "/api/collections?fields=name&sort=name&perPage=1", auth: "superuser", wantStatus: 200,
			wantJSON: `{"items":[{"name":"_authOrigins","id":"<absent>","fields":"<absent>"}]}`},
		{name: "view by name", method: "GET", url: "/api/collections/posts", auth: "superuser", wantStatus: 200,
			wantJSON: `{"name":"posts","type":"base","system":false,"listRule":null,"indexes":[],"created":"<date>","updated":"<date>"}`},
		{name: "view by id", method: "GET", url: "/api/collections/pbc_3142635823", auth: "superuser", wantStatus: 200,
			wantJSON: `{"id":"pbc_3142635823","name":"_superusers","type":"auth","system":true}`},
		{name: "view users by id", method: "GET", url: "/api/collections/_pb_users_auth_", auth: "superuser", wantStatus: 200,
			wantJSON: `{"id":"_pb_users_auth_","name":"users","createRule":"","listRule":"id = @request.auth.id",
				"passwordAuth":{"enabled":true,"identityFields":["email"]}}`},
		{name: "view is case insensitive", method: "GET", url: "/api/collections/POSTS", auth: "superuser", wantStatus: 200,
			wantJSON: `{"name":"posts"}`},
		{name: "view unknown", method: "GET", url: "/api/collections/missing", auth: "superuser", wantStatus: 404,
			wantJSON: `{"status":404,"data":{}}`},
		{name: "view fields picker", method: "GET", url: "/api/collections/posts?fields=id,name", auth: "superuser", wantStatus: 200,
			wantJSON: `{"name":"posts","id":"<any>","type":"<absent>"}`},
		{name: "users id field shape", method: "GET", url: "/api/collections/users", auth: "superuser", wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				def := res.json(t).(map[string]any)
				id := fieldOf(def, "id")
				if id == nil || id["primaryKey"] != true || id["type"] != "text" || id["system"] != true {
					t.Errorf("id field = %v", id)
				}
				for _, name := range []string{"password", "tokenKey"} {
					if f := fieldOf(def, name); f == nil || f["hidden"] != true {
						t.Errorf("%s field = %v, want hidden", name, f)
					}
				}
			}},
	})
}

// q escapes a query parameter value.
func q(s string) string {
	r := strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "=", "%3D", "'", "%27", "\"", "%22", "+", "%2B", "#", "%23",
		"?", "%3F", "(", "%28", ")", "%29", "~", "%7E", ",", "%2C", ";", "%3B", "\\", "%5C", "\n", "%0A", "\x00", "%00")
	return r.Replace(s)
}

func TestCollectionsCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, []scenario{
		{name: "every field type with options", method: "POST", url: "/api/collections", auth: "superuser",
			body: everyFieldCollection, wantStatus: 200,
			wantJSON: `{"id":"<nonempty>","name":"everything","type":"base","system":false,"listRule":"","created":"<date>","updated":"<date>","fields":"<len:17>"}`,
			after: func(t *testing.T, e *env, res *response) {
				def := res.json(t).(map[string]any)
				want := map[string]string{
					"id":      `{"type":"text","primaryKey":true,"system":true,"required":true,"min":15,"max":15,"pattern":"^[a-z0-9]+$"}`,
					"title":   `{"type":"text","required":true,"min":2,"max":50,"pattern":"^[a-z ]+$","presentable":true,"id":"<nonempty>","hidden":false,"system":false}`,
					"slug":    `{"type":"text","autogeneratePattern":"[a-z]{8}","help":"auto"}`,
					"count":   `{"type":"number","min":0,"max":100,"onlyInt":true}`,
					"flag":    `{"type":"bool"}`,
					"contact": `{"type":"email","onlyDomains":["example.com"]}`,
					"site":    `{"type":"url","exceptDomains":["evil.com"]}`,
					"body":    `{"type":"editor","maxSize":1000,"convertURLs":true}`,
					"when":    `{"type":"date","min":"2020-01-01 00:00:00.000Z","max":"2030-01-01 00:00:00.000Z"}`,
					"tags":    `{"type":"select","values":["a","b","c"],"maxSelect":3}`,
					"status":  `{"type":"select","values":["draft","live"],"maxSelect":1}`,
					"meta":    `{"type":"json","maxSize":2000}`,
					"owner":   `{"type":"relation","collectionId":"_pb_users_auth_","maxSelect":1,"cascadeDelete":false}`,
					"docs":    `{"type":"file","maxSelect":2,"maxSize":1024,"mimeTypes":["text/plain"],"thumbs":["50x50"],"protected":false}`,
					"secret":  `{"type":"text","hidden":true}`,
					"created": `{"type":"autodate","onCreate":true,"onUpdate":false}`,
					"updated": `{"type":"autodate","onCreate":true,"onUpdate":true}`,
				}
				for name, w := range want {
					var wv any
					json.Unmarshal([]byte(w), &wv)
					if p := matchJSON(name, wv, fieldOf(def, name)); len(p) > 0 {
						t.Errorf("field %s: %v", name, p)
					}
				}
				// The definition reads back the same.
				again := e.collection("everything")
				if p := matchJSON("$", def, again); len(p) > 0 {
					t.Errorf("read back differs: %v", p)
				}
			}},
		{name: "auth collection gets system fields", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"members","type":"auth"}`, wantStatus: 200,
			wantJSON:    `{"name":"members","type":"auth","passwordAuth":{"enabled":true,"identityFields":["email"]},"authRule":""}`,
			notContains: []string{`"secret"`},
			after: func(t *testing.T, e *env, res *response) {
				def := res.json(t).(map[string]any)
				for _, name := range []string{"id", "password", "tokenKey", "email", "emailVisibility", "verified"} {
					if fieldOf(def, name) == nil {
						t.Errorf("auth collection lacks %s field", name)
					}
				}
			}},
		{name: "explicit id", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"id":"my_custom_id","name":"custom"}`, wantStatus: 200, wantJSON: `{"id":"my_custom_id","name":"custom"}`},
		{name: "default type is base", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"plain"}`, wantStatus: 200, wantJSON: `{"type":"base","fields":[{"name":"id"}]}`},
		{name: "duplicate name", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"EVERYTHING"}`, wantStatus: 400,
			wantJSON: `{"status":400,"data":{"name":{"code":"validation_collection_name_exists","message":"<nonempty>"}}}`},
		{name: "duplicate id", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"id":"my_custom_id","name":"other"}`, wantStatus: 400, wantJSON: `{"data":{"id":{"code":"<nonempty>"}}}`},
		{name: "missing name", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"type":"base"}`, wantStatus: 400, wantJSON: `{"data":{"name":{"code":"validation_required"}}}`},
		{name: "invalid name", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"bad name; DROP TABLE users"}`, wantStatus: 400, wantJSON: `{"data":{"name":{"code":"<nonempty>"}}}`},
		{name: "system-looking name", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"_mine"}`, wantStatus: 400, wantJSON: `{"data":{"name":{"code":"<nonempty>"}}}`},
		{name: "reserved table name", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"sqlite_master"}`, wantStatus: 400, wantJSON: `{"data":{"name":"<any>"}}`},
		{name: "unknown type", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","type":"graph"}`, wantStatus: 400, wantJSON: `{"data":{"type":{"code":"<nonempty>"}}}`},
		{name: "unknown field type", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","fields":[{"name":"x","type":"blob"}]}`, wantStatus: 400, wantJSON: `{"data":{"fields":"<any>"}}`},
		{name: "duplicate field names", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","fields":[{"name":"x","type":"text"},{"name":"X","type":"bool"}]}`, wantStatus: 400,
			wantJSON: `{"data":{"fields":"<any>"}}`},
		{name: "reserved field name", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","fields":[{"name":"expand","type":"text"}]}`, wantStatus: 400, wantJSON: `{"data":{"fields":"<any>"}}`},
		{name: "select without values", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","fields":[{"name":"s","type":"select"}]}`, wantStatus: 400, wantJSON: `{"data":{"fields":"<any>"}}`},
		{name: "relation to missing collection", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","fields":[{"name":"r","type":"relation","collectionId":"nope"}]}`, wantStatus: 400,
			wantJSON: `{"data":{"fields":"<any>"}}`},
		{name: "invalid rule", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","listRule":"missingField = 1"}`, wantStatus: 400, wantJSON: `{"data":{"listRule":{"code":"<nonempty>"}}}`},
		{name: "rule syntax error", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","viewRule":"id = ("}`, wantStatus: 400, wantJSON: `{"data":{"viewRule":"<any>"}}`},
		{name: "wrong option type", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","fields":[{"name":"n","type":"number","min":"zero"}]}`, wantStatus: 400},
		{name: "invalid mfa rule", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","type":"auth","mfa":{"enabled":true,"duration":600,"rule":"nosuchfield = 1"}}`, wantStatus: 400,
			wantJSON: `{"data":{"mfa.rule":{"code":"validation_invalid_rule","message":"<nonempty>"}}}`},
		{name: "mfa and otp out of range", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","type":"auth","mfa":{"enabled":true,"duration":5},"otp":{"enabled":true,"duration":100000,"length":2}}`, wantStatus: 400,
			wantJSON: `{"data":{"mfa":{"code":"validation_invalid_duration"},"mfa.duration":{"code":"validation_invalid_duration"},
				"otp":{"code":"<nonempty>"},"otp.duration":{"code":"validation_invalid_duration"},"otp.length":{"code":"validation_invalid_length"}}}`},
		{name: "oauth2 problems per provider", method: "POST", url: "/api/collections", auth: "superuser",
			body:       `{"name":"weird","type":"auth","oauth2":{"providers":[{"name":"google","clientId":"a"},{"name":"google","clientId":"b"},{"name":"github"},{"name":"myspace","clientId":"c"}]}}`,
			wantStatus: 400,
			wantJSON: `{"data":{"oauth2":{"code":"validation_invalid_oauth2_provider"},"oauth2.providers.1.name":{"message":"<nonempty>"},
				"oauth2.providers.2.clientId":{"message":"<nonempty>"},"oauth2.providers.3.name":{"message":"<nonempty>"}}}`},
		{name: "token duration under its own key", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","type":"auth","fileToken":{"duration":1}}`, wantStatus: 400,
			wantJSON:    `{"data":{"fileToken":{"code":"validation_invalid_token_duration"},"fileToken.duration":{"code":"validation_invalid_token_duration"}}}`,
			notContains: []string{`"authToken"`}},
		{name: "unknown identity field", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"weird","type":"auth","passwordAuth":{"enabled":true,"identityFields":["nope"]}}`, wantStatus: 400,
			wantJSON: `{"data":{"passwordAuth":{"code":"validation_invalid_identity_field"},"passwordAuth.identityFields":{"message":"<nonempty>"}}}`},
		{name: "wrong top-level type", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":123}`, wantStatus: 400},
		{name: "malformed JSON", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":`, wantStatus: 400},
		{name: "array body", method: "POST", url: "/api/collections", auth: "superuser",
			body: `[{"name":"x"}]`, wantStatus: 400},
		{name: "refused creates left nothing behind", method: "GET", url: "/api/collections?filter=" + q("name='weird'"), auth: "superuser",
			wantStatus: 200, wantJSON: `{"totalItems":0}`},
	})
}

func TestCollectionsUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createCollection(map[string]any{"name": "notes", "listRule": "", "viewRule": "", "fields": []any{
		map[string]any{"name": "title", "type": "text"},
		map[string]any{"name": "body", "type": "text"},
		map[string]any{"name": "score", "type": "number"},
		map[string]any{"name": "tags", "type": "select", "values": []string{"a", "b", "c"}, "maxSelect": 3},
		map[string]any{"name": "label", "type": "select", "values": []string{"x", "y"}, "maxSelect": 2},
	}})
	e.vars["n1"] = e.createRecord("notes", map[string]any{"title": "first", "body": "one", "score": 1, "tags": []string{"a", "b"}, "label": []string{"x"}})
	e.vars["n2"] = e.createRecord("notes", map[string]any{"title": "second", "body": "two", "score": 2, "tags": []string{"c"}})
	def := e.collection("notes")

	// Bodies are built when a scenario runs, from the definition as the
	// previous scenario left it.
	withFields := func(edit func(f map[string]any) map[string]any) func() any {
		return func() any { return map[string]any{"fields": fieldsWith(def, edit)} }
	}
	addField := func() any {
		fields := fieldsWith(def, func(f map[string]any) map[string]any { return f })
		fields = append(fields, map[string]any{"name": "extra", "type": "bool"})
		return map[string]any{"fields": fields}
	}
	set := func(name, key string, value any) func() any {
		return withFields(func(f map[string]any) map[string]any {
			if f["name"] == name {
				f[key] = value
			}
			return f
		})
	}
	refresh := func(t *testing.T, e *env, _ *response) { def = e.collection("notes") }
	var snapBefore, snapAfter = unchanged("notes")

	e.run(t, []scenario{
		{name: "update rules and keep fields", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			body: `{"listRule":"score > 0","createRule":""}`, wantStatus: 200,
			wantJSON: `{"name":"notes","listRule":"score > 0","viewRule":"","createRule":"","fields":"<len:6>"}`, after: refresh},
		{name: "add field keeps data", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			body: addField, wantStatus: 200, wantJSON: `{"fields":"<len:7>"}`,
			after: func(t *testing.T, e *env, res *response) {
				refresh(t, e, res)
				r := e.record("notes", e.vars["n1"])
				if p := matchJSON("n1", decode(`{"title":"first","body":"one","score":1,"tags":["a","b"],"extra":false}`), r); len(p) > 0 {
					t.Error(p)
				}
			}},
		{name: "rename field keeps its data", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			body: set("title", "name", "heading"), wantStatus: 200, wantJSON: `{"fields":"<len:7>"}`,
			after: func(t *testing.T, e *env, res *response) {
				refresh(t, e, res)
				if fieldOf(def, "heading") == nil || fieldOf(def, "title") != nil {
					t.Errorf("rename not applied: %v", def["fields"])
				}
				r := e.record("notes", e.vars["n2"])
				if p := matchJSON("n2", decode(`{"heading":"second","title":"<absent>","body":"two","score":2}`), r); len(p) > 0 {
					t.Error(p)
				}
			}},
		{name: "remove field keeps data of the others", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			body: withFields(func(f map[string]any) map[string]any {
				if f["name"] == "body" {
					return nil
				}
				return f
			}), wantStatus: 200, wantJSON: `{"fields":"<len:6>"}`,
			after: func(t *testing.T, e *env, res *response) {
				refresh(t, e, res)
				r := e.record("notes", e.vars["n1"])
				if p := matchJSON("n1", decode(`{"heading":"first","body":"<absent>","score":1,"tags":["a","b"]}`), r); len(p) > 0 {
					t.Error(p)
				}
			}},
		{name: "type change is refused", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			before: snapBefore, body: set("score", "type", "text"), wantStatus: 400,
			wantJSON: `{"status":400,"data":{"fields":"<any>"}}`,
			after: func(t *testing.T, e *env, res *response) {
				snapAfter(t, e, res)
				if f := fieldOf(e.collection("notes"), "score"); f["type"] != "number" {
					t.Errorf("score type = %v, want number", f["type"])
				}
			}},
		{name: "multi to single with multi-valued rows is refused", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			before: snapBefore, body: set("tags", "maxSelect", 1), wantStatus: 400,
			after: func(t *testing.T, e *env, res *response) {
				snapAfter(t, e, res)
				if f := fieldOf(e.collection("notes"), "tags"); f["maxSelect"] != float64(3) {
					t.Errorf("tags maxSelect = %v, want 3", f["maxSelect"])
				}
			}},
		{name: "multi to single when every row has at most one value", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			body: set("label", "maxSelect", 1), wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				refresh(t, e, res)
				if r := e.record("notes", e.vars["n1"]); r["label"] != "x" {
					t.Errorf("label = %#v, want \"x\"", r["label"])
				}
			}},
		{name: "rename collection", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			body: `{"name":"memos"}`, wantStatus: 200, wantJSON: `{"name":"memos"}`,
			after: func(t *testing.T, e *env, res *response) {
				if n := e.count("memos"); n != 2 {
					t.Errorf("memos has %d records, want 2", n)
				}
				if r := e.do("GET", "/api/collections/notes", "superuser", nil, nil); r.status != 404 {
					t.Errorf("old name still resolves: %d", r.status)
				}
			}},
		{name: "rename to an existing name", method: "PATCH", url: "/api/collections/memos", auth: "superuser",
			body: `{"name":"users"}`, wantStatus: 400, wantJSON: `{"data":{"name":{"code":"validation_collection_name_exists"}}}`},
		{name: "change type", method: "PATCH", url: "/api/collections/memos", auth: "superuser",
			body: `{"type":"auth"}`, wantStatus: 400, wantJSON: `{"data":{"type":"<any>"}}`},
		{name: "rename system collection", method: "PATCH", url: "/api/collections/_superusers", auth: "superuser",
			body: `{"name":"admins"}`, wantStatus: 400, wantJSON: `{"data":{"name":"<any>"}}`},
		{name: "omitted system auth fields are kept with their data", method: "PATCH", url: "/api/collections/users", auth: "superuser",
			body: func() any {
				return map[string]any{"fields": fieldsWith(e.collection("users"), func(f map[string]any) map[string]any {
					if f["name"] == "email" {
						return nil
					}
					return f
				})}
			}, wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if fieldOf(e.collection("users"), "email") == nil {
					t.Errorf("users lost its email field")
				}
				if r := e.record("users", e.vars["userId"]); r["email"] != userEmail {
					t.Errorf("alice's email = %v, want %s", r["email"], userEmail)
				}
			}},
		{name: "invalid rule is refused", method: "PATCH", url: "/api/collections/memos", auth: "superuser",
			body: `{"viewRule":"nosuchfield = 1"}`, wantStatus: 400, wantJSON: `{"data":{"viewRule":"<any>"}}`},
		{name: "update unknown collection", method: "PATCH", url: "/api/collections/nope", auth: "superuser",
			body: `{"listRule":""}`, wantStatus: 404},
		{name: "malformed body", method: "PATCH", url: "/api/collections/memos", auth: "superuser",
			body: `{"listRule":`, wantStatus: 400},
		{name: "id cannot change", method: "PATCH", url: "/api/collections/memos", auth: "superuser",
			body: `{"id":"another_id"}`, wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if r := e.do("GET", "/api/collections/another_id", "superuser", nil, nil); r.status != 404 {
					t.Errorf("collection id changed: %s", r.body)
				}
			}},
	})
}

// decode parses JSON text for matchJSON.
func decode(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

func TestCollectionsDeleteAndTruncate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createCollection(map[string]any{"name": "authors", "fields": []any{map[string]any{"name": "name", "type": "text"}}})
	e.createCollection(map[string]any{"name": "books", "fields": []any{
		map[string]any{"name": "title", "type": "text"},
		map[string]any{"name": "author", "type": "relation", "collectionId": "authors", "maxSelect": 1},
	}})
	e.createCollection(map[string]any{"name": "scratch"})
	a := e.createRecord("authors", map[string]any{"name": "Ann"})
	e.createRecord("books", map[string]any{"title": "One", "author": a})
	e.createRecord("books", map[string]any{"title": "Two", "author": a})
	e.createRecord("scratch", map[string]any{})
	booksBefore, booksAfter := unchanged("books")

	e.run(t, []scenario{
		{name: "delete system collection", method: "DELETE", url: "/api/collections/_superusers", auth: "superuser", wantStatus: 400,
			after: func(t *testing.T, e *env, _ *response) {
				if e.collection("_superusers")["id"] != "pbc_3142635823" {
					t.Error("_superusers changed")
				}
			}},
		{name: "delete system collection by id", method: "DELETE", url: "/api/collections/pbc_3142635823", auth: "superuser", wantStatus: 400},
		{name: "delete collection referenced by a relation", method: "DELETE", url: "/api/collections/authors", auth: "superuser", wantStatus: 400,
			after: func(t *testing.T, e *env, _ *response) {
				if e.count("authors") != 1 {
					t.Error("authors lost records")
				}
			}},
		{name: "delete unknown", method: "DELETE", url: "/api/collections/nope", auth: "superuser", wantStatus: 404},
		{name: "delete as user", method: "DELETE", url: "/api/collections/scratch", auth: "user", wantStatus: 403},
		{name: "truncate as user", method: "DELETE", url: "/api/collections/books/truncate", auth: "user", wantStatus: 403,
			before: booksBefore, after: booksAfter},
		{name: "truncate as guest", method: "DELETE", url: "/api/collections/books/truncate", wantStatus: 401},
		{name: "truncate unknown", method: "DELETE", url: "/api/collections/nope/truncate", auth: "superuser", wantStatus: 404},
		{name: "truncate books", method: "DELETE", url: "/api/collections/books/truncate", auth: "superuser", wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				if len(res.body) != 0 {
					t.Errorf("204 with a body: %q", res.body)
				}
				if n := e.count("books"); n != 0 {
					t.Errorf("books has %d records after truncate", n)
				}
				if n := e.count("authors"); n != 1 {
					t.Errorf("authors has %d records, want 1", n)
				}
				if def := e.collection("books"); fieldOf(def, "author") == nil {
					t.Error("truncate changed the definition")
				}
			}},
		{name: "delete scratch", method: "DELETE", url: "/api/collections/scratch", auth: "superuser", wantStatus: 204,
			after: func(t *testing.T, e *env, _ *response) {
				if r := e.do("GET", "/api/collections/scratch", "superuser", nil, nil); r.status != 404 {
					t.Errorf("deleted collection still viewable: %d", r.status)
				}
				if r := e.do("GET", "/api/collections/scratch/records", "superuser", nil, nil); r.status != 404 {
					t.Errorf("records of a deleted collection: %d %s", r.status, r.body)
				}
			}},
		{name: "recreate under the same name starts empty", method: "POST", url: "/api/collections", auth: "superuser",
			body: `{"name":"scratch"}`, wantStatus: 200,
			after: func(t *testing.T, e *env, _ *response) {
				if n := e.count("scratch"); n != 0 {
					t.Errorf("recreated collection has %d records", n)
				}
			}},
		{name: "delete books then authors", method: "DELETE", url: "/api/collections/books", auth: "superuser", wantStatus: 204},
		{name: "authors no longer referenced", method: "DELETE", url: "/api/collections/authors", auth: "superuser", wantStatus: 204},
	})
}

func TestCollectionsImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createCollection(map[string]any{"name": "old", "fields": []any{map[string]any{"name": "v", "type": "text"}}})
	e.createRecord("old", map[string]any{"v": "keep"})
	e.createCollection(map[string]any{"name": "doomed"})
	usersDef := e.collection("users")
	superDef := e.collection("_superusers")
	var colsBefore string
	snapCols := func(t *testing.T, e *env) { colsBefore = e.collectionsSnapshot() }
	colsSame := func(t *testing.T, e *env, _ *response) {
		if got := e.collectionsSnapshot(); got != colsBefore {
			t.Errorf("collections changed by a refused import")
		}
	}

	e.run(t, []scenario{
		{name: "guest", method: "PUT", url: "/api/collections/import", body: `{"collections":[]}`, wantStatus: 401},
		{name: "user", method: "PUT", url: "/api/collections/import", auth: "user", body: `{"collections":[]}`, wantStatus: 403},
		{name: "empty list", method: "PUT", url: "/api/collections/import", auth: "superuser", body: `{"collections":[]}`,
			wantStatus: 400, wantJSON: `{"data":{"collections":{"code":"<nonempty>"}}}`},
		{name: "malformed", method: "PUT", url: "/api/collections/import", auth: "superuser", body: `{"collections":{`, wantStatus: 400},
		{name: "collections not a list", method: "PUT", url: "/api/collections/import", auth: "superuser", body: `{"collections":"x"}`, wantStatus: 400},
		{name: "one invalid collection refuses all", method: "PUT", url: "/api/collections/import", auth: "superuser",
			before: snapCols, after: colsSame,
			body: `{"collections":[{"name":"fresh1"},{"name":"bad name!"}]}`, wantStatus: 400,
			wantJSON: `{"data":{"collections":"<any>"}}`},
		{name: "relation to a collection of the same import", method: "PUT", url: "/api/collections/import", auth: "superuser",
			body: `{"collections":[
				{"name":"tags","fields":[{"name":"label","type":"text"}]},
				{"name":"items","fields":[{"name":"tag","type":"relation","collectionId":"tags","maxSelect":1}]}
			]}`, wantStatus: 204,
			after: func(t *testing.T, e *env, _ *response) {
				tags := e.collection("tags")
				if f := fieldOf(e.collection("items"), "tag"); f == nil || f["collectionId"] != tags["id"] {
					t.Errorf("items.tag = %v, want collectionId %v", f, tags["id"])
				}
				if e.count("old") != 1 || e.do("GET", "/api/collections/doomed", "superuser", nil, nil).status != 200 {
					t.Error("import without deleteMissing removed something")
				}
			}},
		{name: "update existing by name keeps data", method: "PUT", url: "/api/collections/import", auth: "superuser",
			body:       `{"collections":[{"name":"old","listRule":"","fields":[{"name":"v","type":"text"},{"name":"w","type":"number"}]}]}`,
			wantStatus: 204,
			after: func(t *testing.T, e *env, _ *response) {
				res := e.mustJSON("GET", "/api/collections/old/records", "", nil, 200)
				if p := matchJSON("$", decode(`{"items":[{"v":"keep","w":0}]}`), res); len(p) > 0 {
					t.Error(p)
				}
			}},
		{name: "deleteMissing removes the others but not system collections", method: "PUT", url: "/api/collections/import", auth: "superuser",
			body: func() any {
				return map[string]any{"deleteMissing": true, "collections": []any{
					superDef, usersDef, e.collection("old"), e.collection("tags"), e.collection("items"),
				}}
			}, wantStatus: 204,
			after: func(t *testing.T, e *env, _ *response) {
				if r := e.do("GET", "/api/collections/doomed", "superuser", nil, nil); r.status != 404 {
					t.Errorf("doomed survived deleteMissing: %d", r.status)
				}
				if e.count("old") != 1 || e.count("users") != 2 {
					t.Error("deleteMissing lost data of imported collections")
				}
			}},
		{name: "deleteMissing with only a user collection keeps system ones", method: "PUT", url: "/api/collections/import", auth: "superuser",
			body: func() any {
				return map[string]any{"deleteMissing": true, "collections": []any{e.collection("old")}}
			}, wantStatus: 204,
			after: func(t *testing.T, e *env, _ *response) {
				if e.do("GET", "/api/collections/_superusers", "superuser", nil, nil).status != 200 {
					t.Error("_superusers deleted by import")
				}
				// The superuser token still works.
				if e.count("old") != 1 {
					t.Error("old lost data")
				}
			}},
	})
}

func TestCollectionsScaffolds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, []scenario{
		{name: "guest", method: "GET", url: "/api/collections/meta/scaffolds", wantStatus: 401},
		{name: "user", method: "GET", url: "/api/collections/meta/scaffolds", auth: "user", wantStatus: 403},
		{name: "superuser", method: "GET", url: "/api/collections/meta/scaffolds", auth: "superuser", wantStatus: 200,
			wantJSON: `{"base":{"type":"base","name":"","fields":[{"name":"id","primaryKey":true},{"name":"created"},{"name":"updated"}],"indexes":[]},
				"auth":{"type":"auth","passwordAuth":{"enabled":true}}}`,
			notContains: []string{`"secret"`},
			after: func(t *testing.T, e *env, res *response) {
				auth := res.json(t).(map[string]any)["auth"].(map[string]any)
				for _, name := range []string{"id", "password", "tokenKey", "email", "emailVisibility", "verified"} {
					if fieldOf(auth, name) == nil {
						t.Errorf("auth scaffold lacks %s", name)
					}
				}
			}},
	})
}
