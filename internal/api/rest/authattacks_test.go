package rest_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/token"
)

// TestHS256TokenAttacks sends forged, expired, re-signed and wrong-type
// tokens to the endpoints that take auth tokens, in the default (HS256)
// signing mode; TestAsymmetricTokensRejected does the same for ES256 and
// EdDSA.
func TestHS256TokenAttacks(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.t = t
	userID := m.vars["userId"]
	alice := m.stored(t, "users", userID)
	c := alice.Collection
	now := time.Now()
	authClaims := token.Claims{Type: token.TypeAuth, Refreshable: true}
	good := m.forge(t, "users", userID, authClaims, "", now, time.Hour)
	if res := m.do("POST", "/api/collections/users/auth-refresh", "raw:"+good, nil, nil); res.status != 200 {
		t.Fatalf("a correctly forged token is refused (%d %s): the test would prove nothing", res.status, res.body)
	}
	key := []byte(alice.String("tokenKey") + c.AuthToken.Secret)
	payload := map[string]any{"id": userID, "type": "auth", "collectionId": c.ID, "refreshable": true, "exp": now.Add(time.Hour).Unix()}
	resign := func(method jwt.SigningMethod, k any) string {
		t.Helper()
		s, err := jwt.NewWithClaims(method, jwt.MapClaims(payload)).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b64 := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	goodParts := strings.Split(good, ".")
	otherCollection := map[string]any{}
	for k, v := range payload {
		otherCollection[k] = v
	}
	otherCollection["collectionId"] = schema.SuperusersID
	crossCollection, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(otherCollection)).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}

	bad := map[string]string{
		"expired":                     m.forge(t, "users", userID, authClaims, "", now.Add(-2*time.Hour), time.Hour),
		"signed with another secret":  m.forge(t, "users", userID, authClaims, "not-the-secret", now, time.Hour),
		"alg none":                    b64(map[string]any{"alg": "none", "typ": "JWT"}) + "." + goodParts[1] + ".",
		"alg none, no signature part": b64(map[string]any{"alg": "none"}) + "." + goodParts[1],
		"HS512 with the right key":    resign(jwt.SigningMethodHS512, key),
		"HS384 with the right key":    resign(jwt.SigningMethodHS384, key),
		"ES256 header, HS256 body":    b64(map[string]any{"alg": "ES256", "typ": "JWT"}) + "." + goodParts[1] + "." + goodParts[2],
		"payload edited, old signature": goodParts[0] + "." + b64(map[string]any{"id": m.vars["user2Id"], "type": "auth",
			"collectionId": c.ID, "refreshable": true, "exp": now.Add(time.Hour).Unix()}) + "." + goodParts[2],
		"collectionId of another collection":    crossCollection,
		"verification token":                    m.forge(t, "users", userID, token.Claims{Type: token.TypeVerification, Email: userEmail}, "", now, time.Hour),
		"password reset token":                  m.forge(t, "users", userID, token.Claims{Type: token.TypePasswordReset, Email: userEmail}, "", now, time.Hour),
		"email change token":                    m.forge(t, "users", userID, token.Claims{Type: token.TypeEmailChange, Email: userEmail, NewEmail: "x@example.com"}, "", now, time.Hour),
		"file token":                            m.forge(t, "users", userID, token.Claims{Type: token.TypeFile}, c.FileToken.Secret, now, time.Hour),
		"auth type signed with the file secret": m.forge(t, "users", userID, authClaims, c.FileToken.Secret, now, time.Hour),
	}
	for name, tok := range bad {
		for _, prefix := range []string{"", "Bearer "} {
			res := m.do("POST", "/api/collections/users/auth-refresh", "raw:"+prefix+tok, nil, nil)
			if res.status != 401 {
				t.Errorf("%s%s: auth-refresh answered %d %s, want 401", prefix, name, res.status, res.body)
			}
		}
		// Elsewhere the request is a guest's: alice's record is not visible.
		if res := m.do("GET", "/api/collections/users/records/"+userID, "raw:"+tok, nil, nil); res.status != 404 {
			t.Errorf("%s: viewing alice answered %d, want 404 (guest)", name, res.status)
		}
		if res := m.do("POST", "/api/collections/users/request-email-change", "raw:"+tok, map[string]any{"newEmail": "evil@example.com"}, nil); res.status != 401 {
			t.Errorf("%s: request-email-change answered %d, want 401", name, res.status)
		}
	}
}

// TestFlowTokensOfTheWrongKind sends auth, expired and cross-collection
// tokens to the confirm-* endpoints, and checks disabled password sign-in.
func TestFlowTokensOfTheWrongKind(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.createCollection(map[string]any{"name": "staff", "type": "auth", "createRule": ""})
	m.t = t
	userID := m.vars["userId"]
	now := time.Now()
	auth := m.forge(t, "users", userID, token.Claims{Type: token.TypeAuth, Refreshable: true}, "", now, time.Hour)
	change := token.Claims{Type: token.TypeEmailChange, Email: userEmail, NewEmail: "alice2@example.com"}
	invalid := `{"data":{"token":{"code":"validation_invalid_token"}}}`
	for _, sc := range []scenario{
		{name: "auth token as a password reset token", method: "POST", url: "/api/collections/users/confirm-password-reset",
			body: map[string]any{"token": auth, "password": "new-password-1", "passwordConfirm": "new-password-1"}, wantStatus: 400, wantJSON: invalid},
		{name: "auth token as a verification token", method: "POST", url: "/api/collections/users/confirm-verification",
			body: map[string]any{"token": auth}, wantStatus: 400, wantJSON: invalid},
		{name: "auth token as an email change token", method: "POST", url: "/api/collections/users/confirm-email-change",
			body: map[string]any{"token": auth, "password": userPass}, wantStatus: 400},
		{name: "expired email change token", method: "POST", url: "/api/collections/users/confirm-email-change",
			body:       map[string]any{"token": m.forge(t, "users", userID, change, "", now.Add(-2*time.Hour), time.Hour), "password": userPass},
			wantStatus: 400, wantJSON: invalid},
		{name: "email change token at another auth collection", method: "POST", url: "/api/collections/staff/confirm-email-change",
			body:       map[string]any{"token": m.forge(t, "users", userID, change, "", now, time.Hour), "password": userPass},
			wantStatus: 400, wantJSON: `{"data":{"token":{"code":"validation_token_collection_mismatch"}}}`},
		{name: "password reset token at another auth collection", method: "POST", url: "/api/collections/staff/confirm-password-reset",
			body: map[string]any{"token": m.forge(t, "users", userID, token.Claims{Type: token.TypePasswordReset, Email: userEmail}, "", now, time.Hour),
				"password": "new-password-1", "passwordConfirm": "new-password-1"},
			wantStatus: 400, wantJSON: `{"data":{"token":{"code":"validation_token_collection_mismatch"}}}`},
		{name: "nothing changed: the old password still works", method: "POST", url: "/api/collections/users/auth-with-password",
			body: map[string]any{"identity": userEmail, "password": userPass}, wantStatus: 200},
		{name: "refresh at another auth collection", method: "POST", url: "/api/collections/staff/auth-refresh", auth: "raw:" + auth, wantStatus: 403},
	} {
		res := m.do(sc.method, sc.url, sc.auth, sc.body, nil)
		m.check(t, sc, res)
	}

	m.patchCollection(t, "users", map[string]any{"passwordAuth": map[string]any{"enabled": false}})
	res := m.do("POST", "/api/collections/users/auth-with-password", "", map[string]any{"identity": userEmail, "password": userPass}, nil)
	if res.status != 403 {
		t.Errorf("password sign-in while disabled: %d %s, want 403", res.status, res.body)
	}
	methods := m.mustJSON("GET", "/api/collections/users/auth-methods", "", nil, 200)
	if p, _ := methods["password"].(map[string]any); p["enabled"] != false {
		t.Errorf("auth-methods while disabled: %v", methods["password"])
	}
}
