package rest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/blob/local"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// The redirect endpoint finds Publish on the broker by a type assertion;
// this keeps the two from drifting apart unnoticed.
var _ interface {
	Publish(clientID, topic string, data []byte) bool
} = (*realtime.Broker)(nil)

// Accounts of the example OpenID provider's user store.
const (
	oidcPassword = "verysecure"
	oidcEmail    = "test-user@zitadel.ch"  // user id1
	oidc2Email   = "test-user2@zitadel.ch" // user id2, username test-user2
)

// newOAuthEnv starts a Basalt instance like newEnv, with a realtime broker
// (for the popup flow), one superuser and its token.
func newOAuthEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(syncBuffer{make(chan struct{}, 1), logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data.db"), logger)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatalf("collection.New: %v", err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatalf("settings.New: %v", err)
	}
	blobs, err := local.New(filepath.Join(dir, "storage"))
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	t.Cleanup(func() { blobs.Close() })
	files := file.New(blobs, func(n int) string { return random.String(random.LowerAlnum, n) })
	records := record.New(st, cols, files.ForRecords(), time.Now, random.ID)
	authSvc := auth.New(st, cols, records, time.Now, auth.WithLogger(logger))
	broker := realtime.New(records, realtime.Options{Logger: logger})
	srv := httptest.NewServer(rest.NewServer(rest.Deps{
		Logger: logger, Collections: cols, Records: records, Auth: authSvc, Settings: sets, Files: files, Realtime: broker,
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() && testing.Verbose() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	e := &env{t: t, url: srv.URL, dir: dir, records: records, cols: cols, sets: sets,
		tokens: map[string]string{}, vars: map[string]string{}, logs: logs}
	for _, name := range []string{"_superusers", "users"} {
		c := cols.Lookup(name).Clone()
		c.Field("password").Cost = bcrypt.MinCost
		body, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cols.Update(ctx, name, body); err != nil {
			t.Fatalf("lowering the bcrypt cost of %s: %v", name, err)
		}
	}
	if err := authSvc.UpsertSuperuser(ctx, suEmail, suPassword); err != nil {
		t.Fatalf("UpsertSuperuser: %v", err)
	}
	e.tokens["superuser"] = e.login("_superusers", suEmail, suPassword)
	return e
}

// oidcProvider is a standards-complete OpenID provider on loopback: the
// example server of zitadel/oidc with its in-memory storage, one web
// client "basalt" (secret "secret") allowed to redirect to redirectURIs.
type oidcProvider struct {
	issuer string
}

func startOIDCProvider(t *testing.T, redirectURIs ...string) *oidcProvider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + "/"
	clients := map[string]*storage.Client{"basalt": storage.WebClient("basalt", "secret", redirectURIs...)}
	st := storage.NewStorageWithClients(storage.NewUserStore(issuer), clients)
	router := exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)
	srv := httptest.NewUnstartedServer(router)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &oidcProvider{issuer: issuer}
}

// enableOIDC configures the generic OpenID Connect provider on users.
func (e *env) enableOIDC(p *oidcProvider) {
	e.t.Helper()
	e.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{
		"oauth2": map[string]any{"enabled": true,
			"mappedFields": map[string]any{"name": "name"},
			"providers": []any{map[string]any{"name": "oidc", "clientId": "basalt", "clientSecret": "secret",
				"displayName": "Loopback OIDC", "extra": map[string]any{"issuer": p.issuer}}}},
	}, 200)
}

// oidcMethod returns the first OAuth2 provider of users' auth-methods.
func (e *env) oidcMethod() map[string]any {
	e.t.Helper()
	m := e.mustJSON("GET", "/api/collections/users/auth-methods", "", nil, 200)
	providers, _ := m["oauth2"].(map[string]any)["providers"].([]any)
	if len(providers) != 1 {
		e.t.Fatalf("auth-methods providers = %v", m["oauth2"])
	}
	return providers[0].(map[string]any)
}

var loginIDPattern = regexp.MustCompile(`name="id" value="([^"]+)"`)

// browse plays the user's browser: it opens authURL at the provider, signs
// in with username and password and returns the URL the provider
// redirects back to (not followed when it points at stopAt; with stopAt
// "" every redirect is followed and the final URL is returned).
func browse(t *testing.T, authURL, stopAt, username string) *url.URL {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if stopAt != "" && strings.HasPrefix(req.URL.String(), stopAt) {
				return http.ErrUseLastResponse
			}
			return nil
		}}
	res, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("opening the authorization URL: %v", err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := loginIDPattern.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no login form at %s (status %d): %.500s", res.Request.URL, res.StatusCode, page)
	}
	form := url.Values{"id": {string(m[1])}, "username": {username}, "password": {oidcPassword}}
	res, err = client.PostForm(res.Request.URL.Scheme+"://"+res.Request.URL.Host+"/login/username", form)
	if err != nil {
		t.Fatalf("submitting the login form: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if stopAt == "" {
		// Every redirect was followed: this is Basalt's redirect page.
		if !strings.Contains(string(body), redirectOK) {
			t.Fatalf("final page %s: status %d: %.500s", res.Request.URL, res.StatusCode, body)
		}
		return res.Request.URL
	}
	if res.StatusCode/100 != 3 {
		t.Fatalf("login: status %d, want a redirect back to Basalt: %.500s", res.StatusCode, body)
	}
	back, err := res.Location()
	if err != nil {
		t.Fatalf("login redirect: %v", err)
	}
	return back
}

// withRedirect completes an auth-methods authURL with redirectURL, as the
// SDK does.
func withRedirect(authURL, redirectURL string) string {
	return authURL + url.QueryEscape(redirectURL)
}

func TestOAuth2OIDCEndToEnd(t *testing.T) {
	e := newOAuthEnv(t)
	redirectURL := e.url + "/api/oauth2-redirect"
	p := startOIDCProvider(t, redirectURL)
	e.enableOIDC(p)

	// The client secret is never shown, even to superusers, and survives
	// an update that does not repeat it.
	res := e.do("GET", "/api/collections/users", "superuser", nil, nil)
	if res.status != 200 || strings.Contains(string(res.body), `"secret"`) || !strings.Contains(string(res.body), p.issuer) {
		t.Fatalf("collection view: status %d, body %s", res.status, res.body)
	}

	method := e.oidcMethod()
	authURL, _ := method["authURL"].(string)
	verifier, _ := method["codeVerifier"].(string)
	if !strings.HasPrefix(authURL, strings.TrimSuffix(p.issuer, "/")) || !strings.HasSuffix(authURL, "&redirect_uri=") {
		t.Fatalf("authURL = %q", authURL)
	}
	sum := sha256.Sum256([]byte(verifier))
	if method["codeChallenge"] != base64.RawURLEncoding.EncodeToString(sum[:]) || method["codeChallengeMethod"] != "S256" ||
		len(verifier) < 43 || method["state"] == "" || method["displayName"] != "Loopback OIDC" || method["authUrl"] != authURL {
		t.Fatalf("provider info = %v", method)
	}
	parsed, _ := url.Parse(authURL)
	q := parsed.Query()
	if q.Get("nonce") == "" || q.Get("code_challenge") != method["codeChallenge"] || q.Get("state") != method["state"] ||
		!strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authURL query = %v", q)
	}

	// Sign up: the provider's verified email makes a new verified record.
	back := browse(t, withRedirect(authURL, redirectURL), e.url, "test-user@127.0.0.1")
	if back.Query().Get("state") != method["state"] || back.Query().Get("code") == "" {
		t.Fatalf("redirect back = %s", back)
	}
	code := back.Query().Get("code")
	signIn := map[string]any{"provider": "oidc", "code": code, "codeVerifier": verifier, "redirectURL": redirectURL,
		"createData": map[string]any{"emailVisibility": true}}
	got := e.mustJSON("POST", "/api/collections/users/auth-with-oauth2", "", signIn, 200)
	rec := got["record"].(map[string]any)
	if p := matchJSON("response", decode(`{"token":"<nonempty>","record":{"email":"`+oidcEmail+`","verified":true,"name":"Test User","emailVisibility":true},
		"meta":{"id":"id1","email":"`+oidcEmail+`","isNew":true,"accessToken":"<nonempty>","expiry":"<nonempty>","rawUser":{"sub":"id1"}}}`), got); len(p) > 0 {
		t.Fatalf("%v\n%s", p, jsonText(got))
	}
	userID := rec["id"].(string)
	e.tokens["oidc"] = got["token"].(string)
	e.vars["oidcId"] = userID
	e.mustJSON("POST", "/api/collections/users/auth-refresh", "oidc", nil, 200)

	// The same code again: the provider refuses it.
	res = e.do("POST", "/api/collections/users/auth-with-oauth2", "", signIn, nil)
	if res.status != 400 || !strings.Contains(string(res.body), "Failed to fetch OAuth2 token.") {
		t.Fatalf("replayed code: status %d, body %s", res.status, res.body)
	}

	// The link is listed to its owner only, and only superusers write links.
	list := e.mustJSON("GET", "/api/collections/_externalAuths/records", "oidc", nil, 200)
	if p := matchJSON("links", decode(e.expand(`{"totalItems":1,"items":[{"provider":"oidc","providerId":"id1","recordRef":"{{oidcId}}","collectionRef":"_pb_users_auth_"}]}`)), list); len(p) > 0 {
		t.Fatalf("%v\n%s", p, jsonText(list))
	}
	res = e.do("POST", "/api/collections/_externalAuths/records", "oidc", map[string]any{
		"collectionRef": "_pb_users_auth_", "recordRef": userID, "provider": "github", "providerId": "x"}, nil)
	if res.status != 403 {
		t.Fatalf("create link as owner: status %d, want 403", res.status)
	}

	// A second sign-in finds the linked record.
	method = e.oidcMethod()
	back = browse(t, withRedirect(method["authURL"].(string), redirectURL), e.url, "test-user@127.0.0.1")
	signIn = map[string]any{"provider": "oidc", "code": back.Query().Get("code"), "codeVerifier": method["codeVerifier"], "redirectURL": redirectURL}
	got = e.mustJSON("POST", "/api/collections/users/auth-with-oauth2", "", signIn, 200)
	if got["record"].(map[string]any)["id"] != userID || got["meta"].(map[string]any)["isNew"] != false {
		t.Fatalf("second sign-in: %s", jsonText(got))
	}

	// A wrong code verifier fails the token exchange (PKCE).
	method = e.oidcMethod()
	back = browse(t, withRedirect(method["authURL"].(string), redirectURL), e.url, "test-user@127.0.0.1")
	signIn = map[string]any{"provider": "oidc", "code": back.Query().Get("code"), "codeVerifier": random.String(random.Alnum, 43), "redirectURL": redirectURL}
	res = e.do("POST", "/api/collections/users/auth-with-oauth2", "", signIn, nil)
	if res.status != 400 || !strings.Contains(string(res.body), "Failed to fetch OAuth2 token.") {
		t.Fatalf("wrong verifier: status %d, body %s", res.status, res.body)
	}

	// An ID token issued for another nonce is refused.
	method = e.oidcMethod()
	tampered, _ := url.Parse(method["authURL"].(string))
	tq := tampered.Query()
	tq.Set("nonce", "some-other-nonce")
	tampered.RawQuery = tq.Encode()
	back = browse(t, tampered.String()+"&redirect_uri="+url.QueryEscape(redirectURL), e.url, "test-user@127.0.0.1")
	signIn = map[string]any{"provider": "oidc", "code": back.Query().Get("code"), "codeVerifier": method["codeVerifier"], "redirectURL": redirectURL}
	res = e.do("POST", "/api/collections/users/auth-with-oauth2", "", signIn, nil)
	if res.status != 400 || !strings.Contains(string(res.body), "Failed to fetch OAuth2 user.") {
		t.Fatalf("wrong nonce: status %d, body %s", res.status, res.body)
	}

	// Unhappy inputs.
	e.run(t, []scenario{
		{name: "missing fields", method: "POST", url: "/api/collections/users/auth-with-oauth2", body: `{}`, wantStatus: 400,
			wantJSON: `{"data":{"provider":{"code":"validation_required"},"code":{"code":"validation_required"},"redirectURL":{"code":"validation_required"}}}`},
		{name: "unknown provider", method: "POST", url: "/api/collections/users/auth-with-oauth2",
			body: `{"provider":"github","code":"x","redirectURL":"http://x"}`, wantStatus: 400,
			wantJSON: `{"data":{"provider":{"code":"validation_invalid_provider"}}}`},
		{name: "forged code", method: "POST", url: "/api/collections/users/auth-with-oauth2",
			body: `{"provider":"oidc","code":"forged","codeVerifier":"` + verifier + `","redirectURL":"` + redirectURL + `"}`, wantStatus: 400},
		{name: "oauth2 disabled on superusers", method: "POST", url: "/api/collections/_superusers/auth-with-oauth2",
			body: `{"provider":"oidc","code":"x","redirectURL":"http://x"}`, wantStatus: 403},
		{name: "providers list needs a superuser", method: "GET", url: "/api/collections/meta/oauth2-providers", wantStatus: 401},
		{name: "providers list", method: "GET", url: "/api/collections/meta/oauth2-providers", auth: "superuser", wantStatus: 200,
			wantJSON: `[{"name":"apple"},{"name":"github"},{"name":"gitlab"},{"name":"google"},{"name":"microsoft"},{"name":"oidc"},{"name":"oidc2"},{"name":"oidc3"}]`},
	})

	// Deleting the record removes its links.
	e.mustJSON("DELETE", "/api/collections/users/records/"+userID, "superuser", nil, 204)
	list = e.mustJSON("GET", "/api/collections/_externalAuths/records", "superuser", nil, 200)
	if list["totalItems"] != float64(0) {
		t.Fatalf("links after delete: %s", jsonText(list))
	}
}

func TestOAuth2LinksExistingEmail(t *testing.T) {
	e := newOAuthEnv(t)
	redirectURL := e.url + "/api/oauth2-redirect"
	p := startOIDCProvider(t, redirectURL)
	e.enableOIDC(p)
	// Someone registered the provider user's address before its owner.
	rec := e.mustJSON("POST", "/api/collections/users/records", "", map[string]any{
		"email": oidc2Email, "password": userPass, "passwordConfirm": userPass}, 200)
	e.login("users", oidc2Email, userPass)

	method := e.oidcMethod()
	back := browse(t, withRedirect(method["authURL"].(string), redirectURL), e.url, "test-user2")
	got := e.mustJSON("POST", "/api/collections/users/auth-with-oauth2", "", map[string]any{
		"provider": "oidc", "code": back.Query().Get("code"), "codeVerifier": method["codeVerifier"], "redirectURL": redirectURL}, 200)
	r := got["record"].(map[string]any)
	if r["id"] != rec["id"] || r["verified"] != true || got["meta"].(map[string]any)["isNew"] != false {
		t.Fatalf("linked sign-in: %s", jsonText(got))
	}
	// The unverified record's password was replaced.
	res := e.do("POST", "/api/collections/users/auth-with-password", "", map[string]any{"identity": oidc2Email, "password": userPass}, nil)
	if res.status != 400 {
		t.Fatalf("old password after linking: status %d, want 400", res.status)
	}
}

func TestOAuth2MFA(t *testing.T) {
	e := newOAuthEnv(t)
	redirectURL := e.url + "/api/oauth2-redirect"
	p := startOIDCProvider(t, redirectURL)
	e.enableOIDC(p)
	// A verified record keeps its password when OAuth2 links it.
	e.mustJSON("POST", "/api/collections/users/records", "superuser", map[string]any{
		"email": oidcEmail, "password": userPass, "passwordConfirm": userPass, "verified": true}, 200)
	e.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{"mfa": map[string]any{"enabled": true}}, 200)

	method := e.oidcMethod()
	back := browse(t, withRedirect(method["authURL"].(string), redirectURL), e.url, "test-user@127.0.0.1")
	res := e.do("POST", "/api/collections/users/auth-with-oauth2", "", map[string]any{
		"provider": "oidc", "code": back.Query().Get("code"), "codeVerifier": method["codeVerifier"], "redirectURL": redirectURL}, nil)
	var body map[string]any
	if err := json.Unmarshal(res.body, &body); err != nil || res.status != 401 || body["mfaId"] == nil || body["token"] != nil {
		t.Fatalf("first factor: status %d, body %s", res.status, res.body)
	}
	// The same method twice is no second factor.
	method = e.oidcMethod()
	back = browse(t, withRedirect(method["authURL"].(string), redirectURL), e.url, "test-user@127.0.0.1")
	res = e.do("POST", "/api/collections/users/auth-with-oauth2?mfaId="+body["mfaId"].(string), "", map[string]any{
		"provider": "oidc", "code": back.Query().Get("code"), "codeVerifier": method["codeVerifier"], "redirectURL": redirectURL}, nil)
	if res.status != 400 || !strings.Contains(string(res.body), "different authentication method") {
		t.Fatalf("same method twice: status %d, body %s", res.status, res.body)
	}
	// The password completes the OAuth2 first factor.
	got := e.mustJSON("POST", "/api/collections/users/auth-with-password?mfaId="+body["mfaId"].(string), "",
		map[string]any{"identity": oidcEmail, "password": userPass}, 200)
	if got["token"] == "" || got["record"].(map[string]any)["email"] != oidcEmail {
		t.Fatalf("second factor: %s", jsonText(got))
	}
}

// sseClient is a realtime connection read event by event.
type sseClient struct {
	id     string
	events chan [2]string // name, data
}

func connectSSE(t *testing.T, e *env) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/api/realtime", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	c := &sseClient{events: make(chan [2]string, 16)}
	go func() {
		defer res.Body.Close()
		defer close(c.events)
		sc := bufio.NewScanner(res.Body)
		var name, data string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event:"):
				name = strings.TrimPrefix(line, "event:")
			case strings.HasPrefix(line, "data:"):
				data = strings.TrimPrefix(line, "data:")
			case line == "":
				if name != "" {
					c.events <- [2]string{name, data}
				}
				name, data = "", ""
			}
		}
	}()
	ev := c.next(t)
	var connect struct{ ClientID string }
	if ev[0] != "PB_CONNECT" || json.Unmarshal([]byte(ev[1]), &connect) != nil || connect.ClientID == "" {
		t.Fatalf("first event = %v", ev)
	}
	c.id = connect.ClientID
	return c
}

func (c *sseClient) next(t *testing.T) [2]string {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatal("the realtime stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no realtime event within 10s")
	}
	return [2]string{}
}

const (
	redirectOK     = "Auth completed."
	redirectFailed = "Failed to authenticate."
)

func TestOAuth2RedirectOverRealtime(t *testing.T) {
	e := newOAuthEnv(t)
	c := connectSSE(t, e)

	// Not subscribed yet: nothing is delivered.
	res := e.do("GET", "/api/oauth2-redirect?state="+c.id+"&code=abc", "", nil, nil)
	if !strings.Contains(string(res.body), redirectFailed) {
		t.Fatalf("unsubscribed client: %s", res.body)
	}
	e.mustJSON("POST", "/api/realtime", "", map[string]any{"clientId": c.id, "subscriptions": []string{"@oauth2"}}, 204)

	for _, tc := range []struct {
		name, query string
		want        string
	}{
		{"unknown state", "state=nobody&code=abc", redirectFailed},
		{"missing state", "code=abc", redirectFailed},
		{"tampered state", "state=" + c.id + "x&code=abc", redirectFailed},
	} {
		res := e.do("GET", "/api/oauth2-redirect?"+tc.query, "", nil, nil)
		if res.status != 200 || !strings.Contains(string(res.body), tc.want) {
			t.Errorf("%s: status %d, body %s", tc.name, res.status, res.body)
		}
	}

	res = e.do("GET", "/api/oauth2-redirect?state="+c.id+"&code=abc", "", nil, nil)
	if res.status != 200 || !strings.Contains(string(res.body), redirectOK) || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("redirect: status %d, body %s", res.status, res.body)
	}
	if ev := c.next(t); ev[0] != "@oauth2" || ev[1] != `{"code":"abc","state":"`+c.id+`"}` {
		t.Fatalf("event = %v", ev)
	}
	// The topic delivers once: a second redirect with the same state finds
	// no subscription (the SDK subscribes anew for every popup).
	res = e.do("GET", "/api/oauth2-redirect?state="+c.id+"&code=other", "", nil, nil)
	if !strings.Contains(string(res.body), redirectFailed) {
		t.Fatalf("second redirect with the same state: %s", res.body)
	}
	e.mustJSON("POST", "/api/realtime", "", map[string]any{"clientId": c.id, "subscriptions": []string{"@oauth2"}}, 204)
	// form_post, with a provider error.
	res = e.do("POST", "/api/oauth2-redirect", "", url.Values{"state": {c.id}, "error": {"access_denied"}}, nil)
	if !strings.Contains(string(res.body), redirectFailed) {
		t.Fatalf("form_post error: %s", res.body)
	}
	if ev := c.next(t); ev[0] != "@oauth2" || ev[1] != `{"code":"","error":"access_denied","state":"`+c.id+`"}` {
		t.Fatalf("event = %v", ev)
	}
}

// TestOAuth2PopupFlow runs the SDK's all-in-one flow: the state is the
// realtime client id, the provider redirects the browser to
// /api/oauth2-redirect, the code arrives over SSE.
func TestOAuth2PopupFlow(t *testing.T) {
	e := newOAuthEnv(t)
	redirectURL := e.url + "/api/oauth2-redirect"
	p := startOIDCProvider(t, redirectURL)
	e.enableOIDC(p)
	c := connectSSE(t, e)
	e.mustJSON("POST", "/api/realtime", "", map[string]any{"clientId": c.id, "subscriptions": []string{"@oauth2"}}, 204)

	method := e.oidcMethod()
	u, _ := url.Parse(withRedirect(method["authURL"].(string), redirectURL))
	q := u.Query()
	q.Set("state", c.id)
	u.RawQuery = q.Encode()
	// The browser follows every redirect, Basalt's page included.
	browse(t, u.String(), "", "test-user@127.0.0.1")
	ev := c.next(t)
	var msg struct{ State, Code, Error string }
	if ev[0] != "@oauth2" || json.Unmarshal([]byte(ev[1]), &msg) != nil || msg.State != c.id || msg.Code == "" {
		t.Fatalf("event = %v", ev)
	}
	got := e.mustJSON("POST", "/api/collections/users/auth-with-oauth2", "", map[string]any{
		"provider": "oidc", "code": msg.Code, "codeVerifier": method["codeVerifier"], "redirectURL": redirectURL}, 200)
	if got["record"].(map[string]any)["email"] != oidcEmail {
		t.Fatalf("popup sign-in: %s", jsonText(got))
	}
}

// oidcSignIn runs the whole code flow for a provider user and posts the
// code to auth-with-oauth2 as authName; it returns Basalt's answer.
func (e *env) oidcSignIn(redirectURL, username, authName string) *response {
	e.t.Helper()
	method := e.oidcMethod()
	back := browse(e.t, withRedirect(method["authURL"].(string), redirectURL), e.url, username)
	return e.do("POST", "/api/collections/users/auth-with-oauth2", authName, map[string]any{
		"provider": "oidc", "code": back.Query().Get("code"), "codeVerifier": method["codeVerifier"], "redirectURL": redirectURL}, nil)
}

func TestOAuth2LinkUnlinkAndRules(t *testing.T) {
	e := newOAuthEnv(t)
	redirectURL := e.url + "/api/oauth2-redirect"
	p := startOIDCProvider(t, redirectURL)
	e.enableOIDC(p)
	// An update that omits the client secret keeps it (the exchanges below
	// need it).
	e.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{"oauth2": map[string]any{"enabled": true,
		"providers": []any{map[string]any{"name": "oidc", "clientId": "basalt", "extra": map[string]any{"issuer": p.issuer}}}}}, 200)

	// A signed-in user links a provider account to their own record.
	alice := e.mustJSON("POST", "/api/collections/users/records", "", map[string]any{
		"email": userEmail, "password": userPass, "passwordConfirm": userPass}, 200)
	e.tokens["user"] = e.login("users", userEmail, userPass)
	res := e.oidcSignIn(redirectURL, "test-user2", "user")
	var got map[string]any
	if err := json.Unmarshal(res.body, &got); err != nil || res.status != 200 || got["record"].(map[string]any)["id"] != alice["id"] {
		t.Fatalf("linking as alice: status %d, body %s", res.status, res.body)
	}
	// The provider's email did not replace alice's.
	if got["record"].(map[string]any)["email"] != userEmail {
		t.Fatalf("alice after linking: %s", res.body)
	}

	// Bob cannot see or unlink alice's link; alice can.
	bob := e.mustJSON("POST", "/api/collections/users/records", "", map[string]any{
		"email": user2Email, "password": userPass, "passwordConfirm": userPass}, 200)
	_ = bob
	e.tokens["user2"] = e.login("users", user2Email, userPass)
	links := e.mustJSON("GET", "/api/collections/_externalAuths/records", "user", nil, 200)
	items, _ := links["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("alice's links: %s", jsonText(links))
	}
	e.vars["linkId"] = items[0].(map[string]any)["id"].(string)
	e.run(t, []scenario{
		{name: "other user lists nothing", method: "GET", url: "/api/collections/_externalAuths/records", auth: "user2", wantStatus: 200,
			wantJSON: `{"totalItems":0}`},
		{name: "guest lists nothing", method: "GET", url: "/api/collections/_externalAuths/records", wantStatus: 200,
			wantJSON: `{"totalItems":0}`},
		{name: "other user cannot view", method: "GET", url: "/api/collections/_externalAuths/records/{{linkId}}", auth: "user2", wantStatus: 404},
		{name: "other user cannot unlink", method: "DELETE", url: "/api/collections/_externalAuths/records/{{linkId}}", auth: "user2", wantStatus: 404},
		{name: "owner cannot change a link", method: "PATCH", url: "/api/collections/_externalAuths/records/{{linkId}}", auth: "user",
			body: `{"providerId":"someone-else"}`, wantStatus: 403},
		{name: "owner unlinks", method: "DELETE", url: "/api/collections/_externalAuths/records/{{linkId}}", auth: "user", wantStatus: 204},
	})

	// Provider configurations are checked on save.
	for name, providers := range map[string]string{
		"unknown provider": `[{"name":"myspace","clientId":"x"}]`,
		"repeated":         `[{"name":"github","clientId":"x"},{"name":"github","clientId":"y"}]`,
		"no client id":     `[{"name":"google"}]`,
	} {
		res := e.do("PATCH", "/api/collections/users", "superuser", `{"oauth2":{"providers":`+providers+`}}`, nil)
		if res.status != 400 || !strings.Contains(string(res.body), "validation_invalid_oauth2_provider") {
			t.Errorf("%s: status %d, body %s", name, res.status, res.body)
		}
	}

	// The authRule applies to OAuth2 sign-ins.
	e.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{"authRule": "name = 'nobody'"}, 200)
	res = e.oidcSignIn(redirectURL, "test-user@127.0.0.1", "")
	if res.status != 403 || strings.Contains(string(res.body), "token") {
		t.Fatalf("authRule: status %d, body %s", res.status, res.body)
	}
	e.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{"authRule": ""}, 200)

	// OAuth2 can be turned off.
	e.mustJSON("PATCH", "/api/collections/users", "superuser", map[string]any{"oauth2": map[string]any{"enabled": false}}, 200)
	m := e.mustJSON("GET", "/api/collections/users/auth-methods", "", nil, 200)
	if p := matchJSON("auth-methods", decode(`{"oauth2":{"enabled":false,"providers":[]}}`), m); len(p) > 0 {
		t.Fatal(p)
	}
	res = e.do("POST", "/api/collections/users/auth-with-oauth2", "", map[string]any{"provider": "oidc", "code": "x", "redirectURL": redirectURL}, nil)
	if res.status != 403 {
		t.Fatalf("disabled: status %d, body %s", res.status, res.body)
	}
}
