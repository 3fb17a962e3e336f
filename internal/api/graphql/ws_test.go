package graphql_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/basalt-dev/basalt/internal/api/graphql"
)

// wsClient speaks graphql-transport-ws to the test server.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
	// in receives the server's messages; closed carries the close status.
	in     chan map[string]any
	closed chan websocket.StatusCode
}

func (e *env) dial(t *testing.T, protocols ...string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if protocols == nil {
		protocols = []string{"graphql-transport-ws"}
	}
	conn, _, err := websocket.Dial(ctx, strings.Replace(e.url, "http", "ws", 1)+"/api/graphql",
		&websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	c := &wsClient{t: t, conn: conn, ctx: ctx, in: make(chan map[string]any, 100), closed: make(chan websocket.StatusCode, 1)}
	// A cancelled Read closes the connection: one reader for its life.
	go func() {
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				c.closed <- websocket.CloseStatus(err)
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				c.in <- m
			}
		}
	}()
	return c
}

func (c *wsClient) send(m map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(m)
	if err := c.conn.Write(c.ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next returns the next message, or the close status when the server
// closed the connection.
func (c *wsClient) next() (map[string]any, websocket.StatusCode) {
	c.t.Helper()
	m, s, ok := c.within(5 * time.Second)
	if !ok {
		c.t.Fatal("no message within 5 s")
	}
	return m, s
}

// within waits d for a message or the close.
func (c *wsClient) within(d time.Duration) (map[string]any, websocket.StatusCode, bool) {
	select {
	case m := <-c.in:
		return m, 0, true
	case s := <-c.closed:
		if s == -1 {
			s = 1006
		}
		return nil, s, true
	case <-time.After(d):
		return nil, 0, false
	}
}

func (c *wsClient) init(payload any) {
	c.t.Helper()
	c.send(map[string]any{"type": "connection_init", "payload": payload})
	if m, s := c.next(); m["type"] != "connection_ack" {
		c.t.Fatalf("init: got %v (close %d)", m, s)
	}
}

func TestSubscription(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	c := e.dial(t)
	c.init(map[string]any{"Authorization": e.tokens["alice"]})
	c.send(map[string]any{"type": "subscribe", "id": "1", "payload": map[string]any{
		"query":     `subscription($f: String) { postsChanged(filter: $f) { action record { title author { name } } } }`,
		"variables": map[string]any{"f": "title != 'skip'"}}})
	// Until the feed is registered, creates are not seen: create until one is.
	var got map[string]any
	for i := 0; got == nil && i < 50; i++ {
		e.post(map[string]any{"title": "skip", "published": true, "author": e.ids["alice"]})
		e.post(map[string]any{"title": "hidden draft", "author": e.ids["bob"]})
		e.post(map[string]any{"title": "seen", "published": true, "author": e.ids["alice"]})
		m, s, ok := c.within(200 * time.Millisecond)
		if ok && s != 0 {
			t.Fatalf("closed with %d", s)
		}
		got = m
	}
	if got == nil {
		t.Fatal("no event")
	}
	payload, _ := json.Marshal(got["payload"])
	if got["type"] != "next" || got["id"] != "1" ||
		string(payload) != `{"data":{"postsChanged":{"action":"create","record":{"author":{"name":"alice"},"title":"seen"}}}}` {
		t.Fatalf("event: got %v %s", got, payload)
	}
	// complete ends the subscription; a ping is still answered.
	c.send(map[string]any{"type": "complete", "id": "1"})
	c.send(map[string]any{"type": "ping"})
	for {
		m, s := c.next()
		if s != 0 {
			t.Fatalf("closed with %d", s)
		}
		if m["type"] == "pong" {
			break
		}
	}
	// Queries run over the socket too.
	c.send(map[string]any{"type": "subscribe", "id": "2", "payload": map[string]any{"query": `{ postsList(perPage: 1) { perPage } }`}})
	if m, _ := c.next(); m["type"] != "next" || m["id"] != "2" {
		t.Fatalf("query: got %v", m)
	}
	if m, _ := c.next(); m["type"] != "complete" || m["id"] != "2" {
		t.Fatalf("query: got %v", m)
	}
	// A bad subscription is an error message with the service code.
	c.send(map[string]any{"type": "subscribe", "id": "3", "payload": map[string]any{"query": `subscription { nope }`}})
	m, _ := c.next()
	if errs, _ := m["payload"].([]any); m["type"] != "error" || len(errs) == 0 || errs[0].(map[string]any)["extensions"].(map[string]any)["code"] != "invalid" {
		t.Fatalf("bad subscription: got %v", m)
	}
}

func TestWebSocketProtocolErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, graphql.DefaultLimits())
	tests := []struct {
		name  string
		steps []map[string]any
		init  bool
		want  websocket.StatusCode
	}{
		{"subscribe before init", []map[string]any{{"type": "subscribe", "id": "1", "payload": map[string]any{"query": "{ postsList { page } }"}}}, false, 4401},
		{"second init", []map[string]any{{"type": "connection_init"}}, true, 4429},
		{"bad token", []map[string]any{{"type": "connection_init", "payload": map[string]any{"Authorization": "nope"}}}, false, 4403},
		{"unknown type", []map[string]any{{"type": "shout"}}, true, 4400},
		{"duplicate id", []map[string]any{
			{"type": "subscribe", "id": "1", "payload": map[string]any{"query": "subscription { postsChanged { action } }"}},
			{"type": "subscribe", "id": "1", "payload": map[string]any{"query": "subscription { postsChanged { action } }"}}}, true, 4409},
	}
	for _, tc := range tests {
		c := e.dial(t)
		if tc.init {
			c.init(nil)
		}
		for _, s := range tc.steps {
			c.send(s)
		}
		var status websocket.StatusCode
		for status == 0 {
			_, status = c.next()
		}
		if status != tc.want {
			t.Errorf("%s: closed with %d, want %d", tc.name, status, tc.want)
		}
	}
	// Without the subprotocol the server refuses to speak.
	c := e.dial(t, "other")
	if _, s := c.next(); s != websocket.StatusPolicyViolation {
		t.Errorf("no subprotocol: got %d", s)
	}
}
