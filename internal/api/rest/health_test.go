package rest_test

import (
	"strings"
	"testing"
)

func TestHealthScenarios(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, []scenario{
		{name: "guest", method: "GET", url: "/api/health", wantStatus: 200,
			wantJSON: `{"code":200,"message":"API is healthy.","data":{"canBackup":"<absent>"}}`},
		{name: "user", method: "GET", url: "/api/health", auth: "user", wantStatus: 200,
			wantJSON: `{"code":200,"data":{"canBackup":"<absent>"}}`},
		{name: "superuser gets extra data", method: "GET", url: "/api/health", auth: "superuser", wantStatus: 200,
			wantJSON: `{"code":200,"message":"API is healthy.","data":{"canBackup":"<any>"}}`},
		{name: "invalid token still healthy", method: "GET", url: "/api/health", auth: "raw:Bearer not.a.jwt", wantStatus: 200,
			wantJSON: `{"code":200}`},
		{name: "HEAD not routed as GET body", method: "HEAD", url: "/api/health", wantStatus: 200},
		{name: "unknown api route", method: "GET", url: "/api/nope", wantStatus: 404,
			wantJSON: `{"status":404,"message":"The requested resource wasn't found.","data":{}}`},
		{name: "wrong method on health", method: "POST", url: "/api/health", wantStatus: 404},
	})
}

func TestCORSAndProblemDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.run(t, []scenario{
		{name: "preflight", method: "OPTIONS", url: "/api/collections/users/records",
			headers:    map[string]string{"Origin": "https://app.example.com", "Access-Control-Request-Method": "PATCH", "Access-Control-Request-Headers": "authorization,content-type"},
			wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
					t.Errorf("Access-Control-Allow-Origin = %q", got)
				}
				if got := res.header.Get("Access-Control-Allow-Methods"); !strings.Contains(got, "PATCH") {
					t.Errorf("Access-Control-Allow-Methods = %q", got)
				}
			}},
		{name: "simple CORS request", method: "GET", url: "/api/health", headers: map[string]string{"Origin": "https://app.example.com"},
			wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				if got := res.header.Get("Access-Control-Allow-Origin"); got != "*" {
					t.Errorf("Access-Control-Allow-Origin = %q", got)
				}
			}},
		{name: "problem details on request", method: "GET", url: "/api/collections/nope/records",
			headers: map[string]string{"Accept": "application/problem+json"}, wantStatus: 404,
			after: func(t *testing.T, e *env, res *response) {
				if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type = %q", ct)
				}
			}},
		{name: "JSON error content type", method: "GET", url: "/api/collections/nope/records", wantStatus: 404,
			after: func(t *testing.T, e *env, res *response) {
				if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
					t.Errorf("Content-Type = %q", ct)
				}
			}},
	})
}
