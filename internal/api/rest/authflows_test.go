package rest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/token"
)

func TestVerificationFlow(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.createCollection(map[string]any{"name": "members", "type": "auth"})
	m.createCollection(map[string]any{"name": "things"})
	req := "/api/collections/users/request-verification"
	confirm := "/api/collections/users/confirm-verification"
	var tok string
	m.run(t, []scenario{
		{name: "request for a known address", method: "POST", url: req, body: `{"email":"alice@example.com"}`, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				msg := m.nextMail(t, userEmail)
				if got := msg.Subject(); got != "Verify your Basalt Test email" {
					t.Errorf("subject = %q", got)
				}
				if msg.From != "noreply@app.test" || msg.Header("From") != `"Basalt" <noreply@app.test>` {
					t.Errorf("from = %q / %q", msg.From, msg.Header("From"))
				}
				tok = tokenIn(t, msg)
				if !strings.Contains(msg.HTML(), `href="http://app.test/_/#/auth/confirm-verification/`+tok+`"`) {
					t.Errorf("link missing in %s", msg.HTML())
				}
				c := claims(t, tok)
				if c["type"] != "verification" || c["email"] != userEmail || c["id"] != e.vars["userId"] || c["collectionId"] != "_pb_users_auth_" {
					t.Errorf("claims = %v", c)
				}
			}},
		{name: "unknown address: same answer, no mail", method: "POST", url: req, body: `{"email":"nobody@example.com"}`, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) { m.noNewMail(t, "nobody@example.com") }},
		{name: "address case does not matter", method: "POST", url: req, body: `{"email":"ALICE@example.com"}`, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) { m.nextMail(t, userEmail) }},
		{name: "missing email", method: "POST", url: req, body: `{}`, wantStatus: 400,
			wantJSON: `{"message":"An error occurred while validating the submitted data.","data":{"email":{"code":"validation_required"}}}`},
		{name: "invalid email", method: "POST", url: req, body: `{"email":"not-an-email"}`, wantStatus: 400,
			wantJSON: `{"data":{"email":{"code":"validation_is_email"}}}`},
		{name: "superusers are verified", method: "POST", url: "/api/collections/_superusers/request-verification",
			body: `{"email":"admin@example.com"}`, wantStatus: 400, wantJSON: `{"message":"All superusers are verified by default."}`},
		{name: "base collection", method: "POST", url: "/api/collections/things/request-verification", body: `{"email":"a@b.c"}`,
			wantStatus: 404, wantJSON: `{"message":"Missing or invalid auth collection context."}`},
		{name: "unknown collection", method: "POST", url: "/api/collections/nope/request-verification", body: `{"email":"a@b.c"}`, wantStatus: 404},
		{name: "confirm without token", method: "POST", url: confirm, body: `{}`, wantStatus: 400,
			wantJSON: `{"data":{"token":{"code":"validation_required"}}}`},
		{name: "confirm with garbage", method: "POST", url: confirm, body: `{"token":"garbage"}`, wantStatus: 400,
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token","message":"Invalid or expired token."}}}`},
		{name: "confirm with an auth token (wrong type)", method: "POST", url: confirm, wantStatus: 400,
			body:     func() any { return map[string]any{"token": m.tokens["user"]} },
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "confirm with a forged token", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				return map[string]any{"token": m.forge(t, "users", m.vars["userId"],
					token.Claims{Type: token.TypeVerification, Email: userEmail}, "not-the-secret", time.Now(), time.Hour)}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "confirm with an expired token", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				return map[string]any{"token": m.forge(t, "users", m.vars["userId"],
					token.Claims{Type: token.TypeVerification, Email: userEmail}, "", time.Now().Add(-2*time.Hour), time.Hour)}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "confirm with an alg=none token", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				parts := strings.Split(tok, ".")
				return map[string]any{"token": "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + "."}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "confirm with a token of another email", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				return map[string]any{"token": m.forge(t, "users", m.vars["userId"],
					token.Claims{Type: token.TypeVerification, Email: "old@example.com"}, "", time.Now(), time.Hour)}
			},
			wantJSON: `{"data":{"token":{"code":"validation_token_email_mismatch"}}}`},
		{name: "confirm with a token without email", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				return map[string]any{"token": m.forge(t, "users", m.vars["userId"],
					token.Claims{Type: token.TypeVerification}, "", time.Now(), time.Hour)}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token_claims"}}}`},
		{name: "confirm at another auth collection", method: "POST", url: "/api/collections/members/confirm-verification", wantStatus: 400,
			body:     func() any { return map[string]any{"token": tok} },
			wantJSON: `{"data":{"token":{"code":"validation_token_collection_mismatch"}}}`,
			after: func(t *testing.T, e *env, res *response) {
				if e.record("users", e.vars["userId"])["verified"] != false {
					t.Error("a rejected token verified the record")
				}
			}},
		{name: "confirm", method: "POST", url: confirm, body: func() any { return map[string]any{"token": tok} }, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				if got := e.record("users", e.vars["userId"])["verified"]; got != true {
					t.Errorf("verified = %v, want true", got)
				}
				if got := e.record("users", e.vars["user2Id"])["verified"]; got != false {
					t.Errorf("bob verified = %v, want false", got)
				}
			}},
		{name: "confirming again is harmless", method: "POST", url: confirm, body: func() any { return map[string]any{"token": tok} }, wantStatus: 204},
		{name: "a verified record gets no more mail", method: "POST", url: req, body: `{"email":"alice@example.com"}`, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) { m.noNewMail(t, userEmail) }},
		{name: "the old session still works", method: "POST", url: "/api/collections/users/auth-refresh", auth: "user", wantStatus: 200,
			wantJSON: `{"record":{"verified":true}}`},
	})
}

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.createCollection(map[string]any{"name": "nopass", "type": "auth", "passwordAuth": map[string]any{"enabled": false}})
	req := "/api/collections/users/request-password-reset"
	confirm := "/api/collections/users/confirm-password-reset"
	var tok string
	m.run(t, []scenario{
		{name: "request", method: "POST", url: req, body: `{"email":"alice@example.com"}`, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				msg := m.nextMail(t, userEmail)
				if got := msg.Subject(); got != "Reset your Basalt Test password" {
					t.Errorf("subject = %q", got)
				}
				tok = tokenIn(t, msg)
				if c := claims(t, tok); c["type"] != "passwordReset" || c["email"] != userEmail {
					t.Errorf("claims = %v", c)
				}
			}},
		{name: "unknown address: same answer, no mail", method: "POST", url: req, body: `{"email":"ghost@example.com"}`, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) { m.noNewMail(t, "ghost@example.com") }},
		{name: "invalid email", method: "POST", url: req, body: `{"email":"x"}`, wantStatus: 400,
			wantJSON: `{"data":{"email":{"code":"validation_is_email"}}}`},
		{name: "password auth disabled", method: "POST", url: "/api/collections/nopass/request-password-reset", body: `{"email":"a@b.c"}`,
			wantStatus: 400, wantJSON: `{"message":"The collection is not configured to allow password authentication."}`},
		{name: "confirm with nothing", method: "POST", url: confirm, body: `{}`, wantStatus: 400,
			wantJSON: `{"data":{"token":{"code":"validation_required"},"password":{"code":"validation_required"},"passwordConfirm":{"code":"validation_required"}}}`},
		{name: "confirm with mismatched passwords", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				return map[string]any{"token": tok, "password": "new-secret-123", "passwordConfirm": "other-secret-123"}
			},
			wantJSON: `{"data":{"passwordConfirm":{"code":"validation_values_mismatch"},"token":"<absent>"}}`},
		{name: "confirm with a short password", method: "POST", url: confirm, wantStatus: 400,
			body:     func() any { return map[string]any{"token": tok, "password": "short", "passwordConfirm": "short"} },
			wantJSON: `{"data":{"password":{"code":"validation_length_out_of_range","message":"The length must be between 8 and 255."}}}`},
		{name: "confirm with a verification token (wrong type)", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				v := m.forge(t, "users", m.vars["userId"], token.Claims{Type: token.TypeVerification, Email: userEmail}, "", time.Now(), time.Hour)
				return map[string]any{"token": v, "password": "new-secret-123", "passwordConfirm": "new-secret-123"}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "confirm with an expired token", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				v := m.forge(t, "users", m.vars["userId"], token.Claims{Type: token.TypePasswordReset, Email: userEmail}, "",
					time.Now().Add(-time.Hour), 30*time.Minute)
				return map[string]any{"token": v, "password": "new-secret-123", "passwordConfirm": "new-secret-123"}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "confirm at the superusers collection", method: "POST", url: "/api/collections/_superusers/confirm-password-reset", wantStatus: 400,
			body: func() any {
				return map[string]any{"token": tok, "password": "new-secret-123", "passwordConfirm": "new-secret-123"}
			},
			wantJSON: `{"data":{"token":{"code":"validation_token_collection_mismatch"}}}`},
		{name: "confirm", method: "POST", url: confirm, wantStatus: 204,
			body: func() any {
				return map[string]any{"token": tok, "password": "new-secret-123", "passwordConfirm": "new-secret-123"}
			},
			after: func(t *testing.T, e *env, res *response) {
				if got := e.record("users", e.vars["userId"])["verified"]; got != true {
					t.Errorf("verified = %v, want true (the reset proved the address)", got)
				}
			}},
		{name: "the old session is over", method: "POST", url: "/api/collections/users/auth-refresh", auth: "user", wantStatus: 401},
		{name: "the old password is refused", method: "POST", url: "/api/collections/users/auth-with-password",
			body: `{"identity":"alice@example.com","password":"user-secret-123"}`, wantStatus: 400},
		{name: "the new password works", method: "POST", url: "/api/collections/users/auth-with-password",
			body: `{"identity":"alice@example.com","password":"new-secret-123"}`, wantStatus: 200},
		{name: "the token works once", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				return map[string]any{"token": tok, "password": "third-secret-123", "passwordConfirm": "third-secret-123"}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "bob is untouched", method: "POST", url: "/api/collections/users/auth-refresh", auth: "user2", wantStatus: 200},
	})
}

func TestEmailChangeFlow(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	req := "/api/collections/users/request-email-change"
	confirm := "/api/collections/users/confirm-email-change"
	var tok, tok2 string
	m.run(t, []scenario{
		{name: "guest", method: "POST", url: req, body: `{"newEmail":"new@example.com"}`, wantStatus: 401},
		{name: "auth record of another collection", method: "POST", url: req, auth: "superuser", body: `{"newEmail":"new@example.com"}`, wantStatus: 403},
		{name: "superusers change emails directly", method: "POST", url: "/api/collections/_superusers/request-email-change",
			auth: "superuser", body: `{"newEmail":"new@example.com"}`, wantStatus: 400,
			wantJSON: `{"message":"All superusers can change their emails directly."}`},
		{name: "missing new email", method: "POST", url: req, auth: "user", body: `{}`, wantStatus: 400,
			wantJSON: `{"data":{"newEmail":{"code":"validation_required"}}}`},
		{name: "same email", method: "POST", url: req, auth: "user", body: `{"newEmail":"alice@example.com"}`, wantStatus: 400,
			wantJSON: `{"data":{"newEmail":{"code":"validation_not_in_invalid"}}}`},
		{name: "taken email", method: "POST", url: req, auth: "user", body: `{"newEmail":"bob@example.com"}`, wantStatus: 400,
			wantJSON: `{"data":{"newEmail":{"code":"validation_invalid_new_email"}}}`},
		{name: "request", method: "POST", url: req, auth: "user", body: `{"newEmail":"alice.new@example.com"}`, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				msg := m.nextMail(t, "alice.new@example.com")
				if got := msg.Subject(); got != "Confirm your Basalt Test new email address" {
					t.Errorf("subject = %q", got)
				}
				tok = tokenIn(t, msg)
				if c := claims(t, tok); c["type"] != "emailChange" || c["newEmail"] != "alice.new@example.com" || c["email"] != userEmail {
					t.Errorf("claims = %v", c)
				}
				if len(m.mailsTo(userEmail)) != 0 {
					t.Error("the old address got a mail")
				}
			}},
		{name: "a second request whose address gets taken", method: "POST", url: req, auth: "user2", body: `{"newEmail":"carol@example.com"}`,
			wantStatus: 204, after: func(t *testing.T, e *env, res *response) {
				tok2 = tokenIn(t, m.nextMail(t, "carol@example.com"))
				e.createRecord("users", map[string]any{"email": "carol@example.com", "password": userPass, "passwordConfirm": userPass})
			}},
		{name: "confirm a change to a taken address", method: "POST", url: confirm, wantStatus: 400,
			body:     func() any { return map[string]any{"token": tok2, "password": userPass} },
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token_email"}}}`},
		{name: "confirm with a wrong password", method: "POST", url: confirm, wantStatus: 400,
			body:     func() any { return map[string]any{"token": tok, "password": "wrong-password"} },
			wantJSON: `{"data":{"password":{"code":"validation_invalid_password"},"token":"<absent>"}}`},
		{name: "confirm with a token without newEmail", method: "POST", url: confirm, wantStatus: 400,
			body:     func() any { return map[string]any{"token": m.tokens["user"], "password": userPass} },
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token_payload"}}}`},
		{name: "confirm with a forged token", method: "POST", url: confirm, wantStatus: 400,
			body: func() any {
				f := m.forge(t, "users", m.vars["userId"], token.Claims{Type: token.TypeEmailChange, Email: userEmail, NewEmail: "evil@example.com"},
					"guessed-secret", time.Now(), time.Hour)
				return map[string]any{"token": f, "password": userPass}
			},
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
		{name: "confirm", method: "POST", url: confirm, body: func() any { return map[string]any{"token": tok, "password": userPass} }, wantStatus: 204,
			after: func(t *testing.T, e *env, res *response) {
				rec := e.record("users", e.vars["userId"])
				if rec["email"] != "alice.new@example.com" || rec["verified"] != true {
					t.Errorf("record = %v", rec)
				}
			}},
		{name: "the old session is over", method: "POST", url: "/api/collections/users/auth-refresh", auth: "user", wantStatus: 401},
		{name: "sign in with the new address", method: "POST", url: "/api/collections/users/auth-with-password",
			body: `{"identity":"alice.new@example.com","password":"user-secret-123"}`, wantStatus: 200},
		{name: "the token works once", method: "POST", url: confirm, wantStatus: 400,
			body:     func() any { return map[string]any{"token": tok, "password": userPass} },
			wantJSON: `{"data":{"token":{"code":"validation_invalid_token"}}}`},
	})
}
