package function

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// RouteRequest is an HTTP request to a function route as the transport
// decoded it.
type RouteRequest struct {
	Method string
	// Path is the escaped path below the mount prefix, starting with "/".
	Path    string
	Query   map[string]string
	Headers map[string]string
	Body    []byte
	// Auth is the authenticated record, nil for a guest.
	Auth *schema.Record
}

// RouteResponse is what a route's handler answered.
type RouteResponse struct {
	Status int
	Header map[string]string
	Body   []byte
}

// ServeRoute runs the route that matches req. It returns NotFound when no
// route matches the path, Unauthenticated or Forbidden when the route's
// auth requirement is not met, and the function's own errors.
func (s *Service) ServeRoute(ctx context.Context, req *RouteRequest) (*RouteResponse, error) {
	p := s.current()
	if p == nil {
		return nil, apperr.New(apperr.NotFound, "The requested resource wasn't found.")
	}
	idx, params, err := p.findRoute(req.Method, req.Path)
	if err != nil {
		return nil, err
	}
	reg := &p.regs[idx]
	super := req.Auth != nil && req.Auth.Collection != nil && req.Auth.Collection.ID == schema.SuperusersID
	switch {
	case reg.auth == "auth" && req.Auth == nil, reg.auth == "superuser" && req.Auth == nil:
		return nil, apperr.New(apperr.Unauthenticated, "The request requires valid record authorization token.")
	case reg.auth == "superuser" && !super:
		return nil, apperr.New(apperr.Forbidden, "The authorized record is not allowed to perform this action.")
	}
	var out *RouteResponse
	err = s.call(ctx, p, idx, nil, func(v *vm) []goja.Value {
		return []goja.Value{v.routeRequest(req, params)}
	}, func(v *vm, res goja.Value) error {
		var err error
		out, err = v.routeResponse(res)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// findRoute returns the route for method and path: NotFound when no route
// has the path, and also when only other methods do (as the REST API does).
// HEAD falls back to GET.
func (p *pool) findRoute(method, path string) (int, map[string]string, error) {
	for _, m := range []string{method, "GET"} {
		for _, idx := range p.routes {
			r := &p.regs[idx]
			if r.name != m {
				continue
			}
			if params, ok := r.route.match(path); ok {
				return idx, params, nil
			}
		}
		if method != http.MethodHead {
			break
		}
	}
	return 0, nil, apperr.New(apperr.NotFound, "The requested resource wasn't found.")
}

// routeRequest is the request object a route handler receives.
func (v *vm) routeRequest(req *RouteRequest, params map[string]string) goja.Value {
	o := v.rt.NewObject()
	_ = o.Set("method", req.Method)
	_ = o.Set("path", req.Path)
	_ = o.Set("params", v.toJS(params))
	_ = o.Set("query", v.toJS(req.Query))
	_ = o.Set("headers", v.toJS(req.Headers))
	body := string(req.Body)
	_ = o.Set("body", body)
	_ = o.Set("json", func(goja.FunctionCall) goja.Value {
		if body == "" {
			return goja.Null()
		}
		res, err := v.jsonParse(goja.Undefined(), v.rt.ToValue(body))
		if err != nil {
			v.throw(apperr.New(apperr.Invalid, "The request body is not valid JSON."))
		}
		return res
	})
	if req.Auth != nil {
		_ = o.Set("auth", v.toJS(exportRecord(req.Auth)))
	} else {
		_ = o.Set("auth", goja.Null())
	}
	return o
}

// routeResponse reads a handler's answer: undefined is 204; an object may
// carry status (default 200), headers, and json (encoded as JSON) or body
// (sent as text).
func (v *vm) routeResponse(res goja.Value) (*RouteResponse, error) {
	if res == nil || goja.IsUndefined(res) || goja.IsNull(res) {
		return &RouteResponse{Status: http.StatusNoContent}, nil
	}
	obj, ok := res.(*goja.Object)
	if !ok {
		return nil, apperr.New(apperr.Internal, "a route handler must return {status, headers, json | body} or nothing")
	}
	out := &RouteResponse{Status: http.StatusOK, Header: map[string]string{}}
	if st := prop(obj, "status"); !goja.IsUndefined(st) {
		out.Status = int(st.ToInteger())
		if out.Status < 200 || out.Status > 599 {
			return nil, apperr.New(apperr.Internal, "a route handler returned an invalid status")
		}
	}
	if h, ok := prop(obj, "headers").Export().(map[string]any); ok {
		for k, x := range h {
			out.Header[k] = toString(x)
		}
	}
	if j := prop(obj, "json"); !goja.IsUndefined(j) {
		b, err := json.Marshal(j.Export())
		if err != nil {
			return nil, apperr.Wrap(apperr.Internal, "a route handler returned a value that is not JSON", err)
		}
		out.Body = b
		if _, set := out.Header["Content-Type"]; !set {
			out.Header["Content-Type"] = "application/json"
		}
		return out, nil
	}
	if b := prop(obj, "body"); !goja.IsUndefined(b) && !goja.IsNull(b) {
		out.Body = []byte(b.String())
		if _, set := out.Header["Content-Type"]; !set {
			out.Header["Content-Type"] = "text/plain; charset=utf-8"
		}
	}
	return out, nil
}

// Routes lists the registered routes as "METHOD /path (auth)", for logs
// and the describe command.
func (s *Service) Routes() []string {
	p := s.current()
	if p == nil {
		return nil
	}
	var out []string
	for _, idx := range p.routes {
		r := p.regs[idx]
		out = append(out, r.name+" "+r.arg+" ("+r.auth+")")
	}
	return out
}

var _ record.Hooks = (*Service)(nil)
