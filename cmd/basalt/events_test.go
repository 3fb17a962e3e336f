package main

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRealtimeStreamsEndOnShutdown checks the realtime wiring of serve: the
// stream answers with PB_CONNECT, the client can subscribe, and the open
// stream, which never goes idle, does not hold up a graceful shutdown.
func TestRealtimeStreamsEndOnShutdown(t *testing.T) {
	t.Parallel()
	addr, stop := startServer(t, t.TempDir())
	res, err := http.Get("http://" + addr + "/api/realtime")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type: %q", ct)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	clientID := ""
	for clientID == "" {
		select {
		case line := <-lines:
			clientID, _ = strings.CutPrefix(line, "id:")
		case <-time.After(5 * time.Second):
			t.Fatal("no PB_CONNECT")
		}
	}
	body := `{"clientId":"` + clientID + `","subscriptions":["users/*"]}`
	sub, err := http.Post("http://"+addr+"/api/realtime", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sub.Body.Close()
	if sub.StatusCode != http.StatusNoContent {
		t.Fatalf("subscribe: %d", sub.StatusCode)
	}

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown waited for the realtime stream")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %v", d)
	}
	// The stream ended.
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("stream still open after shutdown")
		}
	}
}
