package rest_test

import (
	"testing"
)

func TestSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var snap string
	keep := func(t *testing.T, e *env) { snap = string(e.do("GET", "/api/settings", "superuser", nil, nil).body) }
	same := func(t *testing.T, e *env, _ *response) {
		if got := string(e.do("GET", "/api/settings", "superuser", nil, nil).body); got != snap {
			t.Errorf("settings changed:\nbefore %s\nafter  %s", snap, got)
		}
	}
	secrets := []string{"smtp-pass-xyz", "s3-secret-xyz", "backup-secret-xyz"}
	e.run(t, []scenario{
		{name: "guest get", method: "GET", url: "/api/settings", wantStatus: 401},
		{name: "user get", method: "GET", url: "/api/settings", auth: "user", wantStatus: 403},
		{name: "guest patch", method: "PATCH", url: "/api/settings", body: `{"meta":{"appName":"x"}}`, wantStatus: 401,
			before: keep, after: same},
		{name: "user patch", method: "PATCH", url: "/api/settings", auth: "user", body: `{"meta":{"appName":"x"}}`, wantStatus: 403,
			before: keep, after: same},
		{name: "superuser get", method: "GET", url: "/api/settings", auth: "superuser", wantStatus: 200,
			wantJSON: `{"meta":{"appName":"<nonempty>","appURL":"<any>"},"smtp":{"enabled":false,"password":"<absent>"},
				"s3":{"enabled":false,"secret":"<absent>"},"backups":{"s3":{"secret":"<absent>"}},
				"batch":{"enabled":false,"maxRequests":50},"rateLimits":{"enabled":false},"logs":{"maxDays":5}}`},
		{name: "patch meta", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"meta":{"appName":"Basalt Test"}}`,
			wantStatus: 200, wantJSON: `{"meta":{"appName":"Basalt Test","senderAddress":"<nonempty>"}}`},
		{name: "patch is kept", method: "GET", url: "/api/settings", auth: "superuser", wantStatus: 200,
			wantJSON: `{"meta":{"appName":"Basalt Test"}}`},
		{name: "secrets are never returned", method: "PATCH", url: "/api/settings", auth: "superuser",
			body: `{"smtp":{"enabled":true,"host":"smtp.example.com","port":587,"username":"u","password":"smtp-pass-xyz"},
				"s3":{"enabled":true,"bucket":"b","region":"r","endpoint":"https://s3.example.com","accessKey":"k","secret":"s3-secret-xyz"},
				"backups":{"s3":{"enabled":false,"secret":"backup-secret-xyz"}}}`,
			wantStatus: 200, notContains: secrets, wantJSON: `{"smtp":{"enabled":true,"host":"smtp.example.com"},"s3":{"bucket":"b"}}`},
		{name: "secrets not in GET", method: "GET", url: "/api/settings", auth: "superuser", wantStatus: 200, notContains: secrets},
		{name: "fields picker", method: "GET", url: "/api/settings?fields=meta.appName", auth: "superuser", wantStatus: 200,
			wantJSON: `{"meta":{"appName":"Basalt Test","appURL":"<absent>"},"smtp":"<absent>"}`},
		{name: "invalid value", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"batch":{"maxRequests":-5}}`,
			wantStatus: 400, wantJSON: `{"data":{"batch":{"maxRequests":{"code":"<nonempty>"}}}}`, before: keep, after: same},
		{name: "invalid url", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"meta":{"appURL":"not a url"}}`,
			wantStatus: 400, wantJSON: `{"data":{"meta":{"appURL":"<any>"}}}`, before: keep, after: same},
		{name: "wrong type", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"meta":"x"}`,
			wantStatus: 400, before: keep, after: same},
		{name: "wrong nested type", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"batch":{"enabled":"yes please"}}`,
			wantStatus: 400, before: keep, after: same},
		{name: "malformed", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"meta":`,
			wantStatus: 400, before: keep, after: same},
		{name: "array body", method: "PATCH", url: "/api/settings", auth: "superuser", body: `[]`,
			wantStatus: 400, before: keep, after: same},
		{name: "unknown keys are ignored", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{"nope":{"x":1}}`,
			wantStatus: 200, notContains: []string{`"nope"`}},
		{name: "empty patch", method: "PATCH", url: "/api/settings", auth: "superuser", body: `{}`, wantStatus: 200,
			wantJSON: `{"meta":{"appName":"Basalt Test"}}`},
	})
}
