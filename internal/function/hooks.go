package function

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// hookName is the registration name of phase ("before", "after") for action.
func hookName(phase string, a store.Action) string {
	switch a {
	case store.ActionCreate:
		return phase + "Create"
	case store.ActionUpdate:
		return phase + "Update"
	}
	return phase + "Delete"
}

// Before runs the before-hooks registered for the write (record.Hooks), in
// registration order; each sees the changes of the previous ones.
func (s *Service) Before(ctx context.Context, e *record.HookEvent) error {
	p := s.current()
	if p == nil || len(p.hooks) == 0 {
		return nil
	}
	for _, idx := range p.hookIndexes(hookName("before", e.Action), e.Collection.Name, e.Collection.ID) {
		var before snapshot
		err := s.call(ctx, p, idx, e.Tx, func(v *vm) []goja.Value {
			ev, snapshot := v.hookEvent(e)
			before = snapshot
			return []goja.Value{ev}
		}, func(v *vm, _ goja.Value) error {
			return v.applyRecord(e, before)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// After runs the after-hooks registered for the write; their failures are
// logged (the write has committed).
func (s *Service) After(ctx context.Context, e *record.HookEvent) {
	p := s.current()
	if p == nil || len(p.hooks) == 0 {
		return
	}
	for _, idx := range p.hookIndexes(hookName("after", e.Action), e.Collection.Name, e.Collection.ID) {
		_ = s.call(ctx, p, idx, nil, func(v *vm) []goja.Value {
			ev, _ := v.hookEvent(e)
			return []goja.Value{ev}
		}, nil)
	}
}

// exportRecord is the data of r a hook sees: every field but passwords and
// token keys (hidden fields too: functions run on the server's side).
func exportRecord(r *schema.Record) map[string]any {
	if r == nil {
		return nil
	}
	super := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
	return record.Export(&record.Item{Record: r}, super)
}

// snapshot is what a hook was handed for each field, to find what it
// changed: the JavaScript value, and for objects and arrays (which can be
// changed in place) their JSON.
type snapshot map[string]handed

type handed struct {
	value goja.Value
	json  string
}

// hookEvent builds the event object {collection, action, record,
// original, auth} and the snapshot of the record's fields.
func (v *vm) hookEvent(e *record.HookEvent) (goja.Value, snapshot) {
	data := exportRecord(e.Record)
	snap := make(snapshot, len(data))
	rec := v.rt.NewObject()
	for k, x := range data {
		val := v.toJS(x)
		h := handed{value: val}
		if _, isObj := val.(*goja.Object); isObj {
			b, _ := json.Marshal(val.Export())
			h.json = string(b)
		}
		snap[k] = h
		_ = rec.Set(k, val)
	}
	ev := v.rt.NewObject()
	v.lastEvent = ev
	_ = ev.Set("collection", e.Collection.Name)
	_ = ev.Set("action", string(e.Action))
	_ = ev.Set("record", rec)
	if e.Original != nil {
		_ = ev.Set("original", v.toJS(exportRecord(e.Original)))
	} else {
		_ = ev.Set("original", goja.Null())
	}
	if e.Request != nil && e.Request.Auth != nil && e.Request.Auth.Collection != nil && e.Request.Auth.Collection.Name != "" {
		_ = ev.Set("auth", v.toJS(exportRecord(e.Request.Auth)))
	} else if e.Request != nil && record.IsSuperuser(e.Request) {
		_ = ev.Set("auth", v.toJS(map[string]any{"collectionName": "_superusers", "id": e.Request.Auth.ID()}))
	} else {
		_ = ev.Set("auth", goja.Null())
	}
	return ev, snap
}

// applyRecord sets the fields of e.Record whose value the hook changed in
// e.record (or in the object it assigned to e.record), through the record
// service's normalization.
func (v *vm) applyRecord(e *record.HookEvent, before snapshot) error {
	ev := v.lastEvent
	if ev == nil {
		return nil
	}
	rv := prop(ev, "record")
	if goja.IsNull(rv) || goja.IsUndefined(rv) {
		return nil
	}
	obj, ok := rv.(*goja.Object)
	if !ok {
		return apperr.New(apperr.Internal, "e.record must stay an object")
	}
	for _, k := range obj.Keys() {
		nv := obj.Get(k)
		if nv == nil {
			continue
		}
		h, had := before[k]
		if had {
			if _, isObj := nv.(*goja.Object); !isObj && h.json == "" && nv.StrictEquals(h.value) {
				continue
			}
			if h.json != "" {
				if b, err := json.Marshal(nv.Export()); err == nil && string(b) == h.json {
					continue
				}
			}
		}
		if _, err := e.Set(k, nv.Export()); err != nil {
			var ro *record.ReadOnlyField
			if errors.As(err, &ro) {
				return apperr.Wrap(apperr.Internal, "The function changed a read-only field.", err)
			}
			return err
		}
	}
	return nil
}
