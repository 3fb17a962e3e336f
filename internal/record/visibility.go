package record

import (
	"context"
	"sync"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// Field-level visibility. A field's visibleRule is a filter expression that
// reads only @request.* (checked when the collection is saved); Export shows
// the field to a caller only when the caller's request satisfies it, and to
// superusers always. A rule is evaluated at most once per field for one
// request (one response), in memory, whatever the number of records.

// Visibility prepares req for Export: it sets req.Visible to a function
// that evaluates visibleRules for req and remembers the answers. Transports
// call it once per response. Without it, fields with a visibleRule are
// hidden from everyone but superusers.
func (s *Service) Visibility(ctx context.Context, req *Request) {
	if req == nil || req.Visible != nil {
		return
	}
	v := &visibility{ctx: ctx, s: s, req: req, seen: map[string]bool{}}
	req.Visible = v.visible
}

type visibility struct {
	ctx context.Context
	s   *Service
	req *Request

	mu   sync.Mutex
	seen map[string]bool // by collection id and field id
}

func (v *visibility) visible(c *schema.Collection, f *schema.Field) bool {
	if f.VisibleRule == "" || IsSuperuser(v.req) {
		return true
	}
	key := c.ID + "\x00" + f.ID
	v.mu.Lock()
	defer v.mu.Unlock()
	if ok, done := v.seen[key]; done {
		return ok
	}
	// The rule reads only @request.*: match it against an empty record.
	q := &store.Query{Collection: c, Schema: v.s.cols.Lookup, Filters: []string{f.VisibleRule}, Request: v.req}
	ok, err := v.s.store.MatchRecord(v.ctx, q, schema.NewRecord(c))
	ok = ok && err == nil
	v.seen[key] = ok
	return ok
}

// fieldVisible reports whether Export may show f of c to req.
func fieldVisible(req *Request, c *schema.Collection, f *schema.Field) bool {
	if f.VisibleRule == "" || IsSuperuser(req) {
		return true
	}
	return req != nil && req.Visible != nil && req.Visible(c, f)
}

// checkVisibleFields refuses a client filter or sort that reads a field
// whose visibleRule req does not satisfy: its values would leak through
// which records match or how they are ordered.
func checkVisibleFields(req *Request, c *schema.Collection, filterSrc, sortSrc string) error {
	var unseen map[string]bool
	for _, f := range c.Fields {
		if !fieldVisible(req, c, f) {
			if unseen == nil {
				unseen = map[string]bool{}
			}
			unseen[f.Name] = true
		}
	}
	if unseen == nil {
		return nil
	}
	var bad string
	check := func(id *filter.Identifier) {
		if bad == "" && id != nil && id.Len() > 0 && unseen[id.Segment(0)] {
			bad = id.Segment(0)
		}
	}
	if filterSrc != "" {
		if e, err := filter.Parse(filterSrc); err == nil {
			filter.Walk(e, func(cmp *filter.Comparison) bool {
				eachIdentifier(cmp.Left(), check)
				eachIdentifier(cmp.Right(), check)
				return bad == ""
			})
		}
	}
	if sortSrc != "" {
		if fields, err := filter.ParseSort(sortSrc); err == nil {
			for _, sf := range fields {
				check(sf.Field)
			}
		}
	}
	if bad != "" {
		return apperr.New(apperr.Invalid, "Invalid filter or sort: the field "+bad+" is not visible to you.")
	}
	return nil
}

// eachIdentifier calls fn for the identifiers in an operand, function
// arguments included.
func eachIdentifier(op filter.Operand, fn func(*filter.Identifier)) {
	switch x := op.(type) {
	case *filter.Identifier:
		fn(x)
	case *filter.Call:
		for i := 0; i < x.NumArgs(); i++ {
			eachIdentifier(x.Arg(i), fn)
		}
	}
}
