package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/api/rpc"
	"github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1/basaltv1connect"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/event"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// env is a Basalt API wired as cmd/basalt wires it (REST with the RPC
// transport mounted, the realtime broker fed by the event dispatcher) over a
// real SQLite database, served over loopback with HTTP/1.1 and h2c.
type env struct {
	t      testing.TB
	url    string
	tokens map[string]string // by user: "alice", "bob", "su"; "" is a guest
	ids    map[string]string // user record ids
	logs   *syncBuffer
	broker *realtime.Broker
}

// syncBuffer is a log buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// postsSchema: alice's and bob's posts; the owner lists them, anybody views
// public ones, signed-in users create, owners change them.
const postsSchema = `{"name":"posts","type":"base",
	"listRule":"owner = @request.auth.id","viewRule":"owner = @request.auth.id || public = true",
	"createRule":"@request.auth.id != ''","updateRule":"owner = @request.auth.id","deleteRule":"owner = @request.auth.id",
	"fields":[{"name":"title","type":"text","required":true},{"name":"public","type":"bool"},{"name":"n","type":"number"},
	{"name":"tags","type":"json"},{"name":"owner","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1},
	{"name":"created","type":"autodate","onCreate":true},{"name":"updated","type":"autodate","onCreate":true,"onUpdate":true}]}`

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), logger)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatalf("collection.New: %v", err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatalf("settings.New: %v", err)
	}
	records := record.New(st, cols, nil, time.Now, random.ID)
	authSvc := auth.New(st, cols, records, time.Now)
	broker := realtime.New(records, realtime.Options{Logger: logger, LastSeq: st.LastEventSeq, SendBuffer: 64})
	d := event.New(st, event.Options{Logger: logger})
	d.Subscribe(broker)
	records.OnCommit(d.Notify)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	<-d.Started()

	handler := rest.NewServer(rest.Deps{
		Logger: logger, Collections: cols, Records: records, Auth: authSvc, Settings: sets,
		Mounts:  rpc.Handlers(rpc.Options{Records: records, Watcher: broker, Logger: logger, MaxMessageBytes: 1 << 20}),
		Streams: rpc.IsStream,
	})
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.Protocols = serverProtocols()
	srv.Start()
	t.Cleanup(func() {
		broker.Close()
		srv.Close()
		cancel()
		<-done
		st.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})

	e := &env{t: t, url: srv.URL, tokens: map[string]string{}, ids: map[string]string{}, logs: logs, broker: broker}
	for _, name := range []string{"_superusers", "users"} {
		c := cols.Lookup(name).Clone()
		c.Field("password").Cost = bcrypt.MinCost
		body, _ := json.Marshal(c)
		if _, err := cols.Update(ctx, name, body); err != nil {
			t.Fatalf("lowering the bcrypt cost of %s: %v", name, err)
		}
	}
	if err := authSvc.UpsertSuperuser(ctx, "su@example.com", "su-secret-123"); err != nil {
		t.Fatal(err)
	}
	e.tokens["su"] = e.login("_superusers", "su@example.com", "su-secret-123")
	for _, name := range []string{"alice", "bob"} {
		var rec map[string]any
		e.rest("POST", "/api/collections/users/records", "", map[string]any{
			"email": name + "@example.com", "password": "secret-12345", "passwordConfirm": "secret-12345", "name": name,
		}, 200, &rec)
		e.ids[name] = rec["id"].(string)
		e.tokens[name] = e.login("users", name+"@example.com", "secret-12345")
	}
	e.rest("POST", "/api/collections", "su", json.RawMessage(postsSchema), 200, nil)
	return e
}

func serverProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

func (e *env) login(collection, identity, password string) string {
	e.t.Helper()
	var res struct{ Token string }
	e.rest("POST", "/api/collections/"+collection+"/auth-with-password", "", map[string]any{"identity": identity, "password": password}, 200, &res)
	return res.Token
}

// rest calls the REST API as user ("" for a guest), checks the status and
// decodes the answer into out (when not nil).
func (e *env) rest(method, path, user string, body any, want int, out any) {
	e.t.Helper()
	status, data := e.restStatus(method, path, user, body)
	if status != want {
		e.t.Fatalf("%s %s as %q: %d %s, want %d", method, path, user, status, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (e *env) restStatus(method, path, user string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.Header.Set("Authorization", e.tokens[user])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res.StatusCode, data
}

// protocol is one of the three wire protocols a client may speak.
type protocol struct {
	name   string
	client *http.Client
	opts   []connect.ClientOption
}

// protocols: gRPC over h2c, gRPC-Web over HTTP/1.1, Connect with JSON
// over HTTP/1.1.
func protocols() []protocol {
	h2c := new(http.Protocols)
	h2c.SetUnencryptedHTTP2(true)
	return []protocol{
		{"grpc", &http.Client{Transport: &http.Transport{Protocols: h2c}}, []connect.ClientOption{connect.WithGRPC()}},
		{"grpcweb", &http.Client{Transport: &http.Transport{}}, []connect.ClientOption{connect.WithGRPCWeb()}},
		{"connect", &http.Client{Transport: &http.Transport{}}, []connect.ClientOption{connect.WithProtoJSON()}},
	}
}

func (e *env) client(p protocol) basaltv1connect.RecordServiceClient {
	return basaltv1connect.NewRecordServiceClient(p.client, e.url, p.opts...)
}

// as wraps msg in a request authenticated as user ("" for a guest) through
// the authorization metadata.
func as[T any](e *env, user string, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	if user != "" {
		req.Header().Set("Authorization", e.tokens[user])
	}
	return req
}

// codeOf returns err's status code, 0 for nil.
func codeOf(err error) connect.Code {
	if err == nil {
		return 0
	}
	return connect.CodeOf(err)
}

// mustNotContain fails when s mentions any of the words.
func mustNotContain(t *testing.T, s string, words ...string) {
	t.Helper()
	for _, w := range words {
		if strings.Contains(s, w) {
			t.Errorf("%q contains %q", s, w)
		}
	}
}
