package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

// holdWriter starts an InTx whose fn sets key and then waits for release,
// so that callers started meanwhile queue up and join its group. It returns
// the channel the holder's result arrives on.
func holdWriter(t *testing.T, s *Store, key string, release <-chan struct{}) <-chan error {
	t.Helper()
	ctx := context.Background()
	locked := make(chan struct{})
	res := make(chan error, 1)
	go func() {
		res <- s.InTx(ctx, func(tx store.Tx) error {
			if err := tx.SetParam(ctx, key, []byte("1")); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	return res
}

// waitQueued waits until n callers wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.writer.mu.Lock()
		got := len(s.writer.queue)
		s.writer.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d queued writers: %d queued", n, got)
		}
		time.Sleep(time.Millisecond)
	}
}

func hasParam(t *testing.T, s *Store, key string) bool {
	t.Helper()
	_, err := s.Param(context.Background(), key)
	if err == nil {
		return true
	}
	if apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("Param(%q): %v", key, err)
	}
	return false
}

func TestGroupCommitIsolatesCallers(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	before := s.WriterStats()
	release := make(chan struct{})
	held := holdWriter(t, s, "holder", release)

	type outcome struct {
		key string
		err error
		// visible: the write could be read outside the transaction when
		// InTx returned.
		visible bool
	}
	const callers = 12
	out := make(chan outcome, callers)
	errFn := errors.New("caller failed")
	canceled, cancel := context.WithCancel(ctx)
	defer cancel()
	for i := range callers {
		key := fmt.Sprintf("k%02d", i)
		go func() {
			o := outcome{key: key}
			defer func() {
				if p := recover(); p != nil {
					o.err = fmt.Errorf("panic: %v", p)
				}
				out <- o
			}()
			callCtx := ctx
			if i == 5 {
				callCtx = canceled
			}
			o.err = s.InTx(callCtx, func(tx store.Tx) error {
				if err := tx.SetParam(callCtx, key, []byte("v")); err != nil {
					return err
				}
				switch i {
				case 3:
					return errFn
				case 5:
					cancel()
				case 7:
					panic("boom")
				}
				return nil
			})
			if o.err == nil {
				o.visible = hasParam(t, s, key)
			}
		}()
	}
	waitQueued(t, s, callers)
	close(release)
	if err := <-held; err != nil {
		t.Fatalf("holder: %v", err)
	}
	for range callers {
		o := <-out
		fail := o.key == "k03" || o.key == "k05" || o.key == "k07"
		switch {
		case fail && o.err == nil:
			t.Errorf("%s: InTx succeeded, want an error", o.key)
		case !fail && o.err != nil:
			t.Errorf("%s: InTx: %v", o.key, o.err)
		case !fail && !o.visible:
			t.Errorf("%s: acknowledged before its write was committed", o.key)
		}
		if got := hasParam(t, s, o.key); got == fail {
			t.Errorf("%s: stored %v, want %v", o.key, got, !fail)
		}
	}
	if o := hasParam(t, s, "holder"); !o {
		t.Errorf("holder's write was lost")
	}
	// The holder and the 9 callers that succeeded were acknowledged by
	// fewer commits than that: they shared transactions.
	after := s.WriterStats()
	if got := after.Callers - before.Callers; got != callers-3+1 {
		t.Errorf("writer stats: %d callers acknowledged, want %d", got, callers-3+1)
	}
	if commits := after.Commits - before.Commits; commits < 1 || commits >= callers-3+1 {
		t.Errorf("writer stats: %d commits for %d callers, want them grouped", commits, callers-3+1)
	}
	if after.Busy <= before.Busy {
		t.Errorf("writer stats: busy time %v did not grow from %v", after.Busy, before.Busy)
	}
}

func TestGroupCommitFailureFailsEveryCaller(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	// A deferred foreign key is checked at COMMIT, so a dangling reference
	// makes the shared commit fail after every fn succeeded.
	_, err := s.write.ExecContext(ctx, `CREATE TABLE "parent" ("id" TEXT PRIMARY KEY);
		CREATE TABLE "child" ("id" TEXT PRIMARY KEY, "parent" TEXT REFERENCES "parent" ("id") DEFERRABLE INITIALLY DEFERRED)`)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	held := holdWriter(t, s, "holder", release)
	const callers = 6
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			errs <- s.InTx(ctx, func(storeTx store.Tx) error {
				if i == 2 {
					_, err := storeTx.(*tx).conn.ExecContext(ctx, `INSERT INTO "child" VALUES ('c1', 'missing')`)
					return err
				}
				return storeTx.SetParam(ctx, fmt.Sprintf("k%d", i), []byte("v"))
			})
		}()
	}
	waitQueued(t, s, callers)
	close(release)
	if err := <-held; err == nil {
		t.Errorf("holder: InTx succeeded, want the commit's error")
	}
	for range callers {
		if err := <-errs; err == nil {
			t.Errorf("a caller of the failed commit succeeded")
		}
	}
	for i := range callers {
		if hasParam(t, s, fmt.Sprintf("k%d", i)) {
			t.Errorf("k%d stored by a failed commit", i)
		}
	}
	if hasParam(t, s, "holder") {
		t.Errorf("holder's write stored by a failed commit")
	}
	// The writer is usable again.
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.SetParam(ctx, "after", []byte("v")) }); err != nil {
		t.Fatalf("InTx after a failed commit: %v", err)
	}
	if !hasParam(t, s, "after") {
		t.Errorf("write after a failed commit lost")
	}
}

func TestGroupCommitTransactionEndedBySQLite(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	release := make(chan struct{})
	held := holdWriter(t, s, "holder", release)
	const callers = 4
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.InTx(ctx, func(storeTx store.Tx) error {
				if err := storeTx.SetParam(ctx, fmt.Sprintf("k%d", i), []byte("v")); err != nil {
					return err
				}
				if i == 1 {
					// Stands for SQLite ending the transaction on its own
					// (an interrupted write, an I/O error).
					_, err := storeTx.(*tx).conn.ExecContext(ctx, "ROLLBACK")
					return err
				}
				return nil
			})
		}()
		waitQueued(t, s, i+1) // in this order
	}
	close(release)
	if err := <-held; err == nil {
		t.Errorf("holder: InTx succeeded though its transaction was rolled back")
	}
	wg.Wait()
	// k0 and k1 ran in the rolled back transaction; k2 and k3 after it, in
	// a new one.
	for i, err := range errs {
		if want := i <= 1; (err != nil) != want {
			t.Errorf("k%d: InTx error %v, want an error: %v", i, err, want)
		}
		if got, want := hasParam(t, s, fmt.Sprintf("k%d", i)), i > 1; got != want {
			t.Errorf("k%d: stored %v, want %v", i, got, want)
		}
	}
}

func TestGroupCommitCanceledWhileWaiting(t *testing.T) {
	t.Parallel()
	s := openTest(t)
	ctx := context.Background()
	release := make(chan struct{})
	held := holdWriter(t, s, "holder", release)
	waiting, cancel := context.WithCancel(ctx)
	res := make(chan error, 1)
	go func() {
		res <- s.InTx(waiting, func(tx store.Tx) error { return tx.SetParam(ctx, "gone", []byte("v")) })
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-res; apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("InTx canceled while waiting: got %v, want unavailable", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatalf("holder: %v", err)
	}
	if hasParam(t, s, "gone") || !hasParam(t, s, "holder") {
		t.Errorf("stored: gone %v holder %v, want false true", hasParam(t, s, "gone"), hasParam(t, s, "holder"))
	}
}

// BenchmarkInTxParallel measures small concurrent write transactions, the
// case group commit is for.
func BenchmarkInTxParallel(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	b.SetParallelism(16)
	defer func() {
		if c := s.groups.commits.Load(); c > 0 {
			b.ReportMetric(float64(s.groups.callers.Load())/float64(c), "callers/commit")
		}
	}()
	var n sync.Mutex
	i := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Lock()
			i++
			key := fmt.Sprintf("k%d", i)
			n.Unlock()
			if err := s.InTx(ctx, func(tx store.Tx) error { return tx.SetParam(ctx, key, []byte("v")) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The last event seq is kept in memory: raised by the commits of a group's
// members only (a caller rolled back to its savepoint gives its seq back to
// SQLite, which hands it out again), and read from the file at open.
func TestLastEventSeqFollowsCommits(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "data.db")
	s := openAt(t, path)
	ctx := context.Background()
	appendOne := func(id string, fail bool) (int64, error) {
		var seq int64
		err := s.InTx(ctx, func(tx store.Tx) error {
			e := &store.Event{ID: id, CollectionID: "pbc_posts", CollectionName: "posts", RecordID: "r" + id, Action: store.ActionCreate, Time: time.Now()}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			seq = e.Seq
			if fail {
				return errors.New("caller failed")
			}
			return nil
		})
		return seq, err
	}
	// Callers queued behind a held writer share one transaction; the third
	// fails after appending its event, whose seq the fourth gets again.
	release := make(chan struct{})
	held := holdWriter(t, s, "holder", release)
	type result struct {
		seq int64
		err error
	}
	results := make([]chan result, 4)
	for i := range results {
		results[i] = make(chan result, 1)
		go func() {
			seq, err := appendOne(fmt.Sprintf("e%d", i), i == 2)
			results[i] <- result{seq, err}
		}()
		waitQueued(t, s, i+1)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for i, ch := range results {
		r := <-ch
		if (r.err != nil) != (i == 2) {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		seqs = append(seqs, r.seq)
	}
	if seqs[3] != seqs[2] || seqs[3] != max(seqs[0], seqs[1])+1 {
		t.Fatalf("seqs of the callers %v: want the failed third's seq given to the fourth, one after the first two", seqs)
	}
	last, err := s.LastEventSeq(ctx)
	if err != nil || last != seqs[3] {
		t.Fatalf("LastEventSeq: %d, %v; want %d, the highest committed", last, err, seqs[3])
	}
	// A failed transaction on its own leaves it as it was.
	if _, err := appendOne("lost", true); err == nil {
		t.Fatal("a failing caller succeeded")
	}
	if got, _ := s.LastEventSeq(ctx); got != last {
		t.Fatalf("LastEventSeq after a rollback: %d, want %d", got, last)
	}
	next, err := appendOne("next", false)
	if err != nil || next != last+1 {
		t.Fatalf("the next event: seq %d, %v; want %d", next, err, last+1)
	}
	last = next
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LastEventSeq(ctx); err == nil {
		t.Error("LastEventSeq of a closed store: no error")
	}
	s = openAt(t, path)
	defer s.Close()
	if got, err := s.LastEventSeq(ctx); err != nil || got != last {
		t.Fatalf("LastEventSeq after reopening: %d, %v; want %d", got, err, last)
	}
}

// openAt opens the store at path; the caller closes it.
func openAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// appendEvent appends one event in its own transaction and returns its seq.
func appendEvent(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	e := &store.Event{ID: id, CollectionID: "pbc_posts", CollectionName: "posts", RecordID: "r" + id, Action: store.ActionCreate, Time: time.Now()}
	if err := s.InTx(context.Background(), func(tx store.Tx) error { return tx.AppendEvent(context.Background(), e) }); err != nil {
		t.Fatalf("appending %s: %v", id, err)
	}
	return e.Seq
}

// A reopened store never gives out a seq again, also when pruning emptied
// the outbox before it was closed.
func TestEventSeqsSurvivePruningAndReopening(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	s := openAt(t, path)
	var last int64
	for i := range 3 {
		last = appendEvent(t, s, fmt.Sprintf("e%d", i))
	}
	if n, err := s.PruneEvents(ctx, last, time.Now().Add(time.Hour)); err != nil || n != 3 {
		t.Fatalf("PruneEvents: %d, %v; want 3", n, err)
	}
	s.Close()
	s = openAt(t, path)
	defer s.Close()
	if got, _ := s.LastEventSeq(ctx); got != last {
		t.Fatalf("LastEventSeq of the reopened, pruned outbox: %d, want %d", got, last)
	}
	if next := appendEvent(t, s, "after"); next != last+1 {
		t.Fatalf("the first seq after reopening: %d, want %d", next, last+1)
	}
}

// A data directory from before migration 0011 keeps its events and seqs:
// the seq its AUTOINCREMENT sequence held goes on, even with the outbox
// pruned empty.
func TestEventsRowidMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	openAt(t, path).Close()
	// Put the file back as the migrations before 0011 left it: _events with
	// AUTOINCREMENT, its sequence at 50 after events up to 50 were written
	// and all but 40 and 41 pruned.
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DROP TABLE "_events"`, `DROP TABLE "_eventsPruned"`,
		`DELETE FROM "_migrations" WHERE "name" = '0011_events_rowid'`,
		`CREATE TABLE "_events" (
			"seq" INTEGER PRIMARY KEY AUTOINCREMENT, "id" TEXT NOT NULL UNIQUE, "collectionId" TEXT NOT NULL,
			"collectionName" TEXT NOT NULL, "recordId" TEXT NOT NULL, "action" TEXT NOT NULL,
			"before" TEXT, "after" TEXT, "created" TEXT NOT NULL)`,
		`INSERT INTO "_events" VALUES (40, 'e40', 'pbc_posts', 'posts', 'r40', 'create', NULL, '{"id":"r40"}', '2026-11-24 00:00:00.000Z')`,
		`INSERT INTO "_events" VALUES (41, 'e41', 'pbc_posts', 'posts', 'r41', 'delete', '{"id":"r41"}', NULL, '2026-11-24 00:00:01.000Z')`,
		`UPDATE sqlite_sequence SET "seq" = 50 WHERE "name" = '_events'`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	s := openAt(t, path)
	evs, err := s.Events(ctx, 0, 10)
	if err != nil || len(evs) != 2 || evs[0].Seq != 40 || evs[1].Seq != 41 || evs[1].ID != "e41" || string(evs[1].Before) != `{"id":"r41"}` {
		t.Fatalf("events after the migration: %+v, %v", evs, err)
	}
	if got, _ := s.LastEventSeq(ctx); got != 50 {
		t.Fatalf("LastEventSeq after the migration: %d, want 50", got)
	}
	if n, err := s.PruneEvents(ctx, 41, time.Now()); err != nil || n != 2 {
		t.Fatalf("PruneEvents: %d, %v", n, err)
	}
	s.Close()
	s = openAt(t, path)
	defer s.Close()
	if next := appendEvent(t, s, "e51"); next != 51 {
		t.Fatalf("the first seq after the migration and pruning: %d, want 51", next)
	}
}

// Two stores on one file (as a server and a CLI command are) take turns
// appending events: each transaction counts seqs on from the highest in
// the file, so they never collide and keep increasing, also in a
// transaction of several events and after one rolled back.
func TestEventSeqsAcrossStoresOnOneFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data.db")
	a := openAt(t, path)
	defer a.Close()
	b := openAt(t, path)
	defer b.Close()
	var seqs []int64
	for i := range 3 {
		seqs = append(seqs, appendEvent(t, a, fmt.Sprintf("a%d", i)), appendEvent(t, b, fmt.Sprintf("b%d", i)))
	}
	err := b.InTx(ctx, func(tx store.Tx) error {
		for i := range 2 {
			e := &store.Event{ID: fmt.Sprintf("batch%d", i), CollectionID: "pbc_posts", CollectionName: "posts", RecordID: "r", Action: store.ActionCreate, Time: time.Now()}
			if err := tx.AppendEvent(ctx, e); err != nil {
				return err
			}
			seqs = append(seqs, e.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("rolled back")
	err = a.InTx(ctx, func(tx store.Tx) error {
		e := &store.Event{ID: "undone", CollectionID: "pbc_posts", CollectionName: "posts", RecordID: "r", Action: store.ActionCreate, Time: time.Now()}
		if err := tx.AppendEvent(ctx, e); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("the rolled back append: %v", err)
	}
	seqs = append(seqs, appendEvent(t, a, "after"))
	for i, seq := range seqs {
		if seq != int64(i+1) {
			t.Fatalf("seqs %v, want 1 to %d in order", seqs, len(seqs))
		}
	}
}
