package realtime

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// memRelay is a store.Relay between the clusters of one test, delivering
// each message to every listener, in order, from one goroutine each.
type memRelay struct {
	mu        sync.Mutex
	listeners []chan []byte
}

func (r *memRelay) RelaySend(_ context.Context, _ string, payload []byte) error {
	if len(payload) > store.MaxRelayPayload {
		return apperr.New(apperr.Invalid, "too long")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.listeners {
		l <- append([]byte(nil), payload...)
	}
	return nil
}

func (r *memRelay) RelayListen(ctx context.Context, _ string, ready func(), fn func([]byte)) error {
	ch := make(chan []byte, 64)
	r.mu.Lock()
	r.listeners = append(r.listeners, ch)
	r.mu.Unlock()
	ready()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-ch:
			fn(p)
		}
	}
}

// startCluster runs f's broker as a cluster member on relay.
func startCluster(t *testing.T, f *fixture, relay store.Relay) *Cluster {
	t.Helper()
	c := NewCluster(f.broker, relay, ClusterOptions{
		Timeout: 500 * time.Millisecond,
		LoadAuth: func(_ context.Context, collectionID, id string) (*schema.Record, error) {
			for _, u := range f.users {
				if u.ID() == id && u.Collection.ID == collectionID {
					return u, nil
				}
			}
			return nil, apperr.New(apperr.NotFound, "no such user")
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(5 * time.Second)
	for !c.live.Load() {
		if time.Now().After(deadline) {
			t.Fatal("cluster relay did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return c
}

func TestClusterRelaysSubscribeAndPublish(t *testing.T) {
	t.Parallel()
	relay := &memRelay{}
	holder := newFixture(t, Options{})
	a := startCluster(t, holder, relay)
	// The other replica shares the database in production; here only its
	// broker matters, and the auth records it passes are the holder's.
	b := startCluster(t, newFixture(t, Options{}), relay)
	ann, bob := holder.users["ann"], holder.users["bob"]

	s := holder.connect()
	if err := b.Subscribe(s.id, testIP, ann, []string{"posts/*", "@oauth2"}); err != nil {
		t.Fatalf("Subscribe through the other replica: %v", err)
	}
	holder.createPost("ann", "relayed")
	holder.deliver()
	if ev := s.next(); ev.event != "posts/*" {
		t.Fatalf("event after a relayed subscribe: %+v, want posts/*", ev)
	}

	tests := []struct {
		name string
		id   string
		ip   string
		auth *schema.Record
		want apperr.Code
	}{
		{"another identity", s.id, testIP, bob, apperr.Forbidden},
		{"a guest after ann", s.id, testIP, nil, apperr.Forbidden},
		{"another address", s.id, "203.0.113.9", ann, apperr.Invalid},
		{"a client no replica holds", "nosuchclient", testIP, ann, apperr.NotFound},
	}
	for _, tt := range tests {
		err := b.Subscribe(tt.id, tt.ip, tt.auth, []string{"posts/*", "@oauth2"})
		if got := apperr.CodeOf(err); got != tt.want {
			t.Errorf("Subscribe as %s: got %q (%v), want %q", tt.name, got, err, tt.want)
		}
	}
	// Malformed requests are refused by the receiving replica itself.
	if err := b.Subscribe("", testIP, ann, nil); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Subscribe without a client id: got %v, want invalid", err)
	}

	if !b.Publish(s.id, "@oauth2", []byte(`{"state":"x","code":"y"}`)) {
		t.Fatal("Publish through the other replica: not delivered")
	}
	if ev := s.next(); ev.event != "@oauth2" || ev.data != `{"state":"x","code":"y"}` {
		t.Fatalf("event after a relayed publish: %+v", ev)
	}
	// @oauth2 delivers once: the subscription ended.
	if b.Publish(s.id, "@oauth2", []byte(`{}`)) {
		t.Error("second relayed Publish: delivered, want refused")
	}
	if b.Publish("nosuchclient", "@oauth2", []byte(`{}`)) {
		t.Error("Publish to an unknown client: delivered")
	}
	// The holder serves its own clients without the relay.
	if err := a.Subscribe(s.id, testIP, ann, []string{"posts/*"}); err != nil {
		t.Errorf("Subscribe on the holder: %v", err)
	}
}

func TestClusterWithoutRelayAnswersAtOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	c := NewCluster(f.broker, noRelay{}, ClusterOptions{})
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("Run without a relay: %v", err)
	}
	start := time.Now()
	err := c.Subscribe("nosuchclient", testIP, nil, []string{"posts/*"})
	if apperr.CodeOf(err) != apperr.NotFound || time.Since(start) > time.Second {
		t.Errorf("Subscribe of an unknown client: %v after %v, want not_found at once", err, time.Since(start))
	}
}

// noRelay is an engine without other processes (SQLite).
type noRelay struct{}

func (noRelay) RelaySend(context.Context, string, []byte) error { return nil }
func (noRelay) RelayListen(context.Context, string, func(), func([]byte)) error {
	return nil
}
