package function

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/dop251/goja"
)

// maxCallStack bounds JavaScript recursion (a runaway recursion is a
// RangeError, not a Go stack overflow).
const maxCallStack = 1024

// registration is one thing a function file registered while loading.
type registration struct {
	kind string // "hook", "route", "cron" or "job"
	// name is the hook (beforeCreate, …), the route's method, or the cron
	// or job name.
	name string
	// arg is the hook's collection, the route's path or the cron schedule.
	arg string
	// auth is a route's requirement: guest, auth or superuser.
	auth string
	file string
	// route is the parsed path of a route.
	route *pattern
}

// label names the registration in logs and errors.
func (r *registration) label() string {
	switch r.kind {
	case "hook":
		return r.name + " " + r.arg
	case "route":
		return r.name + " " + r.arg
	}
	return r.kind + " " + r.name
}

// vm is one warm runtime with every function file evaluated.
type vm struct {
	rt   *goja.Runtime
	fns  []goja.Callable
	regs []registration
	// loading is true while the files run: registration is allowed then only.
	loading bool
	file    string
	// inv is the invocation running on the runtime, nil when idle.
	inv *invocation
	// lastEvent is the event object handed to the running hook.
	lastEvent *goja.Object
	svc       *Service

	isAPIError  goja.Callable
	newAPIError goja.Callable
	jsonParse   goja.Callable
}

// source is one compiled function file.
type source struct {
	name string
	prog *goja.Program
}

// compile compiles a function file. Each file runs in its own function
// scope (on the same lines, so positions in errors match the file).
func compile(name, src string) (*source, error) {
	prog, err := goja.Compile(name, "(function () {"+src+"\n})()", false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &source{name: name, prog: prog}, nil
}

// newVM builds a runtime, installs the API and runs every file once; the
// run is interrupted after limit.
func (s *Service) newVM(files []*source) (*vm, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(maxCallStack)
	v := &vm{rt: rt, svc: s, loading: true}
	fn, err := rt.RunProgram(s.prelude())
	if err != nil {
		return nil, fmt.Errorf("prelude: %w", err)
	}
	setup, _ := goja.AssertFunction(fn)
	api := rt.NewObject()
	v.installAPI(api)
	if _, err := setup(goja.Undefined(), api, rt.ToValue(maxLength(s.opts.MemoryBudget))); err != nil {
		return nil, fmt.Errorf("prelude: %w", err)
	}
	v.isAPIError, _ = goja.AssertFunction(api.Get("isApiError"))
	v.newAPIError, _ = goja.AssertFunction(api.Get("newApiError"))
	v.jsonParse, _ = goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("parse"))

	// A file that loops forever while loading must not hang the reload.
	inv := &invocation{rt: rt}
	stop := s.timer(inv)
	defer stop()
	for _, f := range files {
		v.file = f.name
		if _, err := rt.RunProgram(f.prog); err != nil {
			if errors.Is(err, errTimeLimit) {
				return nil, fmt.Errorf("%s: loading exceeded the time limit", f.name)
			}
			return nil, fmt.Errorf("%s: %s", f.name, describe(err))
		}
	}
	v.loading, v.file = false, ""
	return v, nil
}

// maxLength is the length cap of strings and arrays built in one call.
func maxLength(budget int64) int64 {
	if n := budget / 4; n > 1<<10 {
		return n
	}
	return 1 << 10
}

// register is basalt.register(kind, name, arg, fn, options).
func (v *vm) register(call goja.FunctionCall) goja.Value {
	if !v.loading {
		panic(v.rt.NewTypeError("functions register hooks, routes, crons and jobs only while their file loads"))
	}
	kind, name, arg := call.Argument(0).String(), call.Argument(1).String(), call.Argument(2).String()
	fn, ok := goja.AssertFunction(call.Argument(3))
	if !ok {
		panic(v.rt.NewTypeError("basalt." + kind + ": the handler must be a function"))
	}
	r := registration{kind: kind, name: name, arg: arg, file: v.file}
	switch kind {
	case "hook":
		if strings.TrimSpace(arg) == "" {
			panic(v.rt.NewTypeError("basalt." + name + ": name a collection (or \"*\" for every collection)"))
		}
	case "route":
		r.name = strings.ToUpper(name)
		if !validMethod(r.name) {
			panic(v.rt.NewTypeError("basalt.route: unsupported method " + name))
		}
		p, err := parsePattern(arg)
		if err != nil {
			panic(v.rt.NewTypeError("basalt.route: " + err.Error()))
		}
		r.route = p
		r.auth = "guest"
		if o, ok := call.Argument(4).Export().(map[string]any); ok {
			if a, ok := o["auth"].(string); ok {
				r.auth = a
			}
		}
		if r.auth != "guest" && r.auth != "auth" && r.auth != "superuser" {
			panic(v.rt.NewTypeError("basalt.route: auth must be \"guest\", \"auth\" or \"superuser\""))
		}
	case "cron", "job":
		if strings.TrimSpace(name) == "" {
			panic(v.rt.NewTypeError("basalt." + kind + ": name it"))
		}
		if kind == "cron" {
			if err := v.svc.checkCron(arg); err != nil {
				panic(v.rt.NewTypeError("basalt.cron: " + err.Error()))
			}
		}
	default:
		panic(v.rt.NewTypeError("unknown registration " + kind))
	}
	v.regs = append(v.regs, r)
	v.fns = append(v.fns, fn)
	return goja.Undefined()
}

func validMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}

// toJS converts a Go value to plain JavaScript data, as a client would see
// it in JSON: maps become objects (keys in sorted order), slices arrays,
// json.RawMessage its parsed value; anything else goes through JSON.
func (v *vm) toJS(x any) goja.Value {
	switch t := x.(type) {
	case nil:
		return goja.Null()
	case string:
		return v.rt.ToValue(t)
	case bool:
		return v.rt.ToValue(t)
	case float64:
		return v.rt.ToValue(t)
	case int:
		return v.rt.ToValue(t)
	case int64:
		return v.rt.ToValue(t)
	case json.RawMessage:
		if t == nil {
			return goja.Null()
		}
		return v.parseJSON(t)
	case map[string]any:
		o := v.rt.NewObject()
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = o.Set(k, v.toJS(t[k]))
		}
		return o
	case map[string]string:
		o := v.rt.NewObject()
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = o.Set(k, t[k])
		}
		return o
	case []any:
		items := make([]any, len(t))
		for i, e := range t {
			items[i] = v.toJS(e)
		}
		return v.rt.NewArray(items...)
	case []string:
		items := make([]any, len(t))
		for i, e := range t {
			items[i] = e
		}
		return v.rt.NewArray(items...)
	}
	b, err := json.Marshal(x)
	if err != nil {
		panic(v.rt.NewGoError(fmt.Errorf("converting a value for the function: %w", err)))
	}
	return v.parseJSON(b)
}

// parseJSON is JSON.parse of b.
func (v *vm) parseJSON(b []byte) goja.Value {
	out, err := v.jsonParse(goja.Undefined(), v.rt.ToValue(string(b)))
	if err != nil {
		panic(err)
	}
	return out
}

// describe turns an error from the runtime into one log-friendly line with
// the JavaScript stack when there is one.
func describe(err error) string {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return ex.String()
	}
	return err.Error()
}
