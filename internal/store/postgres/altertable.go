package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// migration is the plan for turning a collection's table into its next shape.
type migration struct {
	from, to *table
	// source[i] is the old column that to.cols[i] takes its data from, or
	// nil for a new column.
	source []*column
	// dropped are old columns no new column takes data from.
	dropped []column
}

// UpdateCollection stores next in place of the stored collection with
// prev's id and migrates its table in the caller's transaction: fields are
// matched by id; matched fields keep their data (renamed if needed), new
// fields are added with their defaults, missing ones dropped; a field that
// switches between one value and many is converted in place (ALTER COLUMN
// TYPE … USING, which keeps every row and its insertion order); indexes
// are recreated unless unchanged.
//
// Errors: NotFound when no collection with prev's id is stored; Conflict
// when next's name is taken or a new unique index meets repeated values;
// Invalid when next cannot be stored (bad names or indexes, a changed id, an
// unsupported type change) or a conversion would lose data (a multi-value
// field with records holding several values cannot become single-value). On
// error nothing has changed.
func (t *tx) UpdateCollection(ctx context.Context, prev, next *schema.Collection) error {
	if prev == nil || next == nil {
		return apperr.New(apperr.Invalid, "Missing collection.")
	}
	if next.ID != prev.ID {
		return apperr.New(apperr.Invalid, "The collection id cannot be changed.")
	}
	// The stored definition, not prev, describes the table as it is.
	stored, err := t.collectionByID(ctx, prev.ID)
	if err != nil {
		return err
	}
	from, err := tableOf(stored)
	if err != nil {
		return internalf("stored collection %s: %w", stored.ID, err)
	}
	to, err := tableOf(next)
	if err != nil {
		return err
	}
	indexes, err := parseIndexes(next.Indexes, to, next.Name, stored.Name)
	if err != nil {
		return err
	}
	if err := t.checkUnique(ctx, next, false); err != nil {
		return err
	}
	m, err := planMigration(from, to)
	if err != nil {
		return err
	}
	data, err := json.Marshal(next)
	if err != nil {
		return internalf("encoding collection %s: %w", next.Name, err)
	}
	return t.savepoint(ctx, func() error {
		if err := t.checkConversions(ctx, m); err != nil {
			return err
		}
		existing, err := t.existingIndexes(ctx, from.name)
		if err != nil {
			return err
		}
		// An index whose SQL does not change is kept, unless the columns
		// change under it: then every index is dropped and built again.
		keep := map[string]bool{}
		if !m.structural() {
			for _, ix := range indexes {
				if existing[ix.name] == ix.sql(to.name) {
					keep[ix.name] = true
				}
			}
		}
		var drop []string
		for name := range existing {
			if !keep[name] {
				drop = append(drop, name)
			}
		}
		if err := t.dropIndexes(ctx, drop); err != nil {
			return err
		}
		var create []*index
		for _, ix := range indexes {
			if !keep[ix.name] {
				create = append(create, ix)
			}
		}
		if err := t.alterTable(ctx, m); err != nil {
			return err
		}
		if err := t.createIndexes(ctx, to.name, create); err != nil {
			return err
		}
		_, err = t.tx.Exec(ctx, `UPDATE "_collections" SET "name" = $1, "type" = $2, "system" = $3, "data" = $4, "created" = $5, "updated" = $6 WHERE "id" = $7`,
			next.Name, next.Type, next.System, string(data), next.Created, next.Updated, next.ID)
		if err != nil {
			return formatError(ctx, fmt.Errorf("storing collection %s: %w", next.Name, err))
		}
		return nil
	})
}

// structural reports whether the migration changes the table or its
// columns (anything but adding columns), so that indexes must be rebuilt.
func (m *migration) structural() bool {
	if len(m.dropped) > 0 || m.from.name != m.to.name {
		return true
	}
	for i, nc := range m.to.cols {
		if oc := m.source[i]; oc != nil && (oc.name != nc.name || oc.kind != nc.kind) {
			return true
		}
	}
	return false
}

// planMigration matches the columns of from and to by field id (by name for
// fields without an id) and decides how each one changes.
func planMigration(from, to *table) (*migration, error) {
	m := &migration{from: from, to: to, source: make([]*column, len(to.cols))}
	used := make(map[int]bool, len(from.cols))
	ids := make(map[string]bool, len(to.cols))
	for i, nc := range to.cols {
		id := nc.field.ID
		if id != "" {
			if ids[id] {
				return nil, apperr.New(apperr.Invalid, "Duplicate field id "+quoteMessage(id)+".")
			}
			ids[id] = true
		}
		for j := range from.cols {
			oc := &from.cols[j]
			if used[j] {
				continue
			}
			if (id != "" && oc.field.ID == id) || (id == "" && oc.field.ID == "" && oc.name == nc.name) {
				used[j] = true
				m.source[i] = oc
				break
			}
		}
		oc := m.source[i]
		if oc == nil {
			if nc.kind == kindID {
				return nil, apperr.New(apperr.Invalid, `The "id" field cannot be replaced.`)
			}
			continue
		}
		if (oc.kind == kindID) != (nc.kind == kindID) {
			return nil, apperr.New(apperr.Invalid, `The "id" field cannot be renamed or replaced.`)
		}
		if oc.kind == nc.kind {
			continue
		}
		if isListType(oc.field.Type) && isListType(nc.field.Type) &&
			(oc.kind == kindText || oc.kind == kindMulti) && (nc.kind == kindText || nc.kind == kindMulti) {
			continue // converted by alterTable
		}
		return nil, apperr.New(apperr.Invalid, fmt.Sprintf("Cannot change the type of field %s from %s to %s.",
			quoteMessage(nc.name), oc.field.Type, nc.field.Type))
	}
	for j, oc := range from.cols {
		if !used[j] {
			m.dropped = append(m.dropped, oc)
		}
	}
	return m, nil
}

// isListType reports field types that hold one value or a list of them.
func isListType(typ string) bool {
	return typ == schema.TypeSelect || typ == schema.TypeRelation || typ == schema.TypeFile
}

// checkConversions refuses to turn a multi-value field into a single-value
// one while any record holds more than one value: that would drop data.
func (t *tx) checkConversions(ctx context.Context, m *migration) error {
	for i, nc := range m.to.cols {
		oc := m.source[i]
		if oc == nil || oc.kind != kindMulti || nc.kind != kindText {
			continue
		}
		col := quote(oc.name)
		var n int64
		err := t.tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+quote(m.from.name)+` WHERE jsonb_typeof(`+col+`) = 'array' AND jsonb_array_length(`+col+`) > 1`).Scan(&n)
		if err != nil {
			return formatError(ctx, fmt.Errorf("checking values of %s: %w", oc.name, err))
		}
		if n > 0 {
			return apperr.New(apperr.Invalid, fmt.Sprintf(
				"Cannot change field %s to a single value: %d record(s) hold more than one value. Remove the extra values first or keep maxSelect above 1.",
				quoteMessage(nc.name), n))
		}
	}
	return nil
}

// alterTable migrates with ALTER TABLE statements: PostgreSQL renames and
// drops without rewriting rows, adds columns with constant defaults without
// rewriting them either, and converts a column's type in place.
func (t *tx) alterTable(ctx context.Context, m *migration) error {
	exec := func(what, stmt string) error {
		if _, err := t.tx.Exec(ctx, stmt); err != nil {
			return formatError(ctx, fmt.Errorf("%s: %w", what, err))
		}
		return nil
	}
	name := m.from.name
	if name != m.to.name {
		// Quoted names are case-sensitive: a change of case is a plain rename.
		if err := exec("renaming table", "ALTER TABLE "+quote(name)+" RENAME TO "+quote(m.to.name)); err != nil {
			return err
		}
		name = m.to.name
	}
	tbl := quote(name)
	for _, oc := range m.dropped {
		if err := exec("dropping column "+oc.name, "ALTER TABLE "+tbl+" DROP COLUMN "+quote(oc.name)); err != nil {
			return err
		}
	}
	// Renames go through temporary names so that swaps never meet an
	// existing column.
	type rename struct{ tmp, to string }
	var renames []rename
	taken := make(map[string]bool, len(m.from.cols)+len(m.to.cols))
	for _, c := range append(append([]column(nil), m.from.cols...), m.to.cols...) {
		taken[c.name] = true
	}
	seq := 0
	for i, nc := range m.to.cols {
		oc := m.source[i]
		if oc == nil || oc.name == nc.name {
			continue
		}
		r := rename{to: nc.name}
		for r.tmp == "" || taken[r.tmp] {
			r.tmp = fmt.Sprintf("_basalt_col_%d", seq)
			seq++
		}
		if err := exec("renaming column "+oc.name, "ALTER TABLE "+tbl+" RENAME COLUMN "+quote(oc.name)+" TO "+quote(r.tmp)); err != nil {
			return err
		}
		renames = append(renames, r)
	}
	for _, r := range renames {
		if err := exec("renaming column "+r.to, "ALTER TABLE "+tbl+" RENAME COLUMN "+quote(r.tmp)+" TO "+quote(r.to)); err != nil {
			return err
		}
	}
	for i, nc := range m.to.cols {
		oc := m.source[i]
		if oc == nil || oc.kind == nc.kind {
			continue
		}
		if err := exec("converting column "+nc.name, "ALTER TABLE "+tbl+" "+convertSQL(nc)); err != nil {
			return err
		}
	}
	for i, nc := range m.to.cols {
		if m.source[i] != nil {
			continue
		}
		if err := exec("adding column "+nc.name, "ALTER TABLE "+tbl+" ADD COLUMN "+nc.definition()); err != nil {
			return err
		}
	}
	return nil
}

// convertSQL returns the ALTER TABLE actions that turn the column named
// nc.name between one value (text) and many (a JSONB array of strings).
// checkConversions made sure no array being unwrapped has more than one
// element.
func convertSQL(nc column) string {
	col := quote(nc.name)
	if nc.kind == kindMulti {
		return "ALTER COLUMN " + col + " DROP DEFAULT, ALTER COLUMN " + col + " TYPE JSONB USING (CASE WHEN " + col +
			" = '' THEN '[]'::jsonb ELSE jsonb_build_array(" + col + ") END), ALTER COLUMN " + col + " SET DEFAULT '[]'::jsonb"
	}
	return "ALTER COLUMN " + col + " DROP DEFAULT, ALTER COLUMN " + col + ` TYPE TEXT COLLATE "C" USING (CASE WHEN jsonb_typeof(` + col +
		") = 'array' THEN COALESCE(" + col + " ->> 0, '') WHEN jsonb_typeof(" + col + ") = 'string' THEN " + col + " #>> '{}' ELSE '' END), ALTER COLUMN " + col + " SET DEFAULT ''"
}
