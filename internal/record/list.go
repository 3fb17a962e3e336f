package record

import (
	"context"
	"slices"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// List limits.
const (
	DefaultPerPage = 30
	MaxPerPage     = 1000
	MaxFilterLen   = 3500
)

// ListOptions are the query parameters of a list request.
type ListOptions struct {
	Page      int
	PerPage   int
	Sort      string
	Filter    string
	Expand    string
	SkipTotal bool
}

// ListResult is one page of records.
type ListResult struct {
	Page       int
	PerPage    int
	TotalItems int64 // -1 when skipped
	TotalPages int64 // -1 when skipped
	Items      []*Item
}

// Item is a record prepared for a client: its data and the expanded
// relations the client may see.
type Item struct {
	Record *schema.Record
	Expand map[string]any // *Item or []*Item values
	// Memo, set when Record came from the read cache, keeps encodings of
	// Record for transports (see Memo); nil otherwise.
	Memo *Memo
}

// List returns a page of collection's records visible to req.
func (s *Service) List(ctx context.Context, req *Request, collection string, opts ListOptions) (*ListResult, error) {
	c, err := s.Collection(collection)
	if err != nil {
		return nil, err
	}
	filters, err := ruleFilters(c.ListRule, req)
	if err != nil {
		return nil, err
	}
	if err := checkClientExpr(req, opts.Filter, opts.Sort); err != nil {
		return nil, err
	}
	if err := checkVisibleFields(req, c, opts.Filter, opts.Sort); err != nil {
		return nil, err
	}
	if opts.Page < 1 {
		opts.Page = 1
	}
	if opts.PerPage <= 0 {
		opts.PerPage = DefaultPerPage
	}
	if opts.PerPage > MaxPerPage {
		opts.PerPage = MaxPerPage
	}
	// The rule is trusted (it may read hidden fields); the client's filter
	// and sort are not. The store ANDs them into one condition.
	q := s.query(c, req)
	q.Filters, q.ClientFilter, q.Sort = filters, opts.Filter, opts.Sort
	q.Limit, q.Offset = opts.PerPage, (opts.Page-1)*opts.PerPage
	res := &ListResult{Page: opts.Page, PerPage: opts.PerPage, TotalItems: -1, TotalPages: -1}
	// Pages of public lists are the same for every client but superusers
	// (whose filters may use @request): those may come from the cache.
	var page cachedPage
	if s.Cache != nil && !c.System && publicRule(c.ListRule) && !IsSuperuser(req) {
		k := listKey{collection: c.ID, filter: opts.Filter, sort: opts.Sort,
			page: opts.Page, perPage: opts.PerPage, skipTotal: opts.SkipTotal}
		var (
			ok bool
			v  uint64
		)
		if page, ok, v = s.Cache.list(k); !ok {
			if page, err = s.findPage(ctx, q, opts); err != nil {
				return nil, err
			}
			page.memos = make([]*Memo, len(page.records))
			for i := range page.memos {
				page.memos[i] = &Memo{}
			}
			s.Cache.putList(v, k, page)
		}
	} else if page, err = s.findPage(ctx, q, opts); err != nil {
		return nil, err
	}
	if !opts.SkipTotal {
		res.TotalItems = page.total
		res.TotalPages = (page.total + int64(opts.PerPage) - 1) / int64(opts.PerPage)
	}
	res.Items, err = s.items(ctx, req, page.records, page.memos, opts.Expand)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// findPage reads one page of q and, unless opts skip it, the total.
func (s *Service) findPage(ctx context.Context, q *store.Query, opts ListOptions) (cachedPage, error) {
	records, err := s.store.FindRecords(ctx, q)
	if err != nil {
		return cachedPage{}, err
	}
	page := cachedPage{records: records, total: -1}
	if opts.SkipTotal {
		return page, nil
	}
	if n := len(records); n < opts.PerPage && (n > 0 || q.Offset == 0) {
		// A short page is the last one: the total is known without a
		// COUNT. (An empty page past the first may lie beyond the end.)
		page.total = int64(q.Offset + n)
	} else if page.total, err = s.store.CountRecords(ctx, q); err != nil {
		return cachedPage{}, err
	}
	return page, nil
}

// View returns one record visible to req.
func (s *Service) View(ctx context.Context, req *Request, collection, id, expand string) (*Item, error) {
	c, err := s.Collection(collection)
	if err != nil {
		return nil, err
	}
	filters, err := ruleFilters(c.ViewRule, req)
	if err != nil {
		return nil, err
	}
	q := s.query(c, req)
	q.Filters = filters
	var (
		r    *schema.Record
		memo []*Memo
	)
	// Without a rule condition (public, or a superuser) the record is the
	// same for every caller: it may come from the cache. System collections
	// (superusers, OTPs, …) are not cached: the CLI writes some of them from
	// another process.
	if s.Cache != nil && !c.System && len(filters) == 0 {
		cv, v := s.Cache.view(c.ID, id)
		if r = cv.record; r == nil {
			if r, err = findOne(ctx, s.store, q, id); err != nil {
				return nil, err
			}
			cv = cachedView{record: r, memo: &Memo{}}
			s.Cache.putView(v, c.ID, cv)
		}
		memo = []*Memo{cv.memo}
	} else if r, err = findOne(ctx, s.store, q, id); err != nil {
		return nil, err
	}
	items, err := s.items(ctx, req, []*schema.Record{r}, memo, expand)
	if err != nil {
		return nil, err
	}
	return items[0], nil
}

// items prepares records for req; memos, when not nil, holds the Memo of
// each record (cached records).
func (s *Service) items(ctx context.Context, req *Request, records []*schema.Record, memos []*Memo, expand string) ([]*Item, error) {
	items := make([]*Item, len(records))
	for i, r := range records {
		items[i] = &Item{Record: r}
		if memos != nil {
			items[i].Memo = memos[i]
		}
	}
	if strings.TrimSpace(expand) == "" || len(items) == 0 {
		return items, nil
	}
	if err := s.expand(ctx, req, items, expand); err != nil {
		return nil, err
	}
	return items, nil
}

// checkClientExpr refuses @collection and @request references in a client's
// filter or sort unless the client is a superuser, and over-long filters.
func checkClientExpr(req *Request, filter, sort string) error {
	if len(filter) > MaxFilterLen {
		return apperr.New(apperr.Invalid, "The filter expression is too long.")
	}
	if IsSuperuser(req) {
		return nil
	}
	for _, expr := range []string{filter, sort} {
		for _, prefix := range []string{"@collection.", "@request."} {
			if containsUnquoted(expr, prefix) {
				return apperr.New(apperr.Forbidden, "Only superusers can filter by "+strings.TrimSuffix(prefix, ".")+" fields.")
			}
		}
	}
	return nil
}

// containsUnquoted reports whether needle occurs in s outside quoted text.
func containsUnquoted(s, needle string) bool {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case strings.HasPrefix(s[i:], needle):
			return true
		}
	}
	return false
}

// FileOwner returns the record of collection with the given id whose file
// field holds name, and that field, or NotFound. Files of unprotected fields
// are public (their URL carries an unguessable name); files of protected
// fields require req to pass the collection's view rule.
func (s *Service) FileOwner(ctx context.Context, req *Request, collection, id, name string) (*schema.Record, *schema.Field, error) {
	req = guest(req)
	c, err := s.Collection(collection)
	if err != nil {
		return nil, nil, err
	}
	super := &Request{Auth: superuserRecord()}
	r, err := findOne(ctx, s.store, s.query(c, super), id)
	if err != nil {
		return nil, nil, err
	}
	for _, f := range c.Fields {
		if f.Type != schema.TypeFile || !slices.Contains(schema.AsStrings(r.Data[f.Name]), name) {
			continue
		}
		if f.Protected {
			filters, err := ruleFilters(c.ViewRule, req)
			if err != nil {
				return nil, nil, notFound()
			}
			sub := *req
			sub.Context = "protectedFile"
			q := s.query(c, &sub)
			q.Filters = filters
			if _, err := findOne(ctx, s.store, q, id); err != nil {
				return nil, nil, err
			}
		}
		return r, f, nil
	}
	return nil, nil, notFound()
}
