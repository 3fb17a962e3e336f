package webhook

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

// The fan-out turns outbox events into deliveries. It does not rely on the
// live dispatcher for what to deliver: it reads the outbox itself from a
// cursor stored with the deliveries it creates, in the same transaction, so
// that events committed while Basalt was down are delivered after a restart
// and none is fanned out twice. The dispatcher only nudges it (Consume) and
// holds pruning back to the cursor (Position).
//
// Every replica runs the fan-out. The cursor is read again inside the
// writing transaction (which the store serializes cluster-wide), so a
// replica only adds the deliveries of events after the stored cursor and
// never moves it back; the unique (webhook, event) pair of deliveries is
// the second guard.

// cursorKey is the _params key of the last event seq fanned out.
const cursorKey = "webhooks.cursor"

const fanOutBatch = 256

// Consume is the dispatcher's nudge that events were committed.
func (s *Service) Consume(context.Context, *store.Event) { nudge(s.fanNudge) }

// Idle reports whether the fan-out found no enabled webhook (event.Idler):
// it ignores nudges then, and finds new webhooks and the events they are
// owed on its poll tick.
func (s *Service) Idle() bool { return s.idle.Load() }

func nudge(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Position returns the last event seq fanned out: the outbox must keep the
// events after it.
func (s *Service) Position(ctx context.Context) (int64, error) {
	return position(ctx, s.store)
}

// position reads the cursor through r (the store or a transaction).
func position(ctx context.Context, r interface {
	Param(ctx context.Context, key string) ([]byte, error)
}) (int64, error) {
	b, err := r.Param(ctx, cursorKey)
	if apperr.CodeOf(err) == apperr.NotFound {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(b), 10, 64)
}

// initCursor stores the cursor at the end of the outbox the first time the
// service runs: events from before webhooks existed are not delivered.
func (s *Service) initCursor(ctx context.Context) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.Param(ctx, cursorKey); apperr.CodeOf(err) != apperr.NotFound {
			return err
		}
		last, err := s.store.LastEventSeq(ctx)
		if err != nil {
			return err
		}
		return tx.SetParam(ctx, cursorKey, []byte(strconv.FormatInt(last, 10)))
	})
}

// fanOut creates the deliveries of every event after the cursor. It
// reports whether it saw an enabled webhook (idle is false), or, when it
// read no webhooks (no new events), returns idle unchanged.
func (s *Service) fanOut(ctx context.Context, idle bool) (bool, error) {
	for ctx.Err() == nil {
		after, err := s.Position(ctx)
		if err != nil {
			return idle, err
		}
		// Without an enabled webhook the cursor moves to the end of the
		// outbox without reading it. The end is read before the webhooks:
		// an event up to it committed before the webhooks were read, so no
		// webhook created later is owed it.
		end, err := s.store.LastEventSeq(ctx)
		if err != nil || end <= after {
			return idle, err
		}
		hooks, err := s.store.Webhooks(ctx)
		if err != nil {
			return idle, err
		}
		if !slices.ContainsFunc(hooks, func(w *store.Webhook) bool { return w.Enabled }) {
			return true, s.skipTo(ctx, end)
		}
		evs, err := s.store.Events(ctx, after, fanOutBatch)
		if err != nil || len(evs) == 0 {
			return idle, err
		}
		// Read again after the events, so that a webhook created before an
		// event it now owes committed is found.
		if hooks, err = s.store.Webhooks(ctx); err != nil {
			return idle, err
		}
		idle = !slices.ContainsFunc(hooks, func(w *store.Webhook) bool { return w.Enabled })
		type owed struct {
			seq int64
			d   *store.Delivery
		}
		var ds []owed
		for _, ev := range evs {
			for _, d := range s.deliveriesOf(ctx, ev, hooks) {
				ds = append(ds, owed{ev.Seq, d})
			}
		}
		last := evs[len(evs)-1].Seq
		added := 0
		err = s.store.InTx(ctx, func(tx store.Tx) error {
			added = 0
			cur, err := position(ctx, tx)
			if err != nil {
				return err
			}
			if cur >= last {
				return nil // another replica fanned these events out
			}
			for _, o := range ds {
				if o.seq <= cur {
					continue
				}
				if err := tx.InsertDelivery(ctx, o.d); err != nil && apperr.CodeOf(err) != apperr.Conflict {
					return err
				} else if err == nil {
					added++
				}
			}
			return tx.SetParam(ctx, cursorKey, []byte(strconv.FormatInt(last, 10)))
		})
		if err != nil {
			return idle, err
		}
		if added > 0 {
			nudge(s.workNudge)
		}
		if len(evs) < fanOutBatch {
			return idle, nil
		}
	}
	return idle, nil
}

// skipTo moves the cursor forward to last, owing nothing.
func (s *Service) skipTo(ctx context.Context, last int64) error {
	return s.store.InTx(ctx, func(tx store.Tx) error {
		cur, err := position(ctx, tx)
		if err != nil || cur >= last {
			return err
		}
		return tx.SetParam(ctx, cursorKey, []byte(strconv.FormatInt(last, 10)))
	})
}

// deliveriesOf returns the deliveries ev owes to hooks.
func (s *Service) deliveriesOf(ctx context.Context, ev *store.Event, hooks []*store.Webhook) []*store.Delivery {
	var (
		out  []*store.Delivery
		body []byte
	)
	now := s.opts.Now().UTC()
	for _, w := range hooks {
		if !w.Enabled || !wants(w, ev) {
			continue
		}
		er, err := s.records.DecodeEvent(ev)
		if err != nil {
			// The collection is gone: there is no schema to export the record with.
			s.opts.Logger.Warn("webhook event skipped", "event", ev.ID, "err", err)
			return nil
		}
		if w.Filter != "" {
			q := &store.Query{Collection: er.Record.Collection, Schema: s.cols.Lookup, Filters: []string{w.Filter}}
			ok, err := s.store.MatchRecord(ctx, q, er.Record)
			if err != nil {
				s.opts.Logger.Warn("webhook filter failed", "webhook", w.ID, "event", ev.ID, "err", err)
			}
			if !ok {
				continue
			}
		}
		if body == nil {
			if body, err = s.payload(ev, er); err != nil {
				s.opts.Logger.Error("webhook event skipped", "event", ev.ID, "err", err)
				return nil
			}
		}
		out = append(out, &store.Delivery{
			ID: s.newID(), WebhookID: w.ID, EventID: ev.ID, Event: body,
			Status: store.DeliveryPending, NextAttempt: now, Attempts: []store.Attempt{},
			Created: now, Updated: now,
		})
	}
	return out
}

// wants reports whether w subscribes to ev's collection and action.
func wants(w *store.Webhook, ev *store.Event) bool {
	if len(w.Actions) > 0 {
		found := false
		for _, a := range w.Actions {
			found = found || a == ev.Action
		}
		if !found {
			return false
		}
	}
	if len(w.Collections) == 0 {
		return true
	}
	for _, c := range w.Collections {
		if c == ev.CollectionID || strings.EqualFold(c, ev.CollectionName) {
			return true
		}
	}
	return false
}

// runFanOut fans out until ctx is done: on every poll tick, and on every
// commit nudge while an enabled webhook exists. Without one, a nudge would
// only move the cursor, at the price of reading the outbox (and, on
// SQLite, of refilling a reader's page cache) after every commit; the
// tick still moves it, and finds webhooks added here or on another
// replica within one poll period. Events committed since the last tick are
// then fanned out to them, as before.
func (s *Service) runFanOut(ctx context.Context) {
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	idle, run := false, true
	for {
		if run {
			var err error
			if idle, err = s.fanOut(ctx, idle); err != nil && ctx.Err() == nil {
				s.opts.Logger.Error("webhook fan-out", "err", err)
			}
			s.idle.Store(idle)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.fanNudge:
			run = !idle
		case <-t.C:
			run = true
		}
	}
}
