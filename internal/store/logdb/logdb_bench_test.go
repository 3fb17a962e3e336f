package logdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/store"
)

// BenchmarkInsertLogs writes request-log-like entries in batches of 200,
// the log writer's default; ns/op is per entry.
func BenchmarkInsertLogs(b *testing.B) {
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
		batch[n%len(batch)] = &store.Log{ID: fmt.Sprintf("%015d", n), Created: now, Message: "GET /api/collections/posts/records?page=1",
			Data: map[string]any{"type": "request", "method": "GET", "url": "/api/collections/posts/records?page=1",
				"route": "/api/collections/{collection}/records", "status": 200, "execTime": 1.234, "size": 1234,
				"auth": "users", "userIP": "203.0.113.9", "remoteIP": "127.0.0.1", "referer": "", "userAgent": "bench/1.0",
				"requestId": "abcdefghij0123456789"}}
		n++
	}
}
