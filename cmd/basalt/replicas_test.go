package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
)

// startReplica runs "basalt serve" on the PostgreSQL database db with its
// own data directory and port, and waits for /api/health.
func startReplica(t *testing.T, db string, args ...string) (addr string) {
	t.Helper()
	addr = freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := &syncBuffer{}
	args = append([]string{"serve", "--http", addr, "--dir", t.TempDir(), "--db", db}, args...)
	go func() { done <- run(ctx, args, noEnv, strings.NewReader(""), out, out) }()
	waitHealthy(t, http.DefaultClient, "http://"+addr, 20*time.Second, done, cancel, out)
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Errorf("replica %s did not stop", addr)
		}
	})
	return addr
}

// startReplicas creates a database with a superuser and starts n replicas
// on it. It returns their addresses and a superuser token.
func startReplicas(t *testing.T, n int, args ...string) (addrs []string, token string) {
	t.Helper()
	db := pgtest.NewDatabase(t)
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"superuser", "upsert", "root@example.com", "root-pass-123", "--dir", t.TempDir(), "--db", db},
		noEnv, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, errOut.String())
	}
	addrs = make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		// Replicas start together, as they do behind a load balancer.
		wg.Go(func() { addrs[i] = startReplica(t, db, args...) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	status, body := call(t, http.MethodPost, addrs[0], "/api/collections/_superusers/auth-with-password", "",
		map[string]any{"identity": "root@example.com", "password": "root-pass-123"})
	if status != http.StatusOK {
		t.Fatalf("superuser login: %d %v", status, body)
	}
	token, _ = body["token"].(string)
	return addrs, token
}

// call sends a JSON request and decodes a JSON object answer (nil body for
// none).
func call(t *testing.T, method, addr, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// within polls check until it returns "" or d has passed, and returns how
// long that took and the last complaint.
func within(d time.Duration, check func() string) (time.Duration, string) {
	start := time.Now()
	for {
		msg := check()
		if msg == "" || time.Since(start) > d {
			return time.Since(start), msg
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplicasShareConfiguration changes collections, rules and settings on
// one replica and expects the others to apply them within a second.
func TestReplicasShareConfiguration(t *testing.T) {
	addrs, token := startReplicas(t, 3)
	a, b, c := addrs[0], addrs[1], addrs[2]

	status, body := call(t, http.MethodPost, a, "/api/collections", token, map[string]any{
		"name": "notes", "type": "base", "listRule": "", "viewRule": "",
		"fields": []map[string]any{{"name": "title", "type": "text"}},
	})
	if status != http.StatusOK {
		t.Fatalf("create collection on A: %d %v", status, body)
	}
	for _, addr := range []string{b, c} {
		took, msg := within(time.Second, func() string {
			if st, body := call(t, http.MethodGet, addr, "/api/collections/notes/records", "", nil); st != http.StatusOK {
				return fmt.Sprintf("guest list: %d %v", st, body)
			}
			return ""
		})
		if msg != "" {
			t.Fatalf("collection created on A not usable on %s after %v: %s", addr, took, msg)
		}
	}

	// Records written through B are readable through C.
	if st, body := call(t, http.MethodPost, b, "/api/collections/notes/records", token, map[string]any{"title": "hello"}); st != http.StatusOK {
		t.Fatalf("create record on B: %d %v", st, body)
	}

	// A rule change on A: guests lose access on B and C within a second.
	status, body = call(t, http.MethodPatch, a, "/api/collections/notes", token, map[string]any{"listRule": nil})
	if status != http.StatusOK {
		t.Fatalf("update collection on A: %d %v", status, body)
	}
	for _, addr := range []string{b, c} {
		took, msg := within(time.Second, func() string {
			if st, _ := call(t, http.MethodGet, addr, "/api/collections/notes/records", "", nil); st != http.StatusForbidden {
				return fmt.Sprintf("guest list: got %d, want 403", st)
			}
			return ""
		})
		if msg != "" {
			t.Fatalf("rule changed on A not applied on %s after %v: %s", addr, took, msg)
		}
	}

	// A schema change on B (a new field) is applied by A and C.
	status, body = call(t, http.MethodPatch, b, "/api/collections/notes", token, map[string]any{
		"fields": []map[string]any{{"name": "title", "type": "text"}, {"name": "rank", "type": "number"}},
	})
	if status != http.StatusOK {
		t.Fatalf("add a field on B: %d %v", status, body)
	}
	for _, addr := range []string{a, c} {
		took, msg := within(time.Second, func() string {
			st, body := call(t, http.MethodPost, addr, "/api/collections/notes/records", token, map[string]any{"title": "x", "rank": 7})
			if st != http.StatusOK || body["rank"] != float64(7) {
				return fmt.Sprintf("create with the new field: %d %v", st, body)
			}
			return ""
		})
		if msg != "" {
			t.Fatalf("field added on B not known on %s after %v: %s", addr, took, msg)
		}
	}

	// An update computed on C from a definition C may not have reloaded yet
	// still applies on top of B's change.
	status, body = call(t, http.MethodPatch, a, "/api/collections/notes", token, map[string]any{"viewRule": "title != ''"})
	if status != http.StatusOK {
		t.Fatalf("update viewRule on A: %d %v", status, body)
	}
	status, body = call(t, http.MethodPatch, c, "/api/collections/notes", token, map[string]any{"listRule": "rank > 0"})
	if status != http.StatusOK {
		t.Fatalf("update listRule on C: %d %v", status, body)
	}
	took, msg := within(time.Second, func() string {
		_, body := call(t, http.MethodGet, b, "/api/collections/notes", token, nil)
		if body["viewRule"] != "title != ''" || body["listRule"] != "rank > 0" {
			return fmt.Sprintf("rules on B: view %v, list %v", body["viewRule"], body["listRule"])
		}
		return ""
	})
	if msg != "" {
		t.Fatalf("rules after updates on A and C, seen on B after %v: %s", took, msg)
	}

	// Deleting on C removes the collection everywhere.
	if st, body := call(t, http.MethodDelete, c, "/api/collections/notes", token, nil); st != http.StatusNoContent {
		t.Fatalf("delete collection on C: %d %v", st, body)
	}
	for _, addr := range []string{a, b} {
		took, msg := within(time.Second, func() string {
			if st, _ := call(t, http.MethodGet, addr, "/api/collections/notes/records", token, nil); st != http.StatusNotFound {
				return fmt.Sprintf("list: got %d, want 404", st)
			}
			return ""
		})
		if msg != "" {
			t.Fatalf("collection deleted on C still served by %s after %v: %s", addr, took, msg)
		}
	}

	// Settings changed on A apply on B and C.
	status, body = call(t, http.MethodPatch, a, "/api/settings", token, map[string]any{"meta": map[string]any{"appName": "Replicated"}})
	if status != http.StatusOK {
		t.Fatalf("update settings on A: %d %v", status, body)
	}
	for _, addr := range []string{b, c} {
		took, msg := within(time.Second, func() string {
			_, body := call(t, http.MethodGet, addr, "/api/settings", token, nil)
			meta, _ := body["meta"].(map[string]any)
			if meta["appName"] != "Replicated" {
				return fmt.Sprintf("appName %v", meta["appName"])
			}
			return ""
		})
		if msg != "" {
			t.Fatalf("settings changed on A not applied on %s after %v: %s", addr, took, msg)
		}
	}
}

// TestReplicasDeliverWebhooksOnce runs three replicas with a webhook and
// expects the receiver to get every attempt exactly once: no replica posts
// an attempt another one makes, whichever replica wrote the record.
func TestReplicasDeliverWebhooksOnce(t *testing.T) {
	var (
		mu     sync.Mutex
		counts = map[string]int{} // webhook-id (the event id) -> requests
		first  string             // the event whose first attempt fails
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		mu.Lock()
		counts[id]++
		if first == "" {
			first = id
		}
		fail := id == first && counts[id] == 1
		mu.Unlock()
		if fail {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(recv.Close)

	addrs, token := startReplicas(t, 3, "--webhook-allow-private", "127.0.0.0/8")
	status, body := call(t, http.MethodPost, addrs[0], "/api/collections", token, map[string]any{
		"name": "orders", "type": "base", "createRule": "",
		"fields": []map[string]any{{"name": "n", "type": "number"}},
	})
	if status != http.StatusOK {
		t.Fatalf("create collection: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, addrs[1], "/api/webhooks", token, map[string]any{
		"url": recv.URL + "/hook", "collections": []string{"orders"},
	})
	if status != http.StatusOK {
		t.Fatalf("create webhook: %d %v", status, body)
	}
	hookID, _ := body["id"].(string)

	const records = 30
	var wg sync.WaitGroup
	for i := range records {
		addr := addrs[i%len(addrs)]
		wg.Go(func() {
			// Every replica must know the collection first (within a second).
			_, msg := within(2*time.Second, func() string {
				if st, body := call(t, http.MethodPost, addr, "/api/collections/orders/records", "", map[string]any{"n": i}); st != http.StatusOK {
					return fmt.Sprintf("create record: %d %v", st, body)
				}
				return ""
			})
			if msg != "" {
				t.Errorf("record %d on %s: %s", i, addr, msg)
			}
		})
	}
	wg.Wait()

	// The failed first attempt is retried after the backoff (2.5-5 s).
	took, msg := within(30*time.Second, func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(counts) != records || counts[first] < 2 {
			return fmt.Sprintf("%d of %d events received, retried event %d times", len(counts), records, counts[first])
		}
		return ""
	})
	if msg != "" {
		t.Fatalf("after %v: %s", took, msg)
	}
	// Give a duplicate the time to show up: a poll or two of every replica.
	time.Sleep(2 * time.Second)
	mu.Lock()
	for id, n := range counts {
		want := 1
		if id == first {
			want = 2
		}
		if n != want {
			t.Errorf("event %s: %d requests, want %d", id, n, want)
		}
	}
	mu.Unlock()

	status, body = call(t, http.MethodGet, addrs[2], "/api/webhooks/"+hookID+"/deliveries?perPage=100", token, nil)
	if status != http.StatusOK {
		t.Fatalf("list deliveries: %d %v", status, body)
	}
	items, _ := body["items"].([]any)
	if total, _ := body["totalItems"].(float64); total != records || len(items) != records {
		t.Fatalf("deliveries: total %v, %d items; want %d (one per event)", body["totalItems"], len(items), records)
	}
	for _, it := range items {
		d, _ := it.(map[string]any)
		want := float64(1)
		if d["eventId"] == first {
			want = 2
		}
		if d["status"] != "succeeded" || d["attemptCount"] != want {
			t.Errorf("delivery of %v: %v after %v attempts, want succeeded after %v", d["eventId"], d["status"], d["attemptCount"], want)
		}
	}
}

// relayStream reads the events of a realtime connection.
type relayStream struct {
	events chan relayEvent
}

type relayEvent struct{ name, data string }

// connectRealtime opens GET /api/realtime on addr and returns the stream
// and the client id of its PB_CONNECT event.
func connectRealtime(t *testing.T, addr string) (*relayStream, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/realtime", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("connect realtime: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("connect realtime: status %d", res.StatusCode)
	}
	s := &relayStream{events: make(chan relayEvent, 64)}
	go func() {
		defer res.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var ev relayEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					s.events <- ev
				}
				ev = relayEvent{}
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
	}()
	ev := s.next(t, 5*time.Second)
	var hello struct {
		ClientID string `json:"clientId"`
	}
	if ev.name != "PB_CONNECT" || json.Unmarshal([]byte(ev.data), &hello) != nil || hello.ClientID == "" {
		t.Fatalf("first realtime event: %+v, want PB_CONNECT with a client id", ev)
	}
	return s, hello.ClientID
}

func (s *relayStream) next(t *testing.T, d time.Duration) relayEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("realtime stream ended")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no realtime event within %v", d)
	}
	return relayEvent{}
}

// TestReplicasRealtimeSubscribeThroughAnotherReplica connects a realtime
// client to one replica and subscribes it through the others, as a load
// balancer may route the subscribe POST.
func TestReplicasRealtimeSubscribeThroughAnotherReplica(t *testing.T) {
	addrs, root := startReplicas(t, 3)
	a, b, c := addrs[0], addrs[1], addrs[2]
	status, body := call(t, http.MethodPost, a, "/api/collections", root, map[string]any{
		"name": "msgs", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
		"fields": []map[string]any{{"name": "text", "type": "text"}},
	})
	if status != http.StatusOK {
		t.Fatalf("create collection: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, b, "/api/collections/users/records", "", map[string]any{
		"email": "ann@example.com", "password": "ann-pass-1234", "passwordConfirm": "ann-pass-1234",
	})
	if status != http.StatusOK {
		t.Fatalf("create user: %d %v", status, body)
	}
	status, body = call(t, http.MethodPost, c, "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": "ann@example.com", "password": "ann-pass-1234"})
	if status != http.StatusOK {
		t.Fatalf("user login: %d %v", status, body)
	}
	ann, _ := body["token"].(string)
	record, _ := body["record"].(map[string]any)
	annID, _ := record["id"].(string)

	stream, clientID := connectRealtime(t, a)
	subscribe := func(addr, token string, topics ...string) (int, map[string]any) {
		return call(t, http.MethodPost, addr, "/api/realtime", token, map[string]any{"clientId": clientID, "subscriptions": topics})
	}
	if st, body := subscribe(b, ann, "msgs/*"); st != http.StatusNoContent {
		t.Fatalf("subscribe through B for a client of A: %d %v, want 204", st, body)
	}
	// The subscription is in place when the POST returns: a record created
	// through C reaches the stream on A.
	if st, body := call(t, http.MethodPost, c, "/api/collections/msgs/records", "", map[string]any{"text": "hi"}); st != http.StatusOK {
		t.Fatalf("create record through C: %d %v", st, body)
	}
	ev := stream.next(t, 10*time.Second)
	if ev.name != "msgs/*" || !strings.Contains(ev.data, `"action":"create"`) || !strings.Contains(ev.data, `"text":"hi"`) {
		t.Fatalf("event on A: %+v, want the created record on msgs/*", ev)
	}

	// PocketBase's restrictions hold across replicas: another identity, or
	// a guest after an authenticated subscribe, is refused by A.
	if st, body := subscribe(c, root, "msgs/*"); st != http.StatusForbidden {
		t.Errorf("subscribe through C as another identity: %d %v, want 403", st, body)
	}
	if st, body := subscribe(b, "", "msgs/*"); st != http.StatusForbidden {
		t.Errorf("subscribe through B as a guest after ann: %d %v, want 403", st, body)
	}
	// The same identity may change the subscriptions again from anywhere;
	// the stream then gets no more events of msgs/*.
	if st, body := subscribe(c, ann, "users/*"); st != http.StatusNoContent {
		t.Fatalf("resubscribe through C: %d %v, want 204", st, body)
	}
	if st, body := call(t, http.MethodPost, b, "/api/collections/msgs/records", "", map[string]any{"text": "unseen"}); st != http.StatusOK {
		t.Fatalf("create record through B: %d %v", st, body)
	}
	// Events are dispatched in commit order: once ann's own update (users/*)
	// arrives, the "unseen" record was dispatched and not sent.
	if st, body := call(t, http.MethodPatch, b, "/api/collections/users/records/"+annID, ann, map[string]any{"name": "Ann"}); st != http.StatusOK {
		t.Fatalf("update ann through B: %d %v", st, body)
	}
	if ev := stream.next(t, 10*time.Second); ev.name != "users/*" || !strings.Contains(ev.data, `"name":"Ann"`) {
		t.Fatalf("event after resubscribing to users/*: %+v, want ann's update", ev)
	}
	if st, body := subscribe(a, ann, "msgs/*"); st != http.StatusNoContent {
		t.Fatalf("subscribe on A itself: %d %v, want 204", st, body)
	}
	if st, body := call(t, http.MethodPost, b, "/api/collections/msgs/records", "", map[string]any{"text": "seen"}); st != http.StatusOK {
		t.Fatalf("create record through B: %d %v", st, body)
	}
	ev = stream.next(t, 10*time.Second)
	if !strings.Contains(ev.data, `"text":"seen"`) {
		t.Fatalf("event after resubscribing: %+v, want the record created last (not %q)", ev, "unseen")
	}

	// A client id no replica holds is 404 once the relay times out.
	start := time.Now()
	st, body := call(t, http.MethodPost, b, "/api/realtime", ann, map[string]any{"clientId": "nosuchclient", "subscriptions": []string{"msgs/*"}})
	if st != http.StatusNotFound {
		t.Errorf("subscribe an unknown client: %d %v, want 404", st, body)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("unknown client answered after %v, want about the relay timeout", took)
	}
}

// TestReplicasStartTogetherOnEmptyDatabase starts three replicas at once on
// a new database: one creates the system collections, the others find them.
func TestReplicasStartTogetherOnEmptyDatabase(t *testing.T) {
	db := pgtest.NewDatabase(t)
	addrs := make([]string, 3)
	var wg sync.WaitGroup
	for i := range addrs {
		wg.Go(func() { addrs[i] = startReplica(t, db) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, addr := range addrs {
		if st, body := call(t, http.MethodGet, addr, "/api/collections/users/auth-methods", "", nil); st != http.StatusOK {
			t.Errorf("auth methods of users on %s: %d %v", addr, st, body)
		}
	}
}
