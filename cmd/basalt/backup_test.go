package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/backup"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// client talks JSON to a server started by startServer.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) do(method, path string, body io.Reader, contentType string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", c.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func (c *client) json(method, path string, in any, want int) []byte {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	status, out := c.do(method, path, body, "application/json")
	if status != want {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, status, out, want)
	}
	return out
}

func (c *client) upload(name string, content []byte) (int, []byte) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(content)
	mw.Close()
	return c.do("POST", "/api/backups/upload", &buf, mw.FormDataContentType())
}

func (c *client) backupKeys() []string {
	c.t.Helper()
	var list []struct {
		Key      string `json:"key"`
		Size     int64  `json:"size"`
		Modified string `json:"modified"`
	}
	if err := json.Unmarshal(c.json("GET", "/api/backups", nil, 200), &list); err != nil {
		c.t.Fatal(err)
	}
	var keys []string
	for _, b := range list {
		if b.Size <= 0 || !strings.HasSuffix(b.Modified, "Z") {
			c.t.Errorf("backup %+v: want a size and a date", b)
		}
		keys = append(keys, b.Key)
	}
	sort.Strings(keys)
	return keys
}

func zipBytes(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range entries {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

// The whole backup cycle over HTTP against a real server: create, list,
// download with a superuser file token, hostile uploads refused with
// nothing changed, upload, delete, and a restore after which the server
// serves the restored data.
func TestBackupsOverHTTP(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	if err := run(ctx, []string{"superuser", "upsert", "root@example.com", "root-pass-123", "--dir", dir}, noEnv, strings.NewReader(""), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	addr, stop := startServer(t, dir)
	c := &client{t: t, base: "http://" + addr}
	var auth struct {
		Token string `json:"token"`
	}
	json.Unmarshal(c.json("POST", "/api/collections/_superusers/auth-with-password", map[string]any{"identity": "root@example.com", "password": "root-pass-123"}, 200), &auth)

	// Anonymous callers are refused.
	c.json("GET", "/api/backups", nil, 401)
	c.json("POST", "/api/backups", map[string]any{}, 401)
	c.token = auth.Token

	c.json("POST", "/api/collections", map[string]any{"name": "notes", "type": "base",
		"fields": []map[string]any{{"name": "title", "type": "text"}}, "createRule": "", "listRule": ""}, 200)
	c.json("POST", "/api/collections/notes/records", map[string]any{"title": "before backup"}, 200)

	c.json("POST", "/api/backups", map[string]any{"name": "first.zip"}, 204)
	c.json("POST", "/api/backups", map[string]any{"name": "first.zip"}, 400)
	c.json("POST", "/api/backups", map[string]any{"name": "../evil.zip"}, 400)
	c.json("POST", "/api/backups", map[string]any{"name": "Bad.zip"}, 400)
	c.json("POST", "/api/backups", nil, 204)
	keys := c.backupKeys()
	if len(keys) != 2 || keys[0] != "first.zip" || !strings.HasPrefix(keys[1], "pb_backup_") {
		t.Fatalf("backups = %v", keys)
	}

	// Download: a superuser file token is required.
	var ft struct {
		Token string `json:"token"`
	}
	json.Unmarshal(c.json("POST", "/api/files/token", nil, 200), &ft)
	anon := &client{t: t, base: c.base}
	if status, _ := anon.do("GET", "/api/backups/first.zip", nil, ""); status != 403 {
		t.Fatalf("download without a token = %d, want 403", status)
	}
	if status, _ := anon.do("GET", "/api/backups/first.zip?token=nonsense", nil, ""); status != 403 {
		t.Fatalf("download with a bad token = %d, want 403", status)
	}
	status, zipped := anon.do("GET", "/api/backups/first.zip?token="+ft.Token, nil, "")
	if status != 200 {
		t.Fatalf("download = %d", status)
	}
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatalf("downloaded backup is not a zip: %v", err)
	}
	var dbData []byte
	for _, f := range zr.File {
		if f.Name == "data.db" {
			rc, _ := f.Open()
			dbData, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	if len(dbData) == 0 {
		t.Fatal("downloaded backup has no data.db")
	}
	if status, _ := anon.do("GET", "/api/backups/missing.zip?token="+ft.Token, nil, ""); status != 404 {
		t.Fatalf("download of a missing backup = %d, want 404", status)
	}

	// Hostile uploads: 400, and nothing changes.
	hostile := map[string][]byte{
		"notzip.zip":    []byte("not a zip at all"),
		"slip.zip":      zipBytes(t, map[string][]byte{"data.db": dbData, "../../escape.txt": []byte("x")}),
		"nodb.zip":      zipBytes(t, map[string][]byte{"storage/a.txt": []byte("x")}),
		"corruptdb.zip": zipBytes(t, map[string][]byte{"data.db": append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xAB}, 8192)...)}),
	}
	for name, body := range hostile {
		if status, out := c.upload(name, body); status != 400 {
			t.Errorf("upload %s = %d %s, want 400", name, status, out)
		}
	}
	if status, _ := c.upload("Bad Name.zip", zipBytes(t, map[string][]byte{"data.db": dbData})); status != 400 {
		t.Errorf("upload with a malformed name = %d, want 400", status)
	}
	if got := c.backupKeys(); len(got) != 2 {
		t.Fatalf("backups after hostile uploads = %v, want the 2 made before", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape.txt")); err == nil {
		t.Fatal("zip slip: escape.txt was written")
	}
	if status, out := c.upload("uploaded.zip", zipped); status != 204 {
		t.Fatalf("upload = %d %s", status, out)
	}
	c.json("DELETE", "/api/backups/uploaded.zip", nil, 204)
	c.json("DELETE", "/api/backups/uploaded.zip", nil, 404)

	// Restore: data written after the backup disappears once the server
	// has swapped the backup in.
	c.json("POST", "/api/collections/notes/records", map[string]any{"title": "after backup"}, 200)
	c.json("POST", "/api/backups/missing.zip/restore", nil, 404)
	c.json("POST", "/api/backups/first.zip/restore", nil, 204)
	deadline := time.Now().Add(20 * time.Second)
	for {
		// The server is briefly away while it swaps the data in.
		status, out := 0, []byte(nil)
		if res, err := http.Get(c.base + "/api/collections/notes/records"); err == nil {
			status = res.StatusCode
			out, _ = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if status == 200 && bytes.Contains(out, []byte(`"totalItems":1`)) && bytes.Contains(out, []byte("before backup")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restored data not served: last answer %d %s", status, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Superuser sessions of the restored database still work, and the
	// backups survive the restore.
	if got := c.backupKeys(); len(got) != 2 {
		t.Fatalf("backups after restore = %v", got)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// The CLI makes a backup next to a running server's data and restores it
// while no server runs.
func TestBackupCommands(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, append(args, "--dir", dir), noEnv, strings.NewReader(""), &out, io.Discard)
		return out.String(), err
	}
	if _, err := cli("superuser", "upsert", "one@example.com", "root-pass-123"); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("backup", "create", "cli.zip"); err != nil || !strings.Contains(out, "cli.zip") {
		t.Fatalf("backup create = %q, %v", out, err)
	}
	if _, err := cli("superuser", "upsert", "two@example.com", "root-pass-123"); err != nil {
		t.Fatal(err)
	}
	if out, err := cli("backup", "list"); err != nil || !strings.Contains(out, "cli.zip") {
		t.Fatalf("backup list = %q, %v", out, err)
	}
	if _, err := cli("backup", "restore", "missing.zip"); err == nil {
		t.Fatal("restore of a missing backup: want an error")
	}
	if out, err := cli("backup", "restore", "cli.zip"); err != nil {
		t.Fatalf("backup restore = %q, %v", out, err)
	}
	// two@ was added after the backup: deleting it now fails (had the
	// restore not happened, one@ would remain and the delete succeed).
	if _, err := cli("superuser", "delete", "two@example.com"); err == nil {
		t.Fatal("superuser added after the backup survived the restore")
	}
	if _, err := cli("backup", "create", "--db", "postgres://x@127.0.0.1:1/x"); err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Fatalf("backup on PostgreSQL: %v", err)
	}
}

// A restore staged by a process that died before applying it (the API
// stages, then the server restarts) is applied when serve starts.
func TestServeAppliesStagedRestore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cli := func(args ...string) error {
		return run(ctx, append(args, "--dir", dir), noEnv, strings.NewReader(""), io.Discard, io.Discard)
	}
	if err := cli("superuser", "upsert", "one@example.com", "root-pass-123"); err != nil {
		t.Fatal(err)
	}
	if err := cli("backup", "create", "staged.zip"); err != nil {
		t.Fatal(err)
	}
	if err := cli("superuser", "upsert", "two@example.com", "root-pass-123"); err != nil {
		t.Fatal(err)
	}
	svc := backup.New(backup.Options{Dir: dir, Check: sqlite.CheckFile})
	if err := svc.Stage(ctx, "staged.zip"); err != nil {
		t.Fatal(err)
	}
	addr, _ := startServer(t, dir)
	c := &client{t: t, base: "http://" + addr}
	login := func(email string) int {
		status, _ := c.do("POST", "/api/collections/_superusers/auth-with-password",
			strings.NewReader(`{"identity":"`+email+`","password":"root-pass-123"}`), "application/json")
		return status
	}
	if got := login("one@example.com"); got != 200 {
		t.Fatalf("login of the superuser in the backup = %d, want 200", got)
	}
	if got := login("two@example.com"); got != 400 {
		t.Fatalf("login of the superuser added after the backup = %d, want 400", got)
	}
	if _, err := os.Stat(filepath.Join(dir, ".restore")); err == nil {
		t.Fatal("the staged restore is still there after serve applied it")
	}
}
