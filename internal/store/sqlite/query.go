package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/sqlfilter"
	"github.com/basalt-dev/basalt/internal/store"
)

// selectQuery is a compiled store.Query: the parts of a SELECT over one
// collection table. Placeholders are numbered (?1, ?2, ...), in args order.
type selectQuery struct {
	tbl   *table
	where []string // conditions, ANDed
	args  []any
	order string // ORDER BY list without the keyword
	none  bool   // the query matches nothing (an empty id list)
	// sorted: the client asked for an order by fields, which SQLite may
	// have to sort (FindRecords then looks the page's rows up late).
	sorted bool
}

// filterCacheSize bounds the parsed filters a store remembers.
const filterCacheSize = 1024

// compile validates q and turns its filters, ids and (when withSort is set;
// counts ignore it) sort into SQL. Filters and sort go through the shared
// filter language and its SQL compiler (sqlfilter): q.Filters as trusted
// conditions, q.ClientFilter and q.Sort as client input that reads hidden
// fields and private emails only for a superuser. A filter or sort that does
// not parse, does not fit the schema or reads a field it may not is Invalid.
func (r reader) compile(q *store.Query, withSort bool) (*selectQuery, error) {
	if q == nil {
		return nil, apperr.New(apperr.Invalid, "Missing query.")
	}
	tbl, err := r.tables.tableOf(q.Collection)
	if err != nil {
		return nil, err
	}
	sq := &selectQuery{tbl: tbl}
	if q.IDs != nil && len(q.IDs) == 0 {
		sq.none = true
		return sq, nil
	}

	var in sqlfilter.Input
	var trusted []filter.Expr
	for _, src := range q.Filters {
		if strings.TrimSpace(src) == "" {
			continue
		}
		e, err := r.filters.Parse(src)
		if err != nil {
			return nil, invalidFilter("filter", err)
		}
		trusted = append(trusted, e)
	}
	in.Trusted = filter.JoinAll(filter.And, trusted...)
	if strings.TrimSpace(q.ClientFilter) != "" {
		if in.Client, err = r.filters.Parse(q.ClientFilter); err != nil {
			return nil, invalidFilter("filter", err)
		}
	}
	if withSort && strings.TrimSpace(q.Sort) != "" {
		if in.Sort, err = filter.ParseSort(q.Sort); err != nil {
			return nil, invalidFilter("sort", err)
		}
	}
	// Without a condition or a sort there is nothing to compile (a record
	// by id, a plain page).
	cq := &sqlfilter.Query{}
	if in.Trusted != nil || in.Client != nil || len(in.Sort) > 0 {
		lookup := q.Schema
		if lookup == nil {
			lookup = func(string) *schema.Collection { return nil }
		}
		src := &sqlfilter.Source{
			Collection:  q.Collection,
			Lookup:      lookup,
			Request:     q.Request,
			AllowHidden: isSuperuser(q.Request),
		}
		opts := sqlfilter.Options{Table: tbl.quoted, Env: filter.Env{Params: q.Params}}
		if cq, err = sqlfilter.Compile(sqlfilter.SQLite{}, src, opts, in); err != nil {
			return nil, invalidFilter("filter or sort", err)
		}
	}
	if cq.Where != "" {
		sq.where = append(sq.where, cq.Where)
	}
	sq.args = cq.Args

	if len(q.IDs) == 1 {
		sq.where = append(sq.where, tbl.quoted+`."id" = `+sq.arg(q.IDs[0]))
	} else if q.IDs != nil {
		// One JSON parameter instead of one per id: no limit on the list
		// length and one statement text for every length.
		ids, err := json.Marshal(q.IDs)
		if err != nil {
			return nil, internalf("encoding ids: %w", err)
		}
		sq.where = append(sq.where, tbl.quoted+`."id" IN (SELECT "value" FROM json_each(`+sq.arg(string(ids))+`))`)
	}
	if withSort {
		sq.order = withTiebreak(tbl, cq.OrderBy, in.Sort)
		sq.sorted = len(in.Sort) > 0 && len(q.IDs) != 1
		for _, f := range in.Sort {
			if f.Special != "" {
				sq.sorted = false // @random: nothing to sort twice; @rowid: no sorter
			}
		}
	}
	return sq, nil
}

// arg binds v and returns its placeholder.
func (sq *selectQuery) arg(v any) string {
	sq.args = append(sq.args, v)
	return "?" + strconv.Itoa(len(sq.args))
}

// withTiebreak completes an ORDER BY list so that rows that tie are ordered
// by row id, in the direction of the last sort key; pages of a sorted list
// then never overlap. No sort means storage (row id) order.
func withTiebreak(tbl *table, order string, sort []filter.SortField) string {
	rowid := tbl.quoted + "._rowid_"
	if len(sort) == 0 {
		return rowid
	}
	last := sort[len(sort)-1]
	for _, f := range sort {
		if f.Special != "" {
			return order // @rowid is unique already; @random has no ties to break
		}
	}
	if last.Desc {
		return order + ", " + rowid + " DESC"
	}
	return order + ", " + rowid
}

// isSuperuser reports whether the request is made by a superuser, whose
// filter and sort may read hidden fields and private emails.
func isSuperuser(req *store.Request) bool {
	return req != nil && req.Auth != nil && req.Auth.Collection != nil &&
		req.Auth.Collection.ID == schema.SuperusersID
}

// invalidFilter reports a filter or sort that cannot be used.
func invalidFilter(what string, err error) error {
	var fe *filter.Error
	var ce *sqlfilter.Error
	if errors.As(err, &fe) || errors.As(err, &ce) {
		return apperr.Wrap(apperr.Invalid, "Invalid "+what+": "+err.Error()+".", err)
	}
	return apperr.Wrap(apperr.Invalid, "Invalid "+what+".", err)
}

// whereSQL returns " WHERE ..." or "".
func (sq *selectQuery) whereSQL() string {
	if len(sq.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(sq.where, " AND ")
}

// FindRecords returns the records of q.Collection that match q, with every
// field at its canonical value. Invalid when a filter or the sort does not
// parse or does not fit the schema; NotFound when the table does not exist.
func (r reader) FindRecords(ctx context.Context, q *store.Query) ([]*schema.Record, error) {
	sq, err := r.compile(q, true)
	if err != nil {
		return nil, err
	}
	if sq.none {
		return []*schema.Record{}, nil
	}
	query := "SELECT " + sq.tbl.list + " FROM " + sq.tbl.quoted + sq.whereSQL() + " ORDER BY " + sq.order
	limit, offset := max(q.Limit, 0), max(q.Offset, 0)
	if limit > 0 || offset > 0 {
		if limit == 0 {
			limit = -1 // SQLite's "no limit"
		}
		// The limit is SQL text, not a parameter: SQLite marks a statement
		// with a bound LIMIT for a full re-prepare on every run (it plans
		// with the value), which would cost more than the cached statement
		// saves. Limits take few distinct values (page sizes); the offset
		// stays a parameter.
		page := " LIMIT " + strconv.Itoa(limit) + " OFFSET " + sq.arg(offset)
		if limit > 0 && sq.sorted {
			// Late row lookup: when SQLite sorts the matches itself (no
			// index gives the order), its sorter otherwise carries every
			// column of every match. Sorting only the keys and row ids and
			// then reading the page's rows by id costs much less per match.
			// Placeholders are numbered, so the order may appear twice.
			query = "SELECT " + sq.tbl.list + " FROM " + sq.tbl.quoted + " WHERE " + sq.tbl.quoted + "._rowid_ IN (SELECT " +
				sq.tbl.quoted + "._rowid_ FROM " + sq.tbl.quoted + sq.whereSQL() + " ORDER BY " + sq.order + page +
				") ORDER BY " + sq.order
		} else {
			query += page
		}
	}
	rows, err := r.q.QueryContext(ctx, query, sq.args...)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("querying %s: %w", sq.tbl.name, err))
	}
	defer rows.Close()

	out := []*schema.Record{}
	vals := make([]any, len(sq.tbl.cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading %s: %w", sq.tbl.name, err))
		}
		rec := &schema.Record{Collection: q.Collection, Data: make(map[string]any, len(vals))}
		for i, c := range sq.tbl.cols {
			v, err := c.scan(vals[i])
			if err != nil {
				return nil, err
			}
			rec.Data[c.name] = v
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading %s: %w", sq.tbl.name, err))
	}
	return out, nil
}

// CountRecords returns how many records match q, ignoring its sort, limit
// and offset (a COUNT(*) over the same conditions). Errors as FindRecords.
func (r reader) CountRecords(ctx context.Context, q *store.Query) (int64, error) {
	sq, err := r.compile(q, false)
	if err != nil {
		return 0, err
	}
	if sq.none {
		return 0, nil
	}
	var n int64
	err = r.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+sq.tbl.quoted+sq.whereSQL(), sq.args...).Scan(&n)
	if err != nil {
		return 0, formatError(ctx, fmt.Errorf("counting %s: %w", sq.tbl.name, err))
	}
	return n, nil
}
