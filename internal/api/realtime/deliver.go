package realtime

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/basalt-dev/basalt/internal/api/picker"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// kind is what decides the message of one event for a subscription: the
// subscriber's auth, the rule of the topic and its options. Subscriptions of
// the same kind share one access check, one export and one encoding.
type kind struct {
	authCollection, authID string
	rule                   record.Rule
	options                string
}

// group is the prepared message data of one event for one kind of
// subscription; nil data means the subscriber may not see the record.
type group struct {
	auth *schema.Record
	sub  *subscription
	data []byte
	// msgs holds the group's message per event name (the topic as each
	// client wrote it), shared by every client that receives it.
	msgs map[string]*message
}

// message returns the group's message named name.
func (g *group) message(name string) *message {
	m := g.msgs[name]
	if m == nil {
		m = &message{name: name, data: g.data}
		g.msgs[name] = m
	}
	return m
}

// scratch holds the slices of one Consume call for the next.
type scratch struct {
	clients    []*client
	deliveries []delivery
}

// delivery is one subscription of one client that matches an event.
type delivery struct {
	c    *client
	g    *group
	name string
}

// Consume delivers ev to every client subscribed to its collection or record
// whose access rule allows it: a "collection/*" topic is checked against the
// list rule, a "collection/id" topic against the view rule, for the client's
// auth and the topic's options. The message, named after the topic, is
// {"action": ..., "record": ...} with the record exported as the REST API
// exports it for that client, honouring the expand and fields options.
// Consume returns once every message is queued, so each client receives
// events in commit order.
//
// The work per event is one check and one encoding per kind of subscription
// (a public collection watched by 10,000 guests is checked and encoded
// once), then one queue append per subscriber; the writers do the rest.
func (b *Broker) Consume(ctx context.Context, ev *store.Event) {
	er, err := b.records.DecodeEvent(ev)
	if err != nil {
		if apperr.CodeOf(err) != apperr.NotFound { // a collection deleted since is expected
			b.opts.Logger.Error("decoding a record event", "event", ev.ID, "err", err)
		}
		return
	}
	coll := er.Record.Collection
	if coll.IsAuth() {
		b.refreshAuth(ev, er)
	}
	// The per-event slices are reused: at 10,000 subscribers they would
	// be most of what an event allocates.
	sc := b.scratch.Get().(*scratch)
	defer func() {
		clear(sc.clients)
		clear(sc.deliveries)
		b.scratch.Put(sc)
	}()
	deliveries, groups := b.match(sc, coll, ev.RecordID, ev.Seq)
	if len(deliveries) == 0 {
		return
	}
	forEach(groups, b.opts.Workers, func(g *group) {
		g.data = b.render(ctx, er, g.auth, g.sub)
	})

	// Queueing is cheap (the messages are shared); the writers get the
	// connections in handfuls, so that the first writes overlap the rest
	// of the queueing.
	var ready []*sseConn
	for _, d := range deliveries {
		if d.g.data == nil {
			continue
		}
		ready = b.push(d.c, d.g.message(d.name), ready)
		if len(ready) == readyHandful {
			b.writers.add(ready...)
			ready = ready[:0]
		}
	}
	b.writers.add(ready...)
}

// readyHandful is how many connections Consume hands to the writers at a
// time.
const readyHandful = 256

// forEach calls f for every item, on up to workers goroutines.
func forEach[T any](items []T, workers int, f func(T)) {
	if len(items) == 1 || workers <= 1 {
		for _, it := range items {
			f(it)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(items)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				f(items[i])
			}
		})
	}
	wg.Wait()
}

// match returns the subscriptions to coll (by name or id) or to its record
// id that began before the event (Seq seq) was committed, client by client,
// each with the group of its kind.
func (b *Broker) match(sc *scratch, coll *schema.Collection, recordID string, seq int64) ([]delivery, []*group) {
	b.mu.RLock()
	clients := sc.clients[:0]
	for _, c := range b.clients {
		clients = append(clients, c)
	}
	b.mu.RUnlock()
	sc.clients = clients
	out := sc.deliveries[:0]
	defer func() { sc.deliveries = out }()
	byKind := map[kind]*group{}
	var groups []*group
	for _, c := range clients {
		st := c.current()
		for _, s := range st.subs {
			if (s.collection != coll.Name && s.collection != coll.ID) || (s.recordID != "" && s.recordID != recordID) || (seq != 0 && seq <= s.after) {
				continue
			}
			k := kind{rule: s.rule(), options: s.options}
			if st.auth != nil {
				k.authCollection, k.authID = st.auth.Collection.ID, st.auth.ID()
			}
			g := byKind[k]
			if g == nil {
				g = &group{auth: st.auth, sub: s, msgs: map[string]*message{}}
				byKind[k] = g
				groups = append(groups, g)
			}
			out = append(out, delivery{c: c, g: g, name: s.raw})
		}
	}
	return out, groups
}

// render returns the message data of er for a subscriber, or nil when the
// subscriber may not see the record.
func (b *Broker) render(ctx context.Context, er *record.EventRecord, auth *schema.Record, s *subscription) []byte {
	req := &record.Request{Method: "GET", Context: "realtime", Auth: auth, Query: s.query, Headers: s.headers}
	ok, err := b.records.CanSee(ctx, req, er, s.rule(), s.query["filter"])
	if err != nil {
		b.opts.Logger.Warn("checking realtime access", "event", er.Event.ID, "topic", s.raw, "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	b.records.Visibility(ctx, req)
	item := &record.Item{Record: er.Record}
	if expand := s.query["expand"]; expand != "" {
		if it, err := b.records.Expand(ctx, req, er.Record, expand); err == nil {
			item = it
		} else {
			b.opts.Logger.Debug("expanding a realtime record", "event", er.Event.ID, "topic", s.raw, "err", err)
		}
	}
	var out any = record.Export(item, req)
	if fields := s.query["fields"]; fields != "" {
		if picked, err := picker.Pick(out, fields); err == nil {
			out = picked
		} else {
			b.opts.Logger.Debug("picking realtime record fields", "event", er.Event.ID, "topic", s.raw, "err", err)
		}
	}
	data, err := json.Marshal(struct {
		Action store.Action `json:"action"`
		Record any          `json:"record"`
	}{er.Event.Action, out})
	if err != nil {
		b.opts.Logger.Error("encoding a realtime message", "event", er.Event.ID, "err", err)
		return nil
	}
	return data
}

// refreshAuth keeps clients' auth in step with their auth records: an update
// replaces the record (or signs the client out when its token key changed,
// as after a password change), a delete signs the client out.
func (b *Broker) refreshAuth(ev *store.Event, er *record.EventRecord) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, c := range b.clients {
		st := c.current()
		if st.auth == nil || st.auth.Collection.ID != ev.CollectionID || st.auth.ID() != ev.RecordID {
			continue
		}
		c.subMu.Lock()
		st = c.current()
		if st.auth != nil && st.auth.Collection.ID == ev.CollectionID && st.auth.ID() == ev.RecordID {
			switch {
			case ev.Action == store.ActionDelete, er.Record.String("tokenKey") != st.auth.String("tokenKey"):
				st.auth = nil
			default:
				st.auth = er.Record
			}
			c.state.Store(&st)
		}
		c.subMu.Unlock()
	}
}
