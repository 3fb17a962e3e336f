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
		batch[n%len(batch)] = &store.Log{ID: id(n), Created: now.Add(time.Duration(n) * 50 * time.Microsecond), Message: "GET /api/collections/posts/records/" + random.ID(),
			Data: map[string]any{"type": "request", "method": "GET", "url": "/api/collections/posts/records?page=1",
				"route": "/api/collections/{collection}/records", "status": 200, "execTime": 1.234, "size": 1234,
				"auth": "users", "userIP": "203.0.113.9", "remoteIP": "127.0.0.1", "referer": "", "userAgent": "bench/1.0",
				"requestId": "abcdefghij0123456789"}}
		n++
	}
}

// BenchmarkLogStats counts 100,000 entries spread over five days (the
// default maxDays) per hour, unfiltered and filtered on a data key.
func BenchmarkLogStats(b *testing.B) {
	db := open(b)
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	const n = 100_000
	batch := make([]*store.Log, 0, 1000)
	for i := range n {
		status := 200
		if i%10 == 0 {
			status = 404
		}
		batch = append(batch, &store.Log{ID: fmt.Sprintf("%015d", i), Created: start.Add(time.Duration(i) * (5 * 24 * time.Hour / n)),
			Message: "GET /api/health", DataJSON: []byte(fmt.Sprintf(`{"type":"request","status":%d}`, status))})
		if len(batch) == cap(batch) {
			if err := db.InsertLogs(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for name, filter := range map[string]string{"all": "", "filtered": "data.status >= 400"} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				stats, err := db.LogStats(ctx, filter)
				if err != nil || len(stats) != 120 {
					b.Fatalf("%d hours, %v; want 120", len(stats), err)
				}
			}
		})
	}
}
