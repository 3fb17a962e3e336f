package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

func testWebhooks(t *testing.T, open func(t *testing.T) store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	t.Run("definitions round-trip, replace and delete", func(t *testing.T) {
		s := open(t)
		w := &store.Webhook{
			ID: "wh1", URL: "https://example.com/hook", Collections: []string{"posts"},
			Actions: []store.Action{store.ActionCreate}, Filter: "title != ''", Secret: "whsec_abc",
			PreviousSecret: "whsec_old", PreviousUntil: t0.Add(time.Hour), Enabled: true, Created: t0, Updated: t0,
		}
		inTx(t, s, func(tx store.Tx) error { return tx.SaveWebhook(ctx, w) })
		got, err := s.Webhook(ctx, "wh1")
		if err != nil {
			t.Fatalf("Webhook: %v", err)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("Webhook = %+v, want %+v", got, w)
		}
		w2 := *w
		w2.Enabled, w2.URL, w2.Updated = false, "https://example.com/other", t0.Add(time.Minute)
		inTx(t, s, func(tx store.Tx) error { return tx.SaveWebhook(ctx, &w2) })
		list, err := s.Webhooks(ctx)
		if err != nil || len(list) != 1 || list[0].Enabled || list[0].URL != w2.URL {
			t.Fatalf("Webhooks = %+v, %v; want the replaced webhook", list, err)
		}
		inTx(t, s, func(tx store.Tx) error {
			return tx.InsertDelivery(ctx, &store.Delivery{ID: "d1", WebhookID: "wh1", EventID: "e1", Event: json.RawMessage(`{}`), Status: store.DeliveryPending})
		})
		inTx(t, s, func(tx store.Tx) error { return tx.DeleteWebhook(ctx, "wh1") })
		if _, err := s.Webhook(ctx, "wh1"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Webhook after delete: got %v, want not_found", err)
		}
		if _, err := s.Delivery(ctx, "d1"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Delivery after webhook delete: got %v, want not_found", err)
		}
		err = s.InTx(ctx, func(tx store.Tx) error { return tx.DeleteWebhook(ctx, "wh1") })
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("DeleteWebhook missing: got %v, want not_found", err)
		}
	})

	t.Run("deliveries", func(t *testing.T) {
		s := open(t)
		mk := func(id, event string, next time.Time) *store.Delivery {
			return &store.Delivery{ID: id, WebhookID: "wh", EventID: event, Event: json.RawMessage(`{"id":"` + event + `"}`),
				Status: store.DeliveryPending, NextAttempt: next, Attempts: []store.Attempt{}, Created: next, Updated: next}
		}
		inTx(t, s, func(tx store.Tx) error {
			for _, d := range []*store.Delivery{mk("d1", "e1", t0), mk("d2", "e2", t0.Add(time.Second)), mk("d3", "e3", t0.Add(time.Hour))} {
				if err := tx.InsertDelivery(ctx, d); err != nil {
					return err
				}
			}
			return nil
		})
		err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertDelivery(ctx, mk("d4", "e1", t0)) })
		if apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("duplicate event delivery: got %v, want conflict", err)
		}
		other := mk("o1", "e1", t0.Add(2*time.Second))
		other.WebhookID = "wh2"
		inTx(t, s, func(tx store.Tx) error { return tx.InsertDelivery(ctx, other) })
		due, err := s.DueDeliveries(ctx, t0.Add(time.Minute), 10)
		if err != nil || len(due) != 2 || due[0].ID != "d1" || due[1].ID != "o1" {
			t.Fatalf("DueDeliveries = %v, %v; want d1 (the head of wh), o1", deliveryIDs(due), err)
		}
		d := due[0]
		d.Status, d.AttemptCount, d.NextAttempt, d.Updated = store.DeliveryDead, 1, t0.Add(time.Minute), t0.Add(time.Minute)
		d.Attempts = append(d.Attempts, store.Attempt{Time: t0, Status: 500, LatencyMS: 12, Response: "oops", Error: "status 500"})
		inTx(t, s, func(tx store.Tx) error { return tx.UpdateDelivery(ctx, d) })
		got, err := s.Delivery(ctx, "d1")
		if err != nil {
			t.Fatalf("Delivery: %v", err)
		}
		if got.Status != store.DeliveryDead || got.AttemptCount != 1 || len(got.Attempts) != 1 || !reflect.DeepEqual(got.Attempts[0], d.Attempts[0]) || string(got.Event) != `{"id":"e1"}` {
			t.Errorf("Delivery = %+v, want the update", got)
		}
		due, _ = s.DueDeliveries(ctx, t0.Add(2*time.Hour), 1)
		if len(due) != 1 || due[0].ID != "d2" {
			t.Errorf("DueDeliveries after dead, limit 1 = %v, want d2", deliveryIDs(due))
		}
		page, total, err := s.Deliveries(ctx, "wh", 2, 0)
		if err != nil || total != 3 || len(page) != 2 || page[0].ID != "d3" {
			t.Errorf("Deliveries = %v, %d, %v; want [d3 d2] of 3", deliveryIDs(page), total, err)
		}
		// d1 is dead (updated t0+1m); d2, d3 and o1 are pending.
		var pruned int64
		inTx(t, s, func(tx store.Tx) error {
			var err error
			pruned, err = tx.PruneDeliveries(ctx, t0.Add(2*time.Minute), 10)
			return err
		})
		if _, err := s.Delivery(ctx, "d1"); pruned != 1 || apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("PruneDeliveries = %d, d1: %v; want the dead delivery gone", pruned, err)
		}
		if _, total, _ := s.Deliveries(ctx, "wh", 0, 0); total != 2 {
			t.Errorf("deliveries after pruning = %d, want the 2 pending ones", total)
		}
		err = s.InTx(ctx, func(tx store.Tx) error { return tx.UpdateDelivery(ctx, mk("nope", "e9", t0)) })
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("UpdateDelivery missing: got %v, want not_found", err)
		}
	})
}

func deliveryIDs(list []*store.Delivery) []string {
	out := make([]string, len(list))
	for i, d := range list {
		out[i] = d.ID
	}
	return out
}
