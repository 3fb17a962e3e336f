package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

const testIP = "127.0.0.1"

// fixture is a broker over a real record service with "posts" (listed by
// their owner, viewable by anyone) and the users ann and bob. Its HTTP
// server stands in for the REST transport: GET streams, POST subscribes
// with the auth named by the X-Test-Auth header ("ann", "bob", "su").
type fixture struct {
	t       *testing.T
	st      *sqlite.Store
	cols    *collection.Service
	records *record.Service
	broker  *Broker
	srv     *httptest.Server
	seq     int64 // events fed to the broker so far
	users   map[string]*schema.Record
}

func newFixture(t *testing.T, opts Options) *fixture {
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
	f := &fixture{t: t, st: st, cols: cols, users: map[string]*schema.Record{}}
	f.records = record.New(st, cols, nil, time.Now, random.ID)
	if _, err := cols.Create(ctx, []byte(`{"name":"posts","listRule":"owner = @request.auth.id","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[{"name":"title","type":"text"},{"name":"body","type":"editor"},
		{"name":"owner","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1}]}`)); err != nil {
		t.Fatalf("creating posts: %v", err)
	}
	// The cheapest bcrypt cost keeps the fixture fast under -race.
	var fields []*schema.Field
	for _, fl := range cols.Lookup("users").Fields {
		fl := *fl
		if fl.Type == schema.TypePassword {
			fl.Cost = 4
		}
		fields = append(fields, &fl)
	}
	body, _ := json.Marshal(map[string]any{"fields": fields})
	if _, err := cols.Update(ctx, "users", body); err != nil {
		t.Fatalf("updating users: %v", err)
	}
	for _, name := range []string{"ann", "bob"} {
		f.users[name] = f.write(func(ctx context.Context) (*record.Item, error) {
			return f.records.Create(ctx, su(), "users", record.Input{Data: map[string]any{
				"name": name, "email": name + "@example.com", "password": "password123", "passwordConfirm": "password123",
			}}, "")
		})
	}
	f.users["su"] = su().Auth
	if opts.LastSeq == nil {
		opts.LastSeq = st.LastEventSeq // as serve wires it
	}
	if opts.Authenticate == nil {
		opts.Authenticate = func(_ context.Context, token string) (*schema.Record, error) {
			if u, ok := strings.CutPrefix(token, "token-"); ok && f.users[u] != nil {
				return f.users[u], nil
			}
			return nil, apperr.New(apperr.Unauthenticated, "Invalid token.")
		}
	}
	f.broker = New(f.records, opts)
	f.seq, _ = st.LastEventSeq(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /realtime", func(w http.ResponseWriter, r *http.Request) {
		f.broker.Connect(w, r, testIP)
	})
	// The same stream through a ResponseWriter that cannot be hijacked,
	// as over HTTP/2: the broker serves it from the handler.
	mux.HandleFunc("GET /realtime-nohijack", func(w http.ResponseWriter, r *http.Request) {
		f.broker.Connect(noHijack{w, w.(http.Flusher)}, r, testIP)
	})
	mux.HandleFunc("POST /realtime", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ClientID      string   `json:"clientId"`
			Subscriptions []string `json:"subscriptions"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ip := testIP
		if v := r.Header.Get("X-Test-IP"); v != "" {
			ip = v
		}
		err := f.broker.Subscribe(body.ClientID, ip, f.users[r.Header.Get("X-Test-Auth")], body.Subscriptions)
		if err != nil {
			http.Error(w, string(apperr.CodeOf(err))+": "+err.Error(), http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		f.broker.ServeWS(w, r, testIP, f.users[r.Header.Get("X-Test-Auth")])
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		f.broker.Close()
		f.srv.Close()
	})
	return f
}

func su() *record.Request {
	return &record.Request{Method: "POST", Auth: &schema.Record{
		Collection: &schema.Collection{ID: schema.SuperusersID, Name: schema.SuperusersName},
		Data:       map[string]any{"id": "root00000000000"},
	}}
}

// write runs a record operation and returns its record.
func (f *fixture) write(op func(ctx context.Context) (*record.Item, error)) *schema.Record {
	f.t.Helper()
	it, err := op(context.Background())
	if err != nil {
		f.t.Fatalf("write: %v", err)
	}
	if it == nil {
		return nil
	}
	return it.Record
}

// deliver hands every event committed since the last call to the broker, as
// the dispatcher would.
func (f *fixture) deliver() {
	f.t.Helper()
	evs, err := f.st.Events(context.Background(), f.seq, 1000)
	if err != nil {
		f.t.Fatalf("Events: %v", err)
	}
	for _, ev := range evs {
		f.broker.Consume(context.Background(), ev)
		f.seq = ev.Seq
	}
}

func (f *fixture) createPost(owner, title string) *schema.Record {
	f.t.Helper()
	return f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Create(ctx, su(), "posts", record.Input{Data: map[string]any{"title": title, "owner": f.users[owner].ID()}}, "")
	})
}

// sse is one event read from a stream.
type sse struct {
	id, event, data string
}

// stream is a connected client.
type stream struct {
	t      *testing.T
	id     string
	events chan sse
	closed chan struct{}
	resp   *http.Response
	header http.Header
}

// noHijack hides every method of a ResponseWriter but Flush.
type noHijack struct {
	http.ResponseWriter
	http.Flusher
}

// connect opens a stream and reads its PB_CONNECT event.
func (f *fixture) connect() *stream {
	f.t.Helper()
	return f.connectTo("/realtime")
}

// connectTo opens a stream at path and reads its PB_CONNECT event.
func (f *fixture) connectTo(path string) *stream {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("GET /realtime: %v", err)
	}
	s := &stream{t: f.t, events: make(chan sse, 1000), closed: make(chan struct{}), resp: resp, header: resp.Header}
	go func() {
		defer close(s.closed)
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				s.events <- ev
				ev = sse{}
			case strings.HasPrefix(line, "id:"):
				ev.id = strings.TrimPrefix(line, "id:")
			case strings.HasPrefix(line, "event:"):
				ev.event = strings.TrimPrefix(line, "event:")
			case strings.HasPrefix(line, "data:"):
				ev.data = strings.TrimPrefix(line, "data:")
			}
		}
	}()
	f.t.Cleanup(func() { resp.Body.Close() })
	first := s.next()
	if first.event != "PB_CONNECT" {
		f.t.Fatalf("first event: %+v", first)
	}
	var data struct {
		ClientID string `json:"clientId"`
	}
	if err := json.Unmarshal([]byte(first.data), &data); err != nil || data.ClientID == "" || first.id != data.ClientID {
		f.t.Fatalf("PB_CONNECT: %+v (%v)", first, err)
	}
	s.id = data.ClientID
	return s
}

// next returns the next event, failing after a while.
func (s *stream) next() sse {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("stream closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		s.t.Fatal("timed out waiting for an event")
	}
	return sse{}
}

// none fails when an event is waiting.
func (s *stream) none() {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			s.t.Fatalf("unexpected event %+v", ev)
		}
	default:
	}
}

// waitClosed fails unless the server ends the stream within d.
func (s *stream) waitClosed(d time.Duration) {
	s.t.Helper()
	select {
	case <-s.closed:
	case <-time.After(d):
		s.t.Fatal("stream still open")
	}
}

// subscribe posts topics for s as the user named by as ("" for a guest) and
// returns the status and error text.
func (f *fixture) subscribe(clientID, as string, topics ...string) (int, string) {
	f.t.Helper()
	return f.subscribeFrom(clientID, as, testIP, topics...)
}

func (f *fixture) subscribeFrom(clientID, as, ip string, topics ...string) (int, string) {
	f.t.Helper()
	if topics == nil {
		topics = []string{}
	}
	body, _ := json.Marshal(map[string]any{"clientId": clientID, "subscriptions": topics})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/realtime", strings.NewReader(string(body)))
	req.Header.Set("X-Test-Auth", as)
	req.Header.Set("X-Test-IP", ip)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("POST /realtime: %v", err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text())
	}
	return resp.StatusCode, b.String()
}

func (f *fixture) mustSubscribe(s *stream, as string, topics ...string) {
	f.t.Helper()
	if status, msg := f.subscribe(s.id, as, topics...); status != http.StatusNoContent {
		f.t.Fatalf("subscribe %v as %q: %d %s", topics, as, status, msg)
	}
}

// eventData is the data of a record event.
type eventData struct {
	Action string         `json:"action"`
	Record map[string]any `json:"record"`
}

func decode(t *testing.T, ev sse) eventData {
	t.Helper()
	var p eventData
	if err := json.Unmarshal([]byte(ev.data), &p); err != nil {
		t.Fatalf("event data %q: %v", ev.data, err)
	}
	return p
}

// expect reads the next event of s and checks its name, action and record id.
func expect(t *testing.T, s *stream, topic, action, id string) eventData {
	t.Helper()
	ev := s.next()
	p := decode(t, ev)
	if ev.event != topic || p.Action != action || p.Record["id"] != id || ev.id != s.id {
		t.Fatalf("got event %q %s %v (sse id %s), want %q %s %s", ev.event, p.Action, p.Record["id"], ev.id, topic, action, id)
	}
	return p
}

func urlEncode(s string) string { return url.QueryEscape(s) }

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
