package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/blob/local"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/webhook"
)

// Credentials of the accounts every test environment starts with.
const (
	suEmail    = "admin@example.com"
	suPassword = "admin-secret-123"
	userEmail  = "alice@example.com"
	user2Email = "bob@example.com"
	userPass   = "user-secret-123"
)

// env is one Basalt instance wired like cmd/basalt: real services over a
// real SQLite database and a local blob store in a temporary directory,
// served over loopback.
type env struct {
	t       *testing.T
	url     string
	dir     string
	storage string // blob root
	records *record.Service
	// store is the engine the server runs on.
	store store.Store
	cols  *collection.Service
	sets  *settings.Service
	// tokens by scenario auth name: "superuser", "user", "user2".
	tokens map[string]string
	// jobs and crons serve /api/jobs and /api/crons (not started).
	jobs  *job.Queue
	crons *job.Scheduler
	// vars fill {{name}} placeholders in scenario URLs, bodies and wants.
	vars map[string]string
	// logs collects the server log, shown when a test fails.
	logs *bytes.Buffer
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu  chan struct{}
	buf *bytes.Buffer
}

func (b syncBuffer) Write(p []byte) (int, error) {
	b.mu <- struct{}{}
	defer func() { <-b.mu }()
	return b.buf.Write(p)
}

// newEnv starts a fresh instance with one superuser and two users (alice
// and bob) and their tokens.
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWithMounts(t, nil)
}

// newEnvWithMounts is newEnv with other transports mounted (Deps.Mounts).
func newEnvWithMounts(t *testing.T, mounts map[string]http.Handler) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(syncBuffer{make(chan struct{}, 1), logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := openTestStore(t, dir, logger)
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatalf("collection.New: %v", err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatalf("settings.New: %v", err)
	}
	storage := filepath.Join(dir, "storage")
	blobs, err := local.New(storage)
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	t.Cleanup(func() { blobs.Close() })
	files := file.New(blobs, func(n int) string { return random.String(random.LowerAlnum, n) })
	records := record.New(st, cols, files.ForRecords(), time.Now, random.ID)
	authSvc := auth.New(st, cols, records, time.Now)
	// The webhook service is not run: API tests only manage definitions.
	hooks := webhook.New(st, cols, records, webhook.Options{Logger: logger})
	jobs, crons := job.New(st, job.Options{Logger: logger}), job.NewScheduler(st, job.SchedulerOptions{Logger: logger})
	handler := rest.NewServer(rest.Deps{
		Logger: logger, Collections: cols, Records: records, Auth: authSvc, Settings: sets, Files: files,
		Webhooks: hooks, Mounts: mounts, Jobs: jobs, Crons: crons,
	})
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, dir: dir, storage: storage, store: st, records: records, cols: cols, sets: sets, jobs: jobs, crons: crons,
		tokens: map[string]string{}, vars: map[string]string{}, logs: logs}
	t.Cleanup(func() {
		if t.Failed() && testing.Verbose() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	// bcrypt at its minimum cost keeps the suite fast under -race; the cost
	// is a field option, so this is ordinary configuration.
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
	for name, email := range map[string]string{"user": userEmail, "user2": user2Email} {
		rec := e.mustJSON("POST", "/api/collections/users/records", "", map[string]any{
			"email": email, "password": userPass, "passwordConfirm": userPass, "name": name,
		}, 200)
		e.vars[name+"Id"] = rec["id"].(string)
		e.tokens[name] = e.login("users", email, userPass)
	}
	return e
}

// login signs in with a password and returns the token.
func (e *env) login(collection, identity, password string) string {
	e.t.Helper()
	res := e.mustJSON("POST", "/api/collections/"+collection+"/auth-with-password", "",
		map[string]any{"identity": identity, "password": password}, 200)
	tok, _ := res["token"].(string)
	if tok == "" {
		e.t.Fatalf("login %s/%s: no token in %v", collection, identity, res)
	}
	return tok
}

// expand replaces {{name}} placeholders with e.vars.
func (e *env) expand(s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	return regexp.MustCompile(`\{\{(\w+)\}\}`).ReplaceAllStringFunc(s, func(m string) string {
		k := m[2 : len(m)-2]
		v, ok := e.vars[k]
		if !ok {
			e.t.Fatalf("unknown placeholder %s", m)
		}
		return v
	})
}

// multipartBody is a multipart/form-data request body.
type multipartBody struct {
	fields map[string][]string
	files  []formFile
}

type formFile struct {
	field, name, contentType string
	content                  []byte
}

// rawBody is a request body sent as is, with its content type.
type rawBody struct {
	contentType string
	data        []byte
}

// encodeBody turns a scenario body into bytes and a content type:
// string → JSON text as is; url.Values → urlencoded form; *multipartBody;
// rawBody; anything else → marshalled JSON.
func (e *env) encodeBody(body any) (io.Reader, string) {
	e.t.Helper()
	switch b := body.(type) {
	case nil:
		return nil, ""
	case func() any:
		return e.encodeBody(b())
	case string:
		return strings.NewReader(e.expand(b)), "application/json"
	case url.Values:
		v := url.Values{}
		for k, list := range b {
			for _, s := range list {
				v.Add(k, e.expand(s))
			}
		}
		return strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	case *multipartBody:
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		keys := make([]string, 0, len(b.fields))
		for k := range b.fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, v := range b.fields[k] {
				if err := mw.WriteField(k, e.expand(v)); err != nil {
					e.t.Fatal(err)
				}
			}
		}
		for _, f := range b.files {
			h := make(map[string][]string)
			h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, f.field, f.name)}
			ct := f.contentType
			if ct == "" {
				ct = "application/octet-stream"
			}
			h["Content-Type"] = []string{ct}
			w, err := mw.CreatePart(h)
			if err != nil {
				e.t.Fatal(err)
			}
			w.Write(f.content)
		}
		mw.Close()
		return &buf, mw.FormDataContentType()
	case rawBody:
		return bytes.NewReader(b.data), b.contentType
	case []byte:
		return bytes.NewReader(b), "application/json"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encoding body: %v", err)
		}
		return strings.NewReader(e.expand(string(data))), "application/json"
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body (failing the test when it is not JSON).
func (r *response) json(t *testing.T) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("response (status %d) is not JSON: %v\n%.2000s", r.status, err, r.body)
	}
	return v
}

// do sends one request. auth is "" (guest), an env token name, or
// "raw:<header value>" for an Authorization header sent verbatim.
func (e *env) do(method, path, authName string, body any, headers map[string]string) *response {
	e.t.Helper()
	r, ct := e.encodeBody(body)
	req, err := http.NewRequest(method, e.url+e.expand(path), r)
	if err != nil {
		e.t.Fatalf("building request %s %s: %v", method, path, err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	switch {
	case authName == "":
	case strings.HasPrefix(authName, "raw:"):
		req.Header.Set("Authorization", e.expand(strings.TrimPrefix(authName, "raw:")))
	default:
		tok, ok := e.tokens[authName]
		if !ok {
			e.t.Fatalf("unknown auth %q", authName)
		}
		req.Header.Set("Authorization", tok)
	}
	for k, v := range headers {
		req.Header.Set(k, e.expand(v))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return &response{status: res.StatusCode, header: res.Header, body: data}
}

// mustJSON sends a request, requires the status and returns the JSON object.
func (e *env) mustJSON(method, path, authName string, body any, status int) map[string]any {
	e.t.Helper()
	res := e.do(method, path, authName, body, nil)
	if res.status != status {
		e.t.Fatalf("%s %s: got status %d, want %d\n%.2000s", method, path, res.status, status, res.body)
	}
	if status == http.StatusNoContent {
		return nil
	}
	m, _ := res.json(e.t).(map[string]any)
	return m
}

// createCollection creates a collection from a JSON definition as the
// superuser and returns it.
func (e *env) createCollection(def any) map[string]any {
	e.t.Helper()
	return e.mustJSON("POST", "/api/collections", "superuser", def, 200)
}

// createRecord creates a record as the superuser and returns its id.
func (e *env) createRecord(collection string, data any) string {
	e.t.Helper()
	rec := e.mustJSON("POST", "/api/collections/"+collection+"/records", "superuser", data, 200)
	id, _ := rec["id"].(string)
	if id == "" {
		e.t.Fatalf("created record without id: %v", rec)
	}
	return id
}

// record reads a record back as the superuser (nil when it is gone).
func (e *env) record(collection, id string) map[string]any {
	e.t.Helper()
	res := e.do("GET", "/api/collections/"+collection+"/records/"+id, "superuser", nil, nil)
	switch res.status {
	case 200:
		m, _ := res.json(e.t).(map[string]any)
		return m
	case 404:
		return nil
	}
	e.t.Fatalf("reading back %s/%s: status %d: %s", collection, id, res.status, res.body)
	return nil
}

// count returns how many records a collection holds (as the superuser).
func (e *env) count(collection string) int {
	e.t.Helper()
	res := e.mustJSON("GET", "/api/collections/"+collection+"/records?perPage=1", "superuser", nil, 200)
	n, _ := res["totalItems"].(float64)
	return int(n)
}

// snapshot returns every record of a collection as the superuser sees them,
// for checks that data is untouched.
func (e *env) snapshot(collection string) string {
	e.t.Helper()
	res := e.do("GET", "/api/collections/"+collection+"/records?perPage=1000&sort=id", "superuser", nil, nil)
	if res.status != 200 {
		e.t.Fatalf("snapshot %s: status %d: %s", collection, res.status, res.body)
	}
	return string(res.body)
}

// collectionsSnapshot returns the collections list as the superuser sees it.
func (e *env) collectionsSnapshot() string {
	e.t.Helper()
	res := e.do("GET", "/api/collections?perPage=1000&sort=name", "superuser", nil, nil)
	if res.status != 200 {
		e.t.Fatalf("collections snapshot: status %d: %s", res.status, res.body)
	}
	return string(res.body)
}

// enableBatch turns batch requests on with the given request limit.
func (e *env) enableBatch(maxRequests int) {
	e.t.Helper()
	e.mustJSON("PATCH", "/api/settings", "superuser",
		map[string]any{"batch": map[string]any{"enabled": true, "maxRequests": maxRequests}}, 200)
}

// scenario is one HTTP exchange and what it must produce.
type scenario struct {
	name    string
	method  string
	url     string
	auth    string // "", "superuser", "user", "user2" or "raw:<header>"
	headers map[string]string
	// body: string (JSON text), url.Values, *multipartBody, rawBody, []byte,
	// func() any (evaluated when the scenario runs) or any value marshalled
	// as JSON.
	body any
	// wantStatus is the expected status; -1 leaves the check to after.
	wantStatus int
	// wantJSON is a JSON value the response must contain (see matchJSON).
	wantJSON string
	// notContains are substrings the raw response must not hold.
	notContains []string
	// before runs first (e.g. to set vars); after checks effects.
	before func(t *testing.T, e *env)
	after  func(t *testing.T, e *env, res *response)
}

// run executes scenarios in order against e (they may depend on each other's
// effects). Every scenario also checks that no 5xx is answered and that error
// bodies have the PocketBase envelope.
func (e *env) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e.t = t
			if sc.before != nil {
				sc.before(t, e)
			}
			res := e.do(sc.method, sc.url, sc.auth, sc.body, sc.headers)
			e.check(t, sc, res)
			if sc.after != nil {
				sc.after(t, e, res)
			}
		})
	}
	e.t = t
}

func (e *env) check(t *testing.T, sc scenario, res *response) {
	t.Helper()
	if sc.wantStatus >= 0 && res.status != sc.wantStatus {
		t.Errorf("%s %s: got status %d, want %d\nbody: %.3000s", sc.method, sc.url, res.status, sc.wantStatus, res.body)
	}
	if res.status >= 500 {
		t.Errorf("server error %d: %s", res.status, res.body)
	}
	if res.status >= 400 && len(res.body) > 0 && !strings.HasPrefix(res.header.Get("Content-Type"), "application/problem+json") {
		var env struct {
			Status  *int            `json:"status"`
			Message *string         `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(res.body, &env); err != nil || env.Status == nil || env.Message == nil || len(env.Data) == 0 || env.Data[0] != '{' {
			t.Errorf("error body is not a {status,message,data} envelope: %.1000s", res.body)
		} else if *env.Status != res.status {
			t.Errorf("envelope status %d differs from HTTP status %d", *env.Status, res.status)
		}
	}
	if sc.wantJSON != "" {
		var want any
		if err := json.Unmarshal([]byte(e.expand(sc.wantJSON)), &want); err != nil {
			t.Fatalf("bad wantJSON %q: %v", sc.wantJSON, err)
		}
		var got any
		if err := json.Unmarshal(res.body, &got); err != nil {
			t.Errorf("response is not JSON: %v\n%.2000s", err, res.body)
		} else if problems := matchJSON("$", want, got); len(problems) > 0 {
			t.Errorf("response does not match wantJSON:\n  %s\nbody: %.3000s", strings.Join(problems, "\n  "), res.body)
		}
	}
	for _, s := range sc.notContains {
		if bytes.Contains(res.body, []byte(e.expand(s))) {
			t.Errorf("response contains %q: %.2000s", s, res.body)
		}
	}
}

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9]{15}$`)
	datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

// matchJSON reports how got fails to contain want. Objects match when every
// key of want matches (extra keys in got are fine); arrays must have the same
// length and match element by element; other values must be equal. Strings
// in want may be markers: "<any>" (present, any value), "<absent>" (the key
// must not exist), "<id>" (a 15-char record id), "<date>" (PocketBase's
// date layout), "<nonempty>" (a non-empty string), "<len:N>" (an array or
// object of N entries).
func matchJSON(path string, want, got any) []string {
	if s, ok := want.(string); ok {
		switch {
		case s == "<any>":
			return nil
		case s == "<id>":
			if g, ok := got.(string); ok && idPattern.MatchString(g) {
				return nil
			}
			return []string{fmt.Sprintf("%s: got %v, want a 15-char id", path, jsonText(got))}
		case s == "<date>":
			if g, ok := got.(string); ok && datePattern.MatchString(g) {
				return nil
			}
			return []string{fmt.Sprintf("%s: got %v, want a date like 2006-01-02 15:04:05.000Z", path, jsonText(got))}
		case s == "<nonempty>":
			if g, ok := got.(string); ok && g != "" {
				return nil
			}
			return []string{fmt.Sprintf("%s: got %v, want a non-empty string", path, jsonText(got))}
		case strings.HasPrefix(s, "<len:"):
			var n int
			fmt.Sscanf(s, "<len:%d>", &n)
			switch g := got.(type) {
			case []any:
				if len(g) == n {
					return nil
				}
			case map[string]any:
				if len(g) == n {
					return nil
				}
			}
			return []string{fmt.Sprintf("%s: got %.300s, want %d entries", path, jsonText(got), n)}
		}
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %.300s, want an object", path, jsonText(got))}
		}
		var problems []string
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, present := g[k]
			if w[k] == "<absent>" {
				if present {
					problems = append(problems, fmt.Sprintf("%s.%s: present (%.200s), want absent", path, k, jsonText(gv)))
				}
				continue
			}
			if !present {
				problems = append(problems, fmt.Sprintf("%s.%s: missing", path, k))
				continue
			}
			problems = append(problems, matchJSON(path+"."+k, w[k], gv)...)
		}
		return problems
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %.300s, want an array", path, jsonText(got))}
		}
		if len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %d items (%.300s), want %d", path, len(g), jsonText(got), len(w))}
		}
		var problems []string
		for i := range w {
			problems = append(problems, matchJSON(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return problems
	default:
		a, _ := json.Marshal(want)
		b, _ := json.Marshal(got)
		if !bytes.Equal(a, b) {
			return []string{fmt.Sprintf("%s: got %.300s, want %s", path, b, a)}
		}
		return nil
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// unchanged returns an after func that checks a collection's records are
// exactly as they were before the scenario.
func unchanged(collection string) (before func(*testing.T, *env), after func(*testing.T, *env, *response)) {
	var snap string
	return func(t *testing.T, e *env) { snap = e.snapshot(collection) },
		func(t *testing.T, e *env, _ *response) {
			t.Helper()
			if got := e.snapshot(collection); got != snap {
				t.Errorf("%s changed:\nbefore: %.1500s\nafter:  %.1500s", collection, snap, got)
			}
		}
}

// storedFiles lists the files under the blob root (relative paths).
func (e *env) storedFiles() []string {
	var out []string
	filepath.WalkDir(e.storage, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(e.storage, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

// TestHarnessMatchJSON checks the structural matcher itself.
func TestHarnessMatchJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		want, got string
		ok        bool
	}{
		{`{"a":1}`, `{"a":1,"b":2}`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"a":"<absent>"}`, `{"b":1}`, true},
		{`{"a":"<absent>"}`, `{"a":null}`, false},
		{`{"a":"<any>"}`, `{"a":null}`, true},
		{`{"a":"<any>"}`, `{}`, false},
		{`["<id>"]`, `["abcdefghij12345"]`, true},
		{`["<id>"]`, `["ABCDEFGHIJ12345"]`, false},
		{`"<date>"`, `"2026-01-02 10:11:12.345Z"`, true},
		{`"<date>"`, `"2026-01-02T10:11:12Z"`, false},
		{`[1,2]`, `[1,2,3]`, false},
		{`{"x":"<len:2>"}`, `{"x":[1,2]}`, true},
		{`{"x":{"y":[{"z":1}]}}`, `{"x":{"y":[{"z":1,"w":2}]}}`, true},
		{`1`, `1.0`, true},
		{`"1"`, `1`, false},
	}
	for _, tt := range tests {
		var w, g any
		json.Unmarshal([]byte(tt.want), &w)
		json.Unmarshal([]byte(tt.got), &g)
		if p := matchJSON("$", w, g); (len(p) == 0) != tt.ok {
			t.Errorf("matchJSON(%s, %s) = %v, want ok=%v", tt.want, tt.got, p, tt.ok)
		}
	}
}
