package record_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// fixture is a record service over a fresh SQLite store with a users
// collection (from the system setup), "authors" and "posts" whose author
// relation cascades, and "comments" that unlink from posts.
type fixture struct {
	st      *sqlite.Store
	cols    *collection.Service
	records *record.Service
	commits atomic.Int64
	users   *schema.Collection
	// ann and bob are users.
	ann, bob *schema.Record
}

const ownerRule = `owner = @request.auth.id`

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatalf("collection.New: %v", err)
	}
	f := &fixture{st: st, cols: cols}
	f.records = record.New(st, cols, nil, time.Now, random.ID)
	f.records.OnCommit(func() { f.commits.Add(1) })
	f.users = cols.Lookup("users")
	for _, def := range []string{
		`{"name":"posts","listRule":"` + ownerRule + `","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
			"fields":[{"name":"title","type":"text"},{"name":"owner","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1},
			{"name":"tags","type":"select","values":["a","b","c"],"maxSelect":3},{"name":"meta","type":"json"},{"name":"n","type":"number"}]}`,
		`{"name":"comments","listRule":"","viewRule":null,"createRule":"","updateRule":"","deleteRule":"",
			"fields":[{"name":"body","type":"text"},{"name":"post","type":"relation","collectionId":"` + schema.DefaultCollectionID(schema.TypeBase, "posts") + `","maxSelect":1,"cascadeDelete":true},
			{"name":"mentions","type":"relation","collectionId":"` + schema.DefaultCollectionID(schema.TypeBase, "posts") + `","maxSelect":5}]}`,
	} {
		if _, err := cols.Create(ctx, []byte(def)); err != nil {
			t.Fatalf("creating collection: %v", err)
		}
	}
	f.ann = f.create(t, su(), "users", map[string]any{"email": "ann@example.com", "password": "password123", "passwordConfirm": "password123"})
	f.bob = f.create(t, su(), "users", map[string]any{"email": "bob@example.com", "password": "password123", "passwordConfirm": "password123"})
	return f
}

// su is a superuser request.
func su() *record.Request {
	return &record.Request{Method: "POST", Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}, Data: map[string]any{"id": "root"}}}
}

func as(r *schema.Record) *record.Request { return &record.Request{Method: "POST", Auth: r} }

func (f *fixture) create(t *testing.T, req *record.Request, coll string, data map[string]any) *schema.Record {
	t.Helper()
	it, err := f.records.Create(context.Background(), req, coll, record.Input{Data: data}, "")
	if err != nil {
		t.Fatalf("Create %s: %v", coll, err)
	}
	return it.Record
}

// drain returns the events after seq after.
func (f *fixture) drain(t *testing.T, after int64) []*store.Event {
	t.Helper()
	evs, err := f.st.Events(context.Background(), after, 1000)
	if err != nil {
		t.Fatalf("Events: %v", err)
	}
	return evs
}

func (f *fixture) last(t *testing.T) int64 {
	t.Helper()
	n, err := f.st.LastEventSeq(context.Background())
	if err != nil {
		t.Fatalf("LastEventSeq: %v", err)
	}
	return n
}

// summary describes events as "action collection/record" lines.
func summary(evs []*store.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprintf("%s %s/%s", e.Action, e.CollectionName, e.RecordID)
	}
	return out
}

func TestWritesAppendEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	start, commits := f.last(t), f.commits.Load()

	post := f.create(t, as(f.ann), "posts", map[string]any{"title": "hello", "owner": f.ann.ID(), "tags": []any{"b", "a"}, "meta": map[string]any{"k": 1}, "n": 2.5})
	it, err := f.records.Update(ctx, as(f.ann), "posts", post.ID(), record.Input{Data: map[string]any{"title": "hello again"}}, "")
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	updated := it.Record
	if err := f.records.Delete(ctx, as(f.ann), "posts", post.ID()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	evs := f.drain(t, start)
	want := []string{"create posts/" + post.ID(), "update posts/" + post.ID(), "delete posts/" + post.ID()}
	if got := summary(evs); !reflect.DeepEqual(got, want) {
		t.Fatalf("events: got %v, want %v", got, want)
	}
	if got := f.commits.Load() - commits; got != 3 {
		t.Errorf("commit hook calls: got %d, want 3", got)
	}
	ids := map[string]bool{}
	for i, e := range evs {
		if e.ID == "" || ids[e.ID] {
			t.Errorf("event %d: id %q missing or repeated", i, e.ID)
		}
		ids[e.ID] = true
		if e.CollectionID != schema.DefaultCollectionID(schema.TypeBase, "posts") || e.Time.IsZero() {
			t.Errorf("event %d: %+v", i, e)
		}
	}
	if evs[0].Before != nil || evs[0].After == nil || evs[1].Before == nil || evs[1].After == nil || evs[2].Before == nil || evs[2].After != nil {
		t.Fatalf("before/after presence: %+v", evs)
	}
	// The carried records decode to what was stored.
	for i, want := range []*schema.Record{post, updated, updated} {
		er, err := f.records.DecodeEvent(evs[i])
		if err != nil {
			t.Fatalf("DecodeEvent %d: %v", i, err)
		}
		if !reflect.DeepEqual(er.Record.Data, want.Data) {
			t.Errorf("event %d record:\n got %#v\nwant %#v", i, er.Record.Data, want.Data)
		}
	}
	var before map[string]any
	if err := json.Unmarshal(evs[1].Before, &before); err != nil || before["title"] != "hello" {
		t.Errorf("update before: %s, %v", evs[1].Before, err)
	}
}

func TestFailedWritesAppendNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.cols.Update(ctx, "posts", []byte(`{"createRule":"owner = @request.auth.id"}`)); err != nil {
		t.Fatalf("updating posts: %v", err)
	}
	post := f.create(t, as(f.ann), "posts", map[string]any{"title": "mine", "owner": f.ann.ID()})
	start, commits := f.last(t), f.commits.Load()

	// The create rule fails after the row was inserted: the insert and its
	// event roll back together.
	if _, err := f.records.Create(ctx, as(f.bob), "posts", record.Input{Data: map[string]any{"title": "x", "owner": f.ann.ID()}}, ""); err == nil {
		t.Fatal("create against the rule succeeded")
	}
	// Validation failure.
	if _, err := f.records.Create(ctx, su(), "posts", record.Input{Data: map[string]any{"tags": []any{"zzz"}}}, ""); err == nil {
		t.Fatal("invalid create succeeded")
	}
	// A batch whose last operation fails: the earlier ones roll back.
	_, err := f.records.Batch(ctx, su(), []record.Op{
		{Method: http.MethodPost, Collection: "posts", Input: record.Input{Data: map[string]any{"title": "batched"}}},
		{Method: http.MethodPatch, Collection: "posts", ID: post.ID(), Input: record.Input{Data: map[string]any{"title": "changed"}}},
		{Method: http.MethodDelete, Collection: "posts", ID: "missing00000000"},
	})
	if err == nil {
		t.Fatal("failing batch succeeded")
	}
	// Canceled before commit.
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.records.Create(canceled, su(), "posts", record.Input{Data: map[string]any{"title": "late"}}, ""); err == nil {
		t.Fatal("create with a canceled context succeeded")
	}
	if evs := f.drain(t, start); len(evs) != 0 {
		t.Errorf("events of failed writes: %v", summary(evs))
	}
	if got := f.commits.Load() - commits; got != 0 {
		t.Errorf("commit hook called %d times for failed writes", got)
	}
}

func TestBatchCascadeAndTruncateEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	p1 := f.create(t, su(), "posts", map[string]any{"title": "one"})
	p2 := f.create(t, su(), "posts", map[string]any{"title": "two"})
	c1 := f.create(t, su(), "comments", map[string]any{"body": "on one", "post": p1.ID()})
	c2 := f.create(t, su(), "comments", map[string]any{"body": "on two, mentions one", "post": p2.ID(), "mentions": []any{p1.ID(), p2.ID()}})

	start, commits := f.last(t), f.commits.Load()
	if err := f.records.Delete(ctx, su(), "posts", p1.ID()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	got := summary(f.drain(t, start))
	want := []string{"delete comments/" + c1.ID(), "update comments/" + c2.ID(), "delete posts/" + p1.ID()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("cascade events: got %v, want %v", got, want)
	}

	start = f.last(t)
	items, err := f.records.Batch(ctx, su(), []record.Op{
		{Method: http.MethodPost, Collection: "posts", Input: record.Input{Data: map[string]any{"title": "three"}}},
		{Method: http.MethodPatch, Collection: "posts", ID: p2.ID(), Input: record.Input{Data: map[string]any{"title": "two!"}}},
		{Method: http.MethodPut, Collection: "posts", Input: record.Input{Data: map[string]any{"id": p2.ID(), "title": "two!!"}}},
	})
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	got = summary(f.drain(t, start))
	want = []string{"create posts/" + items[0].Record.ID(), "update posts/" + p2.ID(), "update posts/" + p2.ID()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batch events: got %v, want %v", got, want)
	}

	start = f.last(t)
	if err := f.records.Truncate(ctx, "posts"); err != nil {
		t.Fatalf("Truncate: %v", err)
	}
	got = summary(f.drain(t, start))
	want = []string{"delete comments/" + c2.ID(), "delete posts/" + p2.ID(), "delete posts/" + items[0].Record.ID()}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("truncate events: got %v, want %v", got, want)
	}
	if n := f.commits.Load() - commits; n != 3 {
		t.Errorf("commit hook calls: got %d, want 3", n)
	}
}

func TestCanSee(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	start := f.last(t)
	annPost := f.create(t, su(), "posts", map[string]any{"title": "ann's", "owner": f.ann.ID()})
	gonePost := f.create(t, su(), "posts", map[string]any{"title": "gone", "owner": f.ann.ID()})
	comment := f.create(t, su(), "comments", map[string]any{"body": "hi", "post": annPost.ID()})
	if err := f.records.Delete(ctx, su(), "posts", gonePost.ID()); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	evs := f.drain(t, start)
	byKey := map[string]*record.EventRecord{}
	for _, e := range evs {
		er, err := f.records.DecodeEvent(e)
		if err != nil {
			t.Fatalf("DecodeEvent: %v", err)
		}
		byKey[string(e.Action)+" "+e.RecordID] = er
	}
	created, createdGone := byKey["create "+annPost.ID()], byKey["create "+gonePost.ID()]
	deleted, commentCreated := byKey["delete "+gonePost.ID()], byKey["create "+comment.ID()]
	guest := &record.Request{}

	tests := []struct {
		name   string
		req    *record.Request
		er     *record.EventRecord
		rule   record.Rule
		filter string
		want   bool
	}{
		{"owner, list rule", as(f.ann), created, record.ListRule, "", true},
		{"other user, list rule", as(f.bob), created, record.ListRule, "", false},
		{"guest, list rule", guest, created, record.ListRule, "", false},
		{"guest, public view rule", guest, created, record.ViewRule, "", true},
		{"superuser", su(), created, record.ListRule, "", true},
		{"null rule", as(f.ann), commentCreated, record.ViewRule, "", false},
		{"null rule, superuser", su(), commentCreated, record.ViewRule, "", true},
		{"empty list rule", guest, commentCreated, record.ListRule, "", true},
		{"client filter holds", as(f.ann), created, record.ListRule, `title ~ "ann"`, true},
		{"client filter fails", as(f.ann), created, record.ListRule, `title = "other"`, false},
		{"client filter may not use @request", as(f.ann), created, record.ViewRule, `@request.auth.id != ""`, false},
		{"client filter of a superuser may", su(), created, record.ViewRule, `@request.context = "realtime"`, true},
		{"rule sees the realtime context", as(f.ann), created, record.ListRule, "", true},
		// Deleted records are checked in memory, with the same outcome.
		{"delete, owner", as(f.ann), deleted, record.ListRule, "", true},
		{"delete, other user", as(f.bob), deleted, record.ListRule, "", false},
		{"delete, guest", guest, deleted, record.ListRule, "", false},
		{"delete, client filter", as(f.ann), deleted, record.ListRule, `title = "gone"`, true},
		// A create whose record is gone by the time it is delivered.
		{"create of a deleted record, owner", as(f.ann), createdGone, record.ListRule, "", true},
		{"create of a deleted record, other", as(f.bob), createdGone, record.ListRule, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.records.CanSee(ctx, tt.req, tt.er, tt.rule, tt.filter)
			if err != nil {
				t.Fatalf("CanSee: %v", err)
			}
			if got != tt.want {
				t.Errorf("CanSee: got %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("realtime context", func(t *testing.T) {
		if _, err := f.cols.Update(ctx, "posts", []byte(`{"listRule":"@request.context = 'realtime'"}`)); err != nil {
			t.Fatalf("updating posts: %v", err)
		}
		er, err := f.records.DecodeEvent(created.Event)
		if err != nil {
			t.Fatalf("DecodeEvent: %v", err)
		}
		for _, e := range []*record.EventRecord{er, deleted} {
			e.Record.Collection = f.cols.Lookup("posts")
			ok, err := f.records.CanSee(ctx, guest, e, record.ListRule, "")
			if err != nil || !ok {
				t.Errorf("%s with a realtime-only rule: got %v, %v", e.Event.Action, ok, err)
			}
		}
	})
}

func TestDecodeEventAfterSchemaChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	start := f.last(t)
	f.create(t, su(), "posts", map[string]any{"title": "old", "n": 3})
	ev := f.drain(t, start)[0]
	var fields []any
	for _, fl := range f.cols.Lookup("posts").Fields {
		if fl.Name != "n" {
			fields = append(fields, fl)
		}
	}
	fields = append(fields, map[string]any{"name": "extra", "type": "bool"})
	body, err := json.Marshal(map[string]any{"fields": fields})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cols.Update(ctx, "posts", body); err != nil {
		t.Fatalf("updating posts: %v", err)
	}
	er, err := f.records.DecodeEvent(ev)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	if er.Record.Data["title"] != "old" || er.Record.Data["extra"] != false {
		t.Errorf("decoded: %#v", er.Record.Data)
	}
	if _, ok := er.Record.Data["n"]; ok {
		t.Errorf("a removed field is still decoded: %#v", er.Record.Data)
	}
}
