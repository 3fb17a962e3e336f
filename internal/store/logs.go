package store

import (
	"context"
	"time"
)

// Log is one entry of the request and application log, PocketBase's _logs
// row. It lives in a database of its own (auxiliary.db), so that logging
// never contends with record writes.
type Log struct {
	ID      string
	Created time.Time
	// Level is the log/slog level: -4 debug, 0 info, 4 warn, 8 error.
	Level   int
	Message string
	// Data holds the entry's attributes (for requests: method, url,
	// status, execTime, auth, ...).
	Data map[string]any
	// DataJSON, when not nil, is Data already encoded as a JSON object;
	// writers store it as is and ignore Data (the log writer encodes
	// entries without building the map).
	DataJSON []byte
}

// LogQuery selects a page of logs. Filter and Sort use the filter language
// over the fields rowid, id, created, level, message and data.* (JSON paths).
type LogQuery struct {
	Filter string
	Sort   string
	Limit  int
	Offset int
	// SkipTotal leaves the total count out (-1).
	SkipTotal bool
}

// LogStat is the number of log entries in one hour.
type LogStat struct {
	Date  time.Time
	Total int64
}

// LogStore is a log database.
//
// Error contract: apperr Invalid when a filter or sort does not compile,
// apperr NotFound when Log finds no entry, Internal otherwise.
type LogStore interface {
	// InsertLogs appends entries in one transaction.
	InsertLogs(ctx context.Context, logs []*Log) error
	// Logs returns a page of entries matching q, newest first unless
	// q.Sort says otherwise, and the total count (-1 with SkipTotal).
	Logs(ctx context.Context, q LogQuery) ([]*Log, int64, error)
	// Log returns the entry with id.
	Log(ctx context.Context, id string) (*Log, error)
	// LogStats counts the entries that match filter per hour, oldest first.
	LogStats(ctx context.Context, filter string) ([]LogStat, error)
	// PruneLogs deletes the entries created before cutoff and returns how
	// many went.
	PruneLogs(ctx context.Context, cutoff time.Time) (int64, error)
	// DeleteLogs deletes every entry.
	DeleteLogs(ctx context.Context) error
}
