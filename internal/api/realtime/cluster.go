package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Several replicas may serve one database behind a load balancer. A
// client's SSE stream lives on the replica it connected to, but its
// subscribe POST may reach any replica. Cluster makes that work: a replica
// that does not hold the client relays the request (client id, topics, the
// caller's IP and the id of its auth record) over the store's Relay; the
// replica that holds the client applies it with the same checks as a local
// request (same IP, same auth as before) and relays the outcome back. The
// POST is answered once that outcome arrives, or with 404 when no replica
// answers within the timeout (no replica holds the client). Publish (the
// @oauth2 topic of the OAuth2 redirect) is relayed the same way.

// relayChannel is the store relay channel of realtime subscribe requests.
const relayChannel = "basalt_realtime"

// DefaultForwardTimeout bounds how long a relayed subscribe waits.
const DefaultForwardTimeout = 2 * time.Second

// ClusterOptions tune a Cluster.
type ClusterOptions struct {
	// Timeout bounds how long a subscribe relayed to other replicas waits
	// for the one holding the client. Default DefaultForwardTimeout.
	Timeout time.Duration
	// LoadAuth returns the auth record with recordID in the auth
	// collection collectionID, as the replica holding the client resolves
	// the identity of a relayed request. Required.
	LoadAuth func(ctx context.Context, collectionID, recordID string) (*schema.Record, error)
	Logger   *slog.Logger
}

// Cluster is a Broker that also serves subscribe requests for clients
// connected to other replicas sharing the database. Call Run to take part.
type Cluster struct {
	*Broker
	relay store.Relay
	opts  ClusterOptions
	// self names this replica in relayed messages.
	self string
	// live is set while the relay listens (never on an engine no other
	// process shares, so SQLite answers unknown clients at once).
	live atomic.Bool

	mu      sync.Mutex
	pending map[string]chan relayMsg // request id -> the waiting Subscribe
}

// relayMsg is a relayed subscribe ("sub") or publish ("pub") request, or
// its outcome ("ack").
type relayMsg struct {
	Kind string `json:"k"`
	Req  string `json:"q"`
	From string `json:"f"`
	// Request fields.
	Client         string   `json:"c,omitempty"`
	IP             string   `json:"ip,omitempty"`
	AuthCollection string   `json:"ac,omitempty"`
	AuthID         string   `json:"ai,omitempty"`
	Topics         []string `json:"s,omitempty"`
	// Publish fields.
	Topic string `json:"p,omitempty"`
	Data  string `json:"d,omitempty"`
	// Outcome fields: To is the requesting replica; Code is "" for
	// success, else the apperr code with Message.
	To      string `json:"t,omitempty"`
	Code    string `json:"e,omitempty"`
	Message string `json:"m,omitempty"`
}

// NewCluster returns b taking part in the cluster through relay.
func NewCluster(b *Broker, relay store.Relay, opts ClusterOptions) *Cluster {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultForwardTimeout
	}
	if opts.Logger == nil {
		opts.Logger = b.opts.Logger
	}
	return &Cluster{
		Broker: b, relay: relay, opts: opts,
		self:    random.String(random.LowerAlnum, 20),
		pending: map[string]chan relayMsg{},
	}
}

// Run listens for relayed requests and outcomes until ctx ends, then
// returns ctx's error; nil at once when the store has no one to relay to.
func (c *Cluster) Run(ctx context.Context) error {
	defer c.live.Store(false)
	var wg sync.WaitGroup
	defer wg.Wait()
	return c.relay.RelayListen(ctx, relayChannel, func() { c.live.Store(true) }, func(p []byte) {
		var m relayMsg
		if err := json.Unmarshal(p, &m); err != nil {
			c.opts.Logger.Warn("realtime relay: unreadable message", "err", err)
			return
		}
		switch {
		case m.Kind == "ack" && m.To == c.self:
			c.mu.Lock()
			ch := c.pending[m.Req]
			c.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		case m.Kind == "sub" && m.From != c.self && c.holds(m.Client):
			// Resolving the auth reads the database: not on the listener.
			wg.Go(func() { c.apply(ctx, m) })
		case m.Kind == "pub" && m.From != c.self && c.holds(m.Client):
			ack := relayMsg{Kind: "ack", Req: m.Req, From: c.self, To: m.From}
			if !c.Broker.Publish(m.Client, m.Topic, []byte(m.Data)) {
				ack.Code = string(apperr.NotFound)
			}
			wg.Go(func() { c.answer(ctx, ack) })
		}
	})
}

// Subscribe replaces the subscriptions of a client connected to this
// replica or, when none is, to another one (see Cluster). Errors are
// Broker.Subscribe's, whichever replica holds the client; NotFound when no
// replica answers in time.
func (c *Cluster) Subscribe(clientID, ip string, auth *schema.Record, topics []string) error {
	err := c.Broker.Subscribe(clientID, ip, auth, topics)
	if apperr.CodeOf(err) != apperr.NotFound || !c.live.Load() {
		return err
	}
	// Broker.Subscribe validated the request before it looked for the client.
	m := relayMsg{Kind: "sub", Req: random.String(random.LowerAlnum, 20), From: c.self, Client: clientID, IP: ip, Topics: topics}
	if auth != nil {
		m.AuthCollection, m.AuthID = auth.Collection.ID, auth.ID()
	}
	payload, merr := json.Marshal(m)
	if merr != nil {
		return apperr.Wrap(apperr.Internal, "Failed to forward the subscriptions.", merr)
	}
	if len(payload) > store.MaxRelayPayload {
		return apperr.New(apperr.Invalid, "Too many subscriptions to forward to the server holding the connection; connect again and subscribe there.")
	}
	ack, ok := c.roundTrip(m.Req, payload)
	switch {
	case !ok:
		return err // no replica holds the client
	case ack.Code == "":
		return nil
	}
	return apperr.New(apperr.Code(ack.Code), ack.Message)
}

// Publish sends data as topic to the client with the given id, connected to
// this replica or another one (see Broker.Publish). It reports whether the
// message was queued.
func (c *Cluster) Publish(clientID, topic string, data []byte) bool {
	if c.Broker.Publish(clientID, topic, data) {
		return true
	}
	if !c.live.Load() || c.holds(clientID) {
		return false // here but not subscribed to topic, or no one to relay to
	}
	m := relayMsg{Kind: "pub", Req: random.String(random.LowerAlnum, 20), From: c.self, Client: clientID, Topic: topic, Data: string(data)}
	payload, err := json.Marshal(m)
	if err != nil || len(payload) > store.MaxRelayPayload {
		return false
	}
	ack, ok := c.roundTrip(m.Req, payload)
	return ok && ack.Code == ""
}

// roundTrip relays the request payload with id req and waits for its
// outcome; false when none arrives within the timeout.
func (c *Cluster) roundTrip(req string, payload []byte) (relayMsg, bool) {
	ch := make(chan relayMsg, 1)
	c.mu.Lock()
	c.pending[req] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, req)
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	if err := c.relay.RelaySend(ctx, relayChannel, payload); err != nil {
		c.opts.Logger.Warn("realtime relay: forwarding a request", "err", err)
		return relayMsg{}, false
	}
	select {
	case ack := <-ch:
		return ack, true
	case <-ctx.Done():
		return relayMsg{}, false
	}
}

// holds reports whether the client is connected to this replica.
func (c *Cluster) holds(clientID string) bool {
	c.Broker.mu.RLock()
	defer c.Broker.mu.RUnlock()
	return c.Broker.clients[clientID] != nil
}

// apply runs a relayed subscribe on the local client and relays the
// outcome back. A client gone meanwhile is left unanswered, as by a replica
// that never held it.
func (c *Cluster) apply(ctx context.Context, m relayMsg) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var (
		auth *schema.Record
		err  error
	)
	if m.AuthID != "" {
		auth, err = c.opts.LoadAuth(ctx, m.AuthCollection, m.AuthID)
		if apperr.CodeOf(err) == apperr.NotFound {
			// The identity was deleted since the request was authenticated.
			err = apperr.New(apperr.Unauthenticated, "The request requires valid record authorization token.")
		}
	}
	if err == nil {
		err = c.Broker.Subscribe(m.Client, m.IP, auth, m.Topics)
		if apperr.CodeOf(err) == apperr.NotFound {
			return
		}
	}
	ack := relayMsg{Kind: "ack", Req: m.Req, From: c.self, To: m.From}
	if err != nil {
		e := apperr.As(err)
		if e == nil {
			e = apperr.Wrap(apperr.Internal, "Failed to apply the subscriptions.", err)
		}
		if e.Code == apperr.Internal {
			c.opts.Logger.Error("realtime relay: applying a subscribe", "clientId", m.Client, "err", err)
		}
		ack.Code, ack.Message = string(e.Code), e.Message
	}
	c.answer(ctx, ack)
}

// answer relays the outcome of a request back to its sender.
func (c *Cluster) answer(ctx context.Context, ack relayMsg) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	payload, _ := json.Marshal(ack)
	if err := c.relay.RelaySend(ctx, relayChannel, payload); err != nil && ctx.Err() == nil {
		c.opts.Logger.Warn("realtime relay: answering a request", "err", err)
	}
}
