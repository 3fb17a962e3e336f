package realtime

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestConnect(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := f.connect()
	if ct := s.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type: %q", ct)
	}
	if cc := s.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control: %q", cc)
	}
	if len(s.id) != 40 {
		t.Errorf("client id %q: want 40 characters", s.id)
	}
	other := f.connect()
	if other.id == s.id {
		t.Errorf("two clients share the id %s", s.id)
	}
	if n := f.broker.Clients(); n != 2 {
		t.Errorf("Clients: got %d, want 2", n)
	}
}

func TestConnectionLifetimes(t *testing.T) {
	t.Parallel()
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		// Generous margins: a loaded CI machine may stall a goroutine for
		// hundreds of milliseconds.
		f := newFixture(t, Options{IdleTimeout: 1500 * time.Millisecond})
		s := f.connect()
		f.mustSubscribe(s, "ann", "posts/*")
		time.Sleep(800 * time.Millisecond)
		f.createPost("ann", "keeps it alive")
		f.deliver()
		s.next()
		time.Sleep(1000 * time.Millisecond) // 1.8 s since connecting, 1 s since the message
		select {
		case <-s.closed:
			t.Fatal("a message did not reset the idle timer")
		default:
		}
		s.waitClosed(5 * time.Second)
		if f.broker.Clients() != 0 {
			t.Errorf("Clients after idle close: %d", f.broker.Clients())
		}
	})
	t.Run("max lifetime", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{MaxLifetime: 2 * time.Second})
		s := f.connect()
		f.mustSubscribe(s, "ann", "posts/*")
		start := time.Now()
		for time.Since(start) < time.Second { // busy, yet closed at the lifetime
			f.createPost("ann", "busy")
			f.deliver()
			s.next()
		}
		s.waitClosed(2 * time.Second)
	})
	t.Run("broker close", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{})
		s := f.connect()
		f.broker.Close()
		s.waitClosed(2 * time.Second)
		resp, err := http.Get(f.srv.URL + "/realtime")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("connect after close: %d", resp.StatusCode)
		}
	})
	t.Run("client goes away", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{})
		s := f.connect()
		s.resp.Body.Close()
		deadline := time.Now().Add(2 * time.Second)
		for f.broker.Clients() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("client still registered after its connection closed")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// TestConnectWithoutHijack covers streams that cannot take the connection
// over (HTTP/2): same headers, events and ending.
func TestConnectWithoutHijack(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	s := f.connectTo("/realtime-nohijack")
	if ct := s.header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type: %q", ct)
	}
	f.mustSubscribe(s, "ann", "posts/*")
	for i := range 3 {
		post := f.createPost("ann", fmt.Sprint(i))
		f.deliver()
		expect(t, s, "posts/*", "create", post.ID())
	}
	f.broker.Close()
	s.waitClosed(2 * time.Second)
}

// TestConnectHead checks that a HEAD request gets the stream's headers and
// no body (its connection is not taken over).
func TestConnectHead(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	resp, err := http.Head(f.srv.URL + "/realtime")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
