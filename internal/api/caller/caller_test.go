package caller

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
)

func TestRequest(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPatch, "/api/x?expand=a&page=2&page=3&empty=", nil)
	r.Header.Set("X-Token", "t1")
	r.Header.Add("X-Token", "t2")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "abc")
	got := Request(r)
	if got.Method != http.MethodPatch || got.Context != "default" || got.Auth != nil || got.Body != nil {
		t.Fatalf("got %+v", got)
	}
	wantQuery := map[string]string{"expand": "a", "page": "2", "empty": ""}
	if len(got.Query) != len(wantQuery) {
		t.Fatalf("query = %v, want %v", got.Query, wantQuery)
	}
	for k, v := range wantQuery {
		if got.Query[k] != v {
			t.Fatalf("query[%s] = %q, want %q", k, got.Query[k], v)
		}
	}
	for k, v := range map[string]string{"x_token": "t1", "content_type": "application/json", "authorization": "abc"} {
		if got.Headers[k] != v {
			t.Fatalf("headers[%s] = %q, want %q (headers %v)", k, got.Headers[k], v, got.Headers)
		}
	}
}

func TestRequestCarriesAuth(t *testing.T) {
	t.Parallel()
	su := &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if IsSuperuser(r.Context()) || Request(r).Auth != nil {
		t.Fatal("a request without auth has a caller")
	}
	r = r.WithContext(WithAuth(r.Context(), su))
	if got := Request(r).Auth; got != su {
		t.Fatalf("Auth = %v, want the superuser", got)
	}
	if !IsSuperuser(r.Context()) {
		t.Fatal("IsSuperuser = false for a superuser")
	}
	user := &schema.Record{Collection: &schema.Collection{ID: "users"}}
	if IsSuperuser(WithAuth(r.Context(), user)) {
		t.Fatal("IsSuperuser = true for a user")
	}
}
