package function

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// installAPI fills the basalt object (the prelude adds the error classes
// and the registration functions on top).
func (v *vm) installAPI(api *goja.Object) {
	rt := v.rt
	set := func(o *goja.Object, name string, fn func(goja.FunctionCall) goja.Value) {
		_ = o.Set(name, fn)
	}
	set(api, "register", v.register)

	records := rt.NewObject()
	set(records, "find", v.recordsFind)
	set(records, "list", v.recordsList)
	set(records, "save", v.recordsSave)
	set(records, "delete", v.recordsDelete)
	_ = api.Set("records", records)

	httpObj := rt.NewObject()
	set(httpObj, "fetch", v.httpFetch)
	_ = api.Set("http", httpObj)

	mailObj := rt.NewObject()
	set(mailObj, "send", v.mailSend)
	_ = api.Set("mail", mailObj)

	secrets := rt.NewObject()
	set(secrets, "get", func(c goja.FunctionCall) goja.Value {
		val, ok := v.svc.opts.Secrets[c.Argument(0).String()]
		if !ok {
			return goja.Undefined()
		}
		return rt.ToValue(val)
	})
	_ = api.Set("secrets", secrets)

	logObj := rt.NewObject()
	for name, level := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		set(logObj, name, func(c goja.FunctionCall) goja.Value {
			v.logAt(level, c)
			return goja.Undefined()
		})
	}
	_ = api.Set("log", logObj)

	jobs := rt.NewObject()
	set(jobs, "enqueue", v.jobsEnqueue)
	_ = api.Set("jobs", jobs)
}

// ctx is the context of the running invocation (API calls made while the
// files load get a background context bounded by nothing but the loader's
// interrupt).
func (v *vm) ctx() context.Context {
	if v.inv != nil && v.inv.ctx != nil {
		return v.inv.ctx
	}
	return context.Background()
}

// logAt is basalt.log.LEVEL(message, attrs?): a log line with the function
// and its file.
func (v *vm) logAt(level slog.Level, c goja.FunctionCall) {
	args := []any{}
	if v.inv != nil {
		args = append(args, "function", v.inv.label, "file", v.inv.file)
	} else if v.file != "" {
		args = append(args, "file", v.file)
	}
	if attrs, ok := c.Argument(1).Export().(map[string]any); ok {
		for k, val := range attrs {
			args = append(args, slog.Any(k, val))
		}
	}
	v.svc.log.Log(v.ctx(), level, c.Argument(0).String(), args...)
}

// throw raises err in JavaScript: service errors become ApiError (status,
// message, data), so a function can catch them or let them answer its
// route; anything else is a plain Error with a safe message.
func (v *vm) throw(err error) {
	if e := apperr.As(err); e != nil && e.Code != apperr.Internal {
		obj, callErr := v.newAPIError(goja.Undefined(), v.rt.ToValue(e.Code.HTTPStatus(len(e.Data) > 0)), v.rt.ToValue(e.Message), v.toJS(e.Data))
		if callErr == nil {
			panic(obj)
		}
	}
	v.svc.log.Warn("functions: an API call failed", "function", v.label(), "err", err)
	panic(v.rt.NewGoError(apperr.New(apperr.Internal, "The Basalt API call failed; see the server log.")))
}

func (v *vm) label() string {
	if v.inv != nil {
		return v.inv.label
	}
	return v.file
}

// codeOf maps an ApiError status back to a service error code.
func codeOf(status int) apperr.Code {
	switch status {
	case http.StatusBadRequest:
		return apperr.Invalid
	case http.StatusUnauthorized:
		return apperr.Unauthenticated
	case http.StatusForbidden:
		return apperr.Forbidden
	case http.StatusNotFound:
		return apperr.NotFound
	case http.StatusConflict:
		return apperr.Conflict
	case http.StatusRequestEntityTooLarge:
		return apperr.TooLarge
	case http.StatusTooManyRequests:
		return apperr.TooManyRequests
	case http.StatusServiceUnavailable:
		return apperr.Unavailable
	}
	if status >= 400 && status < 500 {
		return apperr.Invalid
	}
	return apperr.Internal
}

// mailSend is basalt.mail.send({to, subject, html, text}); to is an
// address or a list of them. The mail is queued, as the server's own mail.
func (v *vm) mailSend(c goja.FunctionCall) goja.Value {
	if v.svc.opts.Mail == nil {
		v.throw(apperr.New(apperr.Unavailable, "Mail is not available to functions."))
	}
	arg, ok := c.Argument(0).(*goja.Object)
	if !ok {
		v.throw(apperr.New(apperr.Invalid, "basalt.mail.send takes {to, subject, html, text}."))
	}
	str := func(name string) string {
		x := prop(arg, name)
		if goja.IsUndefined(x) || goja.IsNull(x) {
			return ""
		}
		return x.String()
	}
	in := struct {
		To                  any
		Subject, HTML, Text string
	}{prop(arg, "to").Export(), str("subject"), str("html"), str("text")}
	m := &mail.Message{Subject: in.Subject, HTML: in.HTML, Text: in.Text}
	if v.svc.opts.MailFrom != nil {
		m.From = v.svc.opts.MailFrom()
	}
	var to []string
	switch t := in.To.(type) {
	case string:
		to = []string{t}
	case []any:
		for _, x := range t {
			to = append(to, fmt.Sprint(x))
		}
	}
	for _, s := range to {
		a, err := parseAddress(s)
		if err != nil {
			v.throw(apperr.New(apperr.Invalid, "Invalid recipient address "+s+"."))
		}
		m.To = append(m.To, a)
	}
	if len(m.To) == 0 || m.Subject == "" {
		v.throw(apperr.New(apperr.Invalid, "A mail needs at least one recipient and a subject."))
	}
	if err := v.svc.opts.Mail.Send(v.ctx(), m); err != nil {
		v.throw(err)
	}
	return goja.Undefined()
}

// requestFor returns the request that record calls from a function run as:
// a superuser when opts.bypassRules is true, the auth record opts.auth
// names (an object with id and collectionName, such as e.auth), else a
// guest.
func (v *vm) requestFor(opts *goja.Object) *record.Request {
	req := &record.Request{Method: "GET", Context: "function"}
	if opts == nil {
		return req
	}
	if b := opts.Get("bypassRules"); b != nil && b.ToBoolean() {
		req.Auth = &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID, Name: "_superusers"}}
		return req
	}
	a := opts.Get("auth")
	if a == nil || goja.IsUndefined(a) || goja.IsNull(a) {
		return req
	}
	ao, ok := a.Export().(map[string]any)
	if !ok {
		v.throw(apperr.New(apperr.Invalid, "options.auth must be an auth record (such as e.auth)."))
	}
	col, _ := ao["collectionName"].(string)
	if col == "" {
		col, _ = ao["collectionId"].(string)
	}
	id, _ := ao["id"].(string)
	super := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
	it, err := v.svc.opts.Records.View(v.ctx(), super, col, id, "")
	if err != nil || !it.Record.Collection.IsAuth() {
		v.throw(apperr.New(apperr.Invalid, "options.auth names no auth record."))
	}
	req.Auth = it.Record
	return req
}
