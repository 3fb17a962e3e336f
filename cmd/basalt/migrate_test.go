package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/transfer"
)

// migrateFixture fills a SQLite data directory through a real server: a
// superuser, a user with a password, a base collection with every kind of
// field (relation, file, json, select, date, …) and records, one with an
// uploaded file, settings, a webhook and the audit entries all this makes.
// It returns the user's and the superuser's tokens issued on SQLite, the
// id of the post with the file and the stored file name.
func migrateFixture(t *testing.T, dir string) (userToken, rootToken, postID, fileName string) {
	t.Helper()
	ctx := context.Background()
	if err := run(ctx, []string{"superuser", "upsert", "root@example.com", "root-pass-123", "--dir", dir}, noEnv, nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	addr, stop := startServer(t, dir)
	c := &client{t: t, base: "http://" + addr}
	var auth struct {
		Token string `json:"token"`
	}
	json.Unmarshal(c.json("POST", "/api/collections/_superusers/auth-with-password",
		map[string]string{"identity": "root@example.com", "password": "root-pass-123"}, 200), &auth)
	c.token = auth.Token
	rootToken = auth.Token
	c.json("POST", "/api/collections", map[string]any{
		"name": "posts", "type": "base", "listRule": "", "viewRule": "",
		"fields": []map[string]any{
			{"name": "title", "type": "text", "required": true},
			{"name": "score", "type": "number"},
			{"name": "draft", "type": "bool"},
			{"name": "meta", "type": "json"},
			{"name": "tags", "type": "select", "values": []string{"a", "b", "c"}, "maxSelect": 3},
			{"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
			{"name": "attachment", "type": "file", "maxSelect": 1},
			{"name": "published", "type": "date"},
			{"name": "body", "type": "editor"},
			{"name": "created", "type": "autodate", "onCreate": true},
			{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
		},
		"indexes": []string{"CREATE INDEX `idx_posts_title` ON `posts` (`title`)"},
	}, 200)
	var user struct {
		ID string `json:"id"`
	}
	json.Unmarshal(c.json("POST", "/api/collections/users/records", map[string]any{
		"email": "ann@example.com", "password": "ann-pass-1234", "passwordConfirm": "ann-pass-1234", "name": "Ann",
	}, 200), &user)
	for i, title := range []string{"first", "second", "third"} {
		c.json("POST", "/api/collections/posts/records", map[string]any{
			"title": title, "score": i, "draft": i == 1, "meta": map[string]any{"n": i, "list": []int{1, 2}},
			"tags": []string{"a", "c"}, "author": user.ID, "published": "2024-05-06 07:08:09.123Z", "body": "<p>hi</p>",
		}, 200)
	}
	// One post with an uploaded file.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("title", "with file")
	fw, _ := mw.CreateFormFile("attachment", "notes.txt")
	fw.Write([]byte("file body"))
	mw.Close()
	status, body := c.do("POST", "/api/collections/posts/records", &buf, mw.FormDataContentType())
	if status != 200 {
		t.Fatalf("upload: %d %s", status, body)
	}
	var post struct {
		ID         string `json:"id"`
		Attachment string `json:"attachment"`
	}
	json.Unmarshal(body, &post)
	c.json("PATCH", "/api/settings", map[string]any{"meta": map[string]any{"appName": "Moved App"}}, 200)
	// Disabled: the test sends no traffic outside this machine.
	c.json("POST", "/api/webhooks", map[string]any{"url": "https://example.com/hook", "enabled": false}, 200)
	c.token = ""
	json.Unmarshal(c.json("POST", "/api/collections/users/auth-with-password",
		map[string]string{"identity": "ann@example.com", "password": "ann-pass-1234"}, 200), &auth)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return auth.Token, rootToken, post.ID, post.Attachment
}

// The whole move: a SQLite directory filled through the API is copied into
// PostgreSQL by "basalt migrate", verified, and then served from
// PostgreSQL: the user signs in with the same password, tokens issued on
// SQLite stay valid, records, files, settings and the audit chain are there.
func TestMigrateToPostgres(t *testing.T) {
	db := pgtest.NewDatabase(t)
	dir := t.TempDir()
	userToken, rootToken, postID, fileName := migrateFixture(t, dir)
	ctx := context.Background()
	// The new database was opened once by Basalt (a replica started too
	// early): it has the system collections, with their own secrets, and
	// still counts as empty.
	a, err := open(ctx, t.TempDir(), db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(a.collections.All()); n != 6 {
		t.Errorf("bootstrapped target: %d collections, want 6", n)
	}
	a.store.Close()

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"migrate", "--dir", dir, "--to", db}, noEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	got := out.String()
	t.Logf("migrate output:\n%s", got)
	for _, want := range []string{"posts ", "4/4 records", "users ", "1/1 records", "All ", "checks match", "Uploaded files were not copied", "storage"} {
		if !strings.Contains(got, want) {
			t.Errorf("migrate output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "MISMATCH") || strings.Contains(got, "\r") {
		t.Errorf("migrate output (not a terminal) has a mismatch or a redrawn bar:\n%s", got)
	}
	out.Reset()
	if err := run(ctx, []string{"audit", "verify", "--db", db}, noEnv, nil, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "ok, ") || out.String() == "ok, 0 entries\n" {
		t.Errorf("audit verify on the copy: %v %q", err, out.String())
	}

	// Served from PostgreSQL with the same --dir (for storage/).
	addr := startReplica(t, db, "--dir", dir)
	c := &client{t: t, base: "http://" + addr}
	c.json("POST", "/api/collections/users/auth-with-password",
		map[string]string{"identity": "ann@example.com", "password": "ann-pass-1234"}, 200)
	if status, _ := c.do("POST", "/api/collections/users/auth-with-password", strings.NewReader(`{"identity":"ann@example.com","password":"wrong-pass-1234"}`), "application/json"); status != 400 {
		t.Errorf("wrong password on the copy: %d, want 400", status)
	}
	c.token = userToken
	c.json("POST", "/api/collections/users/auth-refresh", nil, 200)
	c.token = rootToken
	var list struct {
		TotalItems int `json:"totalItems"`
		Items      []struct {
			Title string          `json:"title"`
			Meta  json.RawMessage `json:"meta"`
		} `json:"items"`
	}
	json.Unmarshal(c.json("GET", "/api/collections/posts/records?sort=title", nil, 200), &list)
	if list.TotalItems != 4 || len(list.Items) != 4 || list.Items[0].Title != "first" || !strings.Contains(string(list.Items[0].Meta), `"list"`) {
		t.Errorf("posts on PostgreSQL: %+v", list)
	}
	var set struct {
		Meta struct {
			AppName string `json:"appName"`
		} `json:"meta"`
	}
	json.Unmarshal(c.json("GET", "/api/settings", nil, 200), &set)
	if set.Meta.AppName != "Moved App" {
		t.Errorf("settings on PostgreSQL: app name %q", set.Meta.AppName)
	}
	var hooks struct {
		Items []struct {
			URL string `json:"url"`
		} `json:"items"`
	}
	json.Unmarshal(c.json("GET", "/api/webhooks", nil, 200), &hooks)
	if len(hooks.Items) != 1 || hooks.Items[0].URL != "https://example.com/hook" {
		t.Errorf("webhooks on PostgreSQL: %+v", hooks)
	}
	c.token = ""
	status, file := c.do("GET", "/api/files/posts/"+postID+"/"+fileName, nil, "")
	if status != 200 || string(file) != "file body" {
		t.Errorf("file on PostgreSQL: %d %q", status, file)
	}

	// A second run finds the target filled and writes nothing.
	out.Reset()
	err = run(ctx, []string{"migrate", "--dir", dir, "--to", db}, noEnv, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("migrate into a filled database: %v", err)
	}
}

func TestMigrateRefusals(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no source database", []string{"migrate", "--dir", empty, "--to", "postgres://127.0.0.1:1/none"}, nil, "no SQLite database in"},
		{"no target", []string{"migrate", "--dir", empty}, nil, "--to (or BASALT_DB)"},
		{"extra argument", []string{"migrate", "up", "--dir", empty}, nil, "usage: basalt migrate"},
		{"source from BASALT_DIR", []string{"migrate"}, map[string]string{"BASALT_DIR": empty, "BASALT_DB": "postgres://127.0.0.1:1/none"}, "no SQLite database in " + empty},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			err := run(ctx, tt.args, getenv, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(empty, "data.db")); err == nil {
		t.Error("a refused migrate created data.db")
	}
}

// printReport marks every differing check and counts them.
func TestPrintReport(t *testing.T) {
	rep := &transfer.Report{Checks: []transfer.Check{
		{Name: "posts", SourceRows: 3, TargetRows: 3, SourceSum: "aaaaaaaaaaaaaaaa", TargetSum: "aaaaaaaaaaaaaaaa"},
		{Name: "users", SourceRows: 2, TargetRows: 2, SourceSum: "bbbbbbbbbbbbbbbb", TargetSum: "cccccccccccccccc"},
		{Name: "notes", SourceRows: 1, TargetRows: -1, SourceSum: "dddddddddddddddd", TargetSum: "missing"},
	}}
	var out bytes.Buffer
	if n := printReport(&out, rep); n != 2 {
		t.Errorf("printReport counted %d failures, want 2", n)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || strings.Contains(lines[1], "MISMATCH") || !strings.Contains(lines[2], "MISMATCH (target cccccccccccc)") ||
		!strings.Contains(lines[3], "missing") {
		t.Errorf("report:\n%s", out.String())
	}
}

// On a terminal the bar is redrawn in place; elsewhere one line per item.
func TestProgressBar(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { now = now.Add(time.Second); return now }
	var term, plain bytes.Buffer
	for _, p := range []*progressBar{newProgressBar(&term, true, clock), newProgressBar(&plain, false, clock)} {
		p.update("posts", 0, 10, false)
		p.update("posts", 5, 10, false)
		p.update("posts", 10, 10, true)
	}
	if got := term.String(); strings.Count(got, "\r") != 3 || !strings.Contains(got, "[###############...............] 5/10") ||
		!strings.HasSuffix(got, "10/10 (5/s)\x1b[K\n") {
		t.Errorf("terminal output %q", got)
	}
	if got := plain.String(); got != "posts                    10/10 records (5/s)\n" {
		t.Errorf("plain output %q", got)
	}
	if isTerminal(&plain) {
		t.Error("a buffer is not a terminal")
	}
}
