package webhook

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/basalt-dev/basalt/internal/store"
)

// countingStore counts the outbox reads of a real store.
type countingStore struct {
	store.Store
	events atomic.Int64
}

func (c *countingStore) Events(ctx context.Context, after int64, limit int) ([]*store.Event, error) {
	c.events.Add(1)
	return c.Store.Events(ctx, after, limit)
}

// TestFanOutWithoutWebhooksSkipsTheOutbox checks that with no enabled
// webhook the cursor moves to the end of the outbox without reading it,
// and that a webhook created afterwards gets exactly the later events.
func TestFanOutWithoutWebhooksSkipsTheOutbox(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cs := &countingStore{Store: f.st}
	s := New(cs, f.cols, f.records, Options{AllowPrivate: loopback})
	if err := s.initCursor(ctx); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.createPost("before any webhook")
	}
	idle, err := s.fanOut(ctx, false)
	if err != nil || !idle {
		t.Fatalf("fanOut = %v, %v; want idle", idle, err)
	}
	if n := cs.events.Load(); n != 0 {
		t.Fatalf("the outbox was read %d times with no webhook", n)
	}
	last, _ := f.st.LastEventSeq(ctx)
	if pos, _ := s.Position(ctx); pos != last {
		t.Fatalf("cursor %d, want the end of the outbox %d", pos, last)
	}

	w := f.hook(s, Input{})
	f.createPost("after the webhook")
	if idle, err := s.fanOut(ctx, true); err != nil || idle {
		t.Fatalf("fanOut = %v, %v; want not idle", idle, err)
	}
	ds, _, err := f.st.Deliveries(ctx, w.ID, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 {
		t.Fatalf("%d deliveries, want 1 (only the event after the webhook)", len(ds))
	}
}
