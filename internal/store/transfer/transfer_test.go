package transfer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/transfer"
)

// targets are the engines copied into: SQLite always, PostgreSQL when a
// test server is configured.
var targets = []struct {
	name string
	open func(t testing.TB) store.Store
}{
	{"sqlite", openSQLite},
	{"postgres", func(t testing.TB) store.Store {
		t.Helper()
		st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

func openSQLite(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func inTx(t *testing.T, s store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.InTx(context.Background(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

func secret() string { return "secret-" + fmt.Sprint(time.Now().UnixNano()) }

// bootstrap creates the collections Basalt creates on a first start.
func bootstrap(t *testing.T, s store.Store) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error {
		for _, c := range []*schema.Collection{schema.Superusers(secret), schema.Users(secret),
			schema.MFAs(), schema.OTPs(), schema.AuthOrigins(), schema.ExternalAuths()} {
			c.Created, c.Updated = schema.FormatTime(time.Now()), schema.FormatTime(time.Now())
			if err := tx.CreateCollection(context.Background(), c); err != nil {
				return err
			}
		}
		return nil
	})
}

func field(typ, name string) *schema.Field {
	return &schema.Field{ID: schema.DefaultFieldID(typ, name), Name: name, Type: typ}
}

// source builds a SQLite store with every kind of data Copy carries, and
// returns it with the number of posts.
func source(t *testing.T) (store.Store, int) {
	t.Helper()
	ctx := context.Background()
	st := openSQLite(t)
	bootstrap(t, st)
	posts := schema.NewCollection(schema.TypeBase, "posts", nil)
	posts.ID = "pbc_posts"
	tags := field(schema.TypeSelect, "tags")
	tags.MaxSelect, tags.Values = 3, []string{"a", "b", "c"}
	author := field(schema.TypeRelation, "author")
	author.CollectionID, author.MaxSelect = schema.UsersID, 1
	files := field(schema.TypeFile, "files")
	files.MaxSelect = 5
	posts.Fields = append(posts.Fields, field(schema.TypeText, "title"), field(schema.TypeNumber, "score"),
		field(schema.TypeBool, "draft"), field(schema.TypeJSON, "meta"), tags, author, files,
		field(schema.TypeDate, "published"), field(schema.TypeEditor, "body"))
	posts.Fields = append(posts.Fields, schema.AutodateFields(false)...)
	posts.Indexes = []string{"CREATE INDEX `idx_posts_title` ON `posts` (`title`)"}
	rule := "draft = false"
	posts.ListRule = &rule
	posts.Created, posts.Updated = "2024-01-02 03:04:05.000Z", "2024-01-02 03:04:05.000Z"
	members := schema.NewCollection(schema.TypeAuth, "members", secret)
	members.ID = "pbc_members"
	members.Fields = append(members.Fields, schema.AutodateFields(false)...)
	members.Indexes = schema.AuthIndexes(members.ID, members.Name)
	members.Created, members.Updated = "2024-01-03 03:04:05.000Z", "2024-01-03 03:04:05.000Z"
	users := schema.Users(secret)
	const n = 23
	inTx(t, st, func(tx store.Tx) error {
		for _, c := range []*schema.Collection{posts, members} {
			if err := tx.CreateCollection(ctx, c); err != nil {
				return err
			}
		}
		u := schema.NewRecord(users)
		u.Data["id"], u.Data["email"], u.Data["password"], u.Data["tokenKey"] = "user00000000001", "ann@example.com", "$2a$10$hash", "tk-ann"
		if err := tx.InsertRecord(ctx, u); err != nil {
			return err
		}
		m := schema.NewRecord(members)
		m.Data["id"], m.Data["email"], m.Data["password"], m.Data["tokenKey"], m.Data["verified"] = "member000000001", "bob@example.com", "$2a$10$other", "tk-bob", true
		if err := tx.InsertRecord(ctx, m); err != nil {
			return err
		}
		for i := range n {
			r := schema.NewRecord(posts)
			r.Data["id"] = fmt.Sprintf("post%011d", i)
			r.Data["title"], r.Data["score"], r.Data["draft"] = fmt.Sprintf("Post %d", i), float64(i)+0.5, i%2 == 0
			r.Data["meta"] = json.RawMessage(fmt.Sprintf(`{"b": [1, 2], "a": %d}`, i))
			r.Data["tags"], r.Data["author"], r.Data["files"] = []string{"a", "c"}, "user00000000001", []string{"x_abc.png", "y_def.txt"}
			r.Data["published"], r.Data["body"] = "2024-05-06 07:08:09.123Z", "<p>hi</p>"
			r.Data["created"], r.Data["updated"] = "2024-02-02 00:00:00.000Z", "2024-02-03 00:00:00.000Z"
			if err := tx.InsertRecord(ctx, r); err != nil {
				return err
			}
		}
		if err := tx.SetParam(ctx, "settings", []byte(`{"meta":{"appName":"Moved"}}`)); err != nil {
			return err
		}
		if err := tx.SetParam(ctx, "tokenSigningKeys", []byte(`[{"kid":"k1"}]`)); err != nil {
			return err
		}
		now := time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC)
		w := &store.Webhook{ID: "hook1", URL: "https://example.com/hook", Collections: []string{"posts"},
			Actions: []store.Action{store.ActionCreate}, Secret: "whsec_x", Enabled: true, Created: now, Updated: now}
		if err := tx.SaveWebhook(ctx, w); err != nil {
			return err
		}
		for i := range 3 {
			d := &store.Delivery{ID: fmt.Sprintf("del%d", i), WebhookID: "hook1", EventID: fmt.Sprintf("ev%d", i),
				Event: json.RawMessage(`{"id":"ev"}`), Status: store.DeliveryFailed, AttemptCount: 1, NextAttempt: now,
				Attempts: []store.Attempt{{Time: now, Status: 500, Error: "boom"}}, Created: now, Updated: now}
			if err := tx.InsertDelivery(ctx, d); err != nil {
				return err
			}
		}
		for i, state := range []store.JobState{store.JobQueued, store.JobFailed, store.JobDead, store.JobRunning, store.JobSucceeded, store.JobQueued, store.JobQueued} {
			j := &store.Job{ID: fmt.Sprintf("job%d", i), Name: "mail", Payload: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`), State: state,
				Priority: i % 3, Attempts: i % 2, MaxAttempts: 3, RunAt: now.Add(time.Duration(i) * time.Minute), LastError: "e" + fmt.Sprint(i),
				Created: now, Updated: now}
			if i == 1 {
				j.IdempotencyKey = "order-1"
			}
			if _, err := tx.EnqueueJob(ctx, j); err != nil {
				return err
			}
		}
		for i := range 4 {
			e := &store.AuditEntry{Time: now.Add(time.Duration(i) * time.Second), ActorID: "root", ActorCollection: "_superusers",
				IP: "127.0.0.1", Action: "collection.create", Target: "posts", Detail: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`)}
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return st, n
}

func TestCopyAndVerify(t *testing.T) {
	for _, target := range targets {
		t.Run(target.name, func(t *testing.T) {
			ctx := context.Background()
			src, n := source(t)
			dst := target.open(t)
			bootstrap(t, dst) // as a `basalt serve` on the new database would
			var finished []string
			opts := transfer.Options{Params: []string{"settings", "tokenSigningKeys"}, Batch: 5, Progress: func(p transfer.Progress) {
				if p.Done > p.Total {
					t.Errorf("progress %+v: done past total", p)
				}
				if p.Finished {
					finished = append(finished, fmt.Sprintf("%s=%d/%d", p.Collection, p.Done, p.Total))
				}
			}}
			sum, err := transfer.Copy(ctx, src, dst, opts)
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			want := transfer.Summary{Collections: 8, Records: int64(n) + 2, Params: 2, Webhooks: 1, Deliveries: 3, AuditEntries: 4, Jobs: 7}
			if *sum != want {
				t.Errorf("summary %+v, want %+v", *sum, want)
			}
			if got := strings.Join(finished, " "); !strings.Contains(got, fmt.Sprintf("posts=%d/%d", n, n)) || !strings.Contains(got, "users=1/1") {
				t.Errorf("finished progress: %s", got)
			}
			rep, err := transfer.Verify(ctx, src, dst, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("verify after copy: %+v", rep.Checks)
			}
			if len(rep.Checks) != 8+6 {
				t.Errorf("%d checks, want one per collection and 6 more", len(rep.Checks))
			}
			// Jobs keep their state; the running one lost its lease and is
			// claimed on the target at once.
			if j, err := dst.Job(ctx, "job1"); err != nil || j.State != store.JobFailed || j.IdempotencyKey != "order-1" || j.LastError != "e1" {
				t.Errorf("copied job1 = %+v, %v", j, err)
			}
			if j, err := dst.Job(ctx, "job3"); err != nil || j.State != store.JobRunning || j.LeaseOwner != "" || !j.LeaseUntil.IsZero() {
				t.Errorf("copied running job3 = %+v, %v; want running without a lease", j, err)
			}

			// Definitions arrive as stored: secrets, dates, order.
			srcCols, _ := src.Collections(ctx)
			dstCols, _ := dst.Collections(ctx)
			for i := range srcCols {
				a, _ := json.Marshal(srcCols[i])
				b, _ := json.Marshal(dstCols[i])
				if string(a) != string(b) {
					t.Errorf("collection %d:\n got %s\nwant %s", i, b, a)
				}
			}
			byName := map[string]*schema.Collection{}
			for _, c := range dstCols {
				byName[c.Name] = c
			}
			users := byName["users"]
			recs, err := dst.FindRecords(ctx, &store.Query{Collection: users})
			if err != nil || len(recs) != 1 || recs[0].String("password") != "$2a$10$hash" || recs[0].String("tokenKey") != "tk-ann" {
				t.Errorf("users on the target: %v %+v", err, recs)
			}
			posts := byName["posts"]
			recs, err = dst.FindRecords(ctx, &store.Query{Collection: posts, IDs: []string{"post00000000007"}})
			if err != nil || len(recs) != 1 {
				t.Fatalf("post 7: %v %v", err, recs)
			}
			if got := string(recs[0].Data["meta"].(json.RawMessage)); got != `{"b": [1, 2], "a": 7}` {
				t.Errorf("json field: got %s, want the text as written", got)
			}
			if got := recs[0].String("updated"); got != "2024-02-03 00:00:00.000Z" {
				t.Errorf("updated: got %s", got)
			}
			if v, err := dst.Param(ctx, "tokenSigningKeys"); err != nil || string(v) != `[{"kid":"k1"}]` {
				t.Errorf("signing keys: %s %v", v, err)
			}
			entries, _ := dst.AuditEntries(ctx, &store.AuditQuery{})
			srcEntries, _ := src.AuditEntries(ctx, &store.AuditQuery{})
			if len(entries) != 4 || entries[3].Hash != srcEntries[3].Hash {
				t.Errorf("audit entries: %d", len(entries))
			}

			// A second copy into the same target is refused and writes nothing.
			if _, err := transfer.Copy(ctx, src, dst, opts); !errors.Is(err, transfer.ErrNotEmpty) {
				t.Errorf("copy into a filled target: %v, want ErrNotEmpty", err)
			}
			if rep, err := transfer.Verify(ctx, src, dst, opts); err != nil || !rep.OK() {
				t.Errorf("target changed by a refused copy: %v %+v", err, rep)
			}

			// A changed or missing row on either side shows.
			inTx(t, dst, func(tx store.Tx) error {
				recs[0].Data["title"] = "changed"
				return tx.UpdateRecord(ctx, recs[0])
			})
			rep, err = transfer.Verify(ctx, src, dst, opts)
			if err != nil {
				t.Fatal(err)
			}
			bad := failed(rep)
			if len(bad) != 1 || bad[0].Name != "posts" || bad[0].SourceRows != bad[0].TargetRows || bad[0].SourceSum == bad[0].TargetSum {
				t.Errorf("after changing a post: failed checks %+v, want posts' checksum only", bad)
			}
			inTx(t, dst, func(tx store.Tx) error { return tx.DeleteRecord(ctx, users, "user00000000001") })
			inTx(t, dst, func(tx store.Tx) error { return tx.SetParam(ctx, "settings", []byte(`{}`)) })
			rep, _ = transfer.Verify(ctx, src, dst, opts)
			var names []string
			for _, c := range failed(rep) {
				names = append(names, c.Name)
			}
			if got := strings.Join(names, ","); got != "posts,users,[params]" {
				t.Errorf("failed checks %s, want posts,users,[params]", got)
			}
		})
	}
}

func failed(rep *transfer.Report) []transfer.Check {
	var out []transfer.Check
	for _, c := range rep.Checks {
		if !c.OK() {
			out = append(out, c)
		}
	}
	return out
}

// A target with data of its own is refused before anything is written.
func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	ctx := context.Background()
	src, _ := source(t)
	opts := transfer.Options{Params: []string{"settings"}}
	cases := map[string]func(t *testing.T, dst store.Store){
		"a collection of its own": func(t *testing.T, dst store.Store) {
			c := schema.NewCollection(schema.TypeBase, "notes", nil)
			c.ID = "pbc_notes"
			inTx(t, dst, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) })
		},
		"a superuser": func(t *testing.T, dst store.Store) {
			bootstrap(t, dst)
			cols, _ := dst.Collections(ctx)
			r := schema.NewRecord(cols[0])
			r.Data["id"], r.Data["email"] = "root00000000001", "root@example.com"
			inTx(t, dst, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) })
		},
		"a webhook": func(t *testing.T, dst store.Store) {
			inTx(t, dst, func(tx store.Tx) error {
				return tx.SaveWebhook(ctx, &store.Webhook{ID: "h", URL: "https://example.com", Created: time.Now(), Updated: time.Now()})
			})
		},
		"audit entries": func(t *testing.T, dst store.Store) {
			inTx(t, dst, func(tx store.Tx) error { return tx.AppendAudit(ctx, &store.AuditEntry{Time: time.Now(), Action: "x"}) })
		},
	}
	for name, fill := range cases {
		t.Run(name, func(t *testing.T) {
			dst := openSQLite(t)
			fill(t, dst)
			before, _ := dst.Collections(ctx)
			_, err := transfer.Copy(ctx, src, dst, opts)
			if !errors.Is(err, transfer.ErrNotEmpty) {
				t.Fatalf("Copy: %v, want ErrNotEmpty", err)
			}
			after, _ := dst.Collections(ctx)
			if len(after) != len(before) {
				t.Errorf("collections %d before, %d after a refused copy", len(before), len(after))
			}
			if _, err := dst.Param(ctx, "settings"); err == nil {
				t.Error("settings written by a refused copy")
			}
		})
	}
}
