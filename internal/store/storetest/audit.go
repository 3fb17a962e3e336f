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

// auditEntry returns an entry of action by actor.
func auditEntry(action, actor string, at time.Time) *store.AuditEntry {
	return &store.AuditEntry{
		Time: at, ActorCollection: "_pbc_superusers", ActorID: actor, IP: "10.0.0.1",
		Action: action, Target: "posts",
		// Spacing and key order must survive storage byte for byte: the
		// hash covers the stored text.
		Detail: json.RawMessage(`{"z": 1, "a": ["x", null]}`),
	}
}

// appendAudit appends es in one transaction.
func appendAudit(t *testing.T, s store.Store, es ...*store.AuditEntry) {
	t.Helper()
	inTx(t, s, func(tx store.Tx) error {
		for _, e := range es {
			if err := tx.AppendAudit(context.Background(), e); err != nil {
				return err
			}
		}
		return nil
	})
}

// auditAll returns every entry, oldest first.
func auditAll(t *testing.T, s store.Store) []*store.AuditEntry {
	t.Helper()
	got, err := s.AuditEntries(context.Background(), &store.AuditQuery{Limit: 100000})
	if err != nil {
		t.Fatalf("AuditEntries: %v", err)
	}
	return got
}

// checkChain fails unless es are seq 1..n, each linked to the one before
// with a correct hash, and the head param names the last.
func checkChain(t *testing.T, s store.Store, es []*store.AuditEntry) {
	t.Helper()
	prev := ""
	for i, e := range es {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d: seq %d, want %d", i, e.Seq, i+1)
		}
		if e.PrevHash != prev {
			t.Fatalf("entry %d: prevHash %q, want %q", e.Seq, e.PrevHash, prev)
		}
		if got := e.ComputeHash(); got != e.Hash {
			t.Fatalf("entry %d: stored hash %q, computed %q", e.Seq, e.Hash, got)
		}
		prev = e.Hash
	}
	raw, err := s.Param(context.Background(), store.AuditHeadParam)
	if len(es) == 0 {
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("head of an empty log: %s, %v; want not found", raw, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("reading the audit head: %v", err)
	}
	var head store.AuditHead
	if err := json.Unmarshal(raw, &head); err != nil {
		t.Fatalf("decoding the audit head %s: %v", raw, err)
	}
	last := es[len(es)-1]
	if head.Seq != last.Seq || head.Hash != last.Hash {
		t.Fatalf("head %+v, want seq %d hash %s", head, last.Seq, last.Hash)
	}
}

func testAudit(t *testing.T, open func(t *testing.T) store.Store) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.UTC)

	t.Run("append chains and keeps every field", func(t *testing.T) {
		s := open(t)
		checkChain(t, s, auditAll(t, s))
		first := auditEntry("collection.create", "su1", at)
		appendAudit(t, s, first, auditEntry("collection.update", "su1", at.Add(time.Second)))
		appendAudit(t, s, auditEntry("auth.password.fail", store.AuditGuest, at.Add(2*time.Second)))
		if first.Seq != 1 || first.PrevHash != "" || first.Hash == "" {
			t.Errorf("first entry after append: seq %d prev %q hash %q", first.Seq, first.PrevHash, first.Hash)
		}
		got := auditAll(t, s)
		if len(got) != 3 {
			t.Fatalf("got %d entries, want 3", len(got))
		}
		checkChain(t, s, got)
		e := got[0]
		if !e.Time.Equal(at.Truncate(time.Millisecond)) || e.ActorCollection != "_pbc_superusers" || e.ActorID != "su1" ||
			e.IP != "10.0.0.1" || e.Action != "collection.create" || e.Target != "posts" || string(e.Detail) != `{"z": 1, "a": ["x", null]}` {
			t.Errorf("stored entry %+v (detail %s) differs from the appended one", e, e.Detail)
		}
		if e.Hash != first.Hash {
			t.Errorf("stored hash %s, appended %s", e.Hash, first.Hash)
		}
	})

	t.Run("empty detail and invalid entries", func(t *testing.T) {
		s := open(t)
		e := &store.AuditEntry{Time: at, Action: "settings.update"}
		appendAudit(t, s, e)
		if string(e.Detail) != "{}" {
			t.Errorf("empty detail stored as %s, want {}", e.Detail)
		}
		for _, bad := range []*store.AuditEntry{{Time: at}, {Time: at, Action: "x", Detail: json.RawMessage(`{`)}} {
			err := s.InTx(context.Background(), func(tx store.Tx) error { return tx.AppendAudit(context.Background(), bad) })
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("AppendAudit(%+v): %v, want invalid", bad, err)
			}
		}
		checkChain(t, s, auditAll(t, s))
	})

	t.Run("rollback leaves no entry and no gap", func(t *testing.T) {
		s := open(t)
		appendAudit(t, s, auditEntry("a", "u", at))
		boom := errors.New("boom")
		err := s.InTx(context.Background(), func(tx store.Tx) error {
			if err := tx.AppendAudit(context.Background(), auditEntry("lost", "u", at)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: %v, want boom", err)
		}
		appendAudit(t, s, auditEntry("b", "u", at))
		got := auditAll(t, s)
		if len(got) != 2 || got[1].Action != "b" {
			t.Fatalf("got %d entries (%v), want a and b", len(got), got)
		}
		checkChain(t, s, got)
	})

	t.Run("concurrent appends form one linear chain", func(t *testing.T) {
		s := open(t)
		const writers, each = 6, 8
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					e := auditEntry(fmt.Sprintf("w%d.%d", w, i), fmt.Sprint(w), at)
					if err := s.InTx(context.Background(), func(tx store.Tx) error { return tx.AppendAudit(context.Background(), e) }); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent append: %v", err)
		}
		got := auditAll(t, s)
		if len(got) != writers*each {
			t.Fatalf("got %d entries, want %d", len(got), writers*each)
		}
		checkChain(t, s, got)
	})

	t.Run("queries", func(t *testing.T) {
		s := open(t)
		appendAudit(t, s,
			auditEntry("collection.create", "a", at),
			auditEntry("collection.delete", "b", at.Add(time.Minute)),
			auditEntry("collections.import", "a", at.Add(2*time.Minute)),
			auditEntry("settings.update", "a", at.Add(3*time.Minute)),
		)
		tests := []struct {
			name string
			q    store.AuditQuery
			want []int64
		}{
			{"all", store.AuditQuery{}, []int64{1, 2, 3, 4}},
			{"one", store.AuditQuery{Seq: 3}, []int64{3}},
			{"after", store.AuditQuery{AfterSeq: 2}, []int64{3, 4}},
			{"action prefix stops at a dot", store.AuditQuery{Action: "collection"}, []int64{1, 2}},
			{"exact action", store.AuditQuery{Action: "collection.delete"}, []int64{2}},
			{"actor", store.AuditQuery{ActorID: "a"}, []int64{1, 3, 4}},
			{"time range", store.AuditQuery{Since: at.Add(time.Minute), Until: at.Add(3 * time.Minute)}, []int64{2, 3}},
			{"newest first, paged", store.AuditQuery{Desc: true, Limit: 2, Offset: 1}, []int64{3, 2}},
		}
		for _, tt := range tests {
			got, err := s.AuditEntries(context.Background(), &tt.q)
			if err != nil {
				t.Fatalf("%s: AuditEntries: %v", tt.name, err)
			}
			seqs := []int64{}
			for _, e := range got {
				seqs = append(seqs, e.Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tt.want) {
				t.Errorf("%s: got seqs %v, want %v", tt.name, seqs, tt.want)
			}
			q := tt.q
			q.Limit, q.Offset = 0, 0
			n, err := s.CountAudit(context.Background(), &q)
			wantN := int64(len(tt.want))
			if tt.q.Limit > 0 {
				wantN = 4
			}
			if err != nil || n != wantN {
				t.Errorf("%s: CountAudit = %d, %v; want %d", tt.name, n, err, wantN)
			}
		}
	})
}
