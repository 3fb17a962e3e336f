package record

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"

	"github.com/basalt-dev/basalt/internal/schema"
)

// Export returns the client-facing JSON object of it for req: system keys,
// every visible field, and expanded relations. Passwords and token keys are
// never included; hidden fields only for superusers; an auth record's email
// only when it is public, requested by its owner, or by a superuser.
func Export(it *Item, req *Request) map[string]any {
	return NewExporter(req).Map(it)
}

// An Exporter shows records to one caller: it decides, as Export does,
// which keys of a record the caller sees. Encoders that write JSON
// themselves use Each, which gives the keys in the order encoding/json
// writes them, without building a map per record. An Exporter is meant for
// one response: it remembers the key order of each collection it meets.
type Exporter struct {
	req   *Request
	super bool
	// orders holds, per collection, its candidate keys in ascending order:
	// the Exporter's own, or those its Service shares.
	orders *exportOrders
}

// exportOrders keeps the candidate keys of the collections met, for the
// Exporters of a Service: sorting them for every response was a tenth of
// a record view's own work. Collections are immutable once published, and
// a changed one is a new *schema.Collection; the old ones' entries are
// dropped when there are maxExportOrders.
type exportOrders struct {
	mu   sync.RWMutex
	keys map[*schema.Collection][]exportKey
}

// maxExportOrders bounds the collections exportOrders remembers.
const maxExportOrders = 1024

func (o *exportOrders) get(c *schema.Collection) ([]exportKey, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	keys, ok := o.keys[c]
	return keys, ok
}

func (o *exportOrders) put(c *schema.Collection, keys []exportKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.keys == nil || len(o.keys) >= maxExportOrders {
		o.keys = make(map[*schema.Collection][]exportKey)
	}
	o.keys[c] = keys
}

// exportKey is one key a record of a collection may have: a field, or one
// of collectionId, collectionName and expand (field nil).
type exportKey struct {
	name  string
	field *schema.Field
}

// NewExporter returns an Exporter for the caller req (nil: a guest).
func NewExporter(req *Request) *Exporter {
	return &Exporter{req: req, super: IsSuperuser(req), orders: &exportOrders{}}
}

// NewExporter returns an Exporter for the caller req (nil: a guest) that
// shares the key orders of s's collections with the other Exporters of s.
func (s *Service) NewExporter(req *Request) *Exporter {
	return &Exporter{req: req, super: IsSuperuser(req), orders: &s.exportOrders}
}

// Each calls fn with every key of the caller's view of it and its value, in
// ascending key order (byte-wise, as encoding/json sorts map keys). The
// value of "expand", present only when it has expanded relations, is
// it.Expand: a map of *Item or []*Item values, to be shown through the
// same Exporter. Each stops at the first error of fn and returns it.
func (e *Exporter) Each(it *Item, fn func(key string, v any) error) error {
	r := it.Record
	c := r.Collection
	hideEmail := e.hidesEmail(r)
	for _, k := range e.order(c) {
		if !e.shows(it, k, hideEmail) {
			continue
		}
		var v any
		switch f := k.field; {
		case f == nil && k.name == "expand":
			v = it.Expand
		case f == nil && k.name == "collectionId":
			v = c.ID
		case f == nil:
			v = c.Name
		default:
			v = r.Data[f.Name]
			if raw, ok := v.(json.RawMessage); ok && raw == nil {
				v = nil
			}
		}
		if err := fn(k.name, v); err != nil {
			return err
		}
	}
	return nil
}

// View identifies how the caller sees it: two callers with the same view
// of a record get the same JSON for it. ok is false when it has expanded
// relations or too many keys to say.
func (e *Exporter) View(it *Item) (view uint64, ok bool) {
	if len(it.Expand) > 0 {
		return 0, false
	}
	keys := e.order(it.Record.Collection)
	if len(keys) > 64 {
		return 0, false
	}
	hideEmail := e.hidesEmail(it.Record)
	for i, k := range keys {
		if e.shows(it, k, hideEmail) {
			view |= 1 << i
		}
	}
	return view, true
}

// hidesEmail reports whether the caller may not see r's email.
func (e *Exporter) hidesEmail(r *schema.Record) bool {
	return r.Collection.IsAuth() && !e.super && !r.Bool("emailVisibility") && !isOwner(e.req, r)
}

// shows reports whether the caller sees key k of it.
func (e *Exporter) shows(it *Item, k exportKey, hideEmail bool) bool {
	f := k.field
	switch {
	case f == nil:
		return k.name != "expand" || len(it.Expand) > 0
	case f.Hidden && !e.super:
		return false
	case f.VisibleRule != "" && !fieldVisible(e.req, it.Record.Collection, f):
		return false
	case hideEmail && f.Name == "email":
		return false
	}
	return true
}

// Map returns the caller's view of it as a map, expanded relations
// included (what Export returns).
func (e *Exporter) Map(it *Item) map[string]any {
	out := make(map[string]any, len(it.Record.Collection.Fields)+3)
	_ = e.Each(it, func(key string, v any) error {
		if key == "expand" {
			v = e.expanded(it.Expand)
		}
		out[key] = v
		return nil
	})
	return out
}

func (e *Exporter) expanded(expand map[string]any) map[string]any {
	exp := make(map[string]any, len(expand))
	for k, v := range expand {
		switch x := v.(type) {
		case *Item:
			exp[k] = e.Map(x)
		case []*Item:
			list := make([]any, len(x))
			for i, sub := range x {
				list[i] = e.Map(sub)
			}
			exp[k] = list
		}
	}
	return exp
}

// order returns the candidate keys of c's records in ascending order.
// Passwords and token keys are never candidates.
func (e *Exporter) order(c *schema.Collection) []exportKey {
	if keys, ok := e.orders.get(c); ok {
		return keys
	}
	keys := make([]exportKey, 0, len(c.Fields)+3)
	keys = append(keys, exportKey{name: "collectionId"}, exportKey{name: "collectionName"}, exportKey{name: "expand"})
	for _, f := range c.Fields {
		if f.Type == schema.TypePassword || (c.IsAuth() && f.Name == "tokenKey") {
			continue
		}
		if f.Name == "collectionId" || f.Name == "collectionName" || f.Name == "expand" {
			continue // reserved names (refused for fields): never a duplicate key
		}
		keys = append(keys, exportKey{name: f.Name, field: f})
	}
	slices.SortFunc(keys, func(a, b exportKey) int { return strings.Compare(a.name, b.name) })
	e.orders.put(c, keys)
	return keys
}

func isOwner(req *Request, r *schema.Record) bool {
	return req != nil && req.Auth != nil && req.Auth.Collection.ID == r.Collection.ID && req.Auth.ID() == r.ID()
}
