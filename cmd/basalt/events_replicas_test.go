package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// sseEvent is one server-sent event: its name and its data line.
type sseEvent struct {
	name string
	data string
}

// openSSE connects to addr's /api/realtime and returns the stream's events
// as they arrive; the connection ends with t.
func openSSE(t *testing.T, addr string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/realtime", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET /api/realtime: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET /api/realtime: status %d", res.StatusCode)
	}
	events := make(chan sseEvent, 64)
	done := make(chan struct{})
	t.Cleanup(func() {
		cancel()
		res.Body.Close()
		<-done
	})
	go func() {
		defer close(done)
		defer close(events)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" || ev.data != "" {
					events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event:"):
				ev.name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
	}()
	return events
}

// nextEvent returns the next event named name, failing t after wait.
func nextEvent(t *testing.T, events <-chan sseEvent, name string, wait time.Duration) sseEvent {
	t.Helper()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("realtime stream ended while waiting for %q", name)
			}
			if ev.name == name {
				return ev
			}
		case <-timer.C:
			t.Fatalf("no %q event within %v", name, wait)
		}
	}
}

// TestReplicasWakeRealtime writes records through replica A and expects each
// one's event on an SSE subscriber of replica B within a second. B learns of
// the commit through PostgreSQL LISTEN/NOTIFY; it also reads the outbox every
// second without a wake-up, so only a latency well under that period shows
// the wake-up works: writes follow each delivered event at once, which under
// polling alone would put every delivery close to a full period later.
func TestReplicasWakeRealtime(t *testing.T) {
	addrs, token := startReplicas(t, 2)
	a, b := addrs[0], addrs[1]

	status, body := call(t, http.MethodPost, a, "/api/collections", token, map[string]any{
		"name": "posts", "type": "base", "listRule": "", "viewRule": "", "createRule": "",
		"fields": []map[string]any{{"name": "title", "type": "text"}},
	})
	if status != http.StatusOK {
		t.Fatalf("create collection on A: %d %v", status, body)
	}
	if took, msg := within(10*time.Second, func() string {
		if status, _ := call(t, http.MethodGet, b, "/api/collections/posts", token, nil); status != http.StatusOK {
			return fmt.Sprintf("GET /api/collections/posts on B: %d", status)
		}
		return ""
	}); msg != "" {
		t.Fatalf("after %v: %s", took, msg)
	}

	events := openSSE(t, b)
	connect := nextEvent(t, events, "PB_CONNECT", 10*time.Second)
	var hello struct {
		ClientID string `json:"clientId"`
	}
	if err := json.Unmarshal([]byte(connect.data), &hello); err != nil || hello.ClientID == "" {
		t.Fatalf("PB_CONNECT data %q: %v", connect.data, err)
	}
	status, body = call(t, http.MethodPost, b, "/api/realtime", token, map[string]any{
		"clientId": hello.ClientID, "subscriptions": []string{"posts"},
	})
	if status != http.StatusNoContent {
		t.Fatalf("subscribe on B: %d %v", status, body)
	}

	const writes = 7
	var latencies []time.Duration
	for i := range writes {
		start := time.Now()
		status, body := call(t, http.MethodPost, a, "/api/collections/posts/records", "", map[string]any{"title": fmt.Sprint("post ", i)})
		if status != http.StatusOK {
			t.Fatalf("create record %d on A: %d %v", i, status, body)
		}
		ev := nextEvent(t, events, "posts", 5*time.Second)
		took := time.Since(start)
		var got struct {
			Action string         `json:"action"`
			Record map[string]any `json:"record"`
		}
		if err := json.Unmarshal([]byte(ev.data), &got); err != nil {
			t.Fatalf("event data %q: %v", ev.data, err)
		}
		if got.Action != "create" || got.Record["id"] != body["id"] {
			t.Fatalf("event %d on B: got %s %v, want create of %v", i, got.Action, got.Record["id"], body["id"])
		}
		if took > time.Second {
			t.Errorf("record %d reached B's subscriber after %v, want within 1s", i, took)
		}
		latencies = append(latencies, took)
	}
	t.Logf("write on A to event on B: %v", latencies)
	slices.Sort(latencies)
	if median := latencies[writes/2]; median > 500*time.Millisecond {
		t.Errorf("median write-to-event time %v, want well under the 1s outbox poll (is LISTEN/NOTIFY wired?)", median)
	}
}
