package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// The WebSocket protocol at /api/ws carries the same subscriptions, rules
// and event payloads as the SSE endpoints, as JSON text messages (see
// docs/realtime.md):
//
//	server: {"type":"connect","clientId":"..."}                    first message
//	client: {"type":"subscribe","id":"1","subscriptions":[...],"token":"..."}
//	server: {"type":"subscribed","id":"1"}
//	        {"type":"error","id":"1","status":403,"message":"...","data":{}}
//	server: {"type":"event","topic":"posts/*","data":{"action":"create","record":{...}}}
//	client: {"type":"ping","id":"7"}  server: {"type":"pong","id":"7"}
//
// The server pings at the protocol level too and closes connections that do
// not answer, that fall too far behind (1008), or that reach their maximum
// lifetime or meet a shutdown (1001).

// Defaults of the WebSocket options.
const (
	DefaultPingInterval = 25 * time.Second
	// wsPongTimeout bounds the wait for one write, and for a pong (which
	// must also come within the ping interval).
	wsPongTimeout = 10 * time.Second
	// wsReadLimit admits the largest subscribe message (1000 topics of 2500
	// bytes) and a token.
	wsReadLimit = 3 << 20
)

// WebSocket close reasons.
const (
	wsReasonSlow     = "client too slow: send buffer full"
	wsReasonLifetime = "connection lifetime reached"
	wsReasonShutdown = "server shutting down"
	wsReasonPing     = "no pong"
)

// wsIn is a client message.
type wsIn struct {
	Type          string    `json:"type"`
	ID            string    `json:"id,omitempty"`
	Subscriptions *[]string `json:"subscriptions,omitempty"`
	Token         *string   `json:"token,omitempty"`
}

// wsReply answers a client message.
type wsReply struct {
	Type    string         `json:"type"`
	ID      string         `json:"id,omitempty"`
	Status  int            `json:"status,omitempty"`
	Message string         `json:"message,omitempty"`
	Data    map[string]any `json:"data,omitempty"`
}

// ServeWS serves GET /api/ws for a client connecting from ip. auth is the
// identity of the upgrade request (nil for guests); a subscribe message may
// carry a token instead, checked with Options.Authenticate.
func (b *Broker) ServeWS(w http.ResponseWriter, r *http.Request, ip string, auth *schema.Record) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Clients authenticate with tokens, never with cookies, so a page
		// of another origin gains nothing by connecting (as with CORS *).
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has answered
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wsReadLimit)

	c := b.register(ip)
	if c == nil {
		conn.Close(websocket.StatusGoingAway, wsReasonShutdown)
		return
	}
	defer b.unregister(c, dropEnded)
	wake := make(chan struct{}, 1)
	c.qmu.Lock()
	c.wake = wake
	c.qmu.Unlock()
	// closeWith leaves the broker first: the close handshake may wait for a
	// peer that does not read.
	closeWith := func(code websocket.StatusCode, reason string) {
		b.unregister(c, dropEnded)
		conn.Close(code, reason)
	}

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	write := func(data []byte) error {
		wctx, done := context.WithTimeout(ctx, wsPongTimeout)
		defer done()
		return conn.Write(wctx, websocket.MessageText, data)
	}
	connect, _ := json.Marshal(map[string]string{"type": "connect", "clientId": c.id})
	if write(connect) != nil {
		return
	}

	readErr := make(chan error, 1)
	go func() { readErr <- b.wsRead(ctx, conn, c, auth, write) }()

	ping := time.NewTicker(b.opts.PingInterval)
	defer ping.Stop()
	lifetime := time.NewTimer(b.opts.MaxLifetime)
	defer lifetime.Stop()
	var batch []*message
	for {
		select {
		case err := <-readErr:
			if status := websocket.CloseStatus(err); status == -1 && !errors.Is(err, context.Canceled) {
				closeWith(websocket.StatusUnsupportedData, truncateReason(err.Error()))
			}
			return
		case <-c.gone:
			switch c.reason {
			case dropSlow:
				closeWith(websocket.StatusPolicyViolation, wsReasonSlow)
			case dropShutdown:
				closeWith(websocket.StatusGoingAway, wsReasonShutdown)
			}
			return
		case <-lifetime.C:
			closeWith(websocket.StatusGoingAway, wsReasonLifetime)
			return
		case <-ping.C:
			pctx, done := context.WithTimeout(ctx, min(b.opts.PingInterval, wsPongTimeout))
			err := conn.Ping(pctx)
			done()
			if err != nil {
				closeWith(websocket.StatusPolicyViolation, wsReasonPing)
				return
			}
		case <-wake:
			batch = c.take(batch[:0], maxBatch)
			for _, m := range batch {
				if write(wsEvent(m)) != nil {
					return
				}
			}
			if len(batch) == maxBatch { // more may wait
				wakeUp(wake)
			}
			clear(batch)
		}
	}
}

// wsEvent wraps an SSE message for the WebSocket protocol.
func wsEvent(m *message) []byte {
	topic, _ := json.Marshal(m.name)
	out := make([]byte, 0, len(m.data)+len(topic)+32)
	out = append(out, `{"type":"event","topic":`...)
	out = append(out, topic...)
	out = append(out, `,"data":`...)
	out = append(out, m.data...)
	return append(out, '}')
}

// wsRead handles the client's messages until the connection fails. A binary
// or malformed message ends it with an error; a well-formed but unknown or
// refused request is answered with an error message.
func (b *Broker) wsRead(ctx context.Context, conn *websocket.Conn, c *client, auth *schema.Record, write func([]byte) error) error {
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			return errors.New("binary messages are not supported")
		}
		var in wsIn
		if err := json.Unmarshal(data, &in); err != nil {
			return errors.New("messages must be JSON objects")
		}
		var reply wsReply
		switch in.Type {
		case "ping":
			reply = wsReply{Type: "pong", ID: in.ID}
		case "subscribe":
			reply = b.wsSubscribe(ctx, c, auth, in)
		default:
			reply = wsError(in.ID, apperr.New(apperr.Invalid, "Unknown message type."))
		}
		out, err := json.Marshal(reply)
		if err != nil {
			return err
		}
		if err := write(out); err != nil {
			return err
		}
	}
}

// wsSubscribe replaces the client's subscriptions as POST /api/realtime
// does, with the identity of the message's token or of the upgrade request.
func (b *Broker) wsSubscribe(ctx context.Context, c *client, auth *schema.Record, in wsIn) wsReply {
	var topics []string
	if in.Subscriptions != nil {
		topics = *in.Subscriptions
	}
	if in.Token != nil && strings.TrimSpace(*in.Token) != "" {
		if b.opts.Authenticate == nil {
			return wsError(in.ID, apperr.New(apperr.Invalid, "Tokens are not accepted here."))
		}
		rec, err := b.opts.Authenticate(ctx, *in.Token)
		if err != nil {
			if apperr.CodeOf(err) == apperr.Internal {
				return wsError(in.ID, err)
			}
			rec = nil // an invalid token leaves the request unauthenticated, as over HTTP
		}
		auth = rec
	}
	if err := b.Subscribe(c.id, c.ip, auth, topics); err != nil {
		return wsError(in.ID, err)
	}
	return wsReply{Type: "subscribed", ID: in.ID}
}

// wsError turns a service error into an error reply with PocketBase's
// status, message and data.
func wsError(id string, err error) wsReply {
	e := apperr.As(err)
	if e == nil || e.Code == apperr.Internal {
		return wsReply{Type: "error", ID: id, Status: http.StatusInternalServerError, Message: "Something went wrong while processing your request."}
	}
	status := http.StatusBadRequest
	switch e.Code {
	case apperr.NotFound:
		status = http.StatusNotFound
	case apperr.Forbidden:
		status = http.StatusForbidden
	case apperr.Unauthenticated:
		status = http.StatusUnauthorized
	}
	data := map[string]any{}
	for k, v := range e.Data {
		data[k] = v
	}
	return wsReply{Type: "error", ID: id, Status: status, Message: e.Message, Data: data}
}

// truncateReason fits a close reason into a control frame.
func truncateReason(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
