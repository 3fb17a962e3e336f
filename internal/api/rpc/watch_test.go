package rpc_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	basaltv1 "github.com/basalt-dev/basalt/internal/api/rpc/gen/basalt/v1"
)

// watch is an open Watch stream whose messages arrive on ch.
type watch struct {
	t    testing.TB
	name string
	ch   chan *basaltv1.WatchResponse
	done chan error
}

// openWatch starts a Watch as user and waits for its ACTION_READY.
func (e *env) openWatch(ctx context.Context, c clientT, name, user string, req *basaltv1.WatchRequest) *watch {
	e.t.Helper()
	s, err := c.Watch(ctx, as(e, user, req))
	if err != nil {
		e.t.Fatalf("%s: Watch: %v", name, err)
	}
	w := &watch{t: e.t, name: name, ch: make(chan *basaltv1.WatchResponse, 100), done: make(chan error, 1)}
	go func() {
		defer s.Close()
		for s.Receive() {
			w.ch <- s.Msg()
		}
		w.done <- s.Err()
		close(w.ch)
	}()
	if m := w.next(); m.Action != basaltv1.Action_ACTION_READY || m.Record != nil {
		e.t.Fatalf("%s: first message %v, want ACTION_READY", name, m)
	}
	return w
}

func (w *watch) next() *basaltv1.WatchResponse {
	w.t.Helper()
	select {
	case m, ok := <-w.ch:
		if !ok {
			w.t.Fatalf("%s: stream ended: %v", w.name, <-w.done)
		}
		return m
	case <-time.After(5 * time.Second):
		w.t.Fatalf("%s: no message", w.name)
	}
	return nil
}

func (w *watch) expect(action basaltv1.Action, id string) map[string]any {
	w.t.Helper()
	m := w.next()
	rec := m.Record.AsMap()
	if m.Action != action || rec["id"] != id {
		w.t.Fatalf("%s: got %v %v, want %v %s", w.name, m.Action, rec, action, id)
	}
	return rec
}

func (w *watch) none() {
	w.t.Helper()
	select {
	case m, ok := <-w.ch:
		if ok {
			w.t.Errorf("%s: unexpected %v %v", w.name, m.Action, m.Record.AsMap())
		}
	case <-time.After(100 * time.Millisecond):
	}
}

// TestWatch: changes reach the watchers the rules allow, as realtime
// subscribers, over every protocol; ending the call frees the watcher.
func TestWatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var public map[string]any
	e.rest("POST", "/api/collections/posts/records", "bob", map[string]any{"title": "public", "public": true, "owner": e.ids["bob"]}, 200, &public)
	pid := public["id"].(string)
	for _, p := range protocols() {
		t.Run(p.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := e.client(p)
			alice := e.openWatch(ctx, c, "alice", "alice", &basaltv1.WatchRequest{Collection: "posts", Expand: "owner"})
			bob := e.openWatch(ctx, c, "bob", "bob", &basaltv1.WatchRequest{Collection: "posts", Fields: "id,title"})
			guest := e.openWatch(ctx, c, "guest", "", &basaltv1.WatchRequest{Collection: "posts"})
			guestOne := e.openWatch(ctx, c, "guest on one", "", &basaltv1.WatchRequest{Collection: "posts", Id: pid})
			filtered := e.openWatch(ctx, c, "alice filtered", "alice", &basaltv1.WatchRequest{Collection: "posts", Filter: "title ~ 'keep'"})

			var a map[string]any
			e.rest("POST", "/api/collections/posts/records", "alice", map[string]any{"title": "keep " + p.name, "owner": e.ids["alice"]}, 200, &a)
			aid := a["id"].(string)
			e.rest("PATCH", "/api/collections/posts/records/"+pid, "bob", map[string]any{"title": "edited " + p.name}, 200, nil)
			e.rest("DELETE", "/api/collections/posts/records/"+aid, "alice", nil, 204, nil)

			rec := alice.expect(basaltv1.Action_ACTION_CREATE, aid)
			if rec["title"] != "keep "+p.name || rec["collectionName"] != "posts" {
				t.Errorf("alice's record: %v", rec)
			}
			if exp, _ := rec["expand"].(map[string]any); exp == nil || exp["owner"].(map[string]any)["id"] != e.ids["alice"] {
				t.Errorf("expanded owner: %v", rec["expand"])
			}
			alice.expect(basaltv1.Action_ACTION_DELETE, aid)
			filtered.expect(basaltv1.Action_ACTION_CREATE, aid)
			filtered.expect(basaltv1.Action_ACTION_DELETE, aid)
			if rec := bob.expect(basaltv1.Action_ACTION_UPDATE, pid); len(rec) != 2 || rec["title"] != "edited "+p.name {
				t.Errorf("bob's record with fields=id,title: %v", rec)
			}
			// The public view rule shows bob's post to a guest watching it;
			// the list rule hides every post from a guest watching them all.
			guestOne.expect(basaltv1.Action_ACTION_UPDATE, pid)
			// The delete of alice's post was the last change: had any other
			// been queued for these streams, it would be there by now.
			for _, w := range []*watch{alice, bob, guest, guestOne, filtered} {
				w.none()
			}

			cancel()
			for _, w := range []*watch{alice, bob, guest, guestOne, filtered} {
				select {
				case err := <-w.done:
					if err != nil && connect.CodeOf(err) != connect.CodeCanceled {
						t.Errorf("%s ended with %v", w.name, err)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("%s still open", w.name)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for e.broker.Clients() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d watchers left after the calls ended", e.broker.Clients())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestWatchShutdown: a stream ends with Unavailable when the server shuts
// down, and an unknown collection is refused up front.
func TestWatchShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	c := e.client(protocols()[0])
	s, err := c.Watch(ctx, as(e, "alice", &basaltv1.WatchRequest{Collection: "nope"}))
	if err == nil {
		for s.Receive() {
		}
		err = s.Err()
		s.Close()
	}
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Errorf("unknown collection: %v", err)
	}
	w := e.openWatch(ctx, c, "alice", "alice", &basaltv1.WatchRequest{Collection: "posts"})
	e.broker.Close()
	select {
	case _, ok := <-w.ch:
		if ok {
			t.Fatal("message after close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open")
	}
	if err := <-w.done; connect.CodeOf(err) != connect.CodeUnavailable {
		t.Errorf("after shutdown: %v, want unavailable", err)
	}
}
