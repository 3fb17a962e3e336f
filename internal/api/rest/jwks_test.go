package rest_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/token"
)

// header decodes a JWT's header without verifying it.
func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatalf("token header: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("token header: %v", err)
	}
	return m
}

// jwks fetches the key set and returns its keys by kid.
func (e *env) jwks() map[string]map[string]any {
	e.t.Helper()
	res := e.do("GET", "/.well-known/jwks.json", "", nil, nil)
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/jwk-set+json" {
		e.t.Fatalf("jwks: status %d, type %q: %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(res.body, &set); err != nil || set.Keys == nil {
		e.t.Fatalf("jwks: %v %s", err, res.body)
	}
	out := map[string]map[string]any{}
	for _, k := range set.Keys {
		if _, ok := k["d"]; ok {
			e.t.Fatalf("jwks publishes a private key: %v", k)
		}
		out[k["kid"].(string)] = k
	}
	return out
}

// verifyEd25519 checks tok against a published OKP key as an outside
// service would: only with the JWK, no Basalt secret.
func verifyEd25519(t *testing.T, tok string, jwk map[string]any) bool {
	t.Helper()
	x, err := base64.RawURLEncoding.DecodeString(jwk["x"].(string))
	if err != nil || jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
		t.Fatalf("bad OKP key %v", jwk)
	}
	i := strings.LastIndex(tok, ".")
	sig, err := base64.RawURLEncoding.DecodeString(tok[i+1:])
	if err != nil {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(x), []byte(tok[:i]), sig)
}

func TestJWKSDefaultModeIsEmpty(t *testing.T) {
	e := newEnv(t)
	if keys := e.jwks(); len(keys) != 0 {
		t.Errorf("HS256 mode publishes keys: %v", keys)
	}
	if h := header(t, e.tokens["user"]); h["alg"] != "HS256" || h["kid"] != nil {
		t.Errorf("default token header = %v, want HS256 without kid", h)
	}
	if c := claims(t, e.tokens["user"]); c["tkh"] != nil {
		t.Errorf("default token carries tkh: %v", c)
	}
}

func TestAsymmetricTokens(t *testing.T) {
	m := newMailEnv(t, auth.WithSigning(token.AlgEdDSA))
	e := m.env
	tok := e.tokens["user"]
	h := header(t, tok)
	keys := e.jwks()
	if h["alg"] != "EdDSA" || len(keys) != 1 || keys[h["kid"].(string)] == nil {
		t.Fatalf("token header %v, published keys %v", h, keys)
	}
	jwk := keys[h["kid"].(string)]
	if jwk["alg"] != "EdDSA" || jwk["use"] != "sig" {
		t.Errorf("jwk = %v", jwk)
	}
	if !verifyEd25519(t, tok, jwk) {
		t.Fatal("the token does not verify with the published key")
	}
	if c := claims(t, tok); c["type"] != "auth" || c["id"] != e.vars["userId"] || c["tkh"] == nil {
		t.Errorf("claims = %v", c)
	}
	// The SDK's flows work unchanged.
	refreshed := e.mustJSON("POST", "/api/collections/users/auth-refresh", "user", nil, 200)
	e.tokens["refreshed"] = refreshed["token"].(string)
	e.mustJSON("GET", "/api/collections/users/records/{{userId}}", "refreshed", nil, 200)
	e.mustJSON("GET", "/api/collections/_superusers/records", "superuser", nil, 200)

	// Rotation: a new active key; tokens of the old one keep working.
	oldKid := h["kid"].(string)
	k, err := m.auth.RotateKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if k.ID == oldKid {
		t.Fatal("rotation kept the key id")
	}
	if keys := e.jwks(); len(keys) != 2 || keys[oldKid] == nil || keys[k.ID] == nil {
		t.Fatalf("after rotation the set is %v", keys)
	}
	e.mustJSON("POST", "/api/collections/users/auth-refresh", "user", nil, 200)
	e.tokens["user2new"] = e.login("users", user2Email, userPass)
	if kid := header(t, e.tokens["user2new"])["kid"]; kid != k.ID {
		t.Errorf("new token signed by %v, want the new key %s", kid, k.ID)
	}
	// Once every token the old key signed has expired, it is dropped.
	m.clock.advance(8 * 24 * time.Hour)
	if keys := e.jwks(); len(keys) != 1 || keys[k.ID] == nil {
		t.Errorf("8 days after rotation the set is %v, want only %s", keys, k.ID)
	}
	if res := e.do("POST", "/api/collections/users/auth-refresh", "user", nil, nil); res.status != 401 {
		t.Errorf("expired token: status %d", res.status)
	}
}

// TestAsymmetricTokensRejected covers forged, confused and wrong-type tokens
// and the tokenKey binding.
func TestAsymmetricTokensRejected(t *testing.T) {
	m := newMailEnv(t, auth.WithSigning(token.AlgEdDSA))
	e := m.env
	ctx := context.Background()
	good := e.tokens["user"]
	kid := header(t, good)["kid"].(string)
	jwk := e.jwks()[kid]
	super := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
	it, err := e.records.View(ctx, super, "users", e.vars["userId"], "")
	if err != nil {
		t.Fatal(err)
	}
	user := it.Record

	// What PocketBase's HS256 mode signs: valid there, refused here.
	hsSvc := auth.New(m.st, e.cols, e.records, time.Now)
	hsTok, err := hsSvc.Token(user, true)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	payload := strings.Split(good, ".")[1]
	hmacWith := func(secret []byte, head string) string {
		in := b64([]byte(head)) + "." + payload
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(in))
		return in + "." + b64(mac.Sum(nil))
	}
	x, _ := base64.RawURLEncoding.DecodeString(jwk["x"].(string))
	jwkJSON, _ := json.Marshal(jwk)
	// A file token and a verification token, properly signed, of the user.
	fileTok := e.mustJSON("POST", "/api/files/token", "user", nil, 200)["token"].(string)

	forged := map[string]string{
		"alg none":                   b64([]byte(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`)) + "." + payload + ".",
		"alg none without signature": b64([]byte(`{"alg":"none","kid":"`+kid+`"}`)) + "." + payload,
		"HS256 with the public key":  hmacWith(x, `{"alg":"HS256","typ":"JWT","kid":"`+kid+`"}`),
		"HS256 with the JWK text":    hmacWith(jwkJSON, `{"alg":"HS256","typ":"JWT","kid":"`+kid+`"}`),
		"HS256 with the x string":    hmacWith([]byte(jwk["x"].(string)), `{"alg":"HS256","kid":"`+kid+`"}`),
		"HS256 per-record secret":    hsTok,
		"ES256 header on the key":    b64([]byte(`{"alg":"ES256","typ":"JWT","kid":"`+kid+`"}`)) + "." + payload + "." + strings.Split(good, ".")[2],
		"unknown kid":                b64([]byte(`{"alg":"EdDSA","typ":"JWT","kid":"nope"}`)) + "." + payload + "." + strings.Split(good, ".")[2],
		"no kid":                     b64([]byte(`{"alg":"EdDSA","typ":"JWT"}`)) + "." + payload + "." + strings.Split(good, ".")[2],
		"file token as auth token":   fileTok,
		"tampered payload":           strings.Split(good, ".")[0] + "." + b64([]byte(`{"id":"`+e.vars["user2Id"]+`","type":"auth","collectionId":"_pb_users_auth_","refreshable":true,"exp":9999999999}`)) + "." + strings.Split(good, ".")[2],
	}
	for name, tok := range forged {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/api/collections/users/auth-refresh"} {
				if res := e.do("POST", path, "raw:"+tok, nil, nil); res.status != 401 {
					t.Errorf("POST %s: status %d, want 401: %s", path, res.status, res.body)
				}
			}
			// Rules see a guest: the user's own record is hidden.
			if res := e.do("GET", "/api/collections/users/records/{{userId}}", "raw:"+tok, nil, nil); res.status != 404 {
				t.Errorf("view own record: status %d, want 404", res.status)
			}
		})
	}
	// The file token works only where file tokens do: as the ?token= of a
	// protected file, not as an Authorization.
	if c := claims(t, fileTok); c["type"] != "file" || header(t, fileTok)["alg"] != "EdDSA" {
		t.Errorf("file token %v %v", header(t, fileTok), c)
	}

	// tokenKey rotation (a password change) invalidates existing tokens.
	e.mustJSON("POST", "/api/collections/users/auth-refresh", "user", nil, 200)
	e.mustJSON("PATCH", "/api/collections/users/records/{{userId}}", "superuser",
		map[string]any{"password": "n3w-passw0rd", "passwordConfirm": "n3w-passw0rd"}, 200)
	if res := e.do("POST", "/api/collections/users/auth-refresh", "user", nil, nil); res.status != 401 {
		t.Errorf("token after a password change: status %d, want 401", res.status)
	}
	// ... while its signature is still valid: only the tokenKey binding refuses it.
	if !verifyEd25519(t, good, jwk) {
		t.Error("the old token's signature does not verify")
	}
	e.login("users", userEmail, "n3w-passw0rd")
}
