package realtime

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
)

// watcher is a feed under test.
type watcher struct {
	t  *testing.T
	ch <-chan Message
}

func (f *fixture) watch(ctx context.Context, as string, topics ...string) *watcher {
	f.t.Helper()
	ch, err := f.broker.Watch(ctx, f.users[as], topics)
	if err != nil {
		f.t.Fatalf("Watch %v as %q: %v", topics, as, err)
	}
	return &watcher{t: f.t, ch: ch}
}

// next returns the next message, failing after a while.
func (w *watcher) next() Message {
	w.t.Helper()
	select {
	case m, ok := <-w.ch:
		if !ok {
			w.t.Fatal("feed closed")
		}
		return m
	case <-time.After(5 * time.Second):
		w.t.Fatal("timed out waiting for a message")
	}
	return Message{}
}

// expect reads the next change and checks its topic, action and record id.
func (w *watcher) expect(topic, action, id string) Change {
	w.t.Helper()
	m := w.next()
	c, err := m.Decode()
	if err != nil || m.Topic != topic || c.Action != action || c.Record["id"] != id {
		w.t.Fatalf("got %q %s %v (%v, err %v), want %q %s %s", m.Topic, c.Action, c.Record["id"], string(m.Data), err, topic, action, id)
	}
	return c
}

// closed fails unless the feed closes soon, with no message first.
func (w *watcher) closed() {
	w.t.Helper()
	select {
	case m, ok := <-w.ch:
		if ok {
			w.t.Fatalf("unexpected message %q %s (err %v)", m.Topic, m.Data, m.Err)
		}
	case <-time.After(5 * time.Second):
		w.t.Fatal("feed still open")
	}
}

// TestWatchRules: a watcher receives exactly what an SSE client with the
// same auth and topics receives.
func TestWatchRules(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t, Options{})
	hidden := f.createPost("bob", "before")
	f.deliver()

	guest := f.watch(ctx, "", "posts/*")
	ann := f.watch(ctx, "ann", "posts/*")
	root := f.watch(ctx, "su", "posts/*")
	guestView := f.watch(ctx, "", "posts/"+hidden.ID())
	sseGuest := f.connect()
	f.mustSubscribe(sseGuest, "", "posts/*", "posts/"+hidden.ID())

	annPost := f.createPost("ann", "ann's")
	bobPost := f.createPost("bob", "bob's")
	f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Update(ctx, su(), "posts", hidden.ID(), record.Input{Data: map[string]any{"title": "edited"}}, "")
	})
	if err := f.records.Delete(ctx, su(), "posts", annPost.ID()); err != nil {
		t.Fatal(err)
	}
	f.deliver()

	ann.expect("posts/*", "create", annPost.ID())
	ann.expect("posts/*", "delete", annPost.ID())
	root.expect("posts/*", "create", annPost.ID())
	root.expect("posts/*", "create", bobPost.ID())
	root.expect("posts/*", "update", hidden.ID())
	root.expect("posts/*", "delete", annPost.ID())
	// The list rule hides every post from a guest; the public view rule
	// shows it the record it watches, as over SSE.
	c := guestView.expect("posts/"+hidden.ID(), "update", hidden.ID())
	if c.Record["title"] != "edited" || c.Record["collectionName"] != "posts" {
		t.Errorf("guest's record: %v", c.Record)
	}
	expect(t, sseGuest, "posts/"+hidden.ID(), "update", hidden.ID())

	// A marker that everybody sees ends each feed's check: nothing else
	// came before it.
	marker := f.createPost("ann", "marker")
	f.deliver()
	ann.expect("posts/*", "create", marker.ID())
	root.expect("posts/*", "create", marker.ID())
	select {
	case m := <-guest.ch:
		t.Errorf("guest received %q %s", m.Topic, m.Data)
	case <-time.After(50 * time.Millisecond):
	}
	sseGuest.none()
}

// TestWatchOptions: topic options apply (filter, fields) as over SSE.
func TestWatchOptions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t, Options{})
	topic := `posts/*?options=` + urlEncode(`{"query":{"filter":"title ~ 'match'","fields":"id,title"}}`)
	w := f.watch(ctx, "ann", topic)
	f.createPost("ann", "other")
	p := f.createPost("ann", "a match")
	f.deliver()
	c := w.expect(topic, "create", p.ID())
	if len(c.Record) != 2 || c.Record["title"] != "a match" {
		t.Errorf("record with fields=id,title: %v", c.Record)
	}
}

// TestWatchCancel: ending the context closes the feed, leaves the broker
// and ends the watcher's goroutine. It is not parallel: it counts the
// package's watcher goroutines.
func TestWatchCancel(t *testing.T) {
	f := newFixture(t, Options{})
	base := f.broker.Clients()
	var cancels []context.CancelFunc
	var feeds []*watcher
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		cancels = append(cancels, cancel)
		feeds = append(feeds, f.watch(ctx, "ann", "posts/*"))
	}
	if got := f.broker.Clients(); got != base+5 {
		t.Fatalf("clients while watching: %d, want %d", got, base+5)
	}
	if f.broker.Idle() {
		t.Error("broker idle while watched")
	}
	// A change queued but never received is released too.
	f.createPost("ann", "unread")
	f.deliver()
	for i, cancel := range cancels {
		cancel()
		feeds[i].drain()
	}
	waitFor(t, func() bool { return f.broker.Clients() == base && watchGoroutines() == 0 })
}

// drain reads the feed until it closes; it must not end with an error.
func (w *watcher) drain() {
	w.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-w.ch:
			if !ok {
				return
			}
			if m.Err != nil {
				w.t.Fatalf("feed ended with %v", m.Err)
			}
		case <-deadline:
			w.t.Fatal("feed still open")
		}
	}
}

// TestWatchSlowAndClose: a watcher that falls behind is dropped with
// ErrTooSlow; the others get ErrClosed when the broker closes.
func TestWatchSlowAndClose(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFixture(t, Options{SendBuffer: 2})
	slow := f.watch(ctx, "ann", "posts/*")
	fast := f.watch(ctx, "ann", "posts/*")
	var ids []string
	for i := range 6 {
		ids = append(ids, f.createPost("ann", "p").ID())
		f.deliver()
		fast.expect("posts/*", "create", ids[i])
	}
	var last Message
	for m := range slow.ch {
		last = m
	}
	if !errors.Is(last.Err, ErrTooSlow) {
		t.Fatalf("slow feed ended with %+v, want ErrTooSlow", last)
	}
	f.broker.Close()
	if m := fast.next(); !errors.Is(m.Err, ErrClosed) {
		t.Fatalf("after Close: %+v, want ErrClosed", m)
	}
	fast.closed()
	if _, err := f.broker.Watch(ctx, nil, []string{"posts/*"}); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("Watch after Close: %v, want unavailable", err)
	}
}

func TestWatchInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ctx := context.Background()
	tests := []struct {
		name   string
		topics []string
	}{
		{"none", nil},
		{"too many", make([]string, maxSubscriptions+1)},
		{"too long", []string{strings.Repeat("x", maxSubscriptionSize+1)}},
	}
	for _, tt := range tests {
		if _, err := f.broker.Watch(ctx, nil, tt.topics); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("%s: err %v, want invalid", tt.name, err)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.broker.Watch(done, nil, []string{"posts/*"}); !errors.Is(err, context.Canceled) {
		t.Errorf("ended context: err %v", err)
	}
	if got := f.broker.Clients(); got != 0 {
		t.Errorf("refused watchers left %d clients", got)
	}
}

// watchGoroutines counts the goroutines running Broker.watch.
func watchGoroutines() int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), "realtime.(*Broker).watch(")
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
