package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient is a WebSocket connection to the fixture's /ws endpoint.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	id   string
}

// wsMessage is any server message.
type wsMessage struct {
	Type     string          `json:"type"`
	ID       string          `json:"id"`
	ClientID string          `json:"clientId"`
	Topic    string          `json:"topic"`
	Data     json.RawMessage `json:"data"`
	Status   int             `json:"status"`
	Message  string          `json:"message"`
}

// dialWS connects as the user named by as ("" for a guest) and reads the
// connect message.
func (f *fixture) dialWS(as string) *wsClient {
	f.t.Helper()
	h := http.Header{}
	h.Set("X-Test-Auth", as)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http")+"/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		f.t.Fatalf("dial: %v", err)
	}
	f.t.Cleanup(func() { conn.CloseNow() })
	c := &wsClient{t: f.t, conn: conn}
	m := c.read()
	if m.Type != "connect" || len(m.ClientID) != 40 {
		f.t.Fatalf("first message: %+v", m)
	}
	c.id = m.ClientID
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// read returns the next message, failing after a while.
func (c *wsClient) read() wsMessage {
	c.t.Helper()
	m, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func (c *wsClient) tryRead(d time.Duration) (wsMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := c.conn.Read(ctx)
	if err != nil {
		return wsMessage{}, err
	}
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Fatalf("message %s: %v", data, err)
	}
	return m, nil
}

// subscribe sends a subscribe request and returns the reply.
func (c *wsClient) subscribe(id, token string, topics ...string) wsMessage {
	c.t.Helper()
	msg := map[string]any{"type": "subscribe", "id": id, "subscriptions": topics}
	if token != "" {
		msg["token"] = token
	}
	c.send(msg)
	return c.read()
}

// closedWith waits for the server to close the connection and checks the
// close status and reason.
func (c *wsClient) closedWith(status websocket.StatusCode, reason string) {
	c.t.Helper()
	for {
		_, err := c.tryRead(5 * time.Second)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("connection ended without a close frame: %v", err)
		}
		if ce.Code != status || (reason != "" && ce.Reason != reason) {
			c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, status, reason)
		}
		return
	}
}

func TestWebSocketDelivery(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	guest := f.dialWS("")
	ann := f.dialWS("")
	header := f.dialWS("ann") // authenticated by the upgrade request

	if r := guest.subscribe("1", "", "posts/*"); r.Type != "subscribed" || r.ID != "1" {
		t.Fatalf("guest subscribe: %+v", r)
	}
	if r := ann.subscribe("2", "token-ann", "posts/*", "posts/*?options="+urlEncode(`{"query":{"fields":"id"}}`)); r.Type != "subscribed" {
		t.Fatalf("token subscribe: %+v", r)
	}
	if r := header.subscribe("3", "", "posts/*"); r.Type != "subscribed" {
		t.Fatalf("header subscribe: %+v", r)
	}
	post := f.createPost("ann", "hello")
	f.deliver()

	got := map[string]wsMessage{}
	for range 2 {
		m := ann.read()
		got[m.Topic] = m
	}
	full := got["posts/*"]
	var data eventData
	if err := json.Unmarshal(full.Data, &data); err != nil || full.Type != "event" || data.Action != "create" || data.Record["id"] != post.ID() || data.Record["title"] != "hello" {
		t.Errorf("event: %+v (%v)", full, err)
	}
	picked := got["posts/*?options="+urlEncode(`{"query":{"fields":"id"}}`)]
	if string(picked.Data) != `{"action":"create","record":{"id":"`+post.ID()+`"}}` {
		t.Errorf("fields option: %s", picked.Data)
	}
	if m := header.read(); m.Type != "event" || m.Topic != "posts/*" {
		t.Errorf("header-authenticated client: %+v", m)
	}
	// The guest may not list ann's posts: its next message is the pong.
	guest.send(map[string]any{"type": "ping", "id": "p"})
	if m := guest.read(); m.Type != "pong" || m.ID != "p" {
		t.Errorf("guest got %+v, want only the pong", m)
	}
}

func TestWebSocketRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	c := f.dialWS("")
	tests := []struct {
		name   string
		msg    map[string]any
		want   string
		status int
	}{
		{"unknown type", map[string]any{"type": "nope", "id": "a"}, "error", 400},
		{"invalid token is a guest", map[string]any{"type": "subscribe", "id": "b", "token": "garbage", "subscriptions": []string{"posts/*"}}, "subscribed", 0},
		{"guest to auth", map[string]any{"type": "subscribe", "id": "c", "token": "token-bob", "subscriptions": []string{}}, "subscribed", 0},
		{"another identity", map[string]any{"type": "subscribe", "id": "d", "token": "token-ann"}, "error", 403},
		{"back to guest", map[string]any{"type": "subscribe", "id": "e"}, "error", 403},
		{"too many topics", map[string]any{"type": "subscribe", "id": "f", "token": "token-bob", "subscriptions": make([]string, 1001)}, "error", 400},
		{"same identity", map[string]any{"type": "subscribe", "id": "g", "token": "token-bob", "subscriptions": []string{"posts/*"}}, "subscribed", 0},
	}
	for _, tt := range tests {
		c.send(tt.msg)
		m := c.read()
		if m.Type != tt.want || m.ID != tt.msg["id"] || m.Status != tt.status {
			t.Errorf("%s: got %+v, want %s %d", tt.name, m, tt.want, tt.status)
		}
	}
	// Not JSON: the connection is closed as unsupported data.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	c.closedWith(websocket.StatusUnsupportedData, "")
}

func TestWebSocketClosing(t *testing.T) {
	t.Parallel()
	t.Run("slow client", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{})
		c := f.dialWS("")
		f.broker.mu.RLock()
		cl := f.broker.clients[c.id]
		f.broker.mu.RUnlock()
		f.broker.unregister(cl, dropSlow) // as push does when the buffer is full
		c.closedWith(websocket.StatusPolicyViolation, wsReasonSlow)
	})
	t.Run("lifetime", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{MaxLifetime: 150 * time.Millisecond})
		c := f.dialWS("")
		c.closedWith(websocket.StatusGoingAway, wsReasonLifetime)
	})
	t.Run("shutdown", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{})
		c := f.dialWS("")
		f.broker.Close()
		c.closedWith(websocket.StatusGoingAway, wsReasonShutdown)
	})
	t.Run("heartbeats keep a reading client", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{PingInterval: 250 * time.Millisecond})
		c := f.dialWS("")
		// Reading (in the background) answers the server's pings.
		c.conn.CloseRead(context.Background())
		time.Sleep(2 * time.Second)
		if f.broker.Clients() != 1 {
			t.Fatalf("client dropped despite answering pings")
		}
	})
	t.Run("a client that never answers a ping", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t, Options{PingInterval: 30 * time.Millisecond})
		c := f.dialWS("")
		// Not reading means not answering pings.
		deadline := time.Now().Add(5 * time.Second)
		for f.broker.Clients() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("a client that answers no ping is still connected")
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.closedWith(websocket.StatusPolicyViolation, wsReasonPing)
	})
}
