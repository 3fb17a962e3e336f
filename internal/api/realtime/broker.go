// Package realtime is Basalt's realtime transport: PocketBase's SSE
// protocol (GET and POST /api/realtime) over a broker that receives
// committed record changes from the event dispatcher and delivers each to
// the clients whose subscriptions match and whose access rules allow it.
//
// Access checks, expansion and export go through the record service, so a
// realtime client sees exactly what the REST API would show it. The broker
// keeps connected clients in memory; the outbox behind the dispatcher is
// what makes delivery follow commits.
//
// Other transports (GraphQL subscriptions, the gRPC Watch stream) take the
// same rule-filtered changes in process through Broker.Watch, which returns
// a channel instead of writing to a connection.
//
// realtime imports services, the store port and leaf packages; never a
// storage engine or another adapter.
package realtime

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Options tune a Broker; zero values take the defaults.
type Options struct {
	// IdleTimeout closes a connection that was sent nothing for this long.
	// Default 5 min, as PocketBase.
	IdleTimeout time.Duration
	// MaxLifetime closes every connection after this long (clients
	// reconnect and subscribe again). Default 30 min, as PocketBase.
	MaxLifetime time.Duration
	// SendBuffer is how many messages may wait for a client's connection;
	// a client that falls further behind is disconnected. Default 256.
	SendBuffer int
	// Workers bounds the goroutines that check and prepare one event for
	// different kinds of subscribers in parallel; half as many write to
	// SSE connections. Default 2 × GOMAXPROCS.
	Workers int
	// Logger receives delivery problems; default discards.
	Logger *slog.Logger
	// NewClientID returns a fresh client id; default 40 random letters and
	// digits.
	NewClientID func() string
	// PingInterval is how often WebSocket connections are pinged; one that
	// does not answer in time is closed. Default 25 s.
	PingInterval time.Duration
	// Authenticate resolves the auth token a WebSocket subscribe message
	// may carry (browsers cannot set headers on the upgrade request). It
	// returns a non-Internal error for an invalid token. nil refuses tokens.
	Authenticate func(ctx context.Context, token string) (*schema.Record, error)
	// LastSeq returns the outbox position of the newest committed event
	// (store.Outbox.LastEventSeq). A new subscription receives only events
	// committed after it, as it would if delivery were synchronous. nil
	// delivers every event dispatched after the subscribe.
	LastSeq func(ctx context.Context) (int64, error)
}

// Defaults of Options.
const (
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxLifetime = 30 * time.Minute
	DefaultSendBuffer  = 256
)

// Limits of a subscribe request, as PocketBase's.
const (
	maxClientIDLen      = 255
	maxSubscriptions    = 1000
	maxSubscriptionSize = 2500
)

func (o Options) withDefaults() Options {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxLifetime <= 0 {
		o.MaxLifetime = DefaultMaxLifetime
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = DefaultSendBuffer
	}
	if o.Workers <= 0 {
		o.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.NewClientID == nil {
		o.NewClientID = func() string { return random.String(random.Alnum, 40) }
	}
	return o
}

// Broker holds the connected realtime clients and delivers record events to
// them. It is an event.Consumer.
type Broker struct {
	records *record.Service
	opts    Options

	mu      sync.RWMutex
	clients map[string]*client
	closed  bool

	// buffers holds the write buffers of SSE connections (*[]byte), used
	// only while the writers write.
	buffers sync.Pool
	writers writers
	// scratch holds the per-event slices of Consume (*scratch).
	scratch sync.Pool
}

// New returns a broker that checks access and prepares records with records.
func New(records *record.Service, opts Options) *Broker {
	b := &Broker{records: records, opts: opts.withDefaults(), clients: map[string]*client{}}
	b.buffers.New = func() any { return new([]byte) }
	b.scratch.New = func() any { return new(scratch) }
	b.writers.n = max(1, b.opts.Workers/2) // one per processor by default
	return b
}

// Idle reports whether no client is connected (event.Idler): events then
// concern nobody. A client is registered before it learns its id, so
// before any subscription of its can take an outbox position.
func (b *Broker) Idle() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.clients) == 0
}

// register adds a new client connected from ip; nil once the broker is closed.
func (b *Broker) register(ip string) *client {
	c := newClient(b.opts.NewClientID(), ip, b.opts.SendBuffer)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.clients[c.id] = c
	return c
}

// unregister removes c and ends its connection for reason.
func (b *Broker) unregister(c *client, reason dropReason) {
	b.mu.Lock()
	if b.clients[c.id] == c {
		delete(b.clients, c.id)
	}
	b.mu.Unlock()
	c.drop(reason)
}

// push queues m for c without blocking: a client whose queue is full is
// disconnected (it reconnects and subscribes again), so one slow reader
// never holds up delivery to the others.
//
// A taken-over SSE connection that now has messages to write is appended to
// ready, for the caller to hand to the writers (once for many clients).
func (b *Broker) push(c *client, m *message, ready []*sseConn) []*sseConn {
	if c.dropped() {
		return ready
	}
	s, ok := c.enqueue(m)
	if !ok {
		b.opts.Logger.Warn("realtime client too slow; disconnecting", "clientId", c.id, "buffer", b.opts.SendBuffer)
		b.unregister(c, dropSlow)
	}
	if s != nil {
		ready = append(ready, s)
	}
	return ready
}

// Clients returns how many clients are connected.
func (b *Broker) Clients() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.clients)
}

// Close disconnects every client and refuses new ones, for server shutdown:
// the streams end so that the HTTP server can finish.
func (b *Broker) Close() {
	b.mu.Lock()
	b.closed = true
	clients := b.clients
	b.clients = map[string]*client{}
	b.mu.Unlock()
	for _, c := range clients {
		c.drop(dropShutdown)
	}
	b.writers.close()
}

// Subscribe replaces the subscriptions of the client with the given id by
// topics, on behalf of a request from ip authenticated as auth (nil for a
// guest). Errors: Invalid with per-field problems for a malformed request,
// NotFound for an unknown client, Invalid when ip is not the address the
// client connected from, and Forbidden when the client was authenticated as
// someone else before (a guest may become authenticated, never the reverse
// or another identity).
func (b *Broker) Subscribe(clientID, ip string, auth *schema.Record, topics []string) error {
	fe := apperr.FieldErrors{}
	switch {
	case clientID == "":
		fe.Add("clientId", "validation_required", "Cannot be blank.")
	case len(clientID) > maxClientIDLen:
		fe.Add("clientId", "validation_length_out_of_range", "The length must be between 1 and 255.")
	}
	if len(topics) > maxSubscriptions {
		fe.Add("subscriptions", "validation_length_too_long", "The length must be no more than 1000.")
	}
	if err := fe.Err("Something went wrong while processing your request."); err != nil {
		return err
	}
	subs := make([]*subscription, 0, len(topics))
	seen := make(map[string]bool, len(topics))
	for i, t := range topics {
		if len(t) > maxSubscriptionSize {
			return apperr.Fields("Something went wrong while processing your request.", map[string]apperr.Field{
				"subscriptions": {Code: "validation_length_too_long", Message: "Item " + strconv.Itoa(i) + ": the length must be no more than 2500."}})
		}
		if t == "" || seen[t] || hasLineBreak(t) {
			continue // empty and duplicate topics are ignored; a line break cannot name an SSE event
		}
		seen[t] = true
		subs = append(subs, parseTopic(t))
	}

	b.mu.RLock()
	c := b.clients[clientID]
	b.mu.RUnlock()
	if c == nil {
		return apperr.New(apperr.NotFound, "Missing or invalid client id.")
	}
	if c.ip != "" && c.ip != ip {
		return apperr.New(apperr.Invalid, "Invalid realtime client.")
	}
	after := b.lastSeq()
	c.subMu.Lock()
	defer c.subMu.Unlock()
	cur := c.current()
	if cur.auth != nil && !sameAuth(cur.auth, auth) {
		return apperr.New(apperr.Forbidden, "The current and the previous request authorization don't match.")
	}
	// A topic the client keeps keeps its position; only new ones start now.
	for _, s := range subs {
		s.after = after
		for _, prev := range cur.subs {
			if prev.raw == s.raw {
				s.after = prev.after
				break
			}
		}
	}
	c.state.Store(&clientState{auth: auth, subs: subs})
	return nil
}

// lastSeq returns the position new subscriptions start from; 0 (every
// event dispatched from now on) when it is unknown.
func (b *Broker) lastSeq() int64 {
	if b.opts.LastSeq == nil {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	seq, err := b.opts.LastSeq(ctx)
	if err != nil {
		b.opts.Logger.Warn("reading the outbox position for a new subscription", "err", err)
		return 0
	}
	return seq
}

// Publish sends data as an event named topic to the client with the given id
// when it is subscribed to exactly that topic (used for the @oauth2 topic),
// and ends that subscription: a topic published this way delivers once, so a
// second redirect carrying the same state cannot hand the client another
// code. It reports whether the message was queued.
func (b *Broker) Publish(clientID, topic string, data []byte) bool {
	b.mu.RLock()
	c := b.clients[clientID]
	b.mu.RUnlock()
	if c == nil {
		return false
	}
	c.subMu.Lock()
	cur := c.current()
	i := slices.IndexFunc(cur.subs, func(s *subscription) bool { return s.raw == topic })
	if i < 0 {
		c.subMu.Unlock()
		return false
	}
	rest := slices.Delete(slices.Clone(cur.subs), i, i+1)
	c.state.Store(&clientState{auth: cur.auth, subs: rest})
	c.subMu.Unlock()
	b.writers.add(b.push(c, &message{name: topic, data: data}, nil)...)
	return !c.dropped()
}

func sameAuth(a, b *schema.Record) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.ID() == b.ID() && a.Collection.ID == b.Collection.ID
}

func hasLineBreak(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return true
		}
	}
	return false
}
