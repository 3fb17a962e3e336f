package webhook

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store"
)

// TestLeaseOfDeadReplicaExpires leaves a delivery leased by a replica that
// died mid-attempt: no worker posts it while the lease holds, and one posts
// it, once, after the lease ends.
func TestLeaseOfDeadReplicaExpires(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, stop := f.service(Options{})
	w := f.hook(s, Input{})
	stop()
	ctx := context.Background()
	now := time.Now()
	d := &store.Delivery{ID: "deadreplica0001", WebhookID: w.ID, EventID: "evt_dead", Event: json.RawMessage(`{"id":"evt_dead"}`),
		Status: store.DeliveryPending, NextAttempt: now, Attempts: []store.Attempt{}, Created: now, Updated: now}
	if err := f.st.InTx(ctx, func(tx store.Tx) error { return tx.InsertDelivery(ctx, d) }); err != nil {
		t.Fatal(err)
	}
	const lease = 1500 * time.Millisecond
	claimed, err := f.st.ClaimDeliveries(ctx, "dead-replica", now, now.Add(lease), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim as the dead replica: %v, %v", claimed, err)
	}

	// Two live replicas' workers on the same database.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { f.service(Options{Timeout: 500 * time.Millisecond, Lease: time.Second}) })
	}
	wg.Wait()
	time.Sleep(lease / 3)
	f.recv.mu.Lock()
	early := len(f.recv.got)
	f.recv.mu.Unlock()
	if early != 0 {
		t.Fatalf("receiver got %d messages while the dead replica's lease held, want 0", early)
	}
	got := f.recv.wait(1)
	waitFor(t, func() bool {
		cur, err := f.st.Delivery(ctx, d.ID)
		return err == nil && cur.Status == store.DeliverySucceeded
	})
	time.Sleep(100 * time.Millisecond) // a duplicate would have shown up by now
	f.recv.mu.Lock()
	n := len(f.recv.got)
	f.recv.mu.Unlock()
	if n != 1 || got[0].header.Get("webhook-id") != "evt_dead" {
		t.Fatalf("receiver got %d messages (first %q), want evt_dead once", n, got[0].header.Get("webhook-id"))
	}
	cur, _ := f.st.Delivery(ctx, d.ID)
	if cur.AttemptCount != 1 {
		t.Errorf("attempts after the takeover: %d, want 1", cur.AttemptCount)
	}
	// The dead replica, were it to come back, cannot record an outcome.
	cur.Status = store.DeliveryFailed
	err = f.st.InTx(ctx, func(tx store.Tx) error { return tx.FinishDelivery(ctx, cur, "dead-replica") })
	if err == nil {
		t.Error("FinishDelivery by the expired owner: want an error")
	}
}
