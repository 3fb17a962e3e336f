package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/audit"
	"github.com/basalt-dev/basalt/internal/store"
)

// maxAttemptLog bounds the attempts kept in a delivery's log.
const maxAttemptLog = 50

// pruneChunk bounds the deliveries one pruning transaction deletes.
const pruneChunk = 1000

// dueBatch bounds the webhooks whose next delivery one round reads.
const dueBatch = 256

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Run fans out events and posts due deliveries until ctx is done. It
// returns an error only when the cursor cannot be initialised.
func (s *Service) Run(ctx context.Context) error {
	if err := s.initCursor(ctx); err != nil {
		return fmt.Errorf("starting webhooks: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.runFanOut(ctx) })
	wg.Go(func() { s.runWorkers(ctx) })
	wg.Go(func() { s.runPrune(ctx) })
	wg.Wait()
	return nil
}

// runPrune deletes finished deliveries past the retention, in short
// transactions, until ctx is done.
func (s *Service) runPrune(ctx context.Context) {
	t := time.NewTicker(s.opts.PruneEvery)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			var n int64
			err := s.store.InTx(ctx, func(tx store.Tx) error {
				var err error
				n, err = tx.PruneDeliveries(ctx, s.opts.Now().Add(-s.opts.DeliveryRetention), pruneChunk)
				return err
			})
			if err != nil {
				if ctx.Err() == nil {
					s.opts.Logger.Error("pruning webhook deliveries", "err", err)
				}
				break
			}
			if n < pruneChunk {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// runWorkers claims due deliveries and posts them, at most Workers at once.
// Claims are leases in the store (see store.DeliveryLeaser), so that every
// replica may run workers and each attempt is still made by one of them;
// a webhook's deliveries are sent one at a time, the earliest due first, so
// that a receiver gets its events in commit order (retries aside).
func (s *Service) runWorkers(ctx context.Context) {
	sem := make(chan struct{}, s.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	for {
		// Only this loop fills sem, so the free slots counted here stay
		// free until the claimed deliveries take them.
		if free := cap(sem) - len(sem); free > 0 && ctx.Err() == nil {
			now := s.opts.Now()
			due, err := s.store.ClaimDeliveries(ctx, s.owner, now, now.Add(s.opts.Lease), min(free, dueBatch))
			if err != nil && ctx.Err() == nil {
				s.opts.Logger.Error("claiming due webhook deliveries", "err", err)
			}
			for _, d := range due {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem; nudge(s.workNudge) }()
					s.attempt(ctx, d)
				})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.workNudge:
		case <-t.C:
		}
	}
}

// attempt posts d, which this process holds the lease of, once and records
// the outcome, which ends the lease.
func (s *Service) attempt(ctx context.Context, d *store.Delivery) {
	w, err := s.store.Webhook(ctx, d.WebhookID)
	if err != nil {
		if ctx.Err() == nil && apperr.CodeOf(err) != apperr.NotFound {
			s.opts.Logger.Error("loading a webhook", "webhook", d.WebhookID, "err", err)
		}
		// Deleted with its deliveries, or unreadable: give the lease back.
		s.finish(context.WithoutCancel(ctx), d)
		return
	}
	if !w.Enabled {
		// Disabled webhooks keep their deliveries pending until re-enabled.
		d.NextAttempt = s.opts.Now().Add(s.opts.Poll * 30)
		s.finish(ctx, d)
		return
	}
	start := s.opts.Now()
	res := s.send(ctx, w, d, start)
	if res.err != nil && ctx.Err() != nil {
		// Cut short by shutdown: the delivery stays due, and giving the
		// lease back lets another replica retry it at once.
		s.finish(context.WithoutCancel(ctx), d)
		return
	}
	// An answered attempt is recorded even when shutdown began meanwhile.
	ctx = context.WithoutCancel(ctx)
	at := store.Attempt{Time: start.UTC(), Status: res.status, LatencyMS: time.Since(start).Milliseconds(), Response: res.excerpt}
	ok := res.err == nil && res.status >= 200 && res.status < 300
	switch {
	case res.err != nil:
		at.Error = res.err.Error()
	case !ok:
		at.Error = "unexpected status " + strconv.Itoa(res.status)
	}
	d.Attempts = append(d.Attempts, at)
	if len(d.Attempts) > maxAttemptLog {
		d.Attempts = d.Attempts[len(d.Attempts)-maxAttemptLog:]
	}
	d.AttemptCount++
	now := s.opts.Now().UTC()
	switch {
	case ok:
		d.Status = store.DeliverySucceeded
	case d.AttemptCount >= s.opts.MaxAttempts:
		d.Status = store.DeliveryDead
	default:
		d.Status = store.DeliveryFailed
		d.NextAttempt = now.Add(s.backoff(d.AttemptCount))
	}
	d.Updated = now
	if s.finish(ctx, d) && s.opts.OnAttempt != nil {
		s.opts.OnAttempt(string(d.Status))
	}
}

// finish records d's progress and ends this process's lease on it. It
// reports whether the record was written: not when the lease ran out and
// another replica claimed the delivery (which then owns its outcome).
func (s *Service) finish(ctx context.Context, d *store.Delivery) bool {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := s.store.InTx(ctx, func(tx store.Tx) error { return tx.FinishDelivery(ctx, d, s.owner) })
	switch apperr.CodeOf(err) {
	case "":
		return true
	case apperr.NotFound:
	case apperr.Conflict:
		s.opts.Logger.Warn("webhook delivery lease ran out before its attempt was recorded", "delivery", d.ID, "lease", s.opts.Lease)
	default:
		if ctx.Err() == nil {
			s.opts.Logger.Error("recording a webhook attempt", "delivery", d.ID, "err", err)
		}
	}
	return false
}

// send signs and posts d's payload to w.
func (s *Service) send(ctx context.Context, w *store.Webhook, d *store.Delivery, now time.Time) result {
	sig, err := signatures(w.Secret, w.PreviousSecret, w.PreviousUntil, d.EventID, now, d.Event)
	if err != nil {
		return result{err: fmt.Errorf("signing: %w", err)}
	}
	h := http.Header{}
	h.Set("Content-Type", "application/cloudevents+json")
	h.Set("User-Agent", "Basalt-Webhooks")
	h.Set("webhook-id", d.EventID)
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	return s.client.post(ctx, w.URL, h, d.Event)
}

// backoff is the wait after the n-th failed attempt: BackoffBase doubled
// per attempt, capped at BackoffMax, with jitter in its upper half.
func (s *Service) backoff(n int) time.Duration {
	d := s.opts.BackoffBase
	for i := 1; i < n && d < s.opts.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.opts.BackoffMax)
	half := d / 2
	return half + rand.N(half+1)
}

// Deliveries returns a page of the webhook's deliveries, newest first, and
// their total. NotFound when the webhook does not exist.
func (s *Service) Deliveries(ctx context.Context, webhookID string, limit, offset int) ([]*store.Delivery, int64, error) {
	if _, err := s.store.Webhook(ctx, webhookID); err != nil {
		return nil, 0, err
	}
	return s.store.Deliveries(ctx, webhookID, limit, offset)
}

// Replay queues a delivery of webhookID again with a fresh set of
// attempts. NotFound when either does not exist.
func (s *Service) Replay(ctx context.Context, webhookID, deliveryID string) (*store.Delivery, error) {
	var d *store.Delivery
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if d, err = tx.Delivery(ctx, deliveryID); err != nil {
			return err
		}
		if d.WebhookID != webhookID {
			return apperr.New(apperr.NotFound, "The requested resource wasn't found.")
		}
		now := s.opts.Now().UTC()
		d.Status, d.AttemptCount, d.NextAttempt, d.Updated = store.DeliveryPending, 0, now, now
		if err := tx.UpdateDelivery(ctx, d); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, audit.Entry{Action: "webhook.replay", Target: webhookID,
			Detail: map[string]any{"delivery": deliveryID, "event": d.EventID}})
	})
	if err != nil {
		return nil, err
	}
	nudge(s.workNudge)
	return d, nil
}
