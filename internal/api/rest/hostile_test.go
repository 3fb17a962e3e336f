package rest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// hostile are parameter values that try to break out of quoting, SQL,
// paths, JSON or UTF-8.
var hostile = []string{
	`'`, `"`, "`", `\`, `''`, `' OR 1=1 --`, `" OR ""="`, `1; DROP TABLE posts; --`, `'); DROP TABLE posts; --`,
	`title = 'x' || 1=1`, `title = "x\" || 1=1 || \""`, `id != '' ) OR (1=1`, `)))))`, `(((((`,
	`posts.title`, `@collection.posts.title`, `@request.auth.id`, `_superusers.password`, `password`, `tokenKey`,
	`sqlite_master`, `*`, `%`, `_`, `%00`, "\x00", "a\x00b", `\u0000`, "\xff\xfe", "\xc3\x28", `😀`,
	`../../etc/passwd`, `..%2F..%2F`, `{{`, `{:param}`, `$1`, `?`, `;`, `--`, `/* */`,
	strings.Repeat("a", 10000), strings.Repeat("(", 5000), strings.Repeat("a.", 3000), strings.Repeat("-", 5000),
	`-title,+title,@random,@rowid,nope`, `title:excerpt(99999999999,true)`, `expand.expand.expand`,
	`1e309`, `-1`, `99999999999999999999999`, `NaN`, `true`,
}

// leakMarkers must never appear in a response to a hostile request: data
// of a superusers-only collection, password hashes, driver errors.
var leakMarkers = []string{"secret value", "$2a$", "SQL logic error", "syntax error near", "no such column", "no such table", "sqlite3", "panic"}

// queryValue encodes v for a query string (invalid UTF-8 stays as bytes).
func queryValue(v string) string { return url.QueryEscape(v) }

func hostileEnv(t *testing.T) *env {
	t.Helper()
	e := blogEnv(t)
	e.createCollection(map[string]any{"name": "locked", "fields": []any{map[string]any{"name": "v", "type": "text"}}})
	e.vars["locked1"] = e.createRecord("locked", map[string]any{"v": "secret value"})
	return e
}

// snapshotAll captures every collection and record for the untouched check.
func (e *env) snapshotAll() string {
	e.t.Helper()
	var b strings.Builder
	b.WriteString(e.collectionsSnapshot())
	for _, c := range []string{"authors", "posts", "comments", "locked", "users", "_superusers"} {
		b.WriteString(e.snapshot(c))
	}
	return b.String()
}

func TestHostileQueryParams(t *testing.T) {
	t.Parallel()
	e := hostileEnv(t)
	before := e.snapshotAll()
	var scenarios []scenario
	allowed := map[int]bool{200: true, 400: true, 403: true, 404: true}
	for _, h := range hostile {
		for _, who := range []string{"", "user", "superuser"} {
			for _, p := range []string{"filter", "sort", "expand", "fields", "page", "perPage", "skipTotal"} {
				scenarios = append(scenarios, scenario{
					name: p + "=" + shortName(h) + " as " + who, method: "GET",
					url: "/api/collections/posts/records?" + p + "=" + queryValue(h), auth: who, wantStatus: -1,
					notContains: leakMarkers,
					after: func(t *testing.T, e *env, res *response) {
						if !allowed[res.status] {
							t.Errorf("status %d: %.300s", res.status, res.body)
						}
					},
				})
			}
			for _, p := range []string{"expand", "fields"} {
				scenarios = append(scenarios, scenario{
					name: "view " + p + "=" + shortName(h) + " as " + who, method: "GET",
					url: "/api/collections/posts/records/{{alpha}}?" + p + "=" + queryValue(h), auth: who, wantStatus: -1,
					notContains: leakMarkers,
					after: func(t *testing.T, e *env, res *response) {
						if !allowed[res.status] {
							t.Errorf("status %d: %.300s", res.status, res.body)
						}
					},
				})
			}
		}
	}
	e.run(t, scenarios)
	if after := e.snapshotAll(); after != before {
		t.Errorf("data changed by hostile query parameters")
	}
}

func shortName(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

func TestHostilePathSegments(t *testing.T) {
	t.Parallel()
	e := hostileEnv(t)
	before := e.snapshotAll()
	var scenarios []scenario
	for _, h := range hostile {
		seg := url.PathEscape(h)
		if strings.Contains(h, "/") || h == "" {
			seg = url.PathEscape(strings.ReplaceAll(h, "/", "_"))
		}
		for _, who := range []string{"", "user", "superuser"} {
			name := shortName(h) + " as " + who
			scenarios = append(scenarios,
				scenario{name: "record id " + name, method: "GET", url: "/api/collections/posts/records/" + seg, auth: who, wantStatus: 404},
				scenario{name: "update id " + name, method: "PATCH", url: "/api/collections/posts/records/" + seg, auth: who,
					body: `{"title":"pwned"}`, wantStatus: 404},
				scenario{name: "delete id " + name, method: "DELETE", url: "/api/collections/posts/records/" + seg, auth: who, wantStatus: 404},
				scenario{name: "collection list " + name, method: "GET", url: "/api/collections/" + seg + "/records", auth: who, wantStatus: 404},
				scenario{name: "collection create " + name, method: "POST", url: "/api/collections/" + seg + "/records", auth: who,
					body: `{"title":"x"}`, wantStatus: 404},
				scenario{name: "auth " + name, method: "POST", url: "/api/collections/" + seg + "/auth-with-password", auth: who,
					body: `{"identity":"a@b.co","password":"x"}`, wantStatus: 404},
				scenario{name: "file " + name, method: "GET", url: "/api/files/posts/" + seg + "/" + seg, auth: who, wantStatus: 404},
			)
			if who == "superuser" {
				scenarios = append(scenarios,
					scenario{name: "collection view " + name, method: "GET", url: "/api/collections/" + seg, auth: who, wantStatus: 404},
					scenario{name: "collection delete " + name, method: "DELETE", url: "/api/collections/" + seg, auth: who, wantStatus: 404},
					scenario{name: "collection truncate " + name, method: "DELETE", url: "/api/collections/" + seg + "/truncate", auth: who, wantStatus: 404},
				)
			}
		}
	}
	e.run(t, scenarios)
	if after := e.snapshotAll(); after != before {
		t.Errorf("data changed by hostile path segments")
	}
}

func TestHostileBodies(t *testing.T) {
	t.Parallel()
	e := hostileEnv(t)
	untouchedBefore, untouchedAfter := unchanged("posts")
	create := "/api/collections/posts/records"
	update := "/api/collections/posts/records/{{alpha}}"
	big := bytes.Repeat([]byte(" "), 33<<20)
	big[0] = '{'
	big[len(big)-1] = '}'
	scenarios := []scenario{
		{name: "malformed JSON create", method: "POST", url: create, body: `{"title":`, wantStatus: 400,
			wantJSON: `{"status":400,"message":"<nonempty>","data":{}}`},
		{name: "malformed JSON update", method: "PATCH", url: update, body: `{"title":`, wantStatus: 400},
		{name: "trailing garbage", method: "POST", url: create, body: `{"title":"x"} {"title":"y"}`, wantStatus: 400},
		{name: "JSON array body", method: "POST", url: create, body: `[{"title":"x"}]`, wantStatus: 400},
		{name: "JSON string body", method: "POST", url: create, body: `"title"`, wantStatus: 400},
		{name: "wrong type: object for text", method: "POST", url: create, body: `{"title":{"$gt":""}}`, wantStatus: 400,
			wantJSON: `{"data":{"title":"<any>"}}`},
		{name: "wrong type: array for number", method: "POST", url: create, body: `{"title":"x","views":[1,2]}`, wantStatus: 400,
			wantJSON: `{"data":{"views":"<any>"}}`},
		{name: "wrong type: number for relation", method: "POST", url: create, body: `{"title":"x","author":12}`, wantStatus: 400},
		{name: "wrong type: object for select", method: "POST", url: create, body: `{"title":"x","tags":{"a":1}}`, wantStatus: 400},
		{name: "huge number", method: "POST", url: create, body: `{"title":"x","views":1e999}`, wantStatus: 400},
		{name: "deeply nested JSON", method: "POST", url: create,
			body: `{"title":"x","meta":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, wantStatus: -1,
			after: func(t *testing.T, e *env, res *response) {
				if res.status != 400 && res.status != 200 {
					t.Errorf("status %d", res.status)
				}
			}},
		{name: "invalid UTF-8 in JSON", method: "POST", url: create, body: rawBody{"application/json", []byte("{\"title\":\"\xff\xfe\"}")}, wantStatus: -1,
			after: func(t *testing.T, e *env, res *response) {
				if res.status != 400 && res.status != 200 {
					t.Errorf("status %d", res.status)
				}
				if res.status == 200 && bytes.Contains(res.body, []byte("\xff")) {
					t.Error("invalid UTF-8 echoed back")
				}
			}},
		{name: "invalid UTF-8 in a form", method: "POST", url: create,
			body: rawBody{"application/x-www-form-urlencoded", []byte("title=%ff%fe%00")}, wantStatus: -1,
			after: func(t *testing.T, e *env, res *response) {
				if res.status != 400 && res.status != 200 {
					t.Errorf("status %d", res.status)
				}
			}},
		{name: "NUL bytes in text", method: "POST", url: create, body: `{"title":"a\u0000b"}`, wantStatus: -1,
			after: func(t *testing.T, e *env, res *response) {
				if res.status != 400 && res.status != 200 {
					t.Errorf("status %d", res.status)
				}
			}},
		{name: "very long string in a text field", method: "POST", url: create, body: `{"title":"` + strings.Repeat("x", 1<<20) + `"}`,
			wantStatus: 400, wantJSON: `{"data":{"title":"<any>"}}`},
		{name: "very long key", method: "POST", url: create, body: `{"` + strings.Repeat("k", 1<<20) + `":1,"title":"long key"}`, wantStatus: 200},
		{name: "SQL in values is data", method: "POST", url: create, body: `{"title":"'); DROP TABLE posts; --"}`, wantStatus: 200,
			wantJSON: `{"title":"'); DROP TABLE posts; --"}`},
		{name: "oversize JSON body", method: "POST", url: create, body: rawBody{"application/json", big}, wantStatus: 413},
		{name: "oversize collection body", method: "POST", url: "/api/collections", auth: "superuser", body: rawBody{"application/json", big}, wantStatus: 413},
		{name: "oversize settings body", method: "PATCH", url: "/api/settings", auth: "superuser", body: rawBody{"application/json", big}, wantStatus: 413},
		{name: "oversize auth body", method: "POST", url: "/api/collections/users/auth-with-password", body: rawBody{"application/json", big}, wantStatus: 413},
		{name: "malformed multipart", method: "POST", url: create,
			body: rawBody{"multipart/form-data; boundary=xyz", []byte("--xyz\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nunterminated")}, wantStatus: 400},
		{name: "multipart without boundary", method: "POST", url: create, body: rawBody{"multipart/form-data", []byte("x")}, wantStatus: 400},
		{name: "broken content type", method: "POST", url: create, body: rawBody{"application/json; ===", []byte(`{"title":"x"}`)}, wantStatus: 400},
		{name: "prototype-ish keys", method: "POST", url: create, body: `{"title":"proto","__proto__":{"admin":true},"constructor":1}`, wantStatus: 200,
			wantJSON: `{"__proto__":"<absent>"}`},
		{name: "expand/collectionId keys are not stored", method: "POST", url: create,
			body: `{"title":"keys","collectionId":"pbc_3142635823","collectionName":"_superusers","expand":{"x":1}}`, wantStatus: 200,
			wantJSON: `{"collectionName":"posts","expand":"<absent>"}`},
		{name: "refused writes left posts untouched", method: "GET", url: "/api/health", wantStatus: 200},
	}
	// The last checks run before any accepted create above: put the
	// untouched checks around the refused ones only.
	scenarios[0].before = untouchedBefore
	scenarios[9].after = untouchedAfter
	e.run(t, scenarios)
	// Hostile collection definitions.
	colsBefore := e.collectionsSnapshot()
	var defs []scenario
	for _, h := range hostile {
		def := map[string]any{"name": h}
		defs = append(defs,
			scenario{name: "collection name " + shortName(h), method: "POST", url: "/api/collections", auth: "superuser", body: def, wantStatus: -1,
				after: func(t *testing.T, e *env, res *response) {
					// A few hostile strings are plain valid names.
					if res.status == 200 {
						e.mustJSON("DELETE", "/api/collections/"+url.PathEscape(h), "superuser", nil, 204)
					} else if res.status != 400 {
						t.Errorf("status %d", res.status)
					}
				}},
			scenario{name: "field name " + shortName(h), method: "POST", url: "/api/collections", auth: "superuser",
				body: map[string]any{"name": "hostile", "fields": []any{map[string]any{"name": h, "type": "text"}}}, wantStatus: -1,
				after: func(t *testing.T, e *env, res *response) {
					if res.status == 200 {
						e.mustJSON("DELETE", "/api/collections/hostile", "superuser", nil, 204)
					} else if res.status != 400 {
						t.Errorf("status %d", res.status)
					}
				}},
			scenario{name: "rule " + shortName(h), method: "POST", url: "/api/collections", auth: "superuser",
				body: map[string]any{"name": "hostile", "listRule": h}, wantStatus: -1,
				after: func(t *testing.T, e *env, res *response) {
					if res.status == 200 {
						e.mustJSON("DELETE", "/api/collections/hostile", "superuser", nil, 204)
					} else if res.status != 400 {
						t.Errorf("status %d", res.status)
					}
				}},
			scenario{name: "index " + shortName(h), method: "POST", url: "/api/collections", auth: "superuser",
				body: map[string]any{"name": "hostile", "indexes": []string{h, "CREATE INDEX x ON hostile (id); DROP TABLE posts"}}, wantStatus: 400},
		)
	}
	e.run(t, defs)
	if got := e.collectionsSnapshot(); got != colsBefore {
		t.Errorf("collections changed by hostile definitions")
	}
	if n := e.count("posts"); n < 5 {
		t.Errorf("posts has %d records", n)
	}
}

// forged builds a JWT with the given header and claims, signed with key
// (HS256) or unsigned when key is nil.
func forged(t *testing.T, header, claims map[string]any, key []byte) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	unsigned := enc(header) + "." + enc(claims)
	if key == nil {
		return unsigned + "."
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestHostileTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	su := claims(t, e.tokens["superuser"])
	user := claims(t, e.tokens["user"])
	far := time.Now().Add(time.Hour).Unix()
	asSuper := map[string]any{"id": su["id"], "type": "auth", "collectionId": "pbc_3142635823", "refreshable": true, "exp": far}
	asUser := map[string]any{"id": user["id"], "type": "auth", "collectionId": "_pb_users_auth_", "refreshable": true, "exp": far}
	expired := map[string]any{"id": user["id"], "type": "auth", "collectionId": "_pb_users_auth_", "refreshable": true, "exp": time.Now().Add(-time.Hour).Unix()}
	tokens := map[string]string{
		"alg none superuser":       forged(t, map[string]any{"alg": "none", "typ": "JWT"}, asSuper, nil),
		"alg NONE superuser":       forged(t, map[string]any{"alg": "NONE", "typ": "JWT"}, asSuper, nil),
		"empty key superuser":      forged(t, map[string]any{"alg": "HS256", "typ": "JWT"}, asSuper, []byte{}),
		"guessed key user":         forged(t, map[string]any{"alg": "HS256", "typ": "JWT"}, asUser, []byte("secret")),
		"expired user (empty key)": forged(t, map[string]any{"alg": "HS256", "typ": "JWT"}, expired, []byte{}),
		"user token, superuser collection": func() string {
			parts := strings.Split(e.tokens["user"], ".")
			c := map[string]any{}
			for k, v := range user {
				c[k] = v
			}
			c["collectionId"] = "pbc_3142635823"
			b, _ := json.Marshal(c)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
		}(),
		"header only":   "eyJhbGciOiJIUzI1NiJ9",
		"three dots":    "...",
		"huge":          strings.Repeat("A", 100000),
		"sql":           "' OR 1=1 --",
		"bearer only":   "Bearer ",
		"double bearer": "Bearer Bearer " + e.tokens["user"],
	}
	var scenarios []scenario
	for name, tok := range tokens {
		e.vars["tok_"+strings.ReplaceAll(name, " ", "_")] = tok
		auth := "raw:" + tok
		scenarios = append(scenarios,
			scenario{name: name + " on collections", method: "GET", url: "/api/collections", auth: auth, wantStatus: 401},
			scenario{name: name + " on settings", method: "GET", url: "/api/settings", auth: auth, wantStatus: 401},
			scenario{name: name + " on refresh", method: "POST", url: "/api/collections/users/auth-refresh", auth: auth, wantStatus: 401},
			scenario{name: name + " on superusers records", method: "GET", url: "/api/collections/_superusers/records", auth: auth, wantStatus: 403},
			scenario{name: name + " on own user", method: "GET", url: "/api/collections/users/records/{{userId}}", auth: auth, wantStatus: 404},
		)
	}
	e.run(t, scenarios)
}
