package realtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
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
	f.broker = New(f.records, opts)
	f.seq, _ = st.LastEventSeq(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /realtime", func(w http.ResponseWriter, r *http.Request) {
		f.broker.Connect(w, r, testIP)
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

// connect opens a stream and reads its PB_CONNECT event.
func (f *fixture) connect() *stream {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/realtime", nil)
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

func TestConnect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := f.connect()
	if ct := s.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type: %q", ct)
	}
	if cc := s.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: %q", cc)
	}
	if len(s.id) != 40 {
		t.Errorf("client id %q: want 40 characters", s.id)
	}
	other := f.connect()
	if other.id == s.id {
		t.Errorf("two clients share the id %s", s.id)
	}
	if n := f.broker.Clients(); n != 2 {
		t.Errorf("Clients: got %d, want 2", n)
	}
}

func TestSubscribeRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := f.connect()
	long := strings.Repeat("x", 2501)
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf("posts/r%d", i)
	}
	tests := []struct {
		name     string
		clientID string
		as, ip   string
		topics   []string
		want     int
		code     apperr.Code
	}{
		{"unknown client", "nope", "", testIP, nil, http.StatusConflict, apperr.NotFound},
		{"blank client id", "", "", testIP, nil, http.StatusConflict, apperr.Invalid},
		{"too long client id", strings.Repeat("c", 256), "", testIP, nil, http.StatusConflict, apperr.Invalid},
		{"too many topics", s.id, "", testIP, many, http.StatusConflict, apperr.Invalid},
		{"too long topic", s.id, "", testIP, []string{long}, http.StatusConflict, apperr.Invalid},
		{"another IP", s.id, "", "10.0.0.9", []string{"posts/*"}, http.StatusConflict, apperr.Invalid},
		{"guest", s.id, "", testIP, []string{"posts/*"}, http.StatusNoContent, ""},
		{"guest to auth", s.id, "ann", testIP, []string{"posts/*"}, http.StatusNoContent, ""},
		{"same auth again", s.id, "ann", testIP, []string{"posts/*", ""}, http.StatusNoContent, ""},
		{"another auth", s.id, "bob", testIP, []string{"posts/*"}, http.StatusConflict, apperr.Forbidden},
		{"back to guest", s.id, "", testIP, []string{"posts/*"}, http.StatusConflict, apperr.Forbidden},
	}
	for _, tt := range tests {
		status, msg := f.subscribeFrom(tt.clientID, tt.as, tt.ip, tt.topics...)
		if status != tt.want || (tt.code != "" && !strings.HasPrefix(msg, string(tt.code)+":")) {
			t.Errorf("%s: got %d %q, want %d %s", tt.name, status, msg, tt.want, tt.code)
		}
	}
	if got := apperr.As(f.broker.Subscribe("nope", testIP, nil, nil)); got == nil || got.Message != "Missing or invalid client id." {
		t.Errorf("unknown client message: %v", got)
	}
}

func TestRuleFilteredDelivery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, Options{})
	ann, bob, guest, root := f.connect(), f.connect(), f.connect(), f.connect()
	for name, s := range map[string]*stream{"ann": ann, "bob": bob, "": guest, "su": root} {
		f.mustSubscribe(s, name, "posts/*")
	}
	annPost := f.createPost("ann", "ann's")
	bobPost := f.createPost("bob", "bob's")
	f.deliver()
	expect(t, ann, "posts/*", "create", annPost.ID())
	expect(t, bob, "posts/*", "create", bobPost.ID())
	expect(t, root, "posts/*", "create", annPost.ID())
	expect(t, root, "posts/*", "create", bobPost.ID())

	// A record topic uses the (public) view rule: the guest sees updates of
	// ann's post there, still not through the list topic.
	f.mustSubscribe(guest, "", "posts/"+annPost.ID(), "posts/*")
	f.mustSubscribe(bob, "bob", "posts/*", "posts/"+annPost.ID())
	f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Update(ctx, su(), "posts", annPost.ID(), record.Input{Data: map[string]any{"title": "edited"}}, "")
	})
	f.deliver()
	p := expect(t, guest, "posts/"+annPost.ID(), "update", annPost.ID())
	if p.Record["title"] != "edited" || p.Record["collectionName"] != "posts" {
		t.Errorf("update payload: %v", p.Record)
	}
	expect(t, bob, "posts/"+annPost.ID(), "update", annPost.ID())
	expect(t, ann, "posts/*", "update", annPost.ID())
	expect(t, root, "posts/*", "update", annPost.ID())

	// Deletes are checked against the deleted record in memory.
	if err := f.records.Delete(ctx, su(), "posts", annPost.ID()); err != nil {
		t.Fatal(err)
	}
	f.deliver()
	expect(t, ann, "posts/*", "delete", annPost.ID())
	expect(t, guest, "posts/"+annPost.ID(), "delete", annPost.ID())
	expect(t, bob, "posts/"+annPost.ID(), "delete", annPost.ID())
	expect(t, root, "posts/*", "delete", annPost.ID())

	// Nothing else arrived: a marker event everybody sees ends each stream's
	// check.
	f.mustSubscribe(guest, "", "posts/"+bobPost.ID())
	f.mustSubscribe(ann, "ann", "posts/*", "posts/"+bobPost.ID())
	f.mustSubscribe(bob, "bob", "posts/"+bobPost.ID())
	f.mustSubscribe(root, "su", "posts/"+bobPost.ID())
	f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Update(ctx, su(), "posts", bobPost.ID(), record.Input{Data: map[string]any{"title": "marker"}}, "")
	})
	f.deliver()
	for _, s := range []*stream{ann, bob, guest, root} {
		expect(t, s, "posts/"+bobPost.ID(), "update", bobPost.ID())
		s.none()
	}
}

func TestSubscriptionOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := f.connect()
	withExpand := `posts/*?options=` + urlEncode(`{"query":{"expand":"owner","fields":"id,title,expand.owner.name"}}`)
	withFilter := `posts/*?options=` + urlEncode(`{"query":{"filter":"title ~ 'match'"},"headers":{"X-Token":"t"}}`)
	badFields := `posts/*?options=` + urlEncode(`{"query":{"fields":"id:excerpt(x"}}`)
	f.mustSubscribe(s, "ann", withExpand, withFilter, badFields)
	post := f.createPost("ann", "no <b>match</b> here")
	f.deliver()
	got := map[string]eventData{}
	for range 3 {
		ev := s.next()
		got[ev.event] = decode(t, ev)
	}
	want := map[string]any{"id": post.ID(), "title": "no <b>match</b> here", "expand": map[string]any{"owner": map[string]any{"name": "ann"}}}
	if !jsonEqual(got[withExpand].Record, want) {
		t.Errorf("expand and fields: got %v, want %v", got[withExpand].Record, want)
	}
	if got[withFilter].Record["id"] != post.ID() || got[withFilter].Record["owner"] != f.users["ann"].ID() {
		t.Errorf("client filter: got %v", got[withFilter])
	}
	if got[badFields].Record["title"] == nil {
		t.Errorf("invalid fields should send the whole record: %v", got[badFields])
	}
	f.createPost("ann", "other")
	f.deliver()
	expectNames(t, s, withExpand, badFields) // the filter option excludes it
}

// expectNames reads one event per name, in any order.
func expectNames(t *testing.T, s *stream, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for range names {
		ev := s.next()
		if !want[ev.event] {
			t.Fatalf("unexpected event %q", ev.event)
		}
		delete(want, ev.event)
	}
	s.none()
}

func TestUnsubscribeAndOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, Options{})
	s := f.connect()
	f.mustSubscribe(s, "ann", "posts/*")
	post := f.createPost("ann", "v0")
	for i := 1; i <= 30; i++ {
		f.write(func(ctx context.Context) (*record.Item, error) {
			return f.records.Update(ctx, su(), "posts", post.ID(), record.Input{Data: map[string]any{"title": fmt.Sprintf("v%d", i)}}, "")
		})
	}
	f.deliver()
	for i := 0; i <= 30; i++ {
		action := "update"
		if i == 0 {
			action = "create"
		}
		p := expect(t, s, "posts/*", action, post.ID())
		if p.Record["title"] != fmt.Sprintf("v%d", i) {
			t.Fatalf("event %d: title %v", i, p.Record["title"])
		}
	}
	f.mustSubscribe(s, "ann")
	if err := f.records.Delete(ctx, su(), "posts", post.ID()); err != nil {
		t.Fatal(err)
	}
	f.createPost("ann", "after unsubscribe")
	f.deliver()
	time.Sleep(20 * time.Millisecond)
	s.none()
}

func TestSlowClientIsDisconnected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{SendBuffer: 2})
	// A client whose connection never reads: registered directly.
	slow := f.broker.register(testIP)
	if err := f.broker.Subscribe(slow.id, testIP, nil, []string{"posts/" + "x", "users/*"}); err != nil {
		t.Fatal(err)
	}
	if err := f.broker.Subscribe(slow.id, testIP, f.users["ann"], []string{"posts/*"}); err != nil {
		t.Fatal(err)
	}
	fast := f.connect()
	f.mustSubscribe(fast, "ann", "posts/*")
	// Consume never waits for a client: five events go out while the slow
	// one reads nothing, and the fast one keeps up.
	for i := range 5 {
		f.createPost("ann", fmt.Sprint(i))
		f.deliver()
		fast.next()
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the slow client was not disconnected")
	}
	if f.broker.Clients() != 1 {
		t.Errorf("Clients: got %d, want 1", f.broker.Clients())
	}
}

func TestConnectionLifetimes(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{IdleTimeout: 150 * time.Millisecond})
		s := f.connect()
		f.mustSubscribe(s, "ann", "posts/*")
		time.Sleep(80 * time.Millisecond)
		f.createPost("ann", "keeps it alive")
		f.deliver()
		s.next()
		time.Sleep(100 * time.Millisecond) // 180 ms since connecting, 100 since the message
		select {
		case <-s.closed:
			t.Fatal("a message did not reset the idle timer")
		default:
		}
		s.waitClosed(2 * time.Second)
		if f.broker.Clients() != 0 {
			t.Errorf("Clients after idle close: %d", f.broker.Clients())
		}
	})
	t.Run("max lifetime", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{MaxLifetime: 200 * time.Millisecond})
		s := f.connect()
		f.mustSubscribe(s, "ann", "posts/*")
		start := time.Now()
		for time.Since(start) < 150*time.Millisecond {
			f.createPost("ann", "busy")
			f.deliver()
			s.next()
		}
		s.waitClosed(2 * time.Second)
	})
	t.Run("broker close", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{})
		s := f.connect()
		f.broker.Close()
		s.waitClosed(2 * time.Second)
		resp, err := http.Get(f.srv.URL + "/realtime")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("connect after close: %d", resp.StatusCode)
		}
	})
	t.Run("client goes away", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{})
		s := f.connect()
		s.resp.Body.Close()
		deadline := time.Now().Add(2 * time.Second)
		for f.broker.Clients() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("client still registered after its connection closed")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func TestAuthRecordChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, Options{})
	s := f.connect()
	f.mustSubscribe(s, "bob", "posts/*")
	f.createPost("bob", "mine")
	f.deliver()
	s.next()

	// A profile change keeps the client signed in.
	f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Update(ctx, su(), "users", f.users["bob"].ID(), record.Input{Data: map[string]any{"name": "Robert"}}, "")
	})
	f.deliver()
	post := f.createPost("bob", "still mine")
	f.deliver()
	expect(t, s, "posts/*", "create", post.ID())

	// A password change (new token key) signs it out: bob's posts are not
	// listed for guests.
	f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Update(ctx, su(), "users", f.users["bob"].ID(), record.Input{Data: map[string]any{"password": "newpassword1", "passwordConfirm": "newpassword1"}}, "")
	})
	f.deliver()
	f.createPost("bob", "not shown")
	f.deliver()
	time.Sleep(20 * time.Millisecond)
	s.none()
	// Signed out, the client may subscribe under another identity.
	f.mustSubscribe(s, "ann", "posts/*")

	// Deleting the auth record signs its clients out too.
	s2 := f.connect()
	f.mustSubscribe(s2, "ann", "posts/*")
	if err := f.records.Delete(ctx, su(), "users", f.users["ann"].ID()); err != nil {
		t.Fatal(err)
	}
	f.deliver()
	f.mustSubscribe(s2, "bob", "posts/*")
}

func TestPublishOAuth2(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := f.connect()
	if f.broker.Publish(s.id, OAuth2Topic, []byte(`{}`)) {
		t.Error("published to a client that did not subscribe")
	}
	f.mustSubscribe(s, "", OAuth2Topic)
	if !f.broker.Publish(s.id, OAuth2Topic, []byte(`{"state":"`+s.id+`","code":"abc"}`)) {
		t.Fatal("Publish failed")
	}
	ev := s.next()
	if ev.event != OAuth2Topic || ev.data != `{"state":"`+s.id+`","code":"abc"}` || ev.id != s.id {
		t.Errorf("oauth2 event: %+v", ev)
	}
	if f.broker.Publish("nope", OAuth2Topic, nil) {
		t.Error("published to an unknown client")
	}
}

// TestConsumeSharesWorkAcrossClients checks that many clients with the same
// auth and options all receive an event (their checks are shared).
func TestConsumeSharesWorkAcrossClients(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{Workers: 3})
	var clients []*client
	for range 50 {
		c := f.broker.register(testIP)
		if err := f.broker.Subscribe(c.id, testIP, f.users["ann"], []string{"posts/*"}); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	post := f.createPost("ann", "x")
	f.deliver()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			select {
			case m := <-c.send:
				if !strings.Contains(string(m.data), post.ID()) {
					t.Errorf("message %s", m.data)
				}
			default:
				t.Errorf("client %s got nothing", c.id)
			}
		})
	}
	wg.Wait()
}

func urlEncode(s string) string { return url.QueryEscape(s) }

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
