package logdb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/logdb"
)

func open(t testing.TB) *logdb.DB {
	t.Helper()
	db, err := logdb.Open(context.Background(), filepath.Join(t.TempDir(), "auxiliary.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestLogsListFilterStatsPrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := open(t)
	base := time.Date(2026, 5, 1, 10, 15, 0, 0, time.UTC)
	logs := []*store.Log{
		{ID: "aaaaaaaaaaaaaa1", Created: base, Level: 0, Message: "GET /api/health", Data: map[string]any{"type": "request", "status": 200}},
		{ID: "aaaaaaaaaaaaaa2", Created: base.Add(time.Minute), Level: 8, Message: "GET /api/boom", Data: map[string]any{"type": "request", "status": 500}},
		{ID: "aaaaaaaaaaaaaa3", Created: base.Add(time.Hour), Level: 4, Message: "slow", Data: map[string]any{"type": "app"}},
	}
	if err := db.InsertLogs(ctx, logs); err != nil {
		t.Fatal(err)
	}

	list, total, err := db.Logs(ctx, store.LogQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 3 || len(list) != 3 || list[0].ID != "aaaaaaaaaaaaaa3" {
		t.Fatalf("default list: total %d, first %v; want 3, newest first", total, list)
	}
	tests := []struct {
		filter, sort string
		want         []string
	}{
		{`level >= 4`, `created`, []string{"aaaaaaaaaaaaaa2", "aaaaaaaaaaaaaa3"}},
		{`data.status = 500`, ``, []string{"aaaaaaaaaaaaaa2"}},
		{`data.type = "request" && message ~ "health"`, ``, []string{"aaaaaaaaaaaaaa1"}},
		{`created > "2026-05-01 10:30:00.000Z"`, ``, []string{"aaaaaaaaaaaaaa3"}},
		{``, `-level`, []string{"aaaaaaaaaaaaaa2", "aaaaaaaaaaaaaa3", "aaaaaaaaaaaaaa1"}},
		{`rowid >= 2`, `-rowid`, []string{"aaaaaaaaaaaaaa3", "aaaaaaaaaaaaaa2"}},
	}
	for _, tt := range tests {
		list, total, err := db.Logs(ctx, store.LogQuery{Filter: tt.filter, Sort: tt.sort, Limit: 10})
		if err != nil {
			t.Errorf("filter %q: %v", tt.filter, err)
			continue
		}
		var got []string
		for _, l := range list {
			got = append(got, l.ID)
		}
		if len(got) != len(tt.want) || int(total) != len(tt.want) {
			t.Errorf("filter %q sort %q: got %v (total %d), want %v", tt.filter, tt.sort, got, total, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("filter %q sort %q: got %v, want %v", tt.filter, tt.sort, got, tt.want)
				break
			}
		}
	}
	if _, _, err := db.Logs(ctx, store.LogQuery{Filter: `nope = 1`}); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("unknown field: err = %v, want invalid", err)
	}
	if _, _, err := db.Logs(ctx, store.LogQuery{Filter: `level >`}); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("syntax error: err = %v, want invalid", err)
	}

	l, err := db.Log(ctx, "aaaaaaaaaaaaaa2")
	if err != nil || l.Message != "GET /api/boom" || l.Data["status"] != float64(500) || !l.Created.Equal(base.Add(time.Minute)) {
		t.Errorf("Log = %+v, %v", l, err)
	}
	if _, err := db.Log(ctx, "missing"); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("missing log: err = %v, want not_found", err)
	}

	stats, err := db.LogStats(ctx, `data.type = "request" || level = 4`)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2 || stats[0].Total != 2 || !stats[0].Date.Equal(base.Truncate(time.Hour)) || stats[1].Total != 1 {
		t.Errorf("stats = %+v, want 2 at 10:00 and 1 at 11:00", stats)
	}

	n, err := db.PruneLogs(ctx, base.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("PruneLogs = %d, %v; want 2", n, err)
	}
	if err := db.DeleteLogs(ctx); err != nil {
		t.Fatal(err)
	}
	if _, total, _ := db.Logs(ctx, store.LogQuery{}); total != 0 {
		t.Errorf("after DeleteLogs total = %d", total)
	}
}

// TestLogStatsPerHour checks the per-hour counts against counts made here,
// over entries spread across a day boundary with hours left empty, and over
// entries spread wider than a year (counted by the one-scan fallback).
func TestLogStatsPerHour(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 5, 1, 20, 0, 0, 0, time.UTC)
	for name, far := range map[string]bool{"ranges": false, "far apart": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := open(t)
			rng := rand.New(rand.NewPCG(1, 2))
			var logs []*store.Log
			want := map[time.Time][2]int64{} // all, level >= 4
			add := func(at time.Time, level int) {
				logs = append(logs, &store.Log{ID: fmt.Sprintf("l%014d", len(logs)), Created: at, Level: level, Message: "m"})
				c := want[at.Truncate(time.Hour)]
				c[0]++
				if level >= 4 {
					c[1]++
				}
				want[at.Truncate(time.Hour)] = c
			}
			for range 500 {
				h := rng.IntN(30)
				if h >= 10 && h < 14 {
					continue // hours without entries
				}
				at := start.Add(time.Duration(h)*time.Hour + time.Duration(rng.Int64N(int64(time.Hour))))
				add(at, 4*rng.IntN(3))
			}
			add(start.Add(time.Hour), 8)                    // exactly on the hour
			add(start.Add(2*time.Hour-time.Millisecond), 0) // the last millisecond of an hour
			if far {
				add(start.AddDate(-2, 0, 0), 4)
			}
			if err := db.InsertLogs(ctx, logs); err != nil {
				t.Fatal(err)
			}
			for i, filter := range []string{"", "level >= 4"} {
				stats, err := db.LogStats(ctx, filter)
				if err != nil {
					t.Fatal(err)
				}
				got := map[time.Time]int64{}
				for j, s := range stats {
					if j > 0 && !stats[j-1].Date.Before(s.Date) {
						t.Errorf("filter %q: %v is not after %v", filter, s.Date, stats[j-1].Date)
					}
					if s.Total == 0 {
						t.Errorf("filter %q: an hour without entries: %v", filter, s.Date)
					}
					got[s.Date] = s.Total
				}
				for hour, c := range want {
					if got[hour] != c[i] {
						t.Errorf("filter %q: %v counts %d, want %d", filter, hour, got[hour], c[i])
					}
					delete(got, hour)
				}
				for hour, n := range got {
					t.Errorf("filter %q: %v counts %d, want none", filter, hour, n)
				}
			}
		})
	}
	if stats, err := open(t).LogStats(context.Background(), ""); err != nil || len(stats) != 0 {
		t.Errorf("no entries: stats %v, %v", stats, err)
	}
}
