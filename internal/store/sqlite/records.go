package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

func notFound() error {
	return apperr.New(apperr.NotFound, "The requested resource wasn't found.")
}

// recordArgs returns r's values in column order, with the zero value for
// fields r has no entry for.
func recordArgs(tbl *table, r *schema.Record) ([]any, error) {
	args := make([]any, len(tbl.cols))
	for i, c := range tbl.cols {
		v, ok := r.Data[c.name]
		if !ok {
			v = c.field.Zero()
		}
		a, err := c.bind(v)
		if err != nil {
			return nil, err
		}
		args[i] = a
	}
	return args, nil
}

// recordTable returns the layout of r's collection (from tables, which may
// be nil) and checks that r has an id.
func recordTable(tables *tableCache, r *schema.Record) (*table, error) {
	if r == nil {
		return nil, apperr.New(apperr.Invalid, "Missing record.")
	}
	tbl, err := tables.tableOf(r.Collection)
	if err != nil {
		return nil, err
	}
	if r.ID() == "" {
		return nil, apperr.Fields("Failed to store the record.", map[string]apperr.Field{
			idColumn: {Code: "validation_required", Message: "Cannot be blank."},
		})
	}
	return tbl, nil
}

// InsertRecord inserts r. Conflict on a duplicate id or a unique index, with
// Data naming the columns involved.
func (t *tx) InsertRecord(ctx context.Context, r *schema.Record) error {
	tbl, err := recordTable(t.tables, r)
	if err != nil {
		return err
	}
	args, err := recordArgs(tbl, r)
	if err != nil {
		return err
	}
	if _, err := t.conn.execRow(ctx, tbl.insert, args...); err != nil {
		return formatError(ctx, fmt.Errorf("inserting into %s: %w", tbl.name, err))
	}
	return nil
}

// UpdateRecord writes every field of r to the row with r's id. NotFound
// when there is no such row; Conflict on a unique index.
func (t *tx) UpdateRecord(ctx context.Context, r *schema.Record) error {
	tbl, err := recordTable(t.tables, r)
	if err != nil {
		return err
	}
	args, err := recordArgs(tbl, r)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(quote(tbl.name))
	b.WriteString(" SET ")
	set := make([]any, 0, len(args))
	for i, c := range tbl.cols {
		if c.kind == kindID {
			continue
		}
		if len(set) > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.name))
		b.WriteString(" = ?")
		set = append(set, args[i])
	}
	if len(set) == 0 {
		// Only an id: nothing to write, but the row must exist.
		return t.exists(ctx, tbl, r.ID())
	}
	b.WriteString(` WHERE "id" = ?`)
	set = append(set, r.ID())
	res, err := t.conn.execRow(ctx, b.String(), set...)
	if err != nil {
		return formatError(ctx, fmt.Errorf("updating %s: %w", tbl.name, err))
	}
	return affectedOne(ctx, res)
}

func (t *tx) exists(ctx context.Context, tbl *table, id string) error {
	var n int
	err := t.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quote(tbl.name)+` WHERE "id" = ?`, id).Scan(&n)
	if err != nil {
		return formatError(ctx, fmt.Errorf("reading %s: %w", tbl.name, err))
	}
	if n == 0 {
		return notFound()
	}
	return nil
}

type rowsAffecter interface{ RowsAffected() (int64, error) }

func affectedOne(ctx context.Context, res rowsAffecter) error {
	n, err := res.RowsAffected()
	if err != nil {
		return formatError(ctx, err)
	}
	if n == 0 {
		return notFound()
	}
	return nil
}

// DeleteRecord deletes the row of c with the given id. NotFound when there
// is no such row.
func (t *tx) DeleteRecord(ctx context.Context, c *schema.Collection, id string) error {
	if c == nil {
		return apperr.New(apperr.Invalid, "Missing collection.")
	}
	if err := checkTableName(c.Name); err != nil {
		return err
	}
	res, err := t.conn.execRow(ctx, `DELETE FROM `+quote(c.Name)+` WHERE "id" = ?`, id)
	if err != nil {
		return formatError(ctx, fmt.Errorf("deleting from %s: %w", c.Name, err))
	}
	return affectedOne(ctx, res)
}

// Truncate deletes every record of c.
func (t *tx) Truncate(ctx context.Context, c *schema.Collection) error {
	if c == nil {
		return apperr.New(apperr.Invalid, "Missing collection.")
	}
	if err := checkTableName(c.Name); err != nil {
		return err
	}
	if _, err := t.conn.ExecContext(ctx, `DELETE FROM `+quote(c.Name)); err != nil {
		return formatError(ctx, fmt.Errorf("truncating %s: %w", c.Name, err))
	}
	return nil
}
