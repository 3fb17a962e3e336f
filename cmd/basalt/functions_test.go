package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// functionsServer is a server with function files.
type functionsServer struct {
	addr, token string
	fnDir       string
	out         *syncBuffer
}

// serveFunctions writes files into a functions directory, starts a server
// with it (and extra flags, and env for getenv), logs a superuser in and
// creates the collections of the tests.
func serveFunctions(t *testing.T, files map[string]string, env map[string]string, args ...string) *functionsServer {
	t.Helper()
	dir := t.TempDir()
	fnDir := filepath.Join(t.TempDir(), "fns")
	if err := os.MkdirAll(fnDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		writeFunction(t, fnDir, name, src)
	}
	createSuperuser(t, dir)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &syncBuffer{}
	getenv := func(k string) string { return env[k] }
	args = append([]string{"serve", "--http", addr, "--dir", dir, "--functions-dir", fnDir}, args...)
	go func() { done <- run(ctx, args, getenv, strings.NewReader(""), out, out) }()
	waitHealthy(t, http.DefaultClient, "http://"+addr, limitsGuard, done, cancel, out)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Errorf("server %s did not stop", addr)
		}
	})
	s := &functionsServer{addr: addr, token: superuserLogin(t, addr), fnDir: fnDir, out: out}
	if status, body := call(t, http.MethodPatch, addr, "/api/settings", s.token, map[string]any{"batch": map[string]any{"enabled": true}}); status != http.StatusOK {
		t.Fatalf("enable batch: %d %v", status, body)
	}
	for _, c := range []map[string]any{
		{"name": "posts", "type": "base", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
			"fields": []map[string]any{{"name": "title", "type": "text"}, {"name": "slug", "type": "text"},
				{"name": "views", "type": "number"}, {"name": "locked", "type": "bool"}}},
		{"name": "audit", "type": "base",
			"fields": []map[string]any{{"name": "msg", "type": "text"}}},
	} {
		if status, body := call(t, http.MethodPost, addr, "/api/collections", s.token, c); status != http.StatusOK {
			t.Fatalf("create collection %v: %d %v", c["name"], status, body)
		}
	}
	return s
}

// writeFunction writes a function file so that its modification time
// differs from the previous version's even on coarse clocks.
func writeFunction(t *testing.T, dir, name, src string) {
	t.Helper()
	p := filepath.Join(dir, name)
	var prev time.Time
	if info, err := os.Stat(p); err == nil {
		prev = info.ModTime()
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(p); err == nil && !info.ModTime().After(prev) {
		later := prev.Add(time.Second)
		_ = os.Chtimes(p, later, later)
	}
}

const hooksJS = `
basalt.beforeCreate("posts", (e) => {
	const title = String(e.record.title || "").trim();
	if (title === "forbidden") {
		throw new basalt.ValidationError("Failed to create record.", { title: "This title is not allowed." });
	}
	e.record.title = title;
	e.record.slug = title.toLowerCase().replace(/[^a-z0-9]+/g, "-");
	if (title === "bad views") e.record.views = "not a number";
});
basalt.beforeUpdate("posts", (e) => {
	if (e.original.locked) throw new basalt.ApiError(403, "This post is locked.");
	e.record.views = (e.original.views || 0) + 1;
});
basalt.beforeDelete("posts", (e) => {
	if (e.record.locked) throw new basalt.ValidationError("Failed to delete record.", { locked: { code: "validation_locked", message: "Unlock it first." } });
});
basalt.afterCreate("posts", (e) => {
	basalt.records.save("audit", { msg: "created " + e.record.slug }, { bypassRules: true });
});
basalt.beforeCreate("posts", (e) => { if (e.record.title === "throws") throw new Error("boom"); });
basalt.beforeCreate("posts", (e) => { if (e.record.title === "writes") basalt.records.save("audit", { msg: "x" }, { bypassRules: true }); });
`

const routesJS = `
basalt.route("GET", "/hello/{name}", (req) => ({ json: { hello: req.params.name, q: req.query.x || null } }));
basalt.route("POST", "/echo", (req) => ({ status: 201, json: req.json(), headers: { "X-Echo": "yes" } }));
basalt.route("GET", "/me", (req) => ({ json: { id: req.auth.id, collection: req.auth.collectionName } }), { auth: "auth" });
basalt.route("GET", "/admin", () => ({ body: "root only" }), { auth: "superuser" });
basalt.route("GET", "/nothing", () => {});
basalt.route("GET", "/throw", () => { throw new Error("secret detail"); });
basalt.route("GET", "/loop", () => { while (true) {} });
basalt.route("GET", "/bomb", () => { const a = []; for (let i = 0; ; i++) a.push("x".repeat(1 << 20)); });
basalt.route("GET", "/repeat", () => ({ body: "x".repeat(1e9) }));
basalt.route("GET", "/sandbox", () => ({ json: {
	process: typeof process, require: typeof require, os: typeof os, fs: typeof fs,
	buffer: typeof ArrayBuffer, secret: basalt.secrets.get("API_KEY") || null,
	other: basalt.secrets.get("OTHER") || null,
} }));
basalt.route("GET", "/fetch", (req) => {
	try { basalt.http.fetch(req.query.url); return { json: { ok: true } }; }
	catch (e) { return { json: { status: e.status, message: e.message } }; }
});
basalt.route("GET", "/posts", (req) => {
	const asGuest = basalt.records.list("audit", { auth: req.auth });
	return { json: asGuest };
});
basalt.route("GET", "/audit", () => ({ json: basalt.records.list("audit", { bypassRules: true, sort: "msg" }).items.map((r) => r.msg) }));
basalt.route("GET", "/missing", () => basalt.records.find("posts", "nonexistent1234"));
basalt.route("GET", "/async", async () => ({ body: "async" }));
basalt.route("GET", "/late", () => { basalt.route("GET", "/later", () => 1); });
`

func TestFunctionHooksOverREST(t *testing.T) {
	s := serveFunctions(t, map[string]string{"hooks.js": hooksJS, "routes.js": routesJS}, nil)

	// A before-hook changes the record; the client sees the change.
	status, body := call(t, http.MethodPost, s.addr, "/api/collections/posts/records", "", map[string]any{"title": "  Hello World  "})
	if status != http.StatusOK || body["title"] != "Hello World" || body["slug"] != "hello-world" {
		t.Fatalf("create: %d %v, want the trimmed title and a slug", status, body)
	}
	id, _ := body["id"].(string)

	// A rejecting hook answers 400 with its per-field problem.
	status, body = call(t, http.MethodPost, s.addr, "/api/collections/posts/records", "", map[string]any{"title": "forbidden"})
	data, _ := body["data"].(map[string]any)
	title, _ := data["title"].(map[string]any)
	if status != http.StatusBadRequest || body["message"] != "Failed to create record." ||
		title["code"] != "validation_invalid_value" || title["message"] != "This title is not allowed." {
		t.Errorf("rejected create: %d %v", status, body)
	}
	// A value the hook sets goes through the field's validation.
	status, body = call(t, http.MethodPost, s.addr, "/api/collections/posts/records", "", map[string]any{"title": "bad views"})
	data, _ = body["data"].(map[string]any)
	if status != http.StatusBadRequest || data["views"] == nil {
		t.Errorf("hook set an invalid number: %d %v, want 400 on views", status, body)
	}
	// An exception is a 500 without its detail, and a log line with it.
	status, body = call(t, http.MethodPost, s.addr, "/api/collections/posts/records", "", map[string]any{"title": "throws"})
	if status != http.StatusInternalServerError || strings.Contains(fmt.Sprint(body), "boom") {
		t.Errorf("throwing hook: %d %v", status, body)
	}
	if !strings.Contains(s.out.String(), "boom") || !strings.Contains(s.out.String(), "hooks.js") {
		t.Errorf("the exception was not logged with its file:\n%s", s.out.String())
	}

	// A before-hook cannot write records (it holds the write lock).
	status, body = call(t, http.MethodPost, s.addr, "/api/collections/posts/records", "", map[string]any{"title": "writes"})
	if status != http.StatusBadRequest || !strings.Contains(fmt.Sprint(body["message"]), "before-hook") {
		t.Errorf("before-hook writing a record: %d %v", status, body)
	}

	// Update: the hook counts views; a locked post refuses updates.
	status, body = call(t, http.MethodPatch, s.addr, "/api/collections/posts/records/"+id, "", map[string]any{"views": 40})
	if status != http.StatusOK || body["views"] != float64(1) {
		t.Errorf("update: %d %v, want views 1", status, body)
	}
	call(t, http.MethodPatch, s.addr, "/api/collections/posts/records/"+id, "", map[string]any{"locked": true})
	status, body = call(t, http.MethodPatch, s.addr, "/api/collections/posts/records/"+id, "", map[string]any{"title": "x"})
	if status != http.StatusForbidden || body["message"] != "This post is locked." {
		t.Errorf("update of a locked post: %d %v", status, body)
	}
	status, body = call(t, http.MethodDelete, s.addr, "/api/collections/posts/records/"+id, "", nil)
	data, _ = body["data"].(map[string]any)
	if locked, _ := data["locked"].(map[string]any); status != http.StatusBadRequest || locked["code"] != "validation_locked" {
		t.Errorf("delete of a locked post: %d %v", status, body)
	}
	// Rolled back: the record is still there.
	if status, _ := call(t, http.MethodGet, s.addr, "/api/collections/posts/records/"+id, "", nil); status != http.StatusOK {
		t.Errorf("the refused delete removed the record: %d", status)
	}

	// Batch goes through the same hooks: one rejection rolls back all.
	status, body = call(t, http.MethodPost, s.addr, "/api/batch", "", map[string]any{"requests": []map[string]any{
		{"method": "POST", "url": "/api/collections/posts/records", "body": map[string]any{"title": "Batch One"}},
		{"method": "POST", "url": "/api/collections/posts/records", "body": map[string]any{"title": "forbidden"}},
	}})
	if status != http.StatusBadRequest {
		t.Errorf("batch with a rejected create: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, s.addr, "/api/batch", "", map[string]any{"requests": []map[string]any{
		{"method": "POST", "url": "/api/collections/posts/records", "body": map[string]any{"title": "Batch Two"}},
	}})
	if status != http.StatusOK {
		t.Errorf("batch create: %d %v", status, body)
	}

	// The after-hook wrote the audit records (rules bypassed; the
	// collection is superusers-only), with the slug the before-hook set in
	// the batch; nothing of the rolled back batch.
	res, got := get(t, s, "/api/fn/audit", "")
	if res != http.StatusOK || got != `["created batch-two","created hello-world"]` {
		t.Errorf("audit after hooks: %d %s", res, got)
	}
	// With rules applied as a guest, the same list is refused.
	if res, got := get(t, s, "/api/fn/posts", ""); res != http.StatusForbidden {
		t.Errorf("guest list of superusers-only records: %d %s, want 403", res, got)
	}
	if res, got := get(t, s, "/api/fn/posts", s.token); res != http.StatusOK || !strings.Contains(got, "created hello-world") {
		t.Errorf("superuser list through auth: %d %s", res, got)
	}
	if res, got := get(t, s, "/api/fn/missing", ""); res != http.StatusNotFound {
		t.Errorf("find of a missing record: %d %s, want 404", res, got)
	}
}

// get sends a GET with an optional token and returns the status and body.
func get(t *testing.T, s *functionsServer, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+s.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	return res.StatusCode, strings.TrimSpace(readAll(res))
}

func readAll(res *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

func TestFunctionRoutes(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(upstream.Close)
	s := serveFunctions(t, map[string]string{"routes.js": routesJS},
		map[string]string{"BASALT_FUNCTIONS_SECRETS": "API_KEY", "BASALT_SECRET_API_KEY": "k-123", "BASALT_SECRET_OTHER": "hidden", "HOME": "/root"})
	userToken := createUser(t, s)
	for _, tc := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/api/fn/hello/world%20x?x=1", "", 200, `{"hello":"world x","q":"1"}`},
		{"/api/fn/hello", "", 404, ""},
		{"/api/fn/nope", "", 404, ""},
		{"/api/fn/me", "", 401, ""},
		{"/api/fn/me", userToken, 200, `"collection":"users"`},
		{"/api/fn/admin", "", 401, ""},
		{"/api/fn/admin", userToken, 403, ""},
		{"/api/fn/admin", s.token, 200, "root only"},
		{"/api/fn/nothing", "", 204, ""},
		{"/api/fn/async", "", 200, "async"},
		{"/api/fn/late", "", 500, ""},
		{"/api/fn/throw", "", 500, `"message":"Something went wrong while processing your request."`},
		{"/api/fn/repeat", "", 500, ""},
		{"/api/fn/sandbox", "", 200, `{"buffer":"undefined","fs":"undefined","os":"undefined","other":null,"process":"undefined","require":"undefined","secret":"k-123"}`},
		{"/api/fn/fetch?url=" + upstream.URL, "", 200, `"status":403`},
		{"/api/fn/fetch?url=file:///etc/passwd", "", 200, `"status":400`},
	} {
		status, body := get(t, s, tc.path, tc.token)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %d %s, want %d with %s", tc.path, status, body, tc.status, tc.body)
		}
		if strings.Contains(body, "secret detail") {
			t.Errorf("GET %s leaked the exception: %s", tc.path, body)
		}
	}
	// POST with a JSON body, a status and headers.
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.addr+"/api/fn/echo", strings.NewReader(`{"a":[1,2]}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(res); res.StatusCode != 201 || res.Header.Get("X-Echo") != "yes" || strings.TrimSpace(got) != `{"a":[1,2]}` {
		t.Errorf("POST /echo: %d %q %s", res.StatusCode, res.Header.Get("X-Echo"), got)
	}
	res.Body.Close()
	if !strings.Contains(s.out.String(), "secret detail") {
		t.Errorf("the route's exception was not logged")
	}
}

// createUser creates a user in the default users collection and returns
// its token.
func createUser(t *testing.T, s *functionsServer) string {
	t.Helper()
	status, body := call(t, http.MethodPost, s.addr, "/api/collections/users/records", s.token, map[string]any{
		"email": "fn-user@example.com", "password": "user-pass-123", "passwordConfirm": "user-pass-123"})
	if status != http.StatusOK {
		t.Fatalf("create user: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, s.addr, "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": "fn-user@example.com", "password": "user-pass-123"})
	if status != http.StatusOK {
		t.Fatalf("user login: %d %v", status, body)
	}
	token, _ := body["token"].(string)
	return token
}

// A function stuck in while(true) is stopped at its limit while other
// requests, function routes included, keep being served.
func TestFunctionLimits(t *testing.T) {
	s := serveFunctions(t, map[string]string{"routes.js": routesJS}, nil,
		"--functions-time-limit", "700ms", "--functions-pool", "3", "--functions-memory-mb", "8")
	var wg sync.WaitGroup
	loops := make([]string, 2)
	for i := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			status, body := get(t, s, "/api/fn/loop", "")
			loops[i] = fmt.Sprintf("%d %s after %v", status, body, time.Since(start).Round(10*time.Millisecond))
			if status != http.StatusServiceUnavailable || !strings.Contains(body, "The function exceeded its time limit.") {
				t.Errorf("loop: %s", loops[i])
			}
		}()
	}
	// While both loops run, other requests are answered.
	time.Sleep(50 * time.Millisecond)
	var served atomic.Int32
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if status, _ := get(t, s, "/api/fn/hello/x", ""); status == http.StatusOK {
			served.Add(1)
		}
		if status, _ := get(t, s, "/api/health", ""); status == http.StatusOK {
			served.Add(1)
		}
	}
	wg.Wait()
	if served.Load() < 4 {
		t.Errorf("only %d requests were served while the loops ran", served.Load())
	}
	t.Logf("loops: %v; %d other requests served meanwhile", loops, served.Load())

	// An allocation bomb is stopped (by the memory budget; on a machine
	// too busy to allocate 8 MiB in time, by the time limit: the function
	// package's tests check the budget alone).
	status, body := get(t, s, "/api/fn/bomb", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "The function exceeded its") {
		t.Errorf("bomb: %d %s", status, body)
	}
	// The interrupted runtimes were replaced: the pool still serves.
	for i := 0; i < 6; i++ {
		if status, body := get(t, s, "/api/fn/hello/again", ""); status != http.StatusOK {
			t.Fatalf("after the limits: %d %s", status, body)
		}
	}
	if !strings.Contains(s.out.String(), "function interrupted") {
		t.Errorf("no log line for the interrupted functions:\n%s", s.out.String())
	}
}

// Changed files are reloaded without dropping a request; a broken file
// keeps the previous version running.
func TestFunctionReload(t *testing.T) {
	s := serveFunctions(t, map[string]string{"v.js": `basalt.route("GET", "/v", () => ({ body: "v1" }));`}, nil)
	stop := make(chan struct{})
	var failures atomic.Int32
	var total atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				status, body := get(t, s, "/api/fn/v", "")
				total.Add(1)
				if status != http.StatusOK || (body != "v1" && body != "v2") {
					failures.Add(1)
					t.Errorf("during reload: %d %s", status, body)
				}
			}
		}()
	}
	writeFunction(t, s.fnDir, "v.js", `basalt.route("GET", "/v", () => ({ body: "v2" }));`)
	waitBody(t, s, "/api/fn/v", "v2")
	writeFunction(t, s.fnDir, "v.js", `basalt.route("GET", "/v", () => ({ body: "v3" }); // broken`)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.out.String(), "reload failed") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if !strings.Contains(s.out.String(), "reload failed") {
		t.Fatalf("the broken file was not reported:\n%s", s.out.String())
	}
	if status, body := get(t, s, "/api/fn/v", ""); status != http.StatusOK || body != "v2" {
		t.Errorf("after a broken reload: %d %s, want v2", status, body)
	}
	if failures.Load() > 0 || total.Load() < 10 {
		t.Errorf("%d of %d requests failed during reloads", failures.Load(), total.Load())
	}
	// A new file with a new route is picked up.
	writeFunction(t, s.fnDir, "w.js", `basalt.route("GET", "/w", () => ({ body: "w" }));`)
	writeFunction(t, s.fnDir, "v.js", `basalt.route("GET", "/v", () => ({ body: "v4" }));`)
	waitBody(t, s, "/api/fn/w", "w")
}

func waitBody(t *testing.T, s *functionsServer, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, body := get(t, s, path, ""); body == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %q:\n%s", path, want, s.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A file that does not load stops the server from starting with a clear
// error.
func TestFunctionBrokenFileAtStart(t *testing.T) {
	dir, fnDir := t.TempDir(), t.TempDir()
	writeFunction(t, fnDir, "bad.js", "basalt.route('GET', 'no-slash', () => 1);")
	var out syncBuffer
	err := run(context.Background(), []string{"serve", "--http", freeAddr(t), "--dir", dir, "--functions-dir", fnDir}, noEnv, strings.NewReader(""), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "bad.js") || !strings.Contains(err.Error(), "path must start with /") {
		t.Errorf("got %v, want an error naming bad.js and the problem", err)
	}
}

func TestFunctionTypesCommand(t *testing.T) {
	t.Parallel()
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"functions", "types"}, noEnv, nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"declare namespace basalt", "function beforeCreate", "class ValidationError", "records: {"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the definitions lack %q", want)
		}
	}
	if err := run(context.Background(), []string{"functions", "nope"}, noEnv, nil, &out, &errOut); err == nil {
		t.Error("an unknown subcommand was accepted")
	}
}
