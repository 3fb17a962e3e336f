package sqlite

import (
	"context"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

// RelaySend accepts payload and delivers it nowhere: a SQLite database is
// served by one process, which has no one to relay to.
func (s *Store) RelaySend(_ context.Context, _ string, payload []byte) error {
	if len(payload) > store.MaxRelayPayload {
		return apperr.New(apperr.Invalid, "Relayed message too long.")
	}
	return nil
}

// RelayListen returns nil at once (see store.Relay).
func (s *Store) RelayListen(context.Context, string, func(), func([]byte)) error { return nil }
