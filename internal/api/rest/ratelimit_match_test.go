package rest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/settings"
)

func TestFindRateLimitRule(t *testing.T) {
	t.Parallel()
	rules := []settings.RateLimitRule{
		{Label: "/api/", MaxRequests: 1},
		{Label: "/api/collections/", MaxRequests: 2},
		{Label: "POST /api/collections/", MaxRequests: 3},
		{Label: "/api/health", MaxRequests: 4},
		{Label: "*:create", Audience: settings.AudienceGuest, MaxRequests: 5},
		{Label: "users:create", Audience: settings.AudienceAuth, MaxRequests: 6},
		{Label: "/api/batch", MaxRequests: 7},
		{Label: "/", MaxRequests: 8},
	}
	guest := [2]string{settings.AudienceAll, settings.AudienceGuest}
	authed := [2]string{settings.AudienceAll, settings.AudienceAuth}
	path := func(method, p string) []string { return []string{method + " " + p, p} }
	tests := []struct {
		name      string
		labels    []string
		audiences [2]string
		want      int // MaxRequests of the rule found; 0: none
	}{
		{"exact path", path("GET", "/api/health"), guest, 4},
		{"exact path does not prefix", path("GET", "/api/healthz"), guest, 1},
		{"longest prefix", path("GET", "/api/collections/x/records"), guest, 2},
		{"method and path before path", path("POST", "/api/collections/x/records"), guest, 3},
		{"prefix matches its own path without the slash", path("GET", "/api/collections"), guest, 2},
		{"root prefix", path("GET", "/other"), guest, 8},
		{"tag before path", append([]string{"users:create", "*:create"}, path("POST", "/api/collections/users/records")...), authed, 6},
		{"wildcard tag for its audience", append([]string{"users:create", "*:create"}, path("POST", "/api/collections/users/records")...), guest, 5},
		{"other collection, authenticated", append([]string{"posts:create", "*:create"}, path("POST", "/api/collections/posts/records")...), authed, 3},
		{"batch", path("POST", "/api/batch"), guest, 7},
	}
	for _, tt := range tests {
		got, ok := findRateLimitRule(rules, tt.labels, tt.audiences)
		if !ok && tt.want != 0 || ok && got.MaxRequests != tt.want {
			t.Errorf("%s: got %+v (found %v), want the rule of %d", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := findRateLimitRule(rules[3:7], path("GET", "/x"), guest); ok {
		t.Error("no rule matches /x, yet one was found")
	}
}

// TestRouteLimitTableMatchesRoutes keeps the tag table in step with
// routes.go: every pattern in it must be one the mux serves.
func TestRouteLimitTableMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := &server{}
	mux := http.NewServeMux()
	s.routes(mux)
	wildcard := regexp.MustCompile(`\{\w+\}`)
	for pattern := range routeLimitTable() {
		method, p, _ := strings.Cut(pattern, " ")
		r := httptest.NewRequest(method, wildcard.ReplaceAllString(p, "x"), nil)
		if _, got := mux.Handler(r); got != pattern {
			t.Errorf("%s: the mux answers with %q", pattern, got)
		}
	}
}

func TestRateLimitHeaderValues(t *testing.T) {
	t.Parallel()
	if got, want := sfString(`a"b\c`+"\n"), `"a\"b\\c"`; got != want {
		t.Errorf("sfString = %s, want %s", got, want)
	}
	for _, tt := range []struct {
		list []string
		ip   string
		want bool
	}{
		{[]string{"10.0.0.0/8"}, "10.1.2.3", true},
		{[]string{"10.0.0.0/8"}, "11.1.2.3", false},
		{[]string{"::1"}, "::1", true},
		{[]string{"192.0.2.7"}, "192.0.2.7", true},
		{[]string{"not an ip"}, "192.0.2.7", false},
		{nil, "192.0.2.7", false},
	} {
		if got := ipListed(tt.list, tt.ip); got != tt.want {
			t.Errorf("ipListed(%v, %s) = %v, want %v", tt.list, tt.ip, got, tt.want)
		}
	}
	for _, tt := range []struct{ path, want string }{
		{"/api/collections/users/records", "users"},
		{"/api/files/posts/abc/x.png", "posts"},
		{"/api/health", ""},
	} {
		if got := pathSegment(tt.path, 3); got != tt.want {
			t.Errorf("pathSegment(%q, 3) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
