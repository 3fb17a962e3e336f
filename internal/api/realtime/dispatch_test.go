package realtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/event"
	"github.com/basalt-dev/basalt/internal/record"
)

// TestThroughTheDispatcher wires the broker as cmd/basalt does: commits
// nudge the dispatcher, which feeds the broker; nothing of a rolled back
// transaction reaches a client.
func TestThroughTheDispatcher(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	d := event.New(f.st, event.Options{Poll: time.Hour})
	d.Subscribe(f.broker)
	f.records.OnCommit(d.Notify)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-d.Started()

	s := f.connect()
	f.mustSubscribe(s, "su", "posts/*", "users/*")
	// A batch that fails on its last operation commits nothing.
	_, err := f.records.Batch(context.Background(), su(), []record.Op{
		{Method: "POST", Collection: "posts", Input: record.Input{Data: map[string]any{"title": "rolled back"}}},
		{Method: "DELETE", Collection: "posts", ID: "missing00000000"},
	})
	var be *record.BatchError
	if !errors.As(err, &be) {
		t.Fatalf("Batch: %v", err)
	}
	post := f.createPost("ann", "committed")
	expect(t, s, "posts/*", "create", post.ID())
	s.none()
	if got := d.Delivered(); got == 0 {
		t.Errorf("Delivered: %d", got)
	}
}
