package rest_test

import (
	"testing"
)

func TestRulesSuperusersOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createCollection(map[string]any{"name": "locked", "fields": []any{map[string]any{"name": "v", "type": "text"}}})
	e.vars["r"] = e.createRecord("locked", map[string]any{"v": "x"})
	before, after := unchanged("locked")
	forbidden := `{"status":403,"message":"Only superusers can perform this action.","data":{}}`
	var scenarios []scenario
	for _, who := range []string{"", "user"} {
		label := "guest"
		if who != "" {
			label = who
		}
		scenarios = append(scenarios,
			scenario{name: label + " list", method: "GET", url: "/api/collections/locked/records", auth: who, wantStatus: 403, wantJSON: forbidden},
			scenario{name: label + " view", method: "GET", url: "/api/collections/locked/records/{{r}}", auth: who, wantStatus: 403, wantJSON: forbidden},
			scenario{name: label + " create", method: "POST", url: "/api/collections/locked/records", auth: who, body: `{"v":"y"}`,
				wantStatus: 403, wantJSON: forbidden, before: before, after: after},
			scenario{name: label + " update", method: "PATCH", url: "/api/collections/locked/records/{{r}}", auth: who, body: `{"v":"y"}`,
				wantStatus: 403, wantJSON: forbidden, before: before, after: after},
			scenario{name: label + " delete", method: "DELETE", url: "/api/collections/locked/records/{{r}}", auth: who,
				wantStatus: 403, wantJSON: forbidden, before: before, after: after},
		)
	}
	scenarios = append(scenarios,
		scenario{name: "superuser list", method: "GET", url: "/api/collections/locked/records", auth: "superuser", wantStatus: 200,
			wantJSON: `{"totalItems":1}`},
		scenario{name: "superuser update", method: "PATCH", url: "/api/collections/locked/records/{{r}}", auth: "superuser",
			body: `{"v":"z"}`, wantStatus: 200, wantJSON: `{"v":"z"}`},
		scenario{name: "superuser delete", method: "DELETE", url: "/api/collections/locked/records/{{r}}", auth: "superuser", wantStatus: 204},
	)
	e.run(t, scenarios)
}

func TestRulesExpressions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner := "owner = @request.auth.id"
	e.createCollection(map[string]any{"name": "notes",
		"listRule": owner, "viewRule": owner, "updateRule": owner, "deleteRule": owner,
		"createRule": "@request.auth.id != '' && owner = @request.auth.id",
		"fields": []any{
			map[string]any{"name": "title", "type": "text"},
			map[string]any{"name": "owner", "type": "relation", "collectionId": "users", "maxSelect": 1},
			map[string]any{"name": "secret", "type": "text", "hidden": true},
		}})
	e.vars["a1"] = e.createRecord("notes", map[string]any{"title": "alice 1", "owner": e.vars["userId"], "secret": "s1"})
	e.vars["a2"] = e.createRecord("notes", map[string]any{"title": "alice 2", "owner": e.vars["userId"], "secret": "s2"})
	e.vars["b1"] = e.createRecord("notes", map[string]any{"title": "bob 1", "owner": e.vars["user2Id"], "secret": "s3"})
	// A public collection pointing at the protected one, for expand checks.
	e.createCollection(map[string]any{"name": "links", "listRule": "", "viewRule": "",
		"fields": []any{map[string]any{"name": "note", "type": "relation", "collectionId": "notes", "maxSelect": 1}}})
	e.vars["link"] = e.createRecord("links", map[string]any{"note": e.vars["a1"]})
	before, after := unchanged("notes")

	e.run(t, []scenario{
		{name: "guest list is empty", method: "GET", url: "/api/collections/notes/records", wantStatus: 200,
			wantJSON: `{"totalItems":0,"items":[]}`},
		{name: "owner lists own", method: "GET", url: "/api/collections/notes/records?sort=title", auth: "user", wantStatus: 200,
			wantJSON: `{"totalItems":2,"items":[{"title":"alice 1","secret":"<absent>"},{"title":"alice 2"}]}`},
		{name: "other user lists own", method: "GET", url: "/api/collections/notes/records", auth: "user2", wantStatus: 200,
			wantJSON: `{"totalItems":1,"items":[{"title":"bob 1"}]}`},
		{name: "client filter is ANDed with the rule", method: "GET", url: "/api/collections/notes/records?filter=" + q("title ~ 'bob'"), auth: "user",
			wantStatus: 200, wantJSON: `{"totalItems":0}`},
		{name: "superuser sees all with hidden fields", method: "GET", url: "/api/collections/notes/records?sort=title", auth: "superuser", wantStatus: 200,
			wantJSON: `{"totalItems":3,"items":[{"secret":"s1"},{"secret":"s2"},{"secret":"s3"}]}`},
		{name: "owner views", method: "GET", url: "/api/collections/notes/records/{{a1}}", auth: "user", wantStatus: 200,
			wantJSON: `{"title":"alice 1","secret":"<absent>"}`, notContains: []string{`"s1"`}},
		{name: "hidden row is 404 on view", method: "GET", url: "/api/collections/notes/records/{{a1}}", auth: "user2", wantStatus: 404},
		{name: "hidden row is 404 for guests", method: "GET", url: "/api/collections/notes/records/{{a1}}", wantStatus: 404},
		{name: "hidden row is 404 on update", method: "PATCH", url: "/api/collections/notes/records/{{a1}}", auth: "user2",
			body: `{"title":"hacked"}`, wantStatus: 404, before: before, after: after},
		{name: "hidden row is 404 on delete", method: "DELETE", url: "/api/collections/notes/records/{{a1}}", auth: "user2",
			wantStatus: 404, before: before, after: after},
		{name: "guest update is 404", method: "PATCH", url: "/api/collections/notes/records/{{a1}}",
			body: `{"title":"hacked"}`, wantStatus: 404, before: before, after: after},
		{name: "update cannot move a record out of the rule", method: "PATCH", url: "/api/collections/notes/records/{{a2}}", auth: "user",
			body: `{"title":"mine still"}`, wantStatus: 200, wantJSON: `{"title":"mine still"}`},
		{name: "failed create rule is 400", method: "POST", url: "/api/collections/notes/records", auth: "user",
			body: `{"title":"for bob","owner":"{{user2Id}}"}`, wantStatus: 400, before: before, after: after},
		{name: "guest create fails the rule", method: "POST", url: "/api/collections/notes/records",
			body: `{"title":"anon"}`, wantStatus: 400, before: before, after: after},
		{name: "create passing the rule", method: "POST", url: "/api/collections/notes/records", auth: "user",
			body: `{"title":"alice 3","owner":"{{userId}}"}`, wantStatus: 200, wantJSON: `{"title":"alice 3","owner":"{{userId}}"}`},
		{name: "owner deletes", method: "DELETE", url: "/api/collections/notes/records/{{a2}}", auth: "user", wantStatus: 204},
		{name: "non-superuser @request in filter", method: "GET", url: "/api/collections/notes/records?filter=" + q("@request.auth.id != ''"), auth: "user",
			wantStatus: 403},
		{name: "non-superuser @collection in filter", method: "GET", url: "/api/collections/notes/records?filter=" + q("@collection.notes.title != ''"), auth: "user",
			wantStatus: 403},
		{name: "guest @request in sort", method: "GET", url: "/api/collections/links/records?sort=" + q("@request.auth.id"), wantStatus: 403},
		{name: "@request inside a string literal is fine", method: "GET", url: "/api/collections/notes/records?filter=" + q("title = '@request.auth.id'"), auth: "user",
			wantStatus: 200, wantJSON: `{"totalItems":0}`},
		{name: "superuser may use @request", method: "GET", url: "/api/collections/notes/records?filter=" + q("@request.auth.id != ''"), auth: "superuser",
			wantStatus: 200, wantJSON: `{"totalItems":3}`},
		{name: "superuser may use @collection", method: "GET", url: "/api/collections/links/records?filter=" + q("@collection.notes.title ?= 'bob 1'"), auth: "superuser",
			wantStatus: 200, wantJSON: `{"totalItems":1}`},
		{name: "hidden field is not filterable by non-superusers", method: "GET", url: "/api/collections/notes/records?filter=" + q("secret = 's1'"), auth: "user",
			wantStatus: 400},
		{name: "hidden field is not sortable as an oracle", method: "GET", url: "/api/collections/notes/records?sort=secret", auth: "user",
			wantStatus: 400},
		{name: "expand passes through the target view rule (denied)", method: "GET", url: "/api/collections/links/records/{{link}}?expand=note", auth: "user2",
			wantStatus: 200, wantJSON: `{"note":"{{a1}}","expand":"<absent>"}`},
		{name: "expand passes through the target view rule (guest)", method: "GET", url: "/api/collections/links/records/{{link}}?expand=note",
			wantStatus: 200, wantJSON: `{"expand":"<absent>"}`},
		{name: "expand passes through the target view rule (allowed)", method: "GET", url: "/api/collections/links/records/{{link}}?expand=note", auth: "user",
			wantStatus: 200, wantJSON: `{"expand":{"note":{"title":"alice 1","secret":"<absent>"}}}`},
		{name: "back-relation expand passes through the view rule", method: "GET", url: "/api/collections/users/records/{{user2Id}}?expand=notes_via_owner", auth: "user2",
			wantStatus: 200, wantJSON: `{"expand":{"notes_via_owner":[{"title":"bob 1"}]}}`},
	})
}

func TestRulesUsersCollection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, []scenario{
		{name: "guest lists nothing", method: "GET", url: "/api/collections/users/records", wantStatus: 200, wantJSON: `{"totalItems":0}`},
		{name: "user lists self", method: "GET", url: "/api/collections/users/records", auth: "user", wantStatus: 200,
			wantJSON: `{"totalItems":1,"items":[{"id":"{{userId}}","email":"alice@example.com"}]}`},
		{name: "user views other: 404", method: "GET", url: "/api/collections/users/records/{{user2Id}}", auth: "user", wantStatus: 404},
		{name: "user updates other: 404", method: "PATCH", url: "/api/collections/users/records/{{user2Id}}", auth: "user",
			body: `{"name":"pwned"}`, wantStatus: 404,
			after: func(t *testing.T, e *env, _ *response) {
				if r := e.record("users", e.vars["user2Id"]); r["name"] != "user2" {
					t.Errorf("bob's name = %v", r["name"])
				}
			}},
		{name: "user deletes other: 404", method: "DELETE", url: "/api/collections/users/records/{{user2Id}}", auth: "user", wantStatus: 404},
		{name: "user updates self", method: "PATCH", url: "/api/collections/users/records/{{userId}}", auth: "user",
			body: `{"name":"Alice"}`, wantStatus: 200, wantJSON: `{"name":"Alice"}`},
		{name: "user cannot verify self", method: "PATCH", url: "/api/collections/users/records/{{userId}}", auth: "user",
			body: `{"verified":true}`, wantStatus: 400, wantJSON: `{"data":{"verified":"<any>"}}`},
		{name: "user cannot change email directly", method: "PATCH", url: "/api/collections/users/records/{{userId}}", auth: "user",
			body: `{"email":"new@example.com"}`, wantStatus: 400, wantJSON: `{"data":{"email":"<any>"}}`},
		{name: "superuser can verify", method: "PATCH", url: "/api/collections/users/records/{{userId}}", auth: "superuser",
			body: `{"verified":true}`, wantStatus: 200, wantJSON: `{"verified":true}`},
		{name: "superusers collection is superusers only", method: "GET", url: "/api/collections/_superusers/records", auth: "user", wantStatus: 403},
		{name: "superusers collection for guests", method: "GET", url: "/api/collections/_superusers/records", wantStatus: 403},
		{name: "cannot delete the only superuser", method: "DELETE", url: "/api/collections/_superusers/records/{{suId}}", auth: "superuser",
			before: func(t *testing.T, e *env) {
				res := e.mustJSON("GET", "/api/collections/_superusers/records", "superuser", nil, 200)
				e.vars["suId"] = res["items"].([]any)[0].(map[string]any)["id"].(string)
			}, wantStatus: 400},
	})
}

// Hidden fields are out of reach of clients' filters but API rules may use
// them, including hidden fields of the authenticated record.
func TestRulesUseHiddenFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	def := e.collection("users")
	fields := fieldsWith(def, func(f map[string]any) map[string]any { return f })
	fields = append(fields, map[string]any{"name": "role", "type": "text", "hidden": true})
	e.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{"fields": fields}, 200)
	e.mustJSON("PATCH", "/api/collections/users/records/"+e.vars["userId"], "superuser", map[string]any{"role": "staff"}, 200)
	e.createCollection(map[string]any{"name": "vault",
		"listRule": "pin = '1234'", "viewRule": "@request.auth.role = 'staff'",
		"fields": []any{map[string]any{"name": "pin", "type": "text", "hidden": true}, map[string]any{"name": "label", "type": "text"}}})
	e.vars["open"] = e.createRecord("vault", map[string]any{"pin": "1234", "label": "open"})
	e.createRecord("vault", map[string]any{"pin": "9999", "label": "closed"})
	e.run(t, []scenario{
		{name: "list rule on a hidden field", method: "GET", url: "/api/collections/vault/records", wantStatus: 200,
			wantJSON: `{"totalItems":1,"items":[{"label":"open","pin":"<absent>"}]}`},
		{name: "view rule on a hidden field of the auth record (allowed)", method: "GET", url: "/api/collections/vault/records/{{open}}",
			auth: "user", wantStatus: 200, wantJSON: `{"label":"open","pin":"<absent>"}`},
		{name: "view rule on a hidden field of the auth record (denied)", method: "GET", url: "/api/collections/vault/records/{{open}}",
			auth: "user2", wantStatus: 404},
		{name: "client filter on the hidden field is still refused", method: "GET", url: "/api/collections/vault/records?filter=" + q("pin = '1234'"),
			wantStatus: 400},
		{name: "non-superusers cannot set hidden fields", method: "PATCH", url: "/api/collections/users/records/{{userId}}", auth: "user",
			body: `{"role":"boss","name":"still alice"}`, wantStatus: -1,
			after: func(t *testing.T, e *env, res *response) {
				if res.status != 200 && res.status != 400 {
					t.Errorf("status %d, want 200 (ignored) or 400", res.status)
				}
				if r := e.record("users", e.vars["userId"]); r["role"] != "staff" {
					t.Errorf("role = %v after a user tried to set it", r["role"])
				}
			}},
	})
}
