package function

import (
	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
)

// options returns argument i as an object, or nil when it is absent.
func (v *vm) options(c goja.FunctionCall, i int) *goja.Object {
	a := c.Argument(i)
	if goja.IsUndefined(a) || goja.IsNull(a) {
		return nil
	}
	return a.ToObject(v.rt)
}

// prop returns property name of o, undefined when o is nil or lacks it.
func prop(o *goja.Object, name string) goja.Value {
	if o == nil {
		return goja.Undefined()
	}
	if x := o.Get(name); x != nil {
		return x
	}
	return goja.Undefined()
}

func optString(o *goja.Object, name string) string {
	if o == nil {
		return ""
	}
	x := o.Get(name)
	if x == nil || goja.IsUndefined(x) || goja.IsNull(x) {
		return ""
	}
	return x.String()
}

func optInt(o *goja.Object, name string) int {
	if o == nil {
		return 0
	}
	x := o.Get(name)
	if x == nil || goja.IsUndefined(x) {
		return 0
	}
	return int(x.ToInteger())
}

// export returns items as a client calling with req would see them.
func (v *vm) export(req *record.Request, it *record.Item) goja.Value {
	v.svc.opts.Records.Visibility(v.ctx(), req)
	return v.toJS(record.Export(it, req))
}

// recordsFind is basalt.records.find(collection, id, options?).
func (v *vm) recordsFind(c goja.FunctionCall) goja.Value {
	opts := v.options(c, 2)
	req := v.requestFor(opts)
	it, err := v.svc.opts.Records.View(v.ctx(), req, c.Argument(0).String(), c.Argument(1).String(), optString(opts, "expand"))
	if err != nil {
		v.throw(err)
	}
	return v.export(req, it)
}

// recordsList is basalt.records.list(collection, options?) with options
// filter, sort, page, perPage, expand, skipTotal and the rule options.
func (v *vm) recordsList(c goja.FunctionCall) goja.Value {
	opts := v.options(c, 1)
	req := v.requestFor(opts)
	lo := record.ListOptions{
		Page: optInt(opts, "page"), PerPage: optInt(opts, "perPage"),
		Filter: optString(opts, "filter"), Sort: optString(opts, "sort"), Expand: optString(opts, "expand"),
	}
	if opts != nil {
		if st := opts.Get("skipTotal"); st != nil {
			lo.SkipTotal = st.ToBoolean()
		}
	}
	res, err := v.svc.opts.Records.List(v.ctx(), req, c.Argument(0).String(), lo)
	if err != nil {
		v.throw(err)
	}
	v.svc.opts.Records.Visibility(v.ctx(), req)
	items := make([]any, len(res.Items))
	for i, it := range res.Items {
		items[i] = record.Export(it, req)
	}
	return v.toJS(map[string]any{
		"page": res.Page, "perPage": res.PerPage, "totalItems": res.TotalItems,
		"totalPages": res.TotalPages, "items": items,
	})
}

// writable refuses record writes from a before-hook: it runs inside the
// write transaction, and a second write would wait for the lock it holds.
func (v *vm) writable() {
	if v.inv != nil && v.inv.tx != nil {
		v.throw(apperr.New(apperr.Invalid, "Records cannot be saved or deleted from a before-hook; change e.record, or use an after-hook."))
	}
}

// recordsSave is basalt.records.save(collection, data, options?): an
// update when data.id names an existing record, a create otherwise.
func (v *vm) recordsSave(c goja.FunctionCall) goja.Value {
	v.writable()
	opts := v.options(c, 2)
	req := v.requestFor(opts)
	data, ok := c.Argument(1).Export().(map[string]any)
	if !ok {
		v.throw(apperr.New(apperr.Invalid, "basalt.records.save takes an object of field values."))
	}
	col := c.Argument(0).String()
	id, _ := data["id"].(string)
	in := record.Input{Data: data}
	var it *record.Item
	var err error
	if id != "" {
		it, err = v.svc.opts.Records.Update(v.ctx(), req, col, id, in, optString(opts, "expand"))
		if apperr.CodeOf(err) == apperr.NotFound {
			if _, cerr := v.svc.opts.Records.Collection(col); cerr == nil {
				it, err = v.svc.opts.Records.Create(v.ctx(), req, col, in, optString(opts, "expand"))
			}
		}
	} else {
		it, err = v.svc.opts.Records.Create(v.ctx(), req, col, in, optString(opts, "expand"))
	}
	if err != nil {
		v.throw(err)
	}
	return v.export(req, it)
}

// recordsDelete is basalt.records.delete(collection, id, options?).
func (v *vm) recordsDelete(c goja.FunctionCall) goja.Value {
	v.writable()
	opts := v.options(c, 2)
	req := v.requestFor(opts)
	if err := v.svc.opts.Records.Delete(v.ctx(), req, c.Argument(0).String(), c.Argument(1).String()); err != nil {
		v.throw(err)
	}
	return goja.Undefined()
}
