package main

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// steady returns n windows of 10 s with the same figures.
func steady(n int) []window {
	ws := make([]window, n)
	for i := range ws {
		ws[i] = window{end: time.Duration(i+1) * 10 * time.Second, requests: 2000,
			p50: time.Millisecond, p99: 10 * time.Millisecond, signin: 60 * time.Millisecond,
			goroutines: 40, heapGoal: 20 << 20, rss: 100 << 20, dbBytes: 4 << 20, cacheConns: 5}
	}
	return ws
}

var testBounds = bounds{warmup: 15 * time.Second, goroutines: 50, heapRatio: 0.2, heapSlack: 8 << 20,
	rssRatio: 0.25, rssSlack: 16 << 20, pageCache: 32 << 20, p99Ratio: 2, p99Slack: 5 * time.Millisecond}

func TestJudge(t *testing.T) {
	tests := []struct {
		name   string
		change func(ws []window) // applied to 12 steady windows
		errors int
		want   string // substring of the one failure; "" for none
	}{
		{"steady", func([]window) {}, 0, ""},
		{"errors", func([]window) {}, 3, "errors: 3"},
		{"goroutine leak", func(ws []window) {
			for i := range ws {
				ws[i].goroutines += float64(10 * i)
			}
		}, 0, "goroutines"},
		{"heap leak", func(ws []window) {
			for i := range ws {
				ws[i].heapGoal += float64(i * 2 << 20)
			}
		}, 0, "heap goal"},
		{"RSS leak", func(ws []window) {
			for i := range ws {
				ws[i].rss += float64(i * 12 << 20)
			}
		}, 0, "RSS"},
		{"RSS growth the page caches explain", func(ws []window) {
			for i := range ws { // the database and the caches grow together
				ws[i].dbBytes = float64(i * 4 << 20)
				ws[i].rss += float64(i * 8 << 20)
			}
		}, 0, ""},
		{"page cache allowance capped at the cache size", func(ws []window) {
			for i := range ws {
				ws[i].dbBytes = float64(i * 64 << 20)
				ws[i].rss += float64(i * 30 << 20)
			}
		}, 0, "RSS"},
		{"p99 degrades", func(ws []window) {
			for i := 9; i < 12; i++ {
				ws[i].p99 = 40 * time.Millisecond
			}
		}, 0, "p99"},
		{"one noisy late window is outvoted", func(ws []window) {
			ws[10].p99 = time.Second
			ws[11].goroutines = 500
		}, 0, ""},
		{"warm-up growth is not judged", func(ws []window) {
			ws[0].goroutines, ws[0].rss = 5, 10<<20
		}, 0, ""},
		{"a window without requests", func(ws []window) { ws[5].requests = 0 }, 0, "served no request"},
		{"sign-ins slow down", func(ws []window) {
			for i := 9; i < 12; i++ {
				ws[i].signin = 200 * time.Millisecond
			}
		}, 0, "sign-in"},
		{"windows without a sign-in are not judged on them", func(ws []window) {
			ws[1].signin, ws[11].signin = 0, 0
			ws[10].signin = 70 * time.Millisecond
		}, 0, ""},
		{"p99 slack for tiny latencies", func(ws []window) {
			for i := range ws {
				ws[i].p99 = 200 * time.Microsecond
			}
			for i := 9; i < 12; i++ {
				ws[i].p99 = 3 * time.Millisecond // 15× but within 2× + 5 ms
			}
		}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := steady(12)
			tt.change(ws)
			j := judge(ws, tt.errors, testBounds)
			if tt.want == "" {
				if len(j.failures) != 0 {
					t.Fatalf("failures %q, want none", j.failures)
				}
				return
			}
			if len(j.failures) != 1 || !strings.Contains(j.failures[0], tt.want) {
				t.Fatalf("failures %q, want one containing %q", j.failures, tt.want)
			}
		})
	}
}

func TestJudgeTooShort(t *testing.T) {
	j := judge(steady(2), 0, testBounds) // windows end at 10 s and 20 s: one after the warm-up
	if len(j.failures) != 1 || !strings.Contains(j.failures[0], "too short") {
		t.Fatalf("failures %q, want too short", j.failures)
	}
}

func TestJudgeWithoutSignIns(t *testing.T) {
	ws := steady(12)
	for i := 9; i < 12; i++ {
		ws[i].signin = 0
	}
	j := judge(ws, 0, testBounds)
	if len(j.failures) != 0 || !slices.ContainsFunc(j.notes, func(n string) bool { return strings.Contains(n, "sign-in median: no sign-in") }) {
		t.Fatalf("failures %q, notes %q; want none, and a note that sign-ins were not judged", j.failures, j.notes)
	}
}

func TestJudgeComparesFirstAndLastWindows(t *testing.T) {
	j := judge(steady(12), 0, testBounds)
	if len(j.early) != 3 || len(j.late) != 3 || j.early[0].end != 20*time.Second || j.late[2].end != 120*time.Second {
		t.Fatalf("early %v late %v, want 20s–40s and 100s–120s", spans(j.early), spans(j.late))
	}
}

func TestJudgeP99OnABusyMachine(t *testing.T) {
	ws := steady(12)
	for i := range ws {
		ws[i].cpuPerReq, ws[i].waitPerReq = 2*time.Millisecond, time.Millisecond
	}
	for i := 9; i < 12; i++ {
		ws[i].p99 = 40 * time.Millisecond
		ws[i].waitPerReq = 5 * time.Millisecond // neighbours took the cores late in the run
	}
	j := judge(ws, 0, testBounds)
	if len(j.failures) != 0 || len(j.inconclusive) != 1 || !strings.Contains(j.inconclusive[0], "p99") {
		t.Fatalf("failures %q, inconclusive %q; want only p99 inconclusive", j.failures, j.inconclusive)
	}
	// A server that needs more CPU per request is slower by its own fault,
	// however busy the machine.
	for i := 9; i < 12; i++ {
		ws[i].cpuPerReq = 4 * time.Millisecond
	}
	j = judge(ws, 0, testBounds)
	if len(j.failures) != 1 || !strings.Contains(j.failures[0], "p99") {
		t.Fatalf("failures %q, want p99", j.failures)
	}
	// Memory bounds are judged whatever the neighbours do.
	for i := 9; i < 12; i++ {
		ws[i].cpuPerReq = 2 * time.Millisecond
		ws[i].goroutines = 400
	}
	j = judge(ws, 0, testBounds)
	if len(j.failures) != 1 || !strings.Contains(j.failures[0], "goroutines") {
		t.Fatalf("failures %q, want goroutines", j.failures)
	}
}
