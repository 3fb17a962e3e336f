package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// selectQuery is a compiled store.Query: the parts of a SELECT over one
// collection table.
type selectQuery struct {
	tbl   *table
	where []string // conditions, ANDed
	args  []any
	order string // ORDER BY list without the keyword
	none  bool   // the query matches nothing (an empty id list)
}

// compile validates q and turns its ids and filters into SQL. The sort is
// compiled only when withSort is set (counts ignore it).
func compile(q *store.Query, withSort bool) (*selectQuery, error) {
	if q == nil {
		return nil, apperr.New(apperr.Invalid, "Missing query.")
	}
	tbl, err := tableOf(q.Collection)
	if err != nil {
		return nil, err
	}
	sq := &selectQuery{tbl: tbl}
	if q.IDs != nil {
		if len(q.IDs) == 0 {
			sq.none = true
			return sq, nil
		}
		// One JSON parameter instead of one per id: no limit on the list
		// length and one statement text for every length.
		ids, err := json.Marshal(q.IDs)
		if err != nil {
			return nil, internalf("encoding ids: %w", err)
		}
		sq.where = append(sq.where, `"id" IN (SELECT "value" FROM json_each(?))`)
		sq.args = append(sq.args, string(ids))
	}
	if err := sq.addFilters(q); err != nil {
		return nil, err
	}
	if withSort {
		if sq.order, err = sortClause(tbl, q.Sort); err != nil {
			return nil, err
		}
	}
	return sq, nil
}

// addFilters compiles q's filter expressions into conditions.
func (sq *selectQuery) addFilters(q *store.Query) error {
	for _, f := range q.Filters {
		if strings.TrimSpace(f) == "" {
			continue
		}
		return apperr.New(apperr.Invalid, "Filters are not supported by this storage engine yet.")
	}
	return nil
}

// sortClause compiles a sort expression such as "-created,title" into an
// ORDER BY list. Terms are field names with an optional - (descending) or +
// prefix, or @rowid and @random. Rows that tie are ordered by row id, in the
// direction of the last term, so that pages never overlap.
func sortClause(tbl *table, sort string) (string, error) {
	var terms []string
	desc := false
	tiebreak := true
	for _, raw := range strings.Split(sort, ",") {
		term := strings.TrimSpace(raw)
		if term == "" {
			continue
		}
		desc = false
		switch term[0] {
		case '-':
			desc = true
			term = term[1:]
		case '+':
			term = term[1:]
		}
		var expr string
		switch term {
		case "@rowid":
			expr = "rowid"
			tiebreak = false
		case "@random":
			expr = "random()"
			tiebreak = false
		default:
			c := tbl.column(term)
			if c == nil {
				return "", apperr.New(apperr.Invalid, "Invalid sort field "+quoteMessage(term)+".")
			}
			expr = quote(c.name)
		}
		if desc {
			expr += " DESC"
		}
		terms = append(terms, expr)
	}
	if tiebreak {
		if desc {
			terms = append(terms, "rowid DESC")
		} else {
			terms = append(terms, "rowid")
		}
	}
	return strings.Join(terms, ", "), nil
}

// whereSQL returns " WHERE ..." or "".
func (sq *selectQuery) whereSQL() string {
	if len(sq.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(sq.where, " AND ")
}

// FindRecords returns the records of q.Collection that match q.
func (r reader) FindRecords(ctx context.Context, q *store.Query) ([]*schema.Record, error) {
	sq, err := compile(q, true)
	if err != nil {
		return nil, err
	}
	if sq.none {
		return []*schema.Record{}, nil
	}
	query := "SELECT " + sq.tbl.selectList() + " FROM " + quote(sq.tbl.name) + sq.whereSQL() + " ORDER BY " + sq.order
	args := sq.args
	limit, offset := max(q.Limit, 0), max(q.Offset, 0)
	if limit > 0 || offset > 0 {
		if limit == 0 {
			limit = -1 // SQLite's "no limit"
		}
		query += " LIMIT ? OFFSET ?"
		args = append(args[:len(args):len(args)], limit, offset)
	}
	rows, err := r.q.QueryContext(ctx, query, args...)
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
// and offset.
func (r reader) CountRecords(ctx context.Context, q *store.Query) (int64, error) {
	sq, err := compile(q, false)
	if err != nil {
		return 0, err
	}
	if sq.none {
		return 0, nil
	}
	var n int64
	err = r.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+quote(sq.tbl.name)+sq.whereSQL(), sq.args...).Scan(&n)
	if err != nil {
		return 0, formatError(ctx, fmt.Errorf("counting %s: %w", sq.tbl.name, err))
	}
	return n, nil
}
