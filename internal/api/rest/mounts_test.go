package rest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/basalt-dev/basalt/internal/api/caller"
)

// A mounted transport sees the caller the REST middleware resolved.
func TestMountsSeeTheCaller(t *testing.T) {
	t.Parallel()
	e := newEnvWithMounts(t, map[string]http.Handler{
		"/x/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			who := "guest"
			if a := caller.Auth(r.Context()); a != nil {
				who = a.Collection.Name
			}
			fmt.Fprintf(w, "%s %v", who, caller.IsSuperuser(r.Context()))
		}),
	})
	for _, tc := range []struct{ auth, want string }{
		{"", "guest false"},
		{"user", "users false"},
		{"superuser", "_superusers true"},
	} {
		res := e.do("GET", "/x/anything", tc.auth, nil, nil)
		if res.status != 200 || string(res.body) != tc.want {
			t.Errorf("auth %q: got %d %q, want 200 %q", tc.auth, res.status, res.body, tc.want)
		}
	}
	// An invalid token leaves the caller a guest, as for REST handlers.
	res := e.do("GET", "/x/", "", nil, map[string]string{"Authorization": "not-a-token"})
	if string(res.body) != "guest false" {
		t.Errorf("invalid token: got %q", res.body)
	}
}
