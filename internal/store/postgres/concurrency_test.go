package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// TestConcurrentWritersKeepOutboxOrder runs many writers from two stores
// (two replicas on one database) while a reader follows the outbox the way
// the dispatcher does (Events after the last seq it saw). The reader must
// see every committed event exactly once, seqs increasing, and each
// record's events in the order they were written.
func TestConcurrentWritersKeepOutboxOrder(t *testing.T) {
	url := openTestURL(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	c := &schema.Collection{ID: "pbc_counters", Name: "counters", Type: schema.TypeBase, Fields: []*schema.Field{
		{ID: "text_id", Name: "id", Type: schema.TypeText},
		{ID: "number_n", Name: "n", Type: schema.TypeNumber},
	}}
	if err := a.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	const records, writers, each = 4, 8, 15
	for i := range records {
		r := schema.NewRecord(c)
		r.Data["id"] = fmt.Sprintf("counter%08d", i)
		if err := a.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) }); err != nil {
			t.Fatal(err)
		}
	}

	stop := make(chan struct{})
	seen := make(chan []*store.Event, 1)
	go func() {
		var got []*store.Event
		var after int64
		for {
			select {
			case <-stop:
				// One last read after every writer is done.
				for {
					evs, err := b.Events(ctx, after, 1000)
					if err != nil {
						t.Errorf("Events: %v", err)
						break
					}
					if len(evs) == 0 {
						break
					}
					got = append(got, evs...)
					after = evs[len(evs)-1].Seq
				}
				seen <- got
				return
			default:
			}
			evs, err := b.Events(ctx, after, 7)
			if err != nil {
				t.Errorf("Events: %v", err)
				seen <- got
				return
			}
			if len(evs) > 0 {
				got = append(got, evs...)
				after = evs[len(evs)-1].Seq
			}
		}
	}()

	var wg sync.WaitGroup
	for w := range writers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("counter%08d", (w+i)%records)
				err := s.InTx(ctx, func(tx store.Tx) error {
					got, err := tx.FindRecords(ctx, &store.Query{Collection: c, IDs: []string{id}})
					if err != nil || len(got) != 1 {
						return fmt.Errorf("reading %s: %d, %v", id, len(got), err)
					}
					r := got[0].Clone()
					n := r.Data["n"].(float64) + 1
					r.Data["n"] = n
					if err := tx.UpdateRecord(ctx, r); err != nil {
						return err
					}
					// The event carries the counter value it wrote.
					return tx.AppendEvent(ctx, &store.Event{
						ID: fmt.Sprintf("w%d-%d", w, i), CollectionID: c.ID, CollectionName: c.Name,
						RecordID: id, Action: store.ActionUpdate, After: []byte(fmt.Sprintf(`{"n":%v}`, n)), Time: time.Now(),
					})
				})
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	got := <-seen

	if len(got) != writers*each {
		t.Fatalf("reader saw %d events, want %d", len(got), writers*each)
	}
	ids := map[string]bool{}
	last := map[string]int{}
	for i, e := range got {
		if i > 0 && e.Seq <= got[i-1].Seq {
			t.Fatalf("seqs not increasing: %d then %d", got[i-1].Seq, e.Seq)
		}
		if ids[e.ID] {
			t.Fatalf("event %s seen twice", e.ID)
		}
		ids[e.ID] = true
		var n int
		if _, err := fmt.Sscanf(string(e.After), `{"n":%d}`, &n); err != nil {
			t.Fatalf("event %s: %v", e.ID, err)
		}
		if n != last[e.RecordID]+1 {
			t.Fatalf("record %s: event %s has n=%d after n=%d (lost update or reordered events)", e.RecordID, e.ID, n, last[e.RecordID])
		}
		last[e.RecordID] = n
	}
	if seq, err := a.LastEventSeq(ctx); err != nil || seq != got[len(got)-1].Seq {
		t.Errorf("LastEventSeq: got %d, %v; want %d", seq, err, got[len(got)-1].Seq)
	}
}

// TestLastEventSeqIgnoresUncommitted: a seq drawn by a transaction still
// open is not reported, so that a consumer starting from LastEventSeq
// still receives that event when it commits.
func TestLastEventSeqIgnoresUncommitted(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	appended := make(chan int64)
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.InTx(ctx, func(tx store.Tx) error {
			e := &store.Event{ID: "e1", CollectionID: "c", CollectionName: "c", RecordID: "r", Action: store.ActionCreate, Time: time.Now()}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			appended <- e.Seq
			<-release
			return nil
		})
	}()
	seq := <-appended
	last, err := s.LastEventSeq(ctx)
	if err != nil || last != 0 {
		t.Errorf("LastEventSeq while the writer is open: got %d, %v; want 0", last, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, last, 10)
	if err != nil || len(evs) != 1 || evs[0].Seq != seq {
		t.Errorf("Events after %d: got %v, %v; want the event with seq %d", last, evs, err, seq)
	}
}

// TestConcurrentOpensMigrateOnce opens one fresh database from several
// goroutines at once (replicas starting together): every Open succeeds and
// each system migration is recorded once.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	url := openTestURL(t)
	const n = 4
	var wg sync.WaitGroup
	stores := make([]*Store, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), url, Options{MaxConns: 2})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	var total, distinct int
	err := stores[0].pool.QueryRow(context.Background(), `SELECT COUNT(*), COUNT(DISTINCT "name") FROM "_migrations"`).Scan(&total, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if total != len(systemMigrations) || distinct != len(systemMigrations) {
		t.Errorf("_migrations: %d rows, %d names; want %d each", total, distinct, len(systemMigrations))
	}
	// Opening again applies nothing and keeps the data.
	if err := stores[1].InTx(context.Background(), func(tx store.Tx) error { return tx.SetParam(context.Background(), "k", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	again := openURL(t, url)
	if v, err := again.Param(context.Background(), "k"); err != nil || string(v) != "v" {
		t.Errorf("Param after reopening: %q, %v", v, err)
	}
}

// TestListenEvents: a commit with events on one store wakes a listener of
// another store on the same database; a rollback does not.
func TestListenEvents(t *testing.T) {
	url := openTestURL(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	woken := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() { done <- b.ListenEvents(ctx, func() { woken <- struct{}{} }) }()
	defer func() {
		cancel()
		if err := <-done; err != context.Canceled {
			t.Errorf("ListenEvents: %v, want context.Canceled", err)
		}
	}()
	appendOne := func(id string, fail bool) error {
		return a.InTx(context.Background(), func(tx store.Tx) error {
			for i := range 3 {
				e := &store.Event{ID: fmt.Sprintf("%s-%d", id, i), CollectionID: "c", CollectionName: "c", RecordID: "r", Action: store.ActionCreate, Time: time.Now()}
				if err := tx.AppendEvent(context.Background(), e); err != nil {
					return err
				}
			}
			if fail {
				return fmt.Errorf("deliberate failure")
			}
			return nil
		})
	}
	// The listener may not be listening yet: retry until a wake-up arrives.
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		if err := appendOne(fmt.Sprintf("warm%d", i), false); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woken:
		case <-time.After(200 * time.Millisecond):
			continue
		case <-deadline:
			t.Fatal("no wake-up after commits")
		}
		break
	}
	time.Sleep(100 * time.Millisecond)
	for len(woken) > 0 {
		<-woken
	}
	if err := appendOne("rolled", true); err == nil {
		t.Fatal("want the deliberate failure")
	}
	select {
	case <-woken:
		t.Fatal("woken by a rolled back transaction")
	case <-time.After(300 * time.Millisecond):
	}
	if err := appendOne("committed", false); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up for a commit")
	}
}
