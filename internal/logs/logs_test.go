package logs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/logs"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/logdb"
)

func openDB(t *testing.T) *logdb.DB {
	t.Helper()
	db, err := logdb.Open(context.Background(), filepath.Join(t.TempDir(), "auxiliary.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// start runs svc until the test ends.
func start(t *testing.T, svc *logs.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestHandlerStampsAndStores(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	cfg := settings.Logs{MaxDays: 5, MinLevel: 0, LogIP: false, LogAuthID: true}
	svc := logs.New(db, logs.Options{Settings: func() settings.Logs { return cfg }})
	start(t, svc)
	var out bytes.Buffer
	logger := slog.New(logs.NewHandler(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), svc))

	ctx := logs.WithRequestID(context.Background(), "req-123")
	logger.With("type", "request").WithGroup("http").InfoContext(ctx, "GET /api/health",
		"status", 200, slog.Group("auth", "id", "u1"))
	logger.InfoContext(ctx, "GET /api/health", "userIP", "10.0.0.1", "authId", "u1")
	logger.DebugContext(ctx, "below the stored level")
	logger.Warn("no request", "err", context.Canceled, "took", time.Second)

	var line map[string]any
	// Line 2 has no group open: the id is a top-level attribute. (Under an
	// open group it lands in the group, as any attribute added then.)
	if err := json.Unmarshal(bytes.Split(out.Bytes(), []byte("\n"))[1], &line); err != nil {
		t.Fatal(err)
	}
	if line[logs.RequestIDKey] != "req-123" {
		t.Errorf("console line lacks the request id: %v", line)
	}
	if err := svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	list, total, err := svc.List(context.Background(), store.LogQuery{Sort: "created"})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 {
		t.Fatalf("stored %d entries, want 3 (debug is below minLevel): %+v", total, list)
	}
	got := list[0]
	if got.Message != "GET /api/health" || got.Level != 0 || got.Data["type"] != "request" || got.Data[logs.RequestIDKey] != "req-123" {
		t.Errorf("entry = %+v", got)
	}
	http, _ := got.Data["http"].(map[string]any)
	if http["status"] != float64(200) || http["auth"].(map[string]any)["id"] != "u1" {
		t.Errorf("grouped data = %v", got.Data)
	}
	if d := list[1].Data; d["userIP"] != nil || d["authId"] != "u1" {
		t.Errorf("stored %v; want no userIP (logIP is off) and authId (logAuthId is on)", d)
	}
	if w := list[2]; w.Level != int(slog.LevelWarn) || w.Data["err"] != "context canceled" || w.Data["took"] != "1s" {
		t.Errorf("warning entry = %+v", w)
	}
	if _, _, err := svc.List(context.Background(), store.LogQuery{Filter: `data.http.status = 200`}); err != nil {
		t.Errorf("filter on nested data: %v", err)
	}
}

func TestQueueDropsInsteadOfBlocking(t *testing.T) {
	t.Parallel()
	svc := logs.New(openDB(t), logs.Options{Buffer: 2}) // not running: nothing drains
	logger := slog.New(logs.NewHandler(slog.DiscardHandler, svc))
	done := make(chan struct{})
	go func() {
		for range 10 {
			logger.Info("x")
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("logging blocked on a full queue")
	}
	if got := svc.Dropped(); got != 8 {
		t.Errorf("Dropped = %d, want 8", got)
	}
}

func TestMaxDaysZeroStoresNothing(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	svc := logs.New(db, logs.Options{Settings: func() settings.Logs { return settings.Logs{MaxDays: 0} }})
	start(t, svc)
	slog.New(logs.NewHandler(slog.DiscardHandler, svc)).Error("x")
	if err := svc.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := svc.List(context.Background(), store.LogQuery{}); total != 0 {
		t.Errorf("stored %d entries with maxDays 0", total)
	}
}

func TestRetentionPrunesOldEntries(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	old := &store.Log{ID: "old000000000000", Created: now.AddDate(0, 0, -6)}
	fresh := &store.Log{ID: "new000000000000", Created: now.AddDate(0, 0, -1)}
	if err := db.InsertLogs(context.Background(), []*store.Log{old, fresh}); err != nil {
		t.Fatal(err)
	}
	svc := logs.New(db, logs.Options{Now: func() time.Time { return now }}) // maxDays 5 by default
	start(t, svc)
	if err := svc.Sync(context.Background()); err != nil { // Run prunes before serving Sync
		t.Fatal(err)
	}
	list, _, _ := svc.List(context.Background(), store.LogQuery{})
	if len(list) != 1 || list[0].ID != fresh.ID {
		t.Errorf("after pruning: %+v, want only %s", list, fresh.ID)
	}
}

// TestWriterWakesPerBatch checks when entries reach the database without
// Sync: at once when a batch is queued, else at the flush interval.
func TestWriterWakesPerBatch(t *testing.T) {
	t.Parallel()
	stored := func(svc *logs.Service) int64 {
		_, total, err := svc.List(context.Background(), store.LogQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return total
	}
	waitFor := func(svc *logs.Service, n int64, within time.Duration) {
		t.Helper()
		start := time.Now()
		for stored(svc) < n {
			if time.Since(start) > within {
				t.Fatalf("%d entries stored after %v, want %d", stored(svc), within, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Entries short of a batch (4) wait for the flush interval, an hour
	// here; the entry that completes the batch has them written at once.
	svc := logs.New(openDB(t), logs.Options{Batch: 4, FlushEvery: time.Hour})
	start(t, svc)
	logger := slog.New(logs.NewHandler(slog.DiscardHandler, svc))
	for i := range 3 {
		logger.Info("entry", "i", i)
	}
	time.Sleep(100 * time.Millisecond)
	if n := stored(svc); n != 0 {
		t.Errorf("%d entries stored before a batch was queued, want 0", n)
	}
	logger.Info("entry", "i", 3)
	waitFor(svc, 4, 10*time.Second)

	// Fewer than a batch are written at the flush interval.
	svc = logs.New(openDB(t), logs.Options{Batch: 100, FlushEvery: 50 * time.Millisecond})
	start(t, svc)
	logger = slog.New(logs.NewHandler(slog.DiscardHandler, svc))
	logger.Info("alone")
	waitFor(svc, 1, 10*time.Second)
}
