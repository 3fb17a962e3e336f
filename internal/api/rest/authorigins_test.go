package rest_test

import (
	"strings"
	"testing"
)

// alertTemplate puts the device in the alert mail.
var alertTemplate = map[string]any{"authAlert": map[string]any{"enabled": true, "emailTemplate": map[string]any{
	"subject": "Login from a new location", "body": "<p>New sign-in to {APP_NAME}: {ALERT_INFO}</p>"}}}

// originsOf lists the _authOrigins rows the caller sees.
func (e *env) originsOf(authName string) []any {
	e.t.Helper()
	res := e.mustJSON("GET", "/api/collections/_authOrigins/records?perPage=100", authName, nil, 200)
	items, _ := res["items"].([]any)
	return items
}

func TestAuthOriginsAndAlert(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	e := m.env
	m.patchCollection(t, "users", alertTemplate)
	signIn := func(t *testing.T, identity, ua string, status int) {
		t.Helper()
		res := e.do("POST", "/api/collections/users/auth-with-password", "",
			map[string]any{"identity": identity, "password": userPass}, map[string]string{"User-Agent": ua})
		if res.status != status {
			t.Fatalf("sign in as %s from %q: %d %s", identity, ua, res.status, res.body)
		}
	}

	// newMailEnv signed alice in once (Go's user agent): her first device,
	// no alert.
	m.settle(t)
	m.noNewMail(t, userEmail)
	mine := e.originsOf("user")
	if len(mine) != 1 {
		t.Fatalf("alice sees %d origins, want 1: %v", len(mine), mine)
	}
	o := mine[0].(map[string]any)
	if o["recordRef"] != e.vars["userId"] || o["collectionRef"] != "_pb_users_auth_" || len(o["fingerprint"].(string)) != 32 {
		t.Errorf("origin = %v", o)
	}

	// A new device: recorded, and alice gets the alert.
	signIn(t, userEmail, "Firefox/140 test", 200)
	msg := m.nextMail(t, userEmail)
	if msg.Subject() != "Login from a new location" || !strings.Contains(msg.HTML(), "Firefox/140 test") {
		t.Errorf("alert mail: %q\n%s", msg.Subject(), msg.HTML())
	}
	if got := len(e.originsOf("user")); got != 2 {
		t.Errorf("alice has %d origins, want 2", got)
	}
	// The same device again: no alert.
	signIn(t, userEmail, "Firefox/140 test", 200)
	m.settle(t)
	m.noNewMail(t, userEmail)
	if got := len(e.originsOf("user")); got != 2 {
		t.Errorf("alice has %d origins after a known device, want 2", got)
	}

	// Rules: owners see and delete their own rows; others see none;
	// nobody but superusers creates or edits them.
	if got := e.originsOf("user2"); len(got) != 1 || got[0].(map[string]any)["recordRef"] != e.vars["user2Id"] {
		t.Errorf("bob sees %v", got)
	}
	if got := e.originsOf(""); len(got) != 0 {
		t.Errorf("a guest sees %v", got)
	}
	if got := e.originsOf("superuser"); len(got) < 4 {
		t.Errorf("the superuser sees %d origins, want all (at least 4)", len(got))
	}
	id := e.originsOf("user")[0].(map[string]any)["id"].(string)
	e.vars["originId"] = id
	if res := e.do("GET", "/api/collections/_authOrigins/records/{{originId}}", "user2", nil, nil); res.status != 404 {
		t.Errorf("bob views alice's origin: %d", res.status)
	}
	if res := e.do("DELETE", "/api/collections/_authOrigins/records/{{originId}}", "user2", nil, nil); res.status != 404 {
		t.Errorf("bob deletes alice's origin: %d", res.status)
	}
	if res := e.do("PATCH", "/api/collections/_authOrigins/records/{{originId}}", "user", map[string]any{"fingerprint": "x"}, nil); res.status != 403 {
		t.Errorf("alice edits her origin: %d %s", res.status, res.body)
	}
	if res := e.do("POST", "/api/collections/_authOrigins/records", "user", map[string]any{
		"collectionRef": "_pb_users_auth_", "recordRef": e.vars["userId"], "fingerprint": "x"}, nil); res.status != 403 {
		t.Errorf("alice creates an origin: %d %s", res.status, res.body)
	}
	for _, it := range e.originsOf("user") {
		e.vars["originId"] = it.(map[string]any)["id"].(string)
		e.mustJSON("DELETE", "/api/collections/_authOrigins/records/{{originId}}", "user", nil, 204)
	}
	// With every origin deleted, the next sign-in is a first one again.
	signIn(t, userEmail, "Firefox/140 test", 200)
	m.settle(t)
	m.noNewMail(t, userEmail)

	// A failed sign-in records nothing.
	res := e.do("POST", "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": userEmail, "password": "wrong-password"}, map[string]string{"User-Agent": "Evil/1"})
	if res.status != 400 {
		t.Fatalf("wrong password: %d", res.status)
	}
	if got := len(e.originsOf("user")); got != 1 {
		t.Errorf("alice has %d origins after a failed sign-in, want 1", got)
	}

	// authAlert disabled: the origin is recorded, no mail.
	m.patchCollection(t, "users", map[string]any{"authAlert": map[string]any{"enabled": false}})
	signIn(t, userEmail, "Safari/18 test", 200)
	m.settle(t)
	m.noNewMail(t, userEmail)
	if got := len(e.originsOf("user")); got != 2 {
		t.Errorf("alice has %d origins, want 2", got)
	}
}

// TestAuthOriginsOTPAndMFA: one-time passwords record origins; with MFA,
// only the completed sign-in does.
func TestAuthOriginsOTPAndMFA(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	e := m.env
	m.patchCollection(t, "users", alertTemplate)
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true}})
	otpID, code := m.requestOTP(t, "users", user2Email, true)
	res := e.do("POST", "/api/collections/users/auth-with-otp", "", map[string]any{"otpId": otpID, "password": code},
		map[string]string{"User-Agent": "Phone/1"})
	if res.status != 200 {
		t.Fatalf("otp sign-in: %d %s", res.status, res.body)
	}
	alert := m.nextMail(t, user2Email)
	if !strings.Contains(alert.HTML(), "Phone/1") {
		t.Errorf("OTP sign-in from a new device: mail %q", alert.Subject())
	}
	if got := len(e.originsOf("user2")); got != 2 {
		t.Errorf("bob has %d origins, want 2", got)
	}

	m.patchCollection(t, "users", map[string]any{"mfa": map[string]any{"enabled": true, "duration": 600}})
	ua := map[string]string{"User-Agent": "Tablet/2"}
	res = e.do("POST", "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": user2Email, "password": userPass}, ua)
	if res.status != 401 {
		t.Fatalf("mfa first step: %d %s", res.status, res.body)
	}
	mfaID := res.json(t).(map[string]any)["mfaId"].(string)
	if got := len(e.originsOf("user2")); got != 2 {
		t.Errorf("after the first factor bob has %d origins, want 2", got)
	}
	otpID, code = m.requestOTP(t, "users", user2Email, true)
	res = e.do("POST", "/api/collections/users/auth-with-otp?mfaId="+mfaID, "", map[string]any{"otpId": otpID, "password": code}, ua)
	if res.status != 200 {
		t.Fatalf("mfa second step: %d %s", res.status, res.body)
	}
	if alert := m.nextMail(t, user2Email); !strings.Contains(alert.HTML(), "Tablet/2") {
		t.Errorf("MFA sign-in from a new device: mail %q", alert.Subject())
	}
	if got := len(e.originsOf("user2")); got != 3 {
		t.Errorf("bob has %d origins, want 3", got)
	}
}
