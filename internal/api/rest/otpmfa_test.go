package rest_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/auth"
)

// requestOTP asks for a one-time password for address and returns the
// otpId and, for a known address, the password from the mail.
func (m *mailEnv) requestOTP(t *testing.T, collection, address string, known bool) (id, code string) {
	t.Helper()
	m.t = t
	res := m.mustJSON("POST", "/api/collections/"+collection+"/request-otp", "", map[string]any{"email": address}, 200)
	id, _ = res["otpId"].(string)
	if !idPattern.MatchString(id) || len(res) != 1 {
		t.Fatalf("request-otp answered %v", res)
	}
	if known {
		code = otpIn(t, m.nextMail(t, address))
	}
	return id, code
}

func TestOTPFlow(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.createCollection(map[string]any{"name": "members", "type": "auth", "otp": map[string]any{"enabled": true}})
	m.createRecord("members", map[string]any{"email": userEmail, "password": userPass, "passwordConfirm": userPass})
	otpReq, otpAuth := "/api/collections/users/request-otp", "/api/collections/users/auth-with-otp"
	var id, code string
	m.run(t, []scenario{
		{name: "disabled: request", method: "POST", url: otpReq, body: `{"email":"alice@example.com"}`, wantStatus: 403,
			wantJSON: `{"message":"The collection is not configured to allow OTP authentication."}`},
		{name: "disabled: sign in", method: "POST", url: otpAuth, body: `{"otpId":"abc","password":"123"}`, wantStatus: 403},
	})
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true, "length": 6}})
	m.run(t, []scenario{
		{name: "auth methods list otp", method: "GET", url: "/api/collections/users/auth-methods", wantStatus: 200,
			wantJSON: `{"otp":{"enabled":true,"duration":180}}`},
		{name: "request", method: "POST", url: otpReq, body: `{"email":"alice@example.com"}`, wantStatus: 200,
			wantJSON: `{"otpId":"<id>"}`,
			after: func(t *testing.T, e *env, res *response) {
				id = res.json(t).(map[string]any)["otpId"].(string)
				msg := m.nextMail(t, userEmail)
				if got := msg.Subject(); got != "OTP for Basalt Test" {
					t.Errorf("subject = %q", got)
				}
				if code = otpIn(t, msg); len(code) != 6 {
					t.Errorf("password %q, want 6 digits", code)
				}
			}},
		{name: "the password is stored hashed", method: "GET", url: "/api/collections/_otps/records", auth: "superuser", wantStatus: 200,
			wantJSON: `{"items":[{"collectionRef":"_pb_users_auth_","recordRef":"{{userId}}","sentTo":"alice@example.com"}]}`,
			after: func(t *testing.T, e *env, res *response) {
				item := res.json(t).(map[string]any)["items"].([]any)[0].(map[string]any)
				if item["password"] == code || item["id"] != id {
					t.Errorf("stored row = %v", item)
				}
			}},
		{name: "users see only their own rows", method: "GET", url: "/api/collections/_otps/records", auth: "user2", wantStatus: 200,
			wantJSON: `{"totalItems":0}`},
		{name: "missing fields", method: "POST", url: otpAuth, body: `{}`, wantStatus: 400,
			wantJSON: `{"data":{"otpId":{"code":"validation_required"},"password":{"code":"validation_required"}}}`},
		{name: "wrong password", method: "POST", url: otpAuth, wantStatus: 400,
			body:     func() any { return map[string]any{"otpId": id, "password": "000000x"} },
			wantJSON: `{"message":"Invalid or expired OTP.","data":{}}`},
		{name: "unknown id", method: "POST", url: otpAuth, body: `{"otpId":"aaaaaaaaaaaaaaa","password":"123456"}`, wantStatus: 400,
			wantJSON: `{"message":"Invalid or expired OTP."}`},
		{name: "id of another collection", method: "POST", url: "/api/collections/members/auth-with-otp", wantStatus: 400,
			body:     func() any { return map[string]any{"otpId": id, "password": code} },
			wantJSON: `{"message":"Invalid or expired OTP."}`},
		{name: "sign in", method: "POST", url: otpAuth, wantStatus: 200, notContains: secretsAbsent,
			body:     func() any { return map[string]any{"otpId": id, "password": code} },
			wantJSON: `{"token":"<nonempty>","record":{"id":"{{userId}}","email":"alice@example.com","verified":true}}`,
			after: func(t *testing.T, e *env, res *response) {
				c := claims(t, res.json(t).(map[string]any)["token"].(string))
				if c["type"] != "auth" || c["refreshable"] != true {
					t.Errorf("claims = %v", c)
				}
			}},
		{name: "a password works once", method: "POST", url: otpAuth, wantStatus: 400,
			body: func() any { return map[string]any{"otpId": id, "password": code} }},
		{name: "used rows are deleted", method: "GET", url: "/api/collections/_otps/records", auth: "superuser", wantStatus: 200,
			wantJSON: `{"totalItems":0}`},
		{name: "unknown address: an id that matches nothing, no mail", method: "POST", url: otpReq, body: `{"email":"ghost@example.com"}`,
			wantStatus: 200, wantJSON: `{"otpId":"<id>"}`,
			after: func(t *testing.T, e *env, res *response) {
				m.noNewMail(t, "ghost@example.com")
				ghost := res.json(t).(map[string]any)["otpId"].(string)
				e.t = t
				got := e.do("POST", otpAuth, "", map[string]any{"otpId": ghost, "password": "123456"}, nil)
				if got.status != 400 {
					t.Errorf("sign in with the id of an unknown address: %d %s", got.status, got.body)
				}
			}},
		{name: "invalid email", method: "POST", url: otpReq, body: `{"email":"nope"}`, wantStatus: 400,
			wantJSON: `{"data":{"email":{"code":"validation_is_email"}}}`},
	})

	t.Run("expired", func(t *testing.T) {
		id, code := m.requestOTP(t, "users", user2Email, true)
		m.clock.advance(181 * time.Second)
		res := m.do("POST", otpAuth, "", map[string]any{"otpId": id, "password": code}, nil)
		if res.status != 400 {
			t.Errorf("expired password: %d %s", res.status, res.body)
		}
	})

	t.Run("attempts are limited per record", func(t *testing.T) {
		id, code := m.requestOTP(t, "users", user2Email, true)
		for i := range 5 {
			if res := m.do("POST", otpAuth, "", map[string]any{"otpId": id, "password": "x" + strconv.Itoa(i)}, nil); res.status != 400 {
				t.Fatalf("attempt %d: %d %s", i+1, res.status, res.body)
			}
		}
		res := m.do("POST", otpAuth, "", map[string]any{"otpId": id, "password": code}, nil)
		if res.status != http.StatusTooManyRequests {
			t.Fatalf("6th attempt: %d %s", res.status, res.body)
		}
		if n, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || n < 1 || n > 180 {
			t.Errorf("Retry-After = %q", res.header.Get("Retry-After"))
		}
		if p := matchJSON("$", decode(`{"status":429,"message":"Too many attempts, please try again later with a new OTP.","data":{}}`), res.json(t)); len(p) > 0 {
			t.Error(p)
		}
	})
}

func TestMFAFlow(t *testing.T) {
	t.Parallel()
	// Many one-time passwords for one address: no throttling here (see
	// TestOTPFlow and TestThrottle).
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{}))
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true}, "mfa": map[string]any{"enabled": true, "duration": 600}})
	password := "/api/collections/users/auth-with-password"
	otpAuth := "/api/collections/users/auth-with-otp"
	alice := map[string]any{"identity": userEmail, "password": userPass}
	bob := map[string]any{"identity": user2Email, "password": userPass}

	// firstStep signs in with a password and returns the MFA session id.
	firstStep := func(t *testing.T, body map[string]any) string {
		t.Helper()
		res := m.do("POST", password, "", body, nil)
		if res.status != 401 {
			t.Fatalf("first step: %d %s", res.status, res.body)
		}
		got := res.json(t).(map[string]any)
		id, _ := got["mfaId"].(string)
		if !idPattern.MatchString(id) || len(got) != 1 {
			t.Fatalf("first step answered %v, want exactly {mfaId}", got)
		}
		return id
	}

	t.Run("password then otp", func(t *testing.T) {
		mfaID := firstStep(t, alice)
		if res := m.do("POST", password+"?mfaId="+mfaID, "", alice, nil); res.status != 400 ||
			len(matchJSON("$", decode(`{"message":"A different authentication method is required."}`), res.json(t))) > 0 {
			t.Errorf("same method twice: %d %s", res.status, res.body)
		}
		otpID, code := m.requestOTP(t, "users", userEmail, true)
		res := m.do("POST", otpAuth+"?mfaId="+mfaID, "", map[string]any{"otpId": otpID, "password": code}, nil)
		if res.status != 200 {
			t.Fatalf("second step: %d %s", res.status, res.body)
		}
		tok := res.json(t).(map[string]any)["token"].(string)
		if refresh := m.do("POST", "/api/collections/users/auth-refresh", "raw:"+tok, nil, nil); refresh.status != 200 {
			t.Errorf("auth-refresh needs no second factor: %d %s", refresh.status, refresh.body)
		}
		// The session is used up.
		otpID, code = m.requestOTP(t, "users", userEmail, true)
		if res := m.do("POST", otpAuth, "", map[string]any{"otpId": otpID, "password": code, "mfaId": mfaID}, nil); res.status != 400 ||
			len(matchJSON("$", decode(`{"message":"Invalid or expired MFA session."}`), res.json(t))) > 0 {
			t.Errorf("reused session: %d %s", res.status, res.body)
		}
	})

	t.Run("otp then password, mfaId in the body", func(t *testing.T) {
		otpID, code := m.requestOTP(t, "users", userEmail, true)
		res := m.do("POST", otpAuth, "", map[string]any{"otpId": otpID, "password": code}, nil)
		if res.status != 401 {
			t.Fatalf("first step: %d %s", res.status, res.body)
		}
		mfaID := res.json(t).(map[string]any)["mfaId"].(string)
		body := map[string]any{"identity": userEmail, "password": userPass, "mfaId": mfaID}
		if res := m.do("POST", password, "", body, nil); res.status != 200 {
			t.Errorf("second step: %d %s", res.status, res.body)
		}
	})

	t.Run("bypass attempts", func(t *testing.T) {
		bobSession := firstStep(t, bob)
		otpID, code := m.requestOTP(t, "users", userEmail, true)
		// Alice cannot complete with Bob's session.
		res := m.do("POST", otpAuth+"?mfaId="+bobSession, "", map[string]any{"otpId": otpID, "password": code}, nil)
		if res.status != 400 || len(matchJSON("$", decode(`{"message":"Invalid MFA session."}`), res.json(t))) > 0 {
			t.Errorf("someone else's session: %d %s", res.status, res.body)
		}
		for _, bogus := range []string{"aaaaaaaaaaaaaaa", "../../etc", string(make([]byte, 300))} {
			otpID, code := m.requestOTP(t, "users", userEmail, true)
			res := m.do("POST", otpAuth, "", map[string]any{"otpId": otpID, "password": code, "mfaId": bogus}, nil)
			if res.status != 400 {
				t.Errorf("mfaId %q: %d %s", bogus, res.status, res.body)
			}
		}
		// A wrong password never opens a session.
		res = m.do("POST", password, "", map[string]any{"identity": userEmail, "password": "wrong-password"}, nil)
		if res.status != 400 {
			t.Errorf("wrong password: %d %s", res.status, res.body)
		}
		// Expired session.
		mfaID := firstStep(t, alice)
		m.clock.advance(601 * time.Second)
		otpID, code = m.requestOTP(t, "users", userEmail, true)
		res = m.do("POST", otpAuth+"?mfaId="+mfaID, "", map[string]any{"otpId": otpID, "password": code}, nil)
		if res.status != 400 || len(matchJSON("$", decode(`{"message":"Invalid or expired MFA session."}`), res.json(t))) > 0 {
			t.Errorf("expired session: %d %s", res.status, res.body)
		}
	})

	t.Run("impersonation needs no second factor", func(t *testing.T) {
		res := m.do("POST", "/api/collections/users/impersonate/"+m.vars["userId"], "superuser", map[string]any{}, nil)
		if res.status != 200 {
			t.Errorf("impersonate: %d %s", res.status, res.body)
		}
	})

	t.Run("mfa.rule picks who needs it", func(t *testing.T) {
		m.patchCollection(t, "users", map[string]any{"mfa": map[string]any{"enabled": true, "rule": "verified = true"}})
		m.mustJSON("PATCH", "/api/collections/users/records/"+m.vars["userId"], "superuser", map[string]any{"verified": true}, 200)
		m.mustJSON("PATCH", "/api/collections/users/records/"+m.vars["user2Id"], "superuser", map[string]any{"verified": false}, 200)
		firstStep(t, alice)
		if res := m.do("POST", password, "", bob, nil); res.status != 200 {
			t.Errorf("bob does not match the rule, so one factor is enough: %d %s", res.status, res.body)
		}
	})
}
