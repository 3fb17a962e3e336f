package realtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/record"
)

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
