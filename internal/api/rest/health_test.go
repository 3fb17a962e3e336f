package rest_test

import (
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
