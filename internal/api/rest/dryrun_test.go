package rest_test

import (
	"testing"
)

// A dry run (?dryRun=true) answers what saving would answer, without
// saving: 204 for a valid definition, the save's 400 with the rule
// compiler's message under the rule's key otherwise.
func TestCollectionDryRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createCollection(map[string]any{"name": "notes", "type": "base", "fields": []any{map[string]any{"name": "title", "type": "text"}}})
	var before string
	snap := func(t *testing.T, e *env) { before = e.collectionsSnapshot() }
	same := func(t *testing.T, e *env, _ *response) {
		t.Helper()
		if got := e.collectionsSnapshot(); got != before {
			t.Errorf("a dry run changed the collections:\nbefore %s\nafter  %s", before, got)
		}
	}
	e.run(t, []scenario{
		{name: "create valid", method: "POST", url: "/api/collections?dryRun=true", auth: "superuser",
			body:       `{"name":"drafts","fields":[{"name":"body","type":"text"}],"listRule":"body != ''"}`,
			wantStatus: 204, before: snap, after: same},
		{name: "create with a rule on a missing field", method: "POST", url: "/api/collections?dryRun=true", auth: "superuser",
			body:       `{"name":"drafts","fields":[{"name":"body","type":"text"}],"listRule":"nosuch = 1"}`,
			wantStatus: 400, wantJSON: `{"data":{"listRule":{"code":"validation_invalid_rule"}}}`, before: snap, after: same},
		{name: "create with a rule syntax error", method: "POST", url: "/api/collections?dryRun=true", auth: "superuser",
			body:       `{"name":"drafts","fields":[{"name":"body","type":"text"}],"viewRule":"body ="}`,
			wantStatus: 400, wantJSON: `{"data":{"viewRule":{"code":"validation_invalid_rule"}}}`, before: snap, after: same},
		{name: "create with a taken name", method: "POST", url: "/api/collections?dryRun=true", auth: "superuser",
			body: `{"name":"notes"}`, wantStatus: 400, before: snap, after: same},
		{name: "update valid", method: "PATCH", url: "/api/collections/notes?dryRun=true", auth: "superuser",
			body:       `{"listRule":"title ~ 'a'","fields":[{"name":"title","type":"text"},{"name":"extra","type":"number"}]}`,
			wantStatus: 204, before: snap, after: same},
		{name: "update with an invalid rule", method: "PATCH", url: "/api/collections/notes?dryRun=true", auth: "superuser",
			body:       `{"updateRule":"@request.auth.id != '' && nosuch > 1"}`,
			wantStatus: 400, wantJSON: `{"data":{"updateRule":{"code":"validation_invalid_rule"}}}`, before: snap, after: same},
		{name: "update of a missing collection", method: "PATCH", url: "/api/collections/missing?dryRun=true", auth: "superuser",
			body: `{"listRule":""}`, wantStatus: 404},
		{name: "guests may not", method: "POST", url: "/api/collections?dryRun=true", body: `{"name":"x"}`, wantStatus: 401},
		{name: "users may not", method: "PATCH", url: "/api/collections/notes?dryRun=true", auth: "user", body: `{"listRule":""}`, wantStatus: 403},
		{name: "without dryRun the update saves", method: "PATCH", url: "/api/collections/notes", auth: "superuser",
			body: `{"listRule":"title ~ 'a'"}`, wantStatus: 200, wantJSON: `{"listRule":"title ~ 'a'"}`},
	})
}

// The metrics history is for superusers, and 404 without a monitor.
func TestMetricsHistoryAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, []scenario{
		{name: "guest", method: "GET", url: "/api/metrics/history", wantStatus: 401},
		{name: "user", method: "GET", url: "/api/metrics/history", auth: "user", wantStatus: 403},
		{name: "superuser without a monitor", method: "GET", url: "/api/metrics/history", auth: "superuser", wantStatus: 404},
	})
}
