package postgres

import "github.com/basalt-dev/basalt/internal/store"

// PoolStats reports the connection pool.
func (s *Store) PoolStats() []store.PoolStats {
	st := s.pool.Stat()
	return []store.PoolStats{{
		Name: "main", InUse: int(st.AcquiredConns()), Idle: int(st.IdleConns()), Max: int(st.MaxConns()),
		Waits: st.EmptyAcquireCount(), WaitTime: st.EmptyAcquireWaitTime(),
	}}
}
