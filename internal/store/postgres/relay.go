package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

// Relayed messages (store.Relay) are NOTIFY payloads on a channel, sent
// outside any transaction so that they go out at once.

// RelaySend notifies channel with payload.
func (s *Store) RelaySend(ctx context.Context, channel string, payload []byte) error {
	if len(payload) > store.MaxRelayPayload {
		return apperr.New(apperr.Invalid, "Relayed message too long.")
	}
	if _, err := s.pool.Exec(ctx, "SELECT pg_notify($1, $2)", channel, string(payload)); err != nil {
		return formatError(ctx, fmt.Errorf("relaying a message: %w", err))
	}
	return nil
}

// RelayListen LISTENs on channel on a connection of its own, reconnecting
// with backoff, until ctx ends.
func (s *Store) RelayListen(ctx context.Context, channel string, ready func(), fn func([]byte)) error {
	backoff := 100 * time.Millisecond
	for {
		err := s.relayListenOnce(ctx, channel, ready, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.logger.Warn("postgres relay listener disconnected; reconnecting", "channel", channel, "err", err, "wait", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *Store) relayListenOnce(ctx context.Context, channel string, ready func(), fn func([]byte)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+quote(channel)); err != nil {
		return err
	}
	ready()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn([]byte(n.Payload))
	}
}
