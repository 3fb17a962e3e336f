package rest_test

import (
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/record"
)

// Cached records keep their encodings per view: what one caller was shown
// is never shown to a caller who sees the record differently.
func TestCachedEncodingsFollowTheCaller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.createCollection(map[string]any{
		"name": "notes", "listRule": "", "viewRule": "",
		"fields": []map[string]any{
			{"name": "title", "type": "text"},
			{"name": "secret", "type": "text", "hidden": true},
		},
	})
	id := e.createRecord("notes", map[string]any{"title": "hello", "secret": "s3cret"})
	// The version never moves: whatever is cached stays cached.
	e.records.Cache = record.NewReadCache(func() uint64 { return 1 }, 100)

	for round := range 3 {
		for _, tc := range []struct {
			auth       string
			seesSecret bool
		}{{"", false}, {"user", false}, {"superuser", true}, {"", false}} {
			for _, path := range []string{"/api/collections/notes/records/" + id, "/api/collections/notes/records?perPage=5"} {
				res := e.do("GET", path, tc.auth, nil, nil)
				if res.status != 200 {
					t.Fatalf("round %d, %s as %q: %d %s", round, path, tc.auth, res.status, res.body)
				}
				body := string(res.body)
				if !strings.Contains(body, `"title":"hello"`) {
					t.Fatalf("round %d, %s as %q: no title in %s", round, path, tc.auth, body)
				}
				if got := strings.Contains(body, "s3cret"); got != tc.seesSecret {
					t.Fatalf("round %d, %s as %q: secret shown = %v, want %v: %s", round, path, tc.auth, got, tc.seesSecret, body)
				}
			}
		}
	}
	if hits, _ := e.records.Cache.Stats(); hits == 0 {
		t.Fatal("the read cache served nothing: the test did not exercise cached records")
	}
}
