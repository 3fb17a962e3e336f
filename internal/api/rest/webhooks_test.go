package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store"
)

func TestWebhooksAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	for _, who := range []string{"", "user"} {
		want := map[string]int{"": 401, "user": 403}[who]
		for _, req := range [][2]string{{"GET", "/api/webhooks"}, {"POST", "/api/webhooks"}, {"GET", "/api/webhooks/x"},
			{"PATCH", "/api/webhooks/x"}, {"DELETE", "/api/webhooks/x"}, {"GET", "/api/webhooks/x/deliveries"},
			{"POST", "/api/webhooks/x/deliveries/y/replay"}} {
			if res := e.do(req[0], req[1], who, map[string]any{}, nil); res.status != want {
				t.Errorf("%s %s as %q: got %d, want %d", req[0], req[1], who, res.status, want)
			}
		}
	}

	bad := e.do("POST", "/api/webhooks", "superuser", map[string]any{"url": "ftp://x", "actions": []string{"nope"}, "filter": "a = "}, nil)
	if bad.status != 400 {
		t.Fatalf("invalid webhook: got %d, want 400: %s", bad.status, bad.body)
	}
	var problem struct{ Data map[string]any }
	json.Unmarshal(bad.body, &problem)
	for _, f := range []string{"url", "actions", "filter"} {
		if problem.Data[f] == nil {
			t.Errorf("invalid webhook: no %s problem in %s", f, bad.body)
		}
	}
	if res := e.do("POST", "/api/webhooks", "superuser", map[string]any{"url": "https://example.com", "surprise": 1}, nil); res.status != 400 {
		t.Errorf("unknown key: got %d, want 400", res.status)
	}

	created := e.mustJSON("POST", "/api/webhooks", "superuser", map[string]any{
		"url": "https://example.com/hook", "collections": []string{"users"}, "actions": []string{"create", "delete"},
		"filter": "name != ''",
	}, 200)
	id, _ := created["id"].(string)
	secret, _ := created["secret"].(string)
	if id == "" || !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 || created["enabled"] != true {
		t.Fatalf("created = %v", created)
	}
	e.vars["hook"] = id
	view := e.mustJSON("GET", "/api/webhooks/{{hook}}", "superuser", nil, 200)
	if s := view["secret"].(string); s == secret || !strings.HasPrefix(s, "whsec_****") {
		t.Errorf("viewed secret = %q, want it masked", s)
	}
	if view["filter"] != "name != ''" || view["url"] != "https://example.com/hook" {
		t.Errorf("view = %v", view)
	}
	list := e.mustJSON("GET", "/api/webhooks", "superuser", nil, 200)
	if items, _ := list["items"].([]any); len(items) != 1 || strings.Contains(string(mustMarshal(items)), secret) {
		t.Errorf("list = %v, want one masked webhook", list)
	}
	upd := e.mustJSON("PATCH", "/api/webhooks/{{hook}}", "superuser", map[string]any{"enabled": false, "actions": []string{}}, 200)
	if upd["enabled"] != false || len(upd["actions"].([]any)) != 0 || strings.Contains(string(mustMarshal(upd)), secret) {
		t.Errorf("updated = %v", upd)
	}
	rot := e.mustJSON("PATCH", "/api/webhooks/{{hook}}", "superuser", map[string]any{"secret": ""}, 200)
	if s := rot["secret"].(string); s == secret || !strings.HasPrefix(s, "whsec_") || strings.Contains(s, "*") || rot["previousSecretUntil"] == nil {
		t.Errorf("rotated = %v, want the new secret once and the overlap", rot)
	}

	// Deliveries are listed newest first, paginated, and can be replayed.
	st := e.store
	now := time.Now().UTC()
	for i, ev := range []string{"e1", "e2", "e3"} {
		at := now.Add(time.Duration(i) * time.Second)
		err := st.InTx(context.Background(), func(tx store.Tx) error {
			return tx.InsertDelivery(context.Background(), &store.Delivery{ID: "d" + ev, WebhookID: id, EventID: ev,
				Event: json.RawMessage(`{"id":"` + ev + `"}`), Status: store.DeliveryDead, AttemptCount: 3, NextAttempt: at,
				Attempts: []store.Attempt{{Time: at, Status: 500, LatencyMS: 3, Response: "no", Error: "unexpected status 500"}},
				Created:  at, Updated: at})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	page := e.mustJSON("GET", "/api/webhooks/{{hook}}/deliveries?perPage=2&page=1", "superuser", nil, 200)
	items, _ := page["items"].([]any)
	if page["totalItems"] != 3.0 || page["totalPages"] != 2.0 || len(items) != 2 || items[0].(map[string]any)["id"] != "de3" {
		t.Fatalf("deliveries page = %v", page)
	}
	first := items[0].(map[string]any)
	if first["status"] != "dead" || first["attemptCount"] != 3.0 || len(first["attempts"].([]any)) != 1 || first["payload"].(map[string]any)["id"] != "e3" {
		t.Errorf("delivery = %v", first)
	}
	replayed := e.mustJSON("POST", "/api/webhooks/{{hook}}/deliveries/de1/replay", "superuser", nil, 200)
	if replayed["status"] != "pending" || replayed["attemptCount"] != 0.0 {
		t.Errorf("replayed = %v", replayed)
	}
	e.mustJSON("POST", "/api/webhooks/{{hook}}/deliveries/missing/replay", "superuser", nil, 404)
	e.mustJSON("GET", "/api/webhooks/missing/deliveries", "superuser", nil, 404)

	e.mustJSON("DELETE", "/api/webhooks/{{hook}}", "superuser", nil, http.StatusNoContent)
	e.mustJSON("GET", "/api/webhooks/{{hook}}", "superuser", nil, 404)
	e.mustJSON("DELETE", "/api/webhooks/{{hook}}", "superuser", nil, 404)
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
