package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

func testJobs(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(id string, prio int, runAt time.Time) *store.Job {
		return &store.Job{ID: id, Name: "work", Payload: json.RawMessage(`{"n":"` + id + `"}`), State: store.JobQueued,
			Priority: prio, MaxAttempts: 3, RunAt: runAt, Created: runAt, Updated: runAt}
	}
	enqueue := func(t *testing.T, s store.Store, jobs ...*store.Job) {
		t.Helper()
		inTx(t, s, func(tx store.Tx) error {
			for _, j := range jobs {
				if ok, err := tx.EnqueueJob(ctx, j); err != nil || !ok {
					return errors.Join(err, errors.New("not stored: "+j.ID))
				}
			}
			return nil
		})
	}
	claim := func(t *testing.T, s store.Store, owner string, now time.Time, limit int) []*store.Job {
		t.Helper()
		list, err := s.ClaimJobs(ctx, owner, now, now.Add(time.Minute), limit)
		if err != nil {
			t.Fatalf("ClaimJobs(%s): %v", owner, err)
		}
		return list
	}
	ids := func(list []*store.Job) []string {
		out := []string{}
		for _, j := range list {
			out = append(out, j.ID)
		}
		return out
	}

	t.Run("enqueue, read and list", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		a, b := mk("a", 0, t0), mk("b", 5, t0.Add(time.Second))
		b.Name, b.IdempotencyKey = "mail", "k1"
		enqueue(t, s, a, b)
		got, err := s.Job(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "mail" || string(got.Payload) != `{"n":"b"}` || got.State != store.JobQueued || got.Priority != 5 ||
			got.IdempotencyKey != "k1" || got.MaxAttempts != 3 || !got.RunAt.Equal(b.RunAt) || !got.Created.Equal(b.Created) ||
			got.LeaseOwner != "" || !got.LeaseUntil.IsZero() {
			t.Errorf("Job(b) = %+v", got)
		}
		_, err = s.Job(ctx, "nope")
		wantCode(t, err, apperr.NotFound)
		list, total, err := s.Jobs(ctx, store.JobFilter{})
		if err != nil || total != 2 || !equalIDs(ids(list), "b", "a") {
			t.Errorf("Jobs() = %v, %d, %v; want [b a] newest first, 2", ids(list), total, err)
		}
		list, total, err = s.Jobs(ctx, store.JobFilter{Name: "mail"})
		if err != nil || total != 1 || !equalIDs(ids(list), "b") {
			t.Errorf("Jobs(name=mail) = %v, %d, %v", ids(list), total, err)
		}
		list, total, err = s.Jobs(ctx, store.JobFilter{State: store.JobDead})
		if err != nil || total != 0 || len(list) != 0 {
			t.Errorf("Jobs(state=dead) = %v, %d, %v", ids(list), total, err)
		}
		list, total, err = s.Jobs(ctx, store.JobFilter{Limit: 1, Offset: 1})
		if err != nil || total != 2 || !equalIDs(ids(list), "a") {
			t.Errorf("Jobs(limit 1 offset 1) = %v, %d, %v", ids(list), total, err)
		}
		// The idempotency key returns the first job and stores nothing.
		dup := mk("c", 0, t0)
		dup.IdempotencyKey = "k1"
		inTx(t, s, func(tx store.Tx) error {
			ok, err := tx.EnqueueJob(ctx, dup)
			if err != nil || ok || dup.ID != "b" || dup.Name != "mail" {
				t.Errorf("duplicate key: EnqueueJob = %v, %v, job %s/%s; want false, nil, b/mail", ok, err, dup.ID, dup.Name)
			}
			return nil
		})
		if _, err := s.Job(ctx, "c"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("duplicate key stored job c (%v)", err)
		}
		err = s.InTx(ctx, func(tx store.Tx) error { _, err := tx.EnqueueJob(ctx, mk("a", 0, t0)); return err })
		wantCode(t, err, apperr.Conflict)
		for _, bad := range []*store.Job{{ID: "x", Payload: json.RawMessage(`{}`)}, {Name: "n", Payload: json.RawMessage(`{}`)}, {ID: "x", Name: "n", Payload: json.RawMessage(`{`)}} {
			err = s.InTx(ctx, func(tx store.Tx) error { _, err := tx.EnqueueJob(ctx, bad); return err })
			wantCode(t, err, apperr.Invalid)
		}
	})

	t.Run("enqueue commits or rolls back with its transaction", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		boom := errors.New("boom")
		err := s.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.EnqueueJob(ctx, mk("gone", 0, t0)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if _, err := s.Job(ctx, "gone"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("job of a rolled back transaction: %v, want not found", err)
		}
		if got := claim(t, s, "w", t0.Add(time.Hour), 10); len(got) != 0 {
			t.Errorf("claimed %v from a rolled back transaction", ids(got))
		}
	})

	t.Run("claims follow priority and run time", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		enqueue(t, s, mk("late", 9, t0.Add(time.Hour)), mk("low", 0, t0), mk("high", 5, t0.Add(time.Second)), mk("low2", 0, t0.Add(2*time.Second)))
		now := t0.Add(time.Minute)
		got := claim(t, s, "w1", now, 2)
		if !equalIDs(ids(got), "high", "low") {
			t.Fatalf("claim = %v, want [high low] (late not due)", ids(got))
		}
		for _, j := range got {
			if j.State != store.JobRunning || j.Attempts != 1 || j.LeaseOwner != "w1" || !j.LeaseUntil.Equal(now.Add(time.Minute)) {
				t.Errorf("claimed %s = %s/%d/%s/%s", j.ID, j.State, j.Attempts, j.LeaseOwner, j.LeaseUntil)
			}
		}
		if got := claim(t, s, "w2", now, 10); !equalIDs(ids(got), "low2") {
			t.Fatalf("second claim = %v, want [low2]", ids(got))
		}
		if got := claim(t, s, "w3", now, 10); len(got) != 0 {
			t.Fatalf("third claim = %v, want none", ids(got))
		}
		_, err := s.ClaimJobs(ctx, "", now, now, 1)
		wantCode(t, err, apperr.Invalid)
	})

	t.Run("finish, extend, retry and delete", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		enqueue(t, s, mk("j", 0, t0))
		now := t0.Add(time.Second)
		j := claim(t, s, "w1", now, 1)[0]
		// Running jobs can be neither retried nor deleted.
		_, err := s.RetryJob(ctx, "j", now)
		wantCode(t, err, apperr.Conflict)
		wantCode(t, s.DeleteJob(ctx, "j"), apperr.Conflict)
		wantCode(t, s.ExtendJobLease(ctx, "j", "w2", now.Add(time.Hour)), apperr.Conflict)
		if err := s.ExtendJobLease(ctx, "j", "w1", now.Add(time.Hour)); err != nil {
			t.Fatalf("ExtendJobLease: %v", err)
		}
		// The extended lease holds past the original minute.
		if got := claim(t, s, "w2", now.Add(30*time.Minute), 1); len(got) != 0 {
			t.Fatalf("claim under an extended lease = %v", ids(got))
		}
		j.State, j.RunAt, j.LastError, j.Updated = store.JobFailed, now.Add(10*time.Second), "boom", now
		wantCode(t, s.FinishJob(ctx, j, "w2"), apperr.Conflict)
		if err := s.FinishJob(ctx, j, "w1"); err != nil {
			t.Fatalf("FinishJob: %v", err)
		}
		wantCode(t, s.FinishJob(ctx, j, "w1"), apperr.Conflict)
		wantCode(t, s.FinishJob(ctx, mk("nope", 0, t0), "w1"), apperr.NotFound)
		got, _ := s.Job(ctx, "j")
		if got.State != store.JobFailed || got.Attempts != 1 || got.LastError != "boom" || got.LeaseOwner != "" || !got.LeaseUntil.IsZero() {
			t.Errorf("after failed finish: %+v", got)
		}
		// A failed job waits for its run time.
		if got := claim(t, s, "w1", now.Add(9*time.Second), 1); len(got) != 0 {
			t.Fatalf("claimed a failed job before its retry time: %v", ids(got))
		}
		j = claim(t, s, "w1", now.Add(10*time.Second), 1)[0]
		if j.Attempts != 2 {
			t.Errorf("second claim: attempts %d, want 2", j.Attempts)
		}
		j.State, j.Updated = store.JobDead, now
		if err := s.FinishJob(ctx, j, "w1"); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "w1", now.Add(time.Hour), 1); len(got) != 0 {
			t.Fatalf("claimed a dead job: %v", ids(got))
		}
		r, err := s.RetryJob(ctx, "j", now.Add(time.Minute))
		if err != nil || r.State != store.JobQueued || r.Attempts != 0 || !r.RunAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("RetryJob = %+v, %v", r, err)
		}
		_, err = s.RetryJob(ctx, "nope", now)
		wantCode(t, err, apperr.NotFound)
		if err := s.DeleteJob(ctx, "j"); err != nil {
			t.Fatalf("DeleteJob: %v", err)
		}
		wantCode(t, s.DeleteJob(ctx, "j"), apperr.NotFound)
	})

	t.Run("expired leases are claimed again", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		enqueue(t, s, mk("j", 0, t0))
		now := t0.Add(time.Second)
		if got := claim(t, s, "dead", now, 1); !equalIDs(ids(got), "j") {
			t.Fatalf("claim = %v", ids(got))
		}
		if got := claim(t, s, "w2", now.Add(59*time.Second), 1); len(got) != 0 {
			t.Fatalf("claim before expiry = %v", ids(got))
		}
		got := claim(t, s, "w2", now.Add(2*time.Minute), 1)
		if !equalIDs(ids(got), "j") || got[0].Attempts != 2 || got[0].LeaseOwner != "w2" {
			t.Fatalf("claim after expiry = %+v", got)
		}
		got[0].State = store.JobSucceeded
		wantCode(t, s.FinishJob(ctx, got[0], "dead"), apperr.Conflict)
		if err := s.FinishJob(ctx, got[0], "w2"); err != nil {
			t.Fatal(err)
		}
		if got := claim(t, s, "w3", now.Add(time.Hour), 1); len(got) != 0 {
			t.Fatalf("claimed a succeeded job: %v", ids(got))
		}
	})

	t.Run("concurrent claims never share a job", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const n = 40
		var all []*store.Job
		for i := range n {
			all = append(all, mk(fmt.Sprintf("j%02d", i), i%3, t0))
		}
		enqueue(t, s, all...)
		var (
			mu    sync.Mutex
			owner = map[string]string{}
			wg    sync.WaitGroup
		)
		now := t0.Add(time.Minute)
		for r := range 4 {
			name := "r" + string(rune('0'+r))
			wg.Go(func() {
				for {
					list, err := s.ClaimJobs(ctx, name, now, now.Add(time.Minute), 3)
					if err != nil {
						t.Errorf("ClaimJobs(%s): %v", name, err)
						return
					}
					if len(list) == 0 {
						return
					}
					for _, j := range list {
						mu.Lock()
						if prev, ok := owner[j.ID]; ok {
							t.Errorf("job %s claimed by %s and %s", j.ID, prev, name)
						}
						owner[j.ID] = name
						mu.Unlock()
						j.State, j.Updated = store.JobSucceeded, now
						if err := s.FinishJob(ctx, j, name); err != nil {
							t.Errorf("FinishJob(%s, %s): %v", j.ID, name, err)
						}
					}
				}
			})
		}
		wg.Wait()
		if len(owner) != n {
			t.Errorf("claimed %d jobs, want %d", len(owner), n)
		}
		if pruned, err := s.PruneJobs(ctx, now.Add(time.Second), 0); err != nil || pruned != n {
			t.Errorf("PruneJobs = %d, %v; want %d", pruned, err, n)
		}
	})

	t.Run("cron runs are claimed once", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins = map[string]int{}
		)
		for r := range 4 {
			wg.Go(func() {
				for m := range 5 {
					for _, id := range []string{"a", "b"} {
						ok, err := s.ClaimCronRun(ctx, id, t0.Add(time.Duration(m)*time.Minute), "r"+string(rune('0'+r)))
						if err != nil {
							t.Errorf("ClaimCronRun: %v", err)
						}
						if ok {
							mu.Lock()
							wins[id+string(rune('0'+m))]++
							mu.Unlock()
						}
					}
				}
			})
		}
		wg.Wait()
		if len(wins) != 10 {
			t.Errorf("%d ticks won, want 10: %v", len(wins), wins)
		}
		for k, n := range wins {
			if n != 1 {
				t.Errorf("tick %s won %d times", k, n)
			}
		}
		if n, err := s.PruneCronRuns(ctx, t0.Add(2*time.Minute)); err != nil || n != 4 {
			t.Errorf("PruneCronRuns = %d, %v; want 4", n, err)
		}
		if ok, err := s.ClaimCronRun(ctx, "a", t0, "late"); err != nil || !ok {
			t.Errorf("claim of a pruned tick = %v, %v; want true", ok, err)
		}
	})
}
