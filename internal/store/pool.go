package store

import "time"

// PoolStats is a snapshot of one database connection pool, for metrics.
// Engines that pool connections report them with a method
// PoolStats() []PoolStats.
type PoolStats struct {
	// Name tells the engine's pools apart ("write", "read", "main").
	Name string
	// InUse and Idle count open connections; Max bounds them (0: none).
	InUse, Idle, Max int
	// Waits counts the acquisitions that had to wait for a connection,
	// WaitTime their total wait.
	Waits    int64
	WaitTime time.Duration
}
