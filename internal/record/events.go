package record

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/jsonenc"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// appendEvent adds the change of one record to the outbox inside tx: before
// is nil for a create, after nil for a delete.
func (s *Service) appendEvent(ctx context.Context, tx store.Tx, fx *effects, action store.Action, before, after *schema.Record) error {
	r := after
	if r == nil {
		r = before
	}
	now := s.now()
	e := &store.Event{
		// Ordered ids keep the outbox's id index growing at its end: a
		// random id cost every write a page of that index.
		ID:             random.Ordered(now, eventIDLength),
		CollectionID:   r.Collection.ID,
		CollectionName: r.Collection.Name,
		RecordID:       r.ID(),
		Action:         action,
		Time:           now,
	}
	var err error
	if before != nil {
		if e.Before, err = recordJSON(before); err != nil {
			return err
		}
	}
	if after != nil {
		if e.After, err = recordJSON(after); err != nil {
			return err
		}
	}
	if err := tx.AppendEvent(ctx, e); err != nil {
		return err
	}
	fx.events++
	return s.auditChange(ctx, tx, action, before, after)
}

// eventIDLength is the length of event ids (random.Ordered): 11 random
// characters tell apart the events of one millisecond.
const eventIDLength = 20

// recordJSON encodes r's stored data: every field of its collection by name,
// in field order, at its canonical value (hidden fields, password hashes
// and token keys included; exports filter them per client). It runs under
// the writer lock for every write, hence the reflection-free encoder.
func recordJSON(r *schema.Record) (json.RawMessage, error) {
	b := append(make([]byte, 0, 512), '{')
	for i, f := range r.Collection.Fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(jsonenc.AppendString(b, f.Name), ':')
		var err error
		if b, err = jsonenc.Append(b, r.Data[f.Name]); err != nil {
			return nil, apperr.Wrap(apperr.Internal, "", fmt.Errorf("encoding the event record: %w", err))
		}
	}
	return append(b, '}'), nil
}

// decodeRecord rebuilds a record of c from its event JSON. Fields that c no
// longer has are dropped and new ones get their zero value, so an event
// recorded before a schema change still decodes.
func decodeRecord(c *schema.Collection, doc json.RawMessage) (*schema.Record, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, apperr.Wrap(apperr.Internal, "", fmt.Errorf("decoding the event record: %w", err))
	}
	r := schema.NewRecord(c)
	for _, f := range c.Fields {
		v, ok := raw[f.Name]
		if !ok {
			continue
		}
		if f.Type == schema.TypeJSON {
			if t := bytes.TrimSpace(v); len(t) > 0 && string(t) != "null" {
				r.Data[f.Name] = json.RawMessage(t)
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return nil, apperr.Wrap(apperr.Internal, "", fmt.Errorf("decoding event field %s: %w", f.Name, err))
		}
		if n, p := f.Normalize(x); p == nil {
			r.Data[f.Name] = n
		}
	}
	return r, nil
}

// EventRecord is an outbox event with the record it carries, ready for
// delivery to clients.
type EventRecord struct {
	Event *store.Event
	// Record is the record after a create or update, and before a delete,
	// decoded with its collection's current definition.
	Record *schema.Record
}

// DecodeEvent returns the record ev carries. NotFound when ev's collection
// no longer exists.
func (s *Service) DecodeEvent(ev *store.Event) (*EventRecord, error) {
	c := s.cols.Lookup(ev.CollectionID)
	if c == nil {
		return nil, notFound()
	}
	doc := ev.After
	if ev.Action == store.ActionDelete {
		doc = ev.Before
	}
	if doc == nil {
		return nil, apperr.Wrap(apperr.Internal, "", fmt.Errorf("event %s carries no record", ev.ID))
	}
	r, err := decodeRecord(c, doc)
	if err != nil {
		return nil, err
	}
	return &EventRecord{Event: ev, Record: r}, nil
}

// Rule names the access rule a change is checked against.
type Rule int

// The rules of realtime subscriptions: a collection topic ("posts/*") uses
// the list rule, a record topic ("posts/RECORD_ID") the view rule.
const (
	ListRule Rule = iota + 1
	ViewRule
)

// CanSee reports whether req may see the record of er under its collection's
// list or view rule, evaluated with @request.context "realtime". filter, when
// not blank, is a client's own filter (a subscription's query.filter option)
// that must hold as well, with the restrictions of a list request's filter.
// Superusers see every record; a null rule hides records from everyone else.
//
// Creates and updates are checked against the stored record, as a list or
// view request would check them. When it no longer exists (deleted since the
// change), and for deletes, the rule is evaluated in memory against the
// event's record, with relations read from the store as they are now.
func (s *Service) CanSee(ctx context.Context, req *Request, er *EventRecord, rule Rule, filter string) (bool, error) {
	sub := *guest(req)
	sub.Context = "realtime"
	if sub.Method == "" {
		sub.Method = "GET"
	}
	c := er.Record.Collection
	expr := c.ListRule
	if rule == ViewRule {
		expr = c.ViewRule
	}
	filters, err := ruleFilters(expr, &sub)
	if err != nil {
		return false, nil // superusers only
	}
	if strings.TrimSpace(filter) != "" {
		if checkClientExpr(&sub, filter, "") != nil {
			return false, nil
		}
	} else if len(filters) == 0 {
		return true, nil
	}
	// The rule is trusted; the subscriber's filter is client input.
	q := s.query(c, &sub)
	q.Filters, q.ClientFilter = filters, filter
	if er.Event.Action != store.ActionDelete {
		q.IDs = []string{er.Record.ID()}
		n, err := s.store.CountRecords(ctx, q)
		if err != nil || n > 0 {
			return n > 0, err
		}
		exists, err := s.store.CountRecords(ctx, &store.Query{Collection: c, IDs: q.IDs})
		if err != nil || exists > 0 {
			return false, err
		}
		q.IDs = nil
	}
	return s.store.MatchRecord(ctx, q, er.Record)
}

// Expand prepares r for req as a view request with the given expand
// parameter would: relations expanded through the target collections' view
// rules. Pass the result to Export.
func (s *Service) Expand(ctx context.Context, req *Request, r *schema.Record, expand string) (*Item, error) {
	return s.result(ctx, req, r, expand)
}
