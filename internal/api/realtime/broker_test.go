package realtime

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
)

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
	if f.broker.Publish(s.id, OAuth2Topic, []byte(`{"state":"`+s.id+`","code":"other"}`)) {
		t.Error("a second publish to the same client was delivered: the topic must deliver once")
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
			got := c.take(nil, maxBatch)
			if len(got) != 1 {
				t.Errorf("client %s got %d messages, want 1", c.id, len(got))
				return
			}
			if m := got[0]; !strings.Contains(string(m.data), post.ID()) {
				t.Errorf("message %s", m.data)
			}
		})
	}
	wg.Wait()
}

// TestSubscriptionGetsOnlyLaterEvents checks that an event committed before
// a subscription began is not delivered to it even when the dispatcher
// reaches it afterwards, while a topic the client keeps loses nothing.
func TestSubscriptionGetsOnlyLaterEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := f.connect()
	f.mustSubscribe(s, "ann", "posts/*")
	kept := f.createPost("ann", "committed while subscribed")
	early := f.createPost("ann", "committed before the new topic")
	// The client adds a topic before the dispatcher got to either event.
	f.mustSubscribe(s, "ann", "posts/*", "posts/"+early.ID())
	f.deliver()
	for _, want := range []string{kept.ID(), early.ID()} {
		ev := s.next()
		if ev.event != "posts/*" || !strings.Contains(ev.data, want) {
			t.Fatalf("kept topic: got %+v, want posts/* with %s", ev, want)
		}
	}
	s.none()
	late := f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Update(ctx, su(), "posts", early.ID(), record.Input{Data: map[string]any{"title": "after"}}, "")
	})
	f.deliver()
	got := map[string]bool{}
	for range 2 {
		ev := s.next()
		if !strings.Contains(ev.data, late.ID()) || !strings.Contains(ev.data, `"update"`) {
			t.Fatalf("later event: %+v", ev)
		}
		got[ev.event] = true
	}
	if !got["posts/*"] || !got["posts/"+early.ID()] {
		t.Errorf("later event reached topics %v, want both", got)
	}
}
