package sqlite

import (
	"database/sql"

	"github.com/basalt-dev/basalt/internal/store"
)

// PoolStats reports the writer and reader connection pools.
func (s *Store) PoolStats() []store.PoolStats {
	return []store.PoolStats{poolStats("write", s.write.Stats()), poolStats("read", s.read.Stats())}
}

func poolStats(name string, st sql.DBStats) store.PoolStats {
	return store.PoolStats{Name: name, InUse: st.InUse, Idle: st.Idle, Max: st.MaxOpenConnections,
		Waits: st.WaitCount, WaitTime: st.WaitDuration}
}
