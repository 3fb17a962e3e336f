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

// WriterStats describes the work of an engine's single writer, for
// metrics. Engines with one writer shared by grouped transactions (SQLite)
// report it with a method WriterStats() WriterStats.
type WriterStats struct {
	// Commits counts committed write transactions; Callers the InTx calls
	// they acknowledged (Callers/Commits is the mean group size).
	Commits, Callers int64
	// Busy is the total time the writer was held by some caller.
	Busy time.Duration
}
