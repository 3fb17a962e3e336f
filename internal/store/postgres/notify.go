package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// eventsChannel is the LISTEN/NOTIFY channel on which a transaction that
// appended events announces its commit to every replica.
const eventsChannel = "basalt_events"

// notifyEvents queues a notification on eventsChannel, once per
// transaction. PostgreSQL delivers it at commit and drops it on rollback,
// so a listener is woken only for events it can read.
func (t *tx) notifyEvents(ctx context.Context) error {
	if t.notified {
		return nil
	}
	if _, err := t.tx.Exec(ctx, "SELECT pg_notify($1, '')", eventsChannel); err != nil {
		return formatError(ctx, fmt.Errorf("announcing events: %w", err))
	}
	t.notified = true
	return nil
}

// ListenEvents calls wake whenever a transaction that appended events
// commits, on this replica or any other, until ctx ends; it then returns
// ctx's error. It holds one connection of its own, outside the pool. When
// the connection breaks it reconnects with backoff and calls wake once (a
// notification may have been missed meanwhile). Wake-ups are hints: the
// outbox (Events) stays the source of truth, read after the last seq seen.
func (s *Store) ListenEvents(ctx context.Context, wake func()) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.listen(ctx, wake)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.logger.Warn("postgres event listener disconnected; reconnecting", "err", err, "wait", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
		wake()
	}
}

// listen runs one LISTEN session until its connection fails or ctx ends.
func (s *Store) listen(ctx context.Context, wake func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+quote(eventsChannel)); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
