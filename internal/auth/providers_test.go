package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// fakeProvider imitates a provider's token, user info, emails and key
// endpoints. The token endpoint accepts only code "good" with the PKCE
// verifier and the client's credentials.
type fakeProvider struct {
	t        *testing.T
	srv      *httptest.Server
	verifier string
	userInfo map[string]any
	emails   []map[string]any
	// idClaims, when set, are signed into an id_token.
	idClaims jwt.MapClaims
	key      *rsa.PrivateKey
}

func newFakeProvider(t *testing.T, verifier string) *fakeProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeProvider{t: t, verifier: verifier, key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.bearer(func() any { return f.userInfo }))
	mux.HandleFunc("GET /userinfo/emails", f.bearer(func() any { return f.emails }))
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]any{
			"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if r.PostForm.Get("code") != "good" || r.PostForm.Get("code_verifier") != f.verifier || id != "cid" || secret != "csecret" ||
		r.PostForm.Get("redirect_uri") != "http://app.test/cb" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	res := map[string]any{"access_token": "at", "token_type": "Bearer", "refresh_token": "rt", "expires_in": 3600}
	if f.idClaims != nil {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, f.idClaims)
		tok.Header["kid"] = "k1"
		signed, err := tok.SignedString(f.key)
		if err != nil {
			f.t.Error(err)
		}
		res["id_token"] = signed
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(res)
}

func (f *fakeProvider) bearer(body func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer at" {
			http.Error(w, "no token", 401)
			return
		}
		json.NewEncoder(w).Encode(body())
	}
}

func TestOAuth2Presets(t *testing.T) {
	t.Parallel()
	const verifier = "v3rifier-v3rifier-v3rifier-v3rifier-v3rifier"
	tests := []struct {
		name     string
		userInfo map[string]any
		emails   []map[string]any
		idClaims func(issuer string) jwt.MapClaims
		// extra replaces the provider's extra options (default: issuer
		// and jwksURL of the fake provider when idClaims is set).
		extra func(base string) map[string]any
		want  ExternalUser
	}{
		{name: "google", userInfo: map[string]any{"sub": "g1", "name": "Gee", "picture": "http://img/g", "email": "g@example.com", "email_verified": true},
			want: ExternalUser{ID: "g1", Name: "Gee", AvatarURL: "http://img/g", Email: "g@example.com"}},
		{name: "github", userInfo: map[string]any{"id": 12345678901, "login": "octo", "name": "Octo", "avatar_url": "http://img/o", "email": "public@example.com"},
			emails: []map[string]any{{"email": "other@example.com", "verified": true}, {"email": "octo@example.com", "verified": true, "primary": true}},
			want:   ExternalUser{ID: "12345678901", Username: "octo", Name: "Octo", AvatarURL: "http://img/o", Email: "octo@example.com"}},
		{name: "gitlab", userInfo: map[string]any{"id": 7, "username": "lab", "name": "Lab", "avatar_url": "http://img/l", "email": "lab@example.com"},
			want: ExternalUser{ID: "7", Username: "lab", Name: "Lab", AvatarURL: "http://img/l", Email: "lab@example.com"}},
		{name: "microsoft", userInfo: map[string]any{"id": "m-1", "displayName": "Em", "mail": "m@example.com"},
			want: ExternalUser{ID: "m-1", Name: "Em", Email: "m@example.com"}},
		{name: "apple", idClaims: func(issuer string) jwt.MapClaims {
			return jwt.MapClaims{"iss": issuer, "aud": "cid", "sub": "a.1", "email": "a@privaterelay.appleid.com",
				"email_verified": "true", "nonce": nonceFor(verifier), "exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix()}
		}, want: ExternalUser{ID: "a.1", Email: "a@privaterelay.appleid.com"}},
		{name: "oidc without discovery", userInfo: map[string]any{"sub": "o1", "preferred_username": "oh", "email": "o@example.com", "email_verified": true},
			idClaims: func(issuer string) jwt.MapClaims {
				return jwt.MapClaims{"iss": "https://other.example/", "aud": "cid", "sub": "o1", "nonce": nonceFor(verifier),
					"exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix()}
			},
			extra: func(base string) map[string]any {
				return map[string]any{"jwksURL": base + "/keys", "issuers": []any{"https://idp.example/", "https://other.example/"}}
			},
			want: ExternalUser{ID: "o1", Username: "oh", Email: "o@example.com"}},
		{name: "google unverified email", userInfo: map[string]any{"sub": "g2", "email": "g2@example.com", "email_verified": false},
			want: ExternalUser{ID: "g2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeProvider(t, verifier)
			f.userInfo, f.emails = tc.userInfo, tc.emails
			name, _, _ := strings.Cut(tc.name, " ")
			cfg := schema.OAuth2Provider{Name: name, ClientID: "cid", ClientSecret: "csecret",
				AuthURL: f.srv.URL + "/auth", TokenURL: f.srv.URL + "/token"}
			if tc.idClaims != nil {
				f.idClaims = tc.idClaims(f.srv.URL)
				cfg.Extra = map[string]any{"issuer": f.srv.URL, "jwksURL": f.srv.URL + "/keys"}
			}
			if tc.userInfo != nil {
				cfg.UserInfoURL = f.srv.URL + "/userinfo"
			}
			if tc.extra != nil {
				cfg.Extra = tc.extra(f.srv.URL)
			}
			s := &Service{now: time.Now, logger: slog.New(slog.DiscardHandler)}
			ctx := context.Background()
			p, err := s.provider(ctx, cfg)
			if err != nil {
				t.Fatalf("provider: %v", err)
			}
			tok, u, err := s.exchange(ctx, p, "good", verifier, "http://app.test/cb")
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if u.RawUser == nil {
				t.Error("no raw user")
			}
			u.RawUser = nil
			if !reflect.DeepEqual(u, tc.want) {
				t.Errorf("user = %+v, want %+v", u, tc.want)
			}
			if tok.AccessToken != "at" || tok.RefreshToken != "rt" || tok.Expiry.IsZero() {
				t.Errorf("token = %+v", tok)
			}
			if _, _, err := s.exchange(ctx, p, "bad", verifier, "http://app.test/cb"); apperrMessage(err) != "Failed to fetch OAuth2 token." {
				t.Errorf("bad code: %v", err)
			}
			if tc.idClaims != nil {
				// The same flow with another verifier's nonce is refused.
				f.idClaims["nonce"] = nonceFor("another")
				if _, _, err := s.exchange(ctx, p, "good", verifier, "http://app.test/cb"); apperrMessage(err) != "Failed to fetch OAuth2 user." {
					t.Errorf("wrong nonce: %v", err)
				}
				f.idClaims["nonce"] = nonceFor(verifier)
				f.idClaims["aud"] = "someone-else"
				if _, _, err := s.exchange(ctx, p, "good", verifier, "http://app.test/cb"); apperrMessage(err) != "Failed to fetch OAuth2 user." {
					t.Errorf("wrong audience: %v", err)
				}
				f.idClaims["aud"] = "cid"
				f.idClaims["exp"] = time.Now().Add(-time.Minute).Unix()
				if _, _, err := s.exchange(ctx, p, "good", verifier, "http://app.test/cb"); apperrMessage(err) != "Failed to fetch OAuth2 user." {
					t.Errorf("expired id_token: %v", err)
				}
				f.idClaims["exp"] = time.Now().Add(time.Minute).Unix()
				f.idClaims["iss"] = "https://evil.example/"
				if _, _, err := s.exchange(ctx, p, "good", verifier, "http://app.test/cb"); apperrMessage(err) != "Failed to fetch OAuth2 user." {
					t.Errorf("other issuer: %v", err)
				}
			}
		})
	}
}

func TestOAuth2MethodsAuthURL(t *testing.T) {
	t.Parallel()
	s := &Service{now: time.Now, logger: slog.New(slog.DiscardHandler)}
	c := schema.NewCollection(schema.TypeAuth, "people", func() string { return "x" })
	c.OAuth2.Enabled = true
	noPKCE := false
	c.OAuth2.Providers = []schema.OAuth2Provider{
		{Name: "apple", ClientID: "cid", Extra: map[string]any{"jwksURL": "http://127.0.0.1:1/keys"}},
		{Name: "github", ClientID: "cid", PKCE: &noPKCE, DisplayName: "Code host"},
		{Name: "nope", ClientID: "cid"},
	}
	m, list := s.oauth2Methods(context.Background(), c)
	if m["enabled"] != true || len(list) != 2 {
		t.Fatalf("methods = %v", m)
	}
	apple, _ := url.Parse(strings.TrimSuffix(list[0].AuthURL, "&redirect_uri="))
	q := apple.Query()
	if q.Get("response_mode") != "form_post" || q.Get("nonce") != nonceFor(list[0].CodeVerifier) || q.Get("code_challenge_method") != "S256" ||
		q.Get("state") != list[0].State || q.Get("client_id") != "cid" || list[0].DisplayName != "Apple" {
		t.Errorf("apple = %+v", list[0])
	}
	gh := list[1]
	if gh.CodeVerifier != "" || gh.CodeChallenge != "" || strings.Contains(gh.AuthURL, "code_challenge") || gh.DisplayName != "Code host" ||
		!strings.HasSuffix(gh.AuthURL, "&redirect_uri=") {
		t.Errorf("github without PKCE = %+v", gh)
	}
}

// apperrMessage is the client-safe message of err ("" for nil).
func apperrMessage(err error) string {
	if e := apperr.As(err); e != nil {
		return e.Message
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestOAuth2EveryNameHasAPreset(t *testing.T) {
	for _, name := range presetNames() {
		if p, ok := presetFor(name); !ok || p.User == nil || p.DisplayName == "" {
			t.Errorf("preset %q = %+v, %v", name, p, ok)
		}
	}
}
