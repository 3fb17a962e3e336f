package postgres

import (
	"context"
	"fmt"
	"strconv"
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

func recordTable(r *schema.Record) (*table, error) {
	if r == nil {
		return nil, apperr.New(apperr.Invalid, "Missing record.")
	}
	tbl, err := tableOf(r.Collection)
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

// uniqueFields returns a function naming the fields of c's unique index or
// primary key called constraint, for formatError.
func uniqueFields(c *schema.Collection, tbl *table) func(string) []string {
	return func(constraint string) []string {
		if constraint == tbl.name+"_pkey" {
			return []string{idColumn}
		}
		indexes, err := parseIndexes(c.Indexes, tbl, c.Name)
		if err != nil {
			return nil
		}
		for _, ix := range indexes {
			if ix.name == constraint {
				names := make([]string, len(ix.cols))
				for i, col := range ix.cols {
					names[i] = col.name
				}
				return names
			}
		}
		return nil
	}
}

// InsertRecord inserts r. Conflict on a duplicate id or a unique index, with
// Data naming the fields involved.
func (t *tx) InsertRecord(ctx context.Context, r *schema.Record) error {
	tbl, err := recordTable(r)
	if err != nil {
		return err
	}
	args, err := recordArgs(tbl, r)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(tbl.quoted)
	b.WriteString(" (")
	b.WriteString(tbl.list)
	b.WriteString(") VALUES (")
	for i := range tbl.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
	}
	b.WriteString(")")
	if _, err := t.exec(ctx, b.String(), args...); err != nil {
		return formatError(ctx, fmt.Errorf("inserting into %s: %w", tbl.name, err), uniqueFields(r.Collection, tbl))
	}
	return nil
}

// UpdateRecord writes every field of r to the row with r's id. NotFound
// when there is no such row; Conflict on a unique index.
func (t *tx) UpdateRecord(ctx context.Context, r *schema.Record) error {
	tbl, err := recordTable(r)
	if err != nil {
		return err
	}
	args, err := recordArgs(tbl, r)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(tbl.quoted)
	b.WriteString(" SET ")
	set := make([]any, 0, len(args))
	for i, c := range tbl.cols {
		if c.kind == kindID {
			continue
		}
		if len(set) > 0 {
			b.WriteString(", ")
		}
		set = append(set, args[i])
		b.WriteString(quote(c.name))
		b.WriteString(" = $" + strconv.Itoa(len(set)))
	}
	if len(set) == 0 {
		// Only an id: nothing to write, but the row must exist.
		return t.exists(ctx, tbl, r.ID())
	}
	set = append(set, r.ID())
	b.WriteString(` WHERE "id" = $` + strconv.Itoa(len(set)))
	tag, err := t.exec(ctx, b.String(), set...)
	if err != nil {
		return formatError(ctx, fmt.Errorf("updating %s: %w", tbl.name, err), uniqueFields(r.Collection, tbl))
	}
	if tag.RowsAffected() == 0 {
		return notFound()
	}
	return nil
}

func (t *tx) exists(ctx context.Context, tbl *table, id string) error {
	var n int64
	err := t.queryRow(ctx, []any{&n}, `SELECT COUNT(*) FROM `+tbl.quoted+` WHERE "id" = $1`, id)
	if err != nil {
		return formatError(ctx, fmt.Errorf("reading %s: %w", tbl.name, err))
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
	tag, err := t.exec(ctx, `DELETE FROM `+quote(c.Name)+` WHERE "id" = $1`, id)
	if err != nil {
		return formatError(ctx, fmt.Errorf("deleting from %s: %w", c.Name, err))
	}
	if tag.RowsAffected() == 0 {
		return notFound()
	}
	return nil
}

// Truncate deletes every record of c. (DELETE rather than TRUNCATE: TRUNCATE
// takes an exclusive lock that would block readers until the commit.)
func (t *tx) Truncate(ctx context.Context, c *schema.Collection) error {
	if c == nil {
		return apperr.New(apperr.Invalid, "Missing collection.")
	}
	if err := checkTableName(c.Name); err != nil {
		return err
	}
	if _, err := t.exec(ctx, `DELETE FROM `+quote(c.Name)); err != nil {
		return formatError(ctx, fmt.Errorf("truncating %s: %w", c.Name, err))
	}
	return nil
}
