package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

func testDeliveryLeases(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(id, webhook, event string, next time.Time) *store.Delivery {
		return &store.Delivery{ID: id, WebhookID: webhook, EventID: event, Event: json.RawMessage(`{"id":"` + event + `"}`),
			Status: store.DeliveryPending, NextAttempt: next, Attempts: []store.Attempt{}, Created: next, Updated: next}
	}
	claim := func(t *testing.T, s store.Store, owner string, now time.Time, limit int) []*store.Delivery {
		t.Helper()
		list, err := s.ClaimDeliveries(ctx, owner, now, now.Add(time.Minute), limit)
		if err != nil {
			t.Fatalf("ClaimDeliveries(%s): %v", owner, err)
		}
		return list
	}

	t.Run("one owner per delivery, one delivery per webhook", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		inTx(t, s, func(tx store.Tx) error {
			for _, d := range []*store.Delivery{
				mk("a1", "wa", "e1", t0), mk("a2", "wa", "e2", t0.Add(time.Second)),
				mk("b1", "wb", "e1", t0.Add(2*time.Second)), mk("c1", "wc", "e1", t0.Add(time.Hour)),
			} {
				if err := tx.InsertDelivery(ctx, d); err != nil {
					return err
				}
			}
			return nil
		})
		now := t0.Add(time.Minute)
		if got := deliveryIDs(claim(t, s, "r1", now, 10)); !equalIDs(got, "a1", "b1") {
			t.Fatalf("first claim = %v, want [a1 b1] (heads of due webhooks; c1 not due)", got)
		}
		// While a1 and b1 are leased, their webhooks are busy: a2 waits.
		if got := deliveryIDs(claim(t, s, "r2", now, 10)); len(got) != 0 {
			t.Fatalf("claim while leased = %v, want none", got)
		}
		// Another owner cannot finish r1's delivery.
		a1, _ := s.Delivery(ctx, "a1")
		a1.Status, a1.AttemptCount, a1.Updated = store.DeliverySucceeded, 1, now
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.FinishDelivery(ctx, a1, "r2") })
		wantCode(t, err, apperr.Conflict)
		if got, _ := s.Delivery(ctx, "a1"); got.Status != store.DeliveryPending {
			t.Errorf("a1 after a refused finish: status %s, want pending", got.Status)
		}
		inTx(t, s, func(tx store.Tx) error { return tx.FinishDelivery(ctx, a1, "r1") })
		if got, _ := s.Delivery(ctx, "a1"); got.Status != store.DeliverySucceeded || got.AttemptCount != 1 {
			t.Errorf("a1 after finish = %s/%d, want succeeded/1", got.Status, got.AttemptCount)
		}
		// The finished lease frees wa: its next delivery is claimable.
		if got := deliveryIDs(claim(t, s, "r2", now, 10)); !equalIDs(got, "a2") {
			t.Fatalf("claim after finish = %v, want [a2]", got)
		}
		// Finishing twice is refused: the lease is over.
		err = s.InTx(ctx, func(tx store.Tx) error { return tx.FinishDelivery(ctx, a1, "r1") })
		wantCode(t, err, apperr.Conflict)
		err = s.InTx(ctx, func(tx store.Tx) error { return tx.FinishDelivery(ctx, mk("nope", "wa", "e9", t0), "r1") })
		wantCode(t, err, apperr.NotFound)
		_, err = s.ClaimDeliveries(ctx, "", now, now.Add(time.Minute), 10)
		wantCode(t, err, apperr.Invalid)
	})

	t.Run("expired leases are claimed again", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		inTx(t, s, func(tx store.Tx) error { return tx.InsertDelivery(ctx, mk("d1", "wh", "e1", t0)) })
		now := t0.Add(time.Second)
		if got := deliveryIDs(claim(t, s, "dead", now, 10)); !equalIDs(got, "d1") {
			t.Fatalf("claim = %v, want [d1]", got)
		}
		// Just before the lease (one minute) ends, nobody else gets d1.
		if got := deliveryIDs(claim(t, s, "r2", now.Add(59*time.Second), 10)); len(got) != 0 {
			t.Fatalf("claim before expiry = %v, want none", got)
		}
		// The owner died: after expiry another owner takes over, and the
		// late owner can no longer record an outcome.
		later := now.Add(2 * time.Minute)
		got := claim(t, s, "r2", later, 10)
		if !equalIDs(deliveryIDs(got), "d1") {
			t.Fatalf("claim after expiry = %v, want [d1]", deliveryIDs(got))
		}
		d := got[0]
		d.Status, d.AttemptCount, d.Updated = store.DeliverySucceeded, 1, later
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.FinishDelivery(ctx, d, "dead") })
		wantCode(t, err, apperr.Conflict)
		inTx(t, s, func(tx store.Tx) error { return tx.FinishDelivery(ctx, d, "r2") })
		// Finished deliveries are not claimed, whatever the clock says.
		if got := deliveryIDs(claim(t, s, "r3", later.Add(time.Hour), 10)); len(got) != 0 {
			t.Fatalf("claim after success = %v, want none", got)
		}
	})

	t.Run("concurrent claims never share a delivery", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const webhooks, perHook = 8, 3
		inTx(t, s, func(tx store.Tx) error {
			for w := range webhooks {
				for i := range perHook {
					id := string(rune('a'+w)) + string(rune('0'+i))
					if err := tx.InsertDelivery(ctx, mk(id, "w"+id[:1], "e"+id[1:], t0.Add(time.Duration(i)*time.Second))); err != nil {
						return err
					}
				}
			}
			return nil
		})
		var (
			mu    sync.Mutex
			owner = map[string]string{}
			wg    sync.WaitGroup
		)
		now := t0.Add(time.Minute)
		for r := range 4 {
			name := "r" + string(rune('0'+r))
			wg.Go(func() {
				for range 10 {
					list, err := s.ClaimDeliveries(ctx, name, now, now.Add(time.Minute), 3)
					if err != nil {
						t.Errorf("ClaimDeliveries(%s): %v", name, err)
						return
					}
					for _, d := range list {
						mu.Lock()
						if prev, ok := owner[d.ID]; ok {
							t.Errorf("delivery %s claimed by %s and %s", d.ID, prev, name)
						}
						owner[d.ID] = name
						mu.Unlock()
						d.Status, d.AttemptCount, d.Updated = store.DeliverySucceeded, 1, now
						if err := s.InTx(ctx, func(tx store.Tx) error { return tx.FinishDelivery(ctx, d, name) }); err != nil {
							t.Errorf("FinishDelivery(%s, %s): %v", d.ID, name, err)
						}
					}
				}
			})
		}
		wg.Wait()
		// Whatever is left (claimers may give up early) is claimed once more.
		for {
			list := claim(t, s, "last", now, 100)
			if len(list) == 0 {
				break
			}
			for _, d := range list {
				if prev, ok := owner[d.ID]; ok {
					t.Errorf("delivery %s claimed by %s and last", d.ID, prev)
				}
				owner[d.ID] = "last"
				d.Status, d.Updated = store.DeliverySucceeded, now
				inTx(t, s, func(tx store.Tx) error { return tx.FinishDelivery(ctx, d, "last") })
			}
		}
		if len(owner) != webhooks*perHook {
			t.Errorf("claimed %d deliveries, want %d", len(owner), webhooks*perHook)
		}
	})
}

func equalIDs(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
