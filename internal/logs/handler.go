package logs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
)

// RequestIDKey is the attribute that carries the request id.
const RequestIDKey = "requestId"

// NewHandler returns a handler that adds the context's request id to every
// record, passes records to next, and, when svc is not nil, queues the
// records at or above the stored-log level (setting logs.minLevel) for the
// log database.
func NewHandler(next slog.Handler, svc *Service) slog.Handler {
	return &handler{next: next, svc: svc}
}

type handler struct {
	next   slog.Handler
	svc    *Service
	groups []string
	bound  []boundAttr
}

// boundAttr is an attribute added by WithAttrs, under the groups open then.
type boundAttr struct {
	groups []string
	attr   slog.Attr
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level) || h.svc.stores(level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	id := RequestID(ctx)
	var err error
	if h.next.Enabled(ctx, r.Level) && !quieted(h.next, r) {
		rec := r
		if id != "" {
			rec = r.Clone()
			rec.AddAttrs(slog.String(RequestIDKey, id))
		}
		err = h.next.Handle(ctx, rec)
	}
	if h.svc != nil {
		if cfg := h.svc.opts.Settings(); cfg.MaxDays > 0 && int(r.Level) >= cfg.MinLevel {
			h.svc.enqueue(&entry{rec: r.Clone(), h: h, requestID: id}, cfg)
		}
	}
	return err
}

// RequestType is the type attribute of access log lines: the first
// attribute of their records is type=request.
const RequestType = "request"

// QuietRequests returns a handler that passes records to next except
// access log lines (records whose first attribute is type=request) below
// error level: the console then shows failed requests only, while the log
// database still stores every request.
func QuietRequests(next slog.Handler) slog.Handler { return &quiet{next} }

type quiet struct{ slog.Handler }

func (q *quiet) Handle(ctx context.Context, r slog.Record) error {
	if isQuieted(r) {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

func (q *quiet) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &quiet{q.Handler.WithAttrs(attrs)}
}

func (q *quiet) WithGroup(name string) slog.Handler { return &quiet{q.Handler.WithGroup(name)} }

// quieted reports whether next, a QuietRequests handler, drops r: then the
// record need not be copied for it.
func quieted(next slog.Handler, r slog.Record) bool {
	_, ok := next.(*quiet)
	return ok && isQuieted(r)
}

func isQuieted(r slog.Record) bool {
	if r.Level >= slog.LevelError {
		return false
	}
	request := false
	r.Attrs(func(a slog.Attr) bool {
		request = a.Key == "type" && a.Value.Kind() == slog.KindString && a.Value.String() == RequestType
		return false
	})
	return request
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	c.bound = append([]boundAttr(nil), h.bound...)
	for _, a := range attrs {
		c.bound = append(c.bound, boundAttr{groups: h.groups, attr: a})
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.next = h.next.WithGroup(name)
	c.groups = append(append([]string(nil), h.groups...), name)
	return &c
}

// data builds the stored attributes of r: groups become nested objects.
func (h *handler) data(r slog.Record, requestID string) map[string]any {
	data := map[string]any{}
	for _, b := range h.bound {
		put(groupMap(data, b.groups), b.attr)
	}
	m := groupMap(data, h.groups)
	r.Attrs(func(a slog.Attr) bool {
		put(m, a)
		return true
	})
	if requestID != "" {
		data[RequestIDKey] = requestID
	}
	return data
}

// groupMap returns the nested map of data at path, creating it.
func groupMap(data map[string]any, path []string) map[string]any {
	m := data
	for _, g := range path {
		sub, ok := m[g].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[g] = sub
		}
		m = sub
	}
	return m
}

func put(m map[string]any, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		attrs := v.Group()
		if len(attrs) == 0 {
			return
		}
		sub := m
		if a.Key != "" { // an empty key inlines the group
			sub = groupMap(m, []string{a.Key})
		}
		for _, ga := range attrs {
			put(sub, ga)
		}
		return
	}
	if a.Key == "" {
		return
	}
	m[a.Key] = plain(v)
}

// plain converts v to a JSON-encodable value.
func plain(v slog.Value) any {
	switch v.Kind() {
	case slog.KindString:
		return v.String()
	case slog.KindInt64:
		return v.Int64()
	case slog.KindUint64:
		return v.Uint64()
	case slog.KindFloat64:
		return v.Float64()
	case slog.KindBool:
		return v.Bool()
	case slog.KindDuration:
		return v.Duration().String()
	case slog.KindTime:
		return schema.FormatTime(v.Time())
	}
	switch x := v.Any().(type) {
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	case time.Time:
		return schema.FormatTime(x)
	default:
		if b, err := json.Marshal(x); err == nil {
			var out any
			if json.Unmarshal(b, &out) == nil {
				return out
			}
		}
		return fmt.Sprint(x)
	}
}
