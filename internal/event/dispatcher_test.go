package event_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/event"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var eventN atomic.Int64

// commit appends one event per record id in one transaction; fail makes the
// transaction roll back.
func commit(t *testing.T, st store.Store, at time.Time, fail bool, recordIDs ...string) {
	t.Helper()
	errRollback := errors.New("roll back")
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		for _, id := range recordIDs {
			e := &store.Event{
				ID: fmt.Sprintf("ev%d", eventN.Add(1)), CollectionID: "pbc_posts", CollectionName: "posts",
				RecordID: id, Action: store.ActionCreate, After: []byte(`{"id":"` + id + `"}`), Time: at,
			}
			if err := tx.AppendEvent(context.Background(), e); err != nil {
				return err
			}
		}
		if fail {
			return errRollback
		}
		return nil
	})
	if fail != errors.Is(err, errRollback) || (!fail && err != nil) {
		t.Errorf("InTx: %v", err) // not Fatal: writers may run in other goroutines
	}
}

// recorder is a consumer that remembers the record ids it was given.
type recorder struct {
	mu   sync.Mutex
	ids  []string
	seqs []int64
	got  chan struct{}
}

func newRecorder() *recorder { return &recorder{got: make(chan struct{}, 10000)} }

func (r *recorder) Consume(_ context.Context, ev *store.Event) {
	r.mu.Lock()
	r.ids = append(r.ids, ev.RecordID)
	r.seqs = append(r.seqs, ev.Seq)
	r.mu.Unlock()
	r.got <- struct{}{}
}

func (r *recorder) snapshot() ([]string, []int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...), append([]int64(nil), r.seqs...)
}

// wait blocks until n more events arrived or fails after a while.
func (r *recorder) wait(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-r.got:
		case <-timeout:
			ids, _ := r.snapshot()
			t.Fatalf("timed out waiting for events; have %v", ids)
		}
	}
}

// quiet fails when an event arrives within d.
func (r *recorder) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-r.got:
		ids, _ := r.snapshot()
		t.Fatalf("unexpected event; have %v", ids)
	case <-time.After(d):
	}
}

// run starts d and stops it when the test ends, checking that Run returns
// nil once its context is canceled.
func run(t *testing.T, d *event.Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
}

// started waits until d has read its starting point.
func started(t *testing.T, d *event.Dispatcher, st store.Store) {
	t.Helper()
	select {
	case <-d.Started():
	case <-time.After(5 * time.Second):
		t.Fatal("dispatcher did not start")
	}
	last, err := st.LastEventSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d.Delivered() != last {
		t.Fatalf("dispatcher starts after %d, want the last seq %d", d.Delivered(), last)
	}
}

func TestDeliversInCommitOrderToEveryConsumer(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	now := time.Now()
	commit(t, st, now, false, "before-start")
	d := event.New(st, event.Options{Poll: time.Hour, Batch: 7})
	a, b := newRecorder(), newRecorder()
	d.Subscribe(a)
	d.Subscribe(b)
	run(t, d)
	started(t, d, st)

	// Concurrent writers: the store serializes them, and the dispatcher
	// must deliver in the order the commits happened.
	var wg sync.WaitGroup
	const writers, perWriter = 4, 25
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				commit(t, st, now, false, fmt.Sprintf("w%d-%d-a", w, i), fmt.Sprintf("w%d-%d-b", w, i))
				d.Notify()
			}
		})
	}
	wg.Wait()
	total := writers * perWriter * 2
	a.wait(t, total)
	b.wait(t, total)

	ids, seqs := a.snapshot()
	if len(ids) != total {
		t.Fatalf("delivered %d events, want %d", len(ids), total)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("out of order at %d: seq %d after %d", i, seqs[i], seqs[i-1])
		}
	}
	stored, err := st.Events(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if stored[0].RecordID != "before-start" {
		t.Fatalf("first stored event: %s", stored[0].RecordID)
	}
	for i, e := range stored[1:] {
		if ids[i] != e.RecordID {
			t.Fatalf("event %d: delivered %s, committed %s", i, ids[i], e.RecordID)
		}
	}
	bids, _ := b.snapshot()
	if fmt.Sprint(bids) != fmt.Sprint(ids) {
		t.Errorf("the second consumer saw a different sequence")
	}
	// Events committed before Run are not delivered (live only).
	for _, id := range ids {
		if id == "before-start" {
			t.Errorf("an event committed before Run was delivered")
		}
	}
}

func TestRolledBackEventsAreNeverDelivered(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	d := event.New(st, event.Options{Poll: 5 * time.Millisecond})
	r := newRecorder()
	d.Subscribe(r)
	run(t, d)
	started(t, d, st)

	commit(t, st, time.Now(), true, "lost1", "lost2")
	d.Notify()
	commit(t, st, time.Now(), false, "kept")
	d.Notify()
	r.wait(t, 1)
	r.quiet(t, 50*time.Millisecond)
	if ids, _ := r.snapshot(); fmt.Sprint(ids) != "[kept]" {
		t.Errorf("delivered %v, want [kept]", ids)
	}
}

func TestPollingFindsUnannouncedEvents(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	d := event.New(st, event.Options{Poll: 5 * time.Millisecond})
	r := newRecorder()
	d.Subscribe(r)
	run(t, d)
	started(t, d, st)
	commit(t, st, time.Now(), false, "silent") // no Notify: a write by another process
	r.wait(t, 1)
}

func TestNotifyWithoutPolling(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	d := event.New(st, event.Options{Poll: time.Hour})
	r := newRecorder()
	d.Subscribe(r)
	run(t, d)
	started(t, d, st)
	for _, id := range []string{"one", "two", "three"} {
		commit(t, st, time.Now(), false, id)
		d.Notify()
		d.Notify() // merged, never blocks
		r.wait(t, 1)
	}
}

func TestPanickingConsumerDoesNotStopOthers(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	d := event.New(st, event.Options{Poll: time.Hour})
	d.Subscribe(event.ConsumerFunc(func(context.Context, *store.Event) { panic("consumer bug") }))
	r := newRecorder()
	d.Subscribe(r)
	run(t, d)
	started(t, d, st)
	commit(t, st, time.Now(), false, "a", "b")
	d.Notify()
	r.wait(t, 2)
}

func TestPrunesDeliveredEventsPastRetention(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	var clock atomic.Int64
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock.Store(base.UnixNano())
	d := event.New(st, event.Options{
		Poll: time.Hour, Retention: time.Hour, PruneEvery: 5 * time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() },
	})
	r := newRecorder()
	d.Subscribe(r)
	run(t, d)
	started(t, d, st)

	commit(t, st, base, false, "old")
	d.Notify()
	r.wait(t, 1)
	commit(t, st, base.Add(50*time.Minute), false, "recent")
	d.Notify()
	r.wait(t, 1)
	// Not yet past the retention: nothing goes.
	time.Sleep(30 * time.Millisecond)
	if evs, _ := st.Events(context.Background(), 0, 10); len(evs) != 2 {
		t.Fatalf("events before the retention passed: %d", len(evs))
	}
	clock.Store(base.Add(90 * time.Minute).UnixNano())
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, err := st.Events(context.Background(), 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 1 && evs[0].RecordID == "recent" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("old event not pruned; outbox has %d events", len(evs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// failingOutbox fails reads until healed.
type failingOutbox struct {
	event.Outbox
	broken atomic.Bool
}

func (f *failingOutbox) Events(ctx context.Context, after int64, limit int) ([]*store.Event, error) {
	if f.broken.Load() {
		return nil, errors.New("disk on fire")
	}
	return f.Outbox.Events(ctx, after, limit)
}

func TestRecoversFromReadErrors(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	ob := &failingOutbox{Outbox: st}
	d := event.New(ob, event.Options{Poll: 5 * time.Millisecond})
	r := newRecorder()
	d.Subscribe(r)
	ob.broken.Store(true)
	run(t, d)
	started(t, d, st)
	commit(t, st, time.Now(), false, "x")
	d.Notify()
	r.quiet(t, 30*time.Millisecond)
	ob.broken.Store(false)
	r.wait(t, 1)
}

func TestRunFailsWithoutAStartingPoint(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	st.Close()
	if err := event.New(st, event.Options{}).Run(context.Background()); err == nil {
		t.Fatal("Run on a closed store returned nil")
	}
}

func TestPruningNeverPassesAHold(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	d := event.New(st, event.Options{
		Poll: time.Hour, Retention: time.Hour, PruneEvery: 5 * time.Millisecond,
		Now: func() time.Time { return base.Add(10 * time.Hour) },
	})
	var hold atomic.Int64
	d.Hold(func(context.Context) (int64, error) { return hold.Load(), nil })
	r := newRecorder()
	d.Subscribe(r)
	run(t, d)
	started(t, d, st)
	commit(t, st, base, false, "a")
	commit(t, st, base, false, "b")
	d.Notify()
	r.wait(t, 2)
	time.Sleep(30 * time.Millisecond)
	evs, _ := st.Events(context.Background(), 0, 10)
	if len(evs) != 2 {
		t.Fatalf("events with the hold at 0: got %d, want 2", len(evs))
	}
	hold.Store(evs[0].Seq)
	deadline := time.Now().Add(5 * time.Second)
	for {
		evs, _ = st.Events(context.Background(), 0, 10)
		if len(evs) == 1 && evs[0].RecordID == "b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events with the hold at the first: got %d, want only b", len(evs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}
