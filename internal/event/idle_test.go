package event_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/event"
	"github.com/basalt-dev/basalt/internal/store"
)

// idleRecorder is a recorder that can say it is idle.
type idleRecorder struct {
	*recorder
	idle atomic.Bool
}

func (r *idleRecorder) Idle() bool { return r.idle.Load() }

// readCounter counts the outbox reads of a real store.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *readCounter) Events(ctx context.Context, after int64, limit int) ([]*store.Event, error) {
	c.reads.Add(1)
	return c.Store.Events(ctx, after, limit)
}

// TestIdleConsumersSkipTheOutbox checks that while every consumer is idle
// the dispatcher moves past events without reading them, and that a
// consumer that stops being idle gets the events committed afterwards.
func TestIdleConsumersSkipTheOutbox(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	rc := &readCounter{Store: st}
	d := event.New(rc, event.Options{Poll: time.Hour})
	a := &idleRecorder{recorder: newRecorder()}
	a.idle.Store(true)
	d.Subscribe(a)
	run(t, d)
	started(t, d, st)

	now := time.Now()
	commit(t, st, now, false, "while-idle-1", "while-idle-2")
	d.Notify()
	last, _ := st.LastEventSeq(context.Background())
	waitUntil(t, func() bool { return d.Delivered() == last })
	if n := rc.reads.Load(); n != 0 {
		t.Fatalf("the outbox was read %d times while every consumer was idle", n)
	}
	if ids, _ := a.snapshot(); len(ids) != 0 {
		t.Fatalf("an idle consumer was given %v", ids)
	}

	a.idle.Store(false)
	commit(t, st, now, false, "after")
	d.Notify()
	a.wait(t, 1)
	if ids, _ := a.snapshot(); len(ids) != 1 || ids[0] != "after" {
		t.Fatalf("after the consumer woke up it got %v, want [after]", ids)
	}
}

// TestOneBusyConsumerKeepsReading checks that an idle consumer does not
// make the dispatcher skip events another consumer needs.
func TestOneBusyConsumerKeepsReading(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	d := event.New(st, event.Options{Poll: time.Hour})
	idle := &idleRecorder{recorder: newRecorder()}
	idle.idle.Store(true)
	busy := newRecorder()
	d.Subscribe(idle)
	d.Subscribe(busy)
	run(t, d)
	started(t, d, st)
	commit(t, st, time.Now(), false, "x", "y")
	d.Notify()
	busy.wait(t, 2)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
