package postgres

import (
	"context"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/sqlfilter"
	"github.com/basalt-dev/basalt/internal/store"
)

// maxMatchRows bounds the stored records of one collection that an in-memory
// evaluation may load for relation paths and @collection references. A rule
// that needs more is refused rather than evaluated on a partial view.
const maxMatchRows = 10000

// MatchRecord reports whether rec satisfies every filter of q and its client
// filter, evaluated in memory by sqlfilter's resolver, which reads values the
// way the compiled SQL of FindRecords does (the client filter held to what
// the client may read, and sharing relation joins with the filters). Records
// reached through relations are read from the store, each collection at most
// once per call. Invalid when a filter does not parse, does not fit the
// schema or reads a field it may not, or reads more than maxMatchRows records
// of one collection.
func (r reader) MatchRecord(ctx context.Context, q *store.Query, rec *schema.Record) (bool, error) {
	if q == nil || q.Collection == nil || rec == nil {
		return false, apperr.New(apperr.Invalid, "Missing query or record.")
	}
	var exprs []filter.Expr
	for _, src := range q.Filters {
		if strings.TrimSpace(src) == "" {
			continue
		}
		e, err := r.filters.Parse(src)
		if err != nil {
			return false, invalidFilter("filter", err)
		}
		exprs = append(exprs, e)
	}
	var client filter.Expr
	if strings.TrimSpace(q.ClientFilter) != "" {
		var err error
		if client, err = r.filters.Parse(q.ClientFilter); err != nil {
			return false, invalidFilter("filter", err)
		}
	}
	if len(exprs) == 0 && client == nil {
		return true, nil
	}
	lookup := q.Schema
	if lookup == nil {
		lookup = func(string) *schema.Collection { return nil }
	}
	data := &matchData{ctx: ctx, r: r, loaded: map[string][]*schema.Record{}}
	src := &sqlfilter.Source{
		Collection:  q.Collection,
		Lookup:      lookup,
		Request:     q.Request,
		AllowHidden: isSuperuser(q.Request),
	}
	ok, err := filter.Env{Params: q.Params}.EvalAll(
		filter.Part{Expr: filter.JoinAll(filter.And, exprs...), Resolver: &sqlfilter.MemoryResolver{Source: src, Data: data, Record: rec}},
		filter.Part{Expr: client, Resolver: &sqlfilter.MemoryResolver{Source: src, Data: data, Record: rec, Client: true}},
	)
	if data.err != nil {
		return false, data.err
	}
	if err != nil {
		return false, invalidFilter("filter", err)
	}
	return ok, nil
}

// matchData loads the stored records an in-memory evaluation reaches. The
// resolver's interface has no error result: the first failure is kept in err
// and the evaluation's outcome discarded.
type matchData struct {
	ctx    context.Context
	r      reader
	loaded map[string][]*schema.Record // by collection id
	err    error
}

func (d *matchData) Records(c *schema.Collection) []*schema.Record {
	if list, ok := d.loaded[c.ID]; ok || d.err != nil {
		return list
	}
	list, err := d.r.FindRecords(d.ctx, &store.Query{Collection: c, Limit: maxMatchRows + 1})
	switch {
	case err != nil:
		d.err = err
		list = nil
	case len(list) > maxMatchRows:
		d.err = apperr.New(apperr.Invalid, "The filter reads too many records of "+c.Name+" to be evaluated in memory.")
		list = nil
	}
	d.loaded[c.ID] = list
	return list
}
