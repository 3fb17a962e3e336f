package logs

import (
	"log/slog"
	"testing"
	"time"
)

// BenchmarkAppendRequestData encodes the data of request log entries, as
// the writer does for every request.
func BenchmarkAppendRequestData(b *testing.B) {
	h := &handler{next: slog.DiscardHandler}
	rec := slog.NewRecord(time.Now(), slog.LevelInfo, "GET /api/collections/posts/records/abc", 0)
	rec.AddAttrs(
		slog.String("type", RequestType), slog.String("method", "GET"),
		slog.String("url", "/api/collections/posts/records/abcdefghijklmno"),
		slog.String("route", "/api/collections/{collection}/records/{id}"), slog.Int("status", 200),
		slog.Float64("execTime", 0.213), slog.Int64("size", 342), slog.String("auth", "guest"),
		slog.String("authId", ""), slog.String("userIP", "127.0.0.1"), slog.String("remoteIP", "127.0.0.1"),
		slog.String("referer", ""), slog.String("userAgent", "wrk"),
	)
	e := &entry{rec: rec, h: h, requestID: "abcdefghijklmnopqrst"}
	var keys flatKeys
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = e.appendData(buf[:0], &keys)
	}
}
