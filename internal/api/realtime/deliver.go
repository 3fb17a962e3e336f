package realtime

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/basalt-dev/basalt/internal/api/picker"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// target is one client and its subscriptions that match an event.
type target struct {
	c    *client
	auth *schema.Record
	subs []*subscription
}

// payload is the prepared message data of one event for one kind of
// subscriber; nil data means the subscriber may not see the record.
type payload struct {
	once sync.Once
	data []byte
}

// Consume delivers ev to every client subscribed to its collection or record
// whose access rule allows it: a "collection/*" topic is checked against the
// list rule, a "collection/id" topic against the view rule, for the client's
// auth and the topic's options. The message, named after the topic, is
// {"action": ..., "record": ...} with the record exported as the REST API
// exports it for that client, honouring the expand and fields options.
// Consume returns once every message is queued, so each client receives
// events in commit order.
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
	targets := b.targets(coll, ev.RecordID)
	if len(targets) == 0 {
		return
	}
	// Subscribers with the same auth, rule and options get the same
	// message: each distinct kind is checked and rendered once per event.
	var mu sync.Mutex
	cache := map[string]*payload{}
	prepared := func(t target, s *subscription) []byte {
		key := authKey(t.auth) + "\x00" + strconv.Itoa(int(s.rule())) + "\x00" + s.options
		mu.Lock()
		p := cache[key]
		if p == nil {
			p = &payload{}
			cache[key] = p
		}
		mu.Unlock()
		p.once.Do(func() { p.data = b.render(ctx, er, t.auth, s) })
		return p.data
	}

	work := make(chan target)
	var wg sync.WaitGroup
	for range min(b.opts.Workers, len(targets)) {
		wg.Go(func() {
			for t := range work {
				for _, s := range t.subs {
					if data := prepared(t, s); data != nil {
						b.push(t.c, &message{name: s.raw, data: data})
					}
				}
			}
		})
	}
	for _, t := range targets {
		work <- t
	}
	close(work)
	wg.Wait()
}

// targets returns the clients with subscriptions to coll (by name or id) or
// to its record id, with the auth each has now.
func (b *Broker) targets(coll *schema.Collection, recordID string) []target {
	b.mu.RLock()
	clients := make([]*client, 0, len(b.clients))
	for _, c := range b.clients {
		clients = append(clients, c)
	}
	b.mu.RUnlock()
	var out []target
	for _, c := range clients {
		c.mu.Lock()
		var subs []*subscription
		for _, s := range c.subs {
			if (s.collection == coll.Name || s.collection == coll.ID) && (s.recordID == "" || s.recordID == recordID) {
				subs = append(subs, s)
			}
		}
		auth := c.auth
		c.mu.Unlock()
		if len(subs) > 0 {
			out = append(out, target{c: c, auth: auth, subs: subs})
		}
	}
	return out
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
		c.mu.Lock()
		if c.auth != nil && c.auth.Collection.ID == ev.CollectionID && c.auth.ID() == ev.RecordID {
			switch {
			case ev.Action == store.ActionDelete, er.Record.String("tokenKey") != c.auth.String("tokenKey"):
				c.auth = nil
			default:
				c.auth = er.Record
			}
		}
		c.mu.Unlock()
	}
}

// authKey identifies an auth state for the payload cache.
func authKey(auth *schema.Record) string {
	if auth == nil {
		return ""
	}
	return auth.Collection.ID + "/" + auth.ID()
}
