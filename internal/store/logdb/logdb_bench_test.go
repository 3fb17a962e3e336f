package logdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/store"
)

// BenchmarkInsertLogs writes request-log-like entries in batches of 200;
// ns/op is per entry. Ids are time-ordered (as the log writer makes them)
// or random, to show what scattered index inserts cost.
func BenchmarkInsertLogs(b *testing.B) {
	b.Run("ordered-ids", func(b *testing.B) { benchmarkInsertLogs(b, func(n int) string { return fmt.Sprintf("%015d", n) }) })
	b.Run("random-ids", func(b *testing.B) { benchmarkInsertLogs(b, func(int) string { return random.ID() }) })
}

func benchmarkInsertLogs(b *testing.B, id func(n int) string) {
	db := open(b)
	ctx := context.Background()
	now := time.Now()
	batch := make([]*store.Log, 200)
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		if n%len(batch) == 0 && n > 0 {
			if err := db.InsertLogs(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		batch[n%len(batch)] = &store.Log{ID: id(n), Created: now, Message: "GET /api/collections/posts/records/" + random.ID(),
			Data: map[string]any{"type": "request", "method": "GET", "url": "/api/collections/posts/records?page=1",
				"route": "/api/collections/{collection}/records", "status": 200, "execTime": 1.234, "size": 1234,
				"auth": "users", "userIP": "203.0.113.9", "remoteIP": "127.0.0.1", "referer": "", "userAgent": "bench/1.0",
				"requestId": "abcdefghij0123456789"}}
		n++
	}
}
