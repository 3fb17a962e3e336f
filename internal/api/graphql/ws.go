package graphql

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	gql "github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/language/ast"

	"github.com/basalt-dev/basalt/internal/api/caller"
	"github.com/basalt-dev/basalt/internal/api/realtime"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Subscriptions is the change feed subscriptions read: the realtime
// broker's Watch, which applies the same rules and exports as SSE.
type Subscriptions interface {
	Watch(ctx context.Context, auth *schema.Record, topics []string) (<-chan realtime.Message, error)
}

// The graphql-transport-ws protocol
// (github.com/enisdenjo/graphql-ws, PROTOCOL.md).
const (
	wsProtocol = "graphql-transport-ws"
	// wsInitTimeout is how long a connection may wait before connection_init.
	wsInitTimeout = 10 * time.Second
	// wsReadLimit bounds one client message (a subscribe carries a query).
	wsReadLimit = 1 << 20
	// wsMaxOperations bounds the operations one connection runs at once.
	wsMaxOperations = 100
	wsWriteTimeout  = 10 * time.Second
)

// Close codes of the protocol.
const (
	wsBadRequest   websocket.StatusCode = 4400
	wsUnauthorized websocket.StatusCode = 4401
	wsForbidden    websocket.StatusCode = 4403
	wsInitTimedOut websocket.StatusCode = 4408
	wsDuplicateID  websocket.StatusCode = 4409
	wsTooManyInits websocket.StatusCode = 4429
)

// wsMessage is one message of the protocol, either way.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Path is where the handler is served.
const Path = "/api/graphql"

// IsStream reports whether r opens a subscription connection (a WebSocket
// upgrade of Path): it lives as long as its client, so the server's request
// cap and write deadline must not apply to it.
func IsStream(r *http.Request) bool {
	return r.URL.Path == Path && isWebSocket(r)
}

func isWebSocket(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// wsConn is one graphql-transport-ws connection.
type wsConn struct {
	h    *Handler
	conn *websocket.Conn
	r    *http.Request
	ctx  context.Context

	wmu sync.Mutex // one writer at a time

	mu   sync.Mutex
	auth *schema.Record
	ops  map[string]context.CancelFunc
}

func (h *Handler) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{wsProtocol},
		// Clients authenticate with tokens, never with cookies, so a page of
		// another origin gains nothing by connecting (as with CORS *).
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has answered
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != wsProtocol {
		conn.Close(websocket.StatusPolicyViolation, "Subprotocol not acceptable: use "+wsProtocol+".")
		return
	}
	conn.SetReadLimit(wsReadLimit)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := &wsConn{h: h, conn: conn, r: r, ctx: ctx, auth: caller.Auth(r.Context()), ops: map[string]context.CancelFunc{}}
	c.run()
}

func (c *wsConn) send(m any) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	ctx, done := context.WithTimeout(c.ctx, wsWriteTimeout)
	defer done()
	return c.conn.Write(ctx, websocket.MessageText, data)
}

func (c *wsConn) run() {
	acked := false
	initTimer := time.AfterFunc(wsInitTimeout, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !acked {
			c.conn.Close(wsInitTimedOut, "Connection initialisation timeout")
		}
	})
	defer initTimer.Stop()
	defer func() {
		c.mu.Lock()
		for _, stop := range c.ops {
			stop()
		}
		c.mu.Unlock()
	}()
	for {
		_, data, err := c.conn.Read(c.ctx)
		if err != nil {
			return
		}
		var m wsMessage
		if json.Unmarshal(data, &m) != nil || m.Type == "" {
			c.conn.Close(wsBadRequest, "Invalid message received")
			return
		}
		c.mu.Lock()
		isAcked := acked
		c.mu.Unlock()
		switch m.Type {
		case "connection_init":
			if isAcked {
				c.conn.Close(wsTooManyInits, "Too many initialisation requests")
				return
			}
			if !c.init(m.Payload) {
				c.conn.Close(wsForbidden, "Forbidden")
				return
			}
			c.mu.Lock()
			acked = true
			c.mu.Unlock()
			if c.send(wsMessage{Type: "connection_ack"}) != nil {
				return
			}
		case "ping":
			if c.send(wsMessage{Type: "pong", Payload: m.Payload}) != nil {
				return
			}
		case "pong":
		case "subscribe":
			if !isAcked {
				c.conn.Close(wsUnauthorized, "Unauthorized")
				return
			}
			if m.ID == "" {
				c.conn.Close(wsBadRequest, "Invalid message received")
				return
			}
			var p params
			if json.Unmarshal(m.Payload, &p) != nil {
				c.conn.Close(wsBadRequest, "Invalid message received")
				return
			}
			if !c.start(m.ID, p) {
				return
			}
		case "complete":
			c.stop(m.ID)
		default:
			c.conn.Close(wsBadRequest, "Invalid message received")
			return
		}
	}
}

// init reads connection_init's payload: an "Authorization" (or
// "authorization") token replaces the upgrade request's caller. A token
// that does not authenticate refuses the connection.
func (c *wsConn) init(payload json.RawMessage) bool {
	var p map[string]any
	if len(payload) > 0 && string(payload) != "null" && json.Unmarshal(payload, &p) != nil {
		return false
	}
	tok, _ := p["Authorization"].(string)
	if tok == "" {
		tok, _ = p["authorization"].(string)
	}
	if tok == "" {
		return true
	}
	if c.h.d.Authenticate == nil {
		return false
	}
	rec, err := c.h.d.Authenticate(c.ctx, tok)
	if err != nil || rec == nil {
		return false
	}
	c.mu.Lock()
	c.auth = rec
	c.mu.Unlock()
	return true
}

func (c *wsConn) stop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if stop, ok := c.ops[id]; ok {
		stop()
		delete(c.ops, id)
	}
}

// start runs one operation; it reports false when the connection was closed.
func (c *wsConn) start(id string, p params) bool {
	c.mu.Lock()
	if _, dup := c.ops[id]; dup {
		c.mu.Unlock()
		c.conn.Close(wsDuplicateID, "Subscriber for "+id+" already exists")
		return false
	}
	if len(c.ops) >= wsMaxOperations {
		c.mu.Unlock()
		_ = c.send(map[string]any{"type": "error", "id": id, "payload": []Error{fromApp(apperr.New(apperr.TooManyRequests, "Too many operations on one connection."), nil)}})
		return true
	}
	ctx, cancel := context.WithCancel(caller.WithAuth(c.ctx, c.auth))
	c.ops[id] = cancel
	c.mu.Unlock()
	go func() {
		defer func() {
			c.mu.Lock()
			delete(c.ops, id)
			c.mu.Unlock()
			cancel()
		}()
		if c.operation(ctx, id, p) {
			_ = c.send(wsMessage{ID: id, Type: "complete"})
		}
	}()
	return true
}

// operation runs one subscribe message. It returns whether the operation
// ended by itself (so "complete" is due), not by the client's complete.
func (c *wsConn) operation(ctx context.Context, id string, p params) bool {
	pr, errs := c.h.prepare(ctx, p)
	if errs != nil {
		_ = c.send(map[string]any{"type": "error", "id": id, "payload": errs})
		return false
	}
	r := c.r.WithContext(ctx)
	if pr.op.Operation != ast.OperationTypeSubscription {
		res := c.h.execute(ctx, r, pr, p, nil)
		return c.send(map[string]any{"type": "next", "id": id, "payload": res}) == nil
	}
	return c.subscribe(ctx, r, id, pr, p)
}

// subscribe feeds a subscription from the realtime broker until the client
// completes it, the connection ends or the broker drops the feed.
func (c *wsConn) subscribe(ctx context.Context, r *http.Request, id string, pr *prepared, p params) bool {
	fail := func(err error) bool {
		_ = c.send(map[string]any{"type": "error", "id": id, "payload": []Error{fromApp(err, c.h.d.Logger)}})
		return false
	}
	if c.h.d.Subscriptions == nil {
		return fail(apperr.New(apperr.Unavailable, "Subscriptions are not served."))
	}
	fields := rootFields(pr.op.SelectionSet)
	if len(fields) != 1 {
		return fail(apperr.New(apperr.Invalid, "A subscription selects exactly one root field."))
	}
	f := fields[0]
	coll := pr.built.subs[f.Name.Value]
	def := pr.built.schema.SubscriptionType().Fields()[f.Name.Value]
	if coll == nil || def == nil {
		return fail(apperr.New(apperr.Invalid, "Unknown subscription."))
	}
	op := &operation{built: pr.built}
	frags := map[string]ast.Definition{}
	for _, d := range pr.doc.Definitions {
		if fd, ok := d.(*ast.FragmentDefinition); ok && fd.Name != nil {
			frags[fd.Name.Value] = fd
		}
	}
	expand := op.expand(gql.ResolveInfo{FieldASTs: []*ast.Field{f}, ReturnType: def.Type, Fragments: frags})
	recID := stringArg(f, "id", p.Variables)
	query := map[string]any{}
	if flt := stringArg(f, "filter", p.Variables); flt != "" {
		query["filter"] = flt
	}
	if expand != "" {
		query["expand"] = expand
	}
	topic := coll.Name + "/*"
	if recID != "" {
		topic = coll.Name + "/" + recID
	}
	if len(query) > 0 {
		opts, _ := json.Marshal(map[string]any{"query": query})
		topic += "?options=" + url.QueryEscape(string(opts))
	}
	feed, err := c.h.d.Subscriptions.Watch(ctx, caller.Auth(ctx), []string{topic})
	if err != nil {
		return fail(err)
	}
	for m := range feed {
		if m.Err != nil {
			return fail(apperr.Wrap(apperr.Unavailable, "The subscription fell behind or the server is closing.", m.Err))
		}
		ch, err := m.Decode()
		if err != nil {
			return fail(err)
		}
		root := map[string]any{"action": ch.Action, "record": ch.Record}
		res := c.h.execute(ctx, r, pr, p, root)
		if c.send(map[string]any{"type": "next", "id": id, "payload": res}) != nil {
			return false
		}
	}
	return false // the context ended: the client completed or left
}

// rootFields returns the fields at the root of a selection (inline
// fragments included).
func rootFields(set *ast.SelectionSet) []*ast.Field {
	var out []*ast.Field
	if set == nil {
		return nil
	}
	for _, sel := range set.Selections {
		switch x := sel.(type) {
		case *ast.Field:
			if x.Name != nil {
				out = append(out, x)
			}
		case *ast.InlineFragment:
			out = append(out, rootFields(x.SelectionSet)...)
		}
	}
	return out
}

// stringArg reads a String or ID argument written literally or as a variable.
func stringArg(f *ast.Field, name string, vars map[string]any) string {
	switch x := argument(f, name).(type) {
	case *ast.StringValue:
		return x.Value
	case *ast.Variable:
		if x.Name != nil {
			s, _ := vars[x.Name.Value].(string)
			return s
		}
	}
	return ""
}
