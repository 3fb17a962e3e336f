package graphql_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/api/graphql"
	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/event"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/postgres"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// countingStore counts the reads that reach the engine and can slow each
// one down (to test time limits).
type countingStore struct {
	store.Store
	reads atomic.Int64
	delay atomic.Int64 // nanoseconds per read
}

func (s *countingStore) wait(ctx context.Context) error {
	s.reads.Add(1)
	if d := time.Duration(s.delay.Load()); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (s *countingStore) FindRecords(ctx context.Context, q *store.Query) ([]*schema.Record, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.Store.FindRecords(ctx, q)
}

func (s *countingStore) CountRecords(ctx context.Context, q *store.Query) (int64, error) {
	if err := s.wait(ctx); err != nil {
		return 0, err
	}
	return s.Store.CountRecords(ctx, q)
}

func (s *countingStore) MatchRecord(ctx context.Context, q *store.Query, r *schema.Record) (bool, error) {
	if err := s.wait(ctx); err != nil {
		return false, err
	}
	return s.Store.MatchRecord(ctx, q, r)
}

// env is a Basalt instance with REST and GraphQL served over loopback, on
// SQLite (or PostgreSQL with BASALT_TEST_ENGINE=postgres).
type env struct {
	t       testing.TB
	url     string
	store   *countingStore
	cols    *collection.Service
	records *record.Service
	auth    *auth.Service
	gql     *graphql.Handler
	tokens  map[string]string // "superuser", "alice", "bob"
	ids     map[string]string // user ids by name
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	var st store.Store
	var err error
	switch os.Getenv("BASALT_TEST_ENGINE") {
	case "postgres":
		st, err = postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{MaxConns: 8})
	default:
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), slog.New(slog.DiscardHandler))
	}
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newEnv starts an instance with users alice and bob, a superuser, and a
// posts collection:
//
//	posts: title (required text), body (editor), views (number),
//	published (bool), meta (json), when (date), secret (hidden text),
//	author (relation to users), tags (multi relation to tags)
//	tags: name
//
// Posts are listed and viewed when published or by their author; any
// signed-in user creates; authors update; only superusers delete.
func newEnv(t testing.TB, limits graphql.Limits) *env {
	t.Helper()
	ctx := context.Background()
	st := &countingStore{Store: openStore(t)}
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	records := record.New(st, cols, nil, time.Now, random.ID)
	authSvc := auth.New(st, cols, records, time.Now)
	// Subscriptions read the realtime broker, fed by the event dispatcher
	// as in cmd/basalt.
	broker := realtime.New(records, realtime.Options{Logger: slog.New(slog.DiscardHandler), LastSeq: st.LastEventSeq, SendBuffer: 64})
	d := event.New(st, event.Options{Logger: slog.New(slog.DiscardHandler)})
	d.Subscribe(broker)
	records.OnCommit(d.Notify)
	dctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(dctx) }()
	<-d.Started()
	t.Cleanup(func() {
		broker.Close()
		stop()
		<-done
	})
	e := &env{t: t, store: st, cols: cols, records: records, auth: authSvc, tokens: map[string]string{}, ids: map[string]string{}}
	e.gql = graphql.New(graphql.Deps{Records: records, Collections: cols, Limits: limits, Subscriptions: broker,
		Authenticate: func(ctx context.Context, h string) (*schema.Record, error) {
			r, _, err := authSvc.Authenticate(ctx, h)
			return r, err
		}})
	srv := httptest.NewServer(rest.NewServer(rest.Deps{
		Logger: slog.New(slog.DiscardHandler), Collections: cols, Records: records, Auth: authSvc, Settings: sets,
		Mounts:  map[string]http.Handler{graphql.Path: e.gql},
		Streams: graphql.IsStream,
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL

	users := cols.Lookup("users").Clone()
	users.Field("password").Cost = bcrypt.MinCost
	users.ListRule, users.ViewRule = schema.Rule(""), schema.Rule("")
	e.updateCollection("users", users)
	e.createCollection(`{"name":"tags","type":"base","listRule":"","viewRule":"","fields":[{"name":"name","type":"text"}]}`)
	e.createCollection(`{"name":"posts","type":"base",
		"listRule":"published = true || author = @request.auth.id",
		"viewRule":"published = true || author = @request.auth.id",
		"createRule":"@request.auth.id != ''","updateRule":"author = @request.auth.id","deleteRule":null,
		"fields":[{"name":"title","type":"text","required":true},{"name":"body","type":"editor"},
		{"name":"views","type":"number"},{"name":"published","type":"bool"},{"name":"meta","type":"json"},
		{"name":"when","type":"date"},{"name":"secret","type":"text","hidden":true},
		{"name":"author","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1},
		{"name":"tags","type":"relation","collectionId":"` + cols.Lookup("tags").ID + `","maxSelect":5}]}`)

	su := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
	if err := authSvc.UpsertSuperuser(ctx, "admin@example.com", "admin-secret-123"); err != nil {
		t.Fatal(err)
	}
	admin, err := records.View(ctx, su, schema.SuperusersName, e.findID(su, schema.SuperusersName, "email = 'admin@example.com'"), "")
	if err != nil {
		t.Fatal(err)
	}
	e.tokens["superuser"] = e.token(admin.Record)
	for _, name := range []string{"alice", "bob"} {
		it, err := records.Create(ctx, su, "users", record.Input{Data: map[string]any{
			"email": name + "@example.com", "password": "secret-123456", "passwordConfirm": "secret-123456", "name": name,
		}}, "")
		if err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
		e.ids[name] = it.Record.ID()
		e.tokens[name] = e.token(it.Record)
	}
	return e
}

func (e *env) findID(req *record.Request, coll, filter string) string {
	e.t.Helper()
	res, err := e.records.List(context.Background(), req, coll, record.ListOptions{Filter: filter})
	if err != nil || len(res.Items) != 1 {
		e.t.Fatalf("finding %s %s: %v", coll, filter, err)
	}
	return res.Items[0].Record.ID()
}

func (e *env) token(r *schema.Record) string {
	e.t.Helper()
	tok, err := e.auth.Token(r, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func (e *env) createCollection(body string) {
	e.t.Helper()
	if _, err := e.cols.Create(context.Background(), []byte(body)); err != nil {
		e.t.Fatalf("creating a collection: %v", err)
	}
}

func (e *env) updateCollection(name string, c *schema.Collection) {
	e.t.Helper()
	body, err := json.Marshal(c)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cols.Update(context.Background(), name, body); err != nil {
		e.t.Fatalf("updating %s: %v", name, err)
	}
}

// post creates a post as the superuser through the service.
func (e *env) post(data map[string]any) string {
	e.t.Helper()
	su := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
	it, err := e.records.Create(context.Background(), su, "posts", record.Input{Data: data}, "")
	if err != nil {
		e.t.Fatalf("creating a post: %v", err)
	}
	return it.Record.ID()
}

// result is a decoded GraphQL answer.
type result struct {
	status int
	Data   map[string]any `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	raw string
}

// code returns the first error's extensions.code, or "".
func (r *result) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// do sends a GraphQL POST as who ("" for a guest).
func (e *env) do(who, query string, vars map[string]any) *result {
	e.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return e.send(who, "POST", "/api/graphql", "application/json", body)
}

func (e *env) send(who, method, path, contentType string, body []byte) *result {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if who != "" {
		req.Header.Set("Authorization", e.tokens[who])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &result{status: res.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, out); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
	}
	return out
}

// rest sends a REST GET as who and decodes the JSON answer.
func (e *env) rest(who, path string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+path, nil)
	if who != "" {
		req.Header.Set("Authorization", e.tokens[who])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		e.t.Fatal(err)
	}
	return out
}
