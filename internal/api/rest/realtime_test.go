package rest_test

import (
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

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// fakeRealtime records what the REST layer hands to the broker.
type fakeRealtime struct {
	mu   sync.Mutex
	last call
	err  error
}

// call is what the broker was given.
type call struct {
	clientID string
	ip       string
	auth     *schema.Record
	topics   []string
}

func (f *fakeRealtime) Connect(w http.ResponseWriter, r *http.Request, ip string) {
	w.Header().Set("Content-Type", "text/event-stream")
	io.WriteString(w, "id:c1\nevent:PB_CONNECT\ndata:{\"clientId\":\"c1\"}\n\n")
	f.mu.Lock()
	f.last.ip = ip
	f.mu.Unlock()
}

// snap returns a copy of what the broker was last given.
func (f *fakeRealtime) snap() call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *fakeRealtime) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeRealtime) ServeWS(w http.ResponseWriter, r *http.Request, ip string, auth *schema.Record) {
	f.mu.Lock()
	f.last = call{ip: ip, auth: auth}
	f.mu.Unlock()
	w.WriteHeader(http.StatusTeapot) // stands for the upgrade
}

func (f *fakeRealtime) Subscribe(clientID, ip string, auth *schema.Record, topics []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = call{clientID, ip, auth, topics}
	return f.err
}

// realtimeServer starts the REST handler with rt as its realtime broker
// and returns its URL and a user's token.
func realtimeServer(t *testing.T, rt rest.Realtime) (string, string, *schema.Record) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
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
	su := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}, Data: map[string]any{"id": "root"}}}
	it, err := records.Create(ctx, su, "users", record.Input{Data: map[string]any{
		"email": "rt@example.com", "password": "password123", "passwordConfirm": "password123"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	token, err := authSvc.Token(it.Record, false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rest.NewServer(rest.Deps{
		Logger: slog.New(slog.DiscardHandler), Collections: cols, Records: records, Auth: authSvc, Settings: sets, Realtime: rt,
	}))
	t.Cleanup(srv.Close)
	return srv.URL, token, it.Record
}

func TestRealtimeEndpoints(t *testing.T) {
	t.Parallel()
	rt := &fakeRealtime{}
	url, token, user := realtimeServer(t, rt)

	res, err := http.Get(url + "/api/realtime")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got := rt.snap(); res.StatusCode != 200 || !strings.Contains(string(body), "PB_CONNECT") || got.ip != "127.0.0.1" {
		t.Errorf("GET: %d %q ip %q", res.StatusCode, body, got.ip)
	}

	post := func(contentType, body, authz string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, url+"/api/realtime", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}

	status, _ := post("application/json", `{"clientId":"c1","subscriptions":["posts/*","posts/abc?options=%7B%7D"]}`, "")
	if got := rt.snap(); status != 204 || got.clientID != "c1" || got.auth != nil || strings.Join(got.topics, " ") != "posts/* posts/abc?options=%7B%7D" {
		t.Errorf("guest subscribe: %d %+v", status, got)
	}
	status, _ = post("application/json", `{"clientId":"c1","subscriptions":["posts/*"]}`, token)
	if got := rt.snap(); status != 204 || got.auth == nil || got.auth.ID() != user.ID() {
		t.Errorf("authenticated subscribe: %d auth %v", status, got.auth)
	}
	status, _ = post("application/x-www-form-urlencoded", `clientId=c2&subscriptions=users%2F%2A`, "")
	if got := rt.snap(); status != 204 || got.clientID != "c2" || strings.Join(got.topics, " ") != "users/*" {
		t.Errorf("form subscribe: %d %+v", status, got)
	}
	status, _ = post("application/json", `{"clientId":"c1"}`, "")
	if got := rt.snap(); status != 204 || len(got.topics) != 0 {
		t.Errorf("unsubscribe all: %d %v", status, got.topics)
	}
	for _, bad := range []string{`{"clientId":1}`, `{"clientId":"c1","subscriptions":"x"}`, `{"clientId":"c1","subscriptions":[1]}`, `[`} {
		if status, out := post("application/json", bad, ""); status != 400 || out["status"] != float64(400) {
			t.Errorf("body %s: %d %v", bad, status, out)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, url+"/api/ws", nil)
	req.Header.Set("Authorization", token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := rt.snap(); res.StatusCode != http.StatusTeapot || got.auth == nil || got.auth.ID() != user.ID() || got.ip != "127.0.0.1" {
		t.Errorf("GET /api/ws: %d %+v", res.StatusCode, got)
	}

	rt.fail(apperr.New(apperr.NotFound, "Missing or invalid client id."))
	status, out := post("application/json", `{"clientId":"zz","subscriptions":[]}`, "")
	if status != 404 || out["message"] != "Missing or invalid client id." {
		t.Errorf("unknown client: %d %v", status, out)
	}
	rt.fail(apperr.New(apperr.Forbidden, "The current and the previous request authorization don't match."))
	if status, _ := post("application/json", `{"clientId":"c1","subscriptions":[]}`, token); status != 403 {
		t.Errorf("auth change: %d", status)
	}
}

func TestRealtimeDisabled(t *testing.T) {
	t.Parallel()
	url, _, _ := realtimeServer(t, nil)
	for _, route := range []string{"GET /api/realtime", "POST /api/realtime", "GET /api/ws"} {
		method, path, _ := strings.Cut(route, " ")
		req, _ := http.NewRequest(method, url+path, strings.NewReader(`{}`))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("%s without a broker: %d", route, res.StatusCode)
		}
	}
}
