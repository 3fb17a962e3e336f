package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
)

// auditEngine is one database under test: how to start a server on it, run
// the CLI against it and change its rows behind Basalt's back.
type auditEngine struct {
	name string
	// setup returns the CLI flags naming the database, a server address
	// and a function running one SQL statement (with ? placeholders).
	setup func(t *testing.T) (flags []string, addr func() string, exec func(q string, args ...any))
}

func auditEngines() []auditEngine {
	return []auditEngine{
		{"sqlite", func(t *testing.T) ([]string, func() string, func(string, ...any)) {
			dir := t.TempDir()
			return []string{"--dir", dir}, func() string { addr, _ := startServer(t, dir); return addr },
				func(q string, args ...any) {
					t.Helper()
					// The server may hold the write lock for a moment (its
					// background work writes too): wait for it as it waits.
					db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "data.db")+"?_pragma=busy_timeout(10000)")
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					if _, err := db.Exec(q, args...); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
		}},
		{"postgres", func(t *testing.T) ([]string, func() string, func(string, ...any)) {
			db := pgtest.NewDatabase(t)
			return []string{"--dir", t.TempDir(), "--db", db}, func() string { return startReplica(t, db) },
				func(q string, args ...any) {
					t.Helper()
					ctx := context.Background()
					conn, err := pgx.Connect(ctx, db)
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close(ctx)
					for i := 1; strings.Contains(q, "?"); i++ {
						q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
					}
					if _, err := conn.Exec(ctx, q, args...); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
		}},
	}
}

// auditRequest sends a JSON request and returns the status and raw body.
func auditRequest(t *testing.T, method, addr, path, token, body string) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, raw
}

// TestAuditLog drives superuser actions and sign-ins over real HTTP, reads
// them back from /api/audit, verifies the chain with "basalt audit verify",
// then alters, deletes a middle entry and deletes the newest entry
// directly in SQL: verify reports each, and is ok again once undone.
func TestAuditLog(t *testing.T) {
	for _, eng := range auditEngines() {
		t.Run(eng.name, func(t *testing.T) {
			flags, start, exec := eng.setup(t)
			ctx := context.Background()
			cli := func(args ...string) (string, error) {
				var out, errOut bytes.Buffer
				err := run(ctx, append(args, flags...), noEnv, nil, &out, &errOut)
				return out.String() + errOut.String(), err
			}
			if out, err := cli("superuser", "upsert", "root@example.com", "root-pass-123"); err != nil {
				t.Fatalf("superuser upsert: %v\n%s", err, out)
			}
			addr := start()

			do := func(method, path, token, body string, want int) []byte {
				t.Helper()
				status, raw := auditRequest(t, method, addr, path, token, body)
				if status != want {
					t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, raw)
				}
				return raw
			}
			do("POST", "/api/collections/_superusers/auth-with-password", "", `{"identity":"root@example.com","password":"wrong-pass-999"}`, 400)
			var login struct {
				Token  string
				Record struct{ ID string }
			}
			raw := do("POST", "/api/collections/_superusers/auth-with-password", "", `{"identity":"root@example.com","password":"root-pass-123"}`, 200)
			if err := json.Unmarshal(raw, &login); err != nil || login.Token == "" {
				t.Fatalf("login answer %s: %v", raw, err)
			}
			tok := login.Token
			do("POST", "/api/collections", tok, `{"name":"posts","type":"base","fields":[{"name":"title","type":"text"}]}`, 200)
			do("PATCH", "/api/collections/posts", tok, `{"listRule":""}`, 200)
			do("POST", "/api/collections/posts/records", tok, `{"title":"a"}`, 200)
			do("DELETE", "/api/collections/posts/truncate", tok, "", 204)
			do("PATCH", "/api/settings", tok, `{"smtp":{"enabled":false,"host":"mail.example.com","port":587,"username":"u","password":"smtp-secret-777"}}`, 200)
			var hook struct{ ID string }
			raw = do("POST", "/api/webhooks", tok, `{"url":"https://example.com/hook","secret":"whsec_aG9vay1zZWNyZXQtODg4"}`, 200)
			if err := json.Unmarshal(raw, &hook); err != nil || hook.ID == "" {
				t.Fatalf("webhook answer %s: %v", raw, err)
			}
			do("DELETE", "/api/webhooks/"+hook.ID, tok, "", 204)
			do("DELETE", "/api/collections/posts", tok, "", 204)

			do("GET", "/api/audit", "", "", 401)
			raw = do("GET", "/api/audit?perPage=100", tok, "", 200)
			for _, secret := range []string{"root-pass-123", "wrong-pass-999", "smtp-secret-777", "aG9vay1zZWNyZXQtODg4", tok} {
				if bytes.Contains(raw, []byte(secret)) {
					t.Errorf("the audit log shows a secret (%.12s…): %s", secret, raw)
				}
			}
			var list struct {
				TotalItems int64
				Items      []struct {
					Seq                                  int64
					ActorCollection, ActorID, IP, Action string
					Target                               string
					Detail                               map[string]any
				}
			}
			if err := json.Unmarshal(raw, &list); err != nil {
				t.Fatal(err)
			}
			var actions []string
			for i := len(list.Items) - 1; i >= 0; i-- {
				actions = append(actions, list.Items[i].Action)
			}
			want := []string{"superuser.create", "auth.password.fail", "auth.signin", "collection.create", "collection.update",
				"collection.truncate", "settings.update", "webhook.create", "webhook.delete", "collection.delete"}
			if fmt.Sprint(actions) != fmt.Sprint(want) || list.TotalItems != int64(len(want)) {
				t.Fatalf("audit actions (oldest first) %v, total %d; want %v", actions, list.TotalItems, want)
			}
			byAction := map[string]int{}
			for i, it := range list.Items {
				byAction[it.Action] = i
			}
			fail := list.Items[byAction["auth.password.fail"]]
			if fail.ActorID != "guest" || fail.IP != "127.0.0.1" || fail.Target != "root@example.com" {
				t.Errorf("failed sign-in entry %+v: want a guest from 127.0.0.1 naming the identity", fail)
			}
			create := list.Items[byAction["collection.create"]]
			if create.ActorID != login.Record.ID || create.ActorCollection != "pbc_3142635823" || create.Target != "posts" {
				t.Errorf("collection.create entry %+v: want superuser %s on posts", create, login.Record.ID)
			}
			smtp, _ := list.Items[byAction["settings.update"]].Detail["changes"].(map[string]any)["smtp"].(map[string]any)
			if smtp["password"] != "***" || smtp["host"] != "mail.example.com" {
				t.Errorf("settings.update detail smtp %v: want the host and a redacted password", smtp)
			}

			raw = do("GET", "/api/audit?action=collection&sort=seq", tok, "", 200)
			if err := json.Unmarshal(raw, &list); err != nil {
				t.Fatal(err)
			}
			if list.TotalItems != 4 || list.Items[0].Action != "collection.create" {
				t.Errorf("action=collection: total %d, first %v; want 4 from collection.create", list.TotalItems, list.Items)
			}
			raw = do("GET", "/api/audit/2", tok, "", 200)
			if !bytes.Contains(raw, []byte(`"auth.password.fail"`)) {
				t.Errorf("GET /api/audit/2: %s", raw)
			}
			do("GET", "/api/audit/999", tok, "", 404)

			verify := func(wantOK bool, wantText string) {
				t.Helper()
				out, err := cli("audit", "verify")
				if wantOK != (err == nil) || !strings.Contains(out+fmt.Sprint(err), wantText) {
					t.Fatalf("audit verify: %v\n%s\nwant ok=%v and %q", err, out, wantOK, wantText)
				}
			}
			n := len(want)
			verify(true, fmt.Sprintf("ok, %d entries", n))

			exec(`CREATE TABLE "auditCopy" AS SELECT * FROM "_audit"`)
			restore := func() {
				t.Helper()
				exec(`DELETE FROM "_audit"`)
				exec(`INSERT INTO "_audit" SELECT * FROM "auditCopy"`)
				verify(true, fmt.Sprintf("ok, %d entries", n))
			}
			tampers := []struct {
				name string
				sql  string
				args []any
				want string
			}{
				{"altered detail", `UPDATE "_audit" SET "detail" = ? WHERE "seq" = 4`,
					[]any{`{"id":"x","name":"other","type":"base"}`}, "audit entry 4: its content does not match its hash"},
				{"altered actor", `UPDATE "_audit" SET "actorId" = 'someone' WHERE "seq" = 6`, nil, "audit entry 6: its content"},
				{"deleted middle entry", `DELETE FROM "_audit" WHERE "seq" = 5`, nil, "audit entry 5: missing"},
				{"deleted newest entry", fmt.Sprintf(`DELETE FROM "_audit" WHERE "seq" = %d`, n), nil,
					fmt.Sprintf("audit entry %d: missing: the chain head names entry %d but the log ends at %d", n, n, n-1)},
				{"renumbered entries", `UPDATE "_audit" SET "seq" = "seq" + 100 WHERE "seq" >= 3`, nil, "audit entry 3: missing"},
				{"forged newest entry", fmt.Sprintf(`INSERT INTO "_audit" SELECT "seq" + 1, "created", "actorCollection", "actorId", "ip",
					"action", "target", "detail", "hash", "hash" FROM "_audit" WHERE "seq" = %d`, n), nil,
					fmt.Sprintf("audit entry %d: its content does not match its hash", n+1)},
			}
			for _, tc := range tampers {
				exec(tc.sql, tc.args...)
				verify(false, tc.want)
				restore()
			}
		})
	}
}
