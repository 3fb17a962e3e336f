// Package versioned wraps a store.Store and counts its write transactions,
// so that caches of what was read from it can tell when they may be stale.
// The count moves after every InTx (committed or not) returns, before its
// caller goes on; a value read before a read began therefore differs from
// the current one whenever a write may have committed since.
//
// It sees only the writes of this process: a cache keyed on it is sound
// only when no other process writes the same database (SQLite served by
// one process), not for replicas sharing PostgreSQL.
package versioned

import (
	"context"
	"sync/atomic"

	"github.com/basalt-dev/basalt/internal/store"
)

// Store is a store.Store whose write transactions are counted.
type Store struct {
	store.Store
	version atomic.Uint64
}

// Wrap returns st with its write transactions counted.
func Wrap(st store.Store) *Store { return &Store{Store: st} }

// InTx runs fn in a write transaction of the wrapped store and then moves
// the version, whatever the outcome.
func (s *Store) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	defer s.version.Add(1)
	return s.Store.InTx(ctx, fn)
}

// Version returns the number of write transactions ended so far.
func (s *Store) Version() uint64 { return s.version.Load() }

// Unwrap returns the wrapped store, for code that needs the engine itself
// (backups, pool statistics).
func (s *Store) Unwrap() store.Store { return s.Store }
