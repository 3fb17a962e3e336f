package main

import (
	"fmt"
	"net/http"
	"testing"
)

// TestReplicasReadTheirConfigWrites changes settings and collection rules
// through one replica and reads through another at once, many times: the
// second replica must answer with the change every time, not once its
// notification has arrived.
func TestReplicasReadTheirConfigWrites(t *testing.T) {
	addrs, token := startReplicas(t, 2)
	a, b := addrs[0], addrs[1]
	if st, body := call(t, http.MethodPost, a, "/api/collections", token, map[string]any{
		"name": "notes", "type": "base", "listRule": "", "viewRule": "",
		"fields": []map[string]any{{"name": "title", "type": "text"}},
	}); st != http.StatusOK {
		t.Fatalf("create collection on A: %d %v", st, body)
	}
	for i := range 25 {
		name := fmt.Sprintf("App %d", i)
		if st, body := call(t, http.MethodPatch, a, "/api/settings", token, map[string]any{"meta": map[string]any{"appName": name}}); st != http.StatusOK {
			t.Fatalf("settings update on A: %d %v", st, body)
		}
		st, body := call(t, http.MethodGet, b, "/api/settings", token, nil)
		if meta, _ := body["meta"].(map[string]any); st != http.StatusOK || meta["appName"] != name {
			t.Fatalf("round %d: settings read on B right after the update on A: %d, appName %v; want %q", i, st, meta["appName"], name)
		}

		rule, want := any(nil), http.StatusForbidden
		if i%2 == 1 {
			rule, want = "", http.StatusOK
		}
		if st, body := call(t, http.MethodPatch, a, "/api/collections/notes", token, map[string]any{"listRule": rule}); st != http.StatusOK {
			t.Fatalf("rule change on A: %d %v", st, body)
		}
		if st, _ := call(t, http.MethodGet, b, "/api/collections/notes/records", "", nil); st != want {
			t.Fatalf("round %d: guest list on B right after the rule change on A: %d, want %d", i, st, want)
		}
	}
}
