package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
	// rebuild is set when some column changes in a way ALTER TABLE cannot
	// express (single <-> multi value), so the table is copied.
	rebuild bool
}

// UpdateCollection stores next in place of the stored collection with
// prev's id and migrates its table in the caller's transaction: fields are
// matched by id; matched fields keep their data (renamed if needed), new
// fields are added with their defaults, missing ones dropped; a field that
// switches between one value and many is converted; indexes are recreated.
//
// Errors: NotFound when no collection with prev's id is stored; Conflict
// when next's name is taken; Invalid when next cannot be stored (bad names
// or indexes, a changed id, an unsupported type change) or a conversion
// would lose data (a multi-value field with records holding several values
// cannot become single-value). On error nothing has changed.
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
	if err := t.checkConversions(ctx, m); err != nil {
		return err
	}
	data, err := json.Marshal(next)
	if err != nil {
		return internalf("encoding collection %s: %w", next.Name, err)
	}
	return t.savepoint(ctx, func() error {
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
		if m.rebuild {
			err = t.rebuildTable(ctx, m)
		} else {
			err = t.alterTable(ctx, m)
		}
		if err != nil {
			return err
		}
		if err := t.createIndexes(ctx, to.name, create); err != nil {
			return err
		}
		_, err = t.conn.ExecContext(ctx, `UPDATE "_collections" SET "name" = ?, "type" = ?, "system" = ?, "data" = ?, "created" = ?, "updated" = ? WHERE "id" = ?`,
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
	if m.rebuild || len(m.dropped) > 0 || m.from.name != m.to.name {
		return true
	}
	for i, nc := range m.to.cols {
		if oc := m.source[i]; oc != nil && oc.name != nc.name {
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
			m.rebuild = true
			continue
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
		err := t.conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+quote(m.from.name)+` WHERE json_valid(`+col+`) AND json_type(`+col+`) = 'array' AND json_array_length(`+col+`) > 1`).Scan(&n)
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

// alterTable migrates with ALTER TABLE statements, which change only the
// schema (adding and renaming do not rewrite rows).
func (t *tx) alterTable(ctx context.Context, m *migration) error {
	exec := func(what, stmt string) error {
		if _, err := t.conn.ExecContext(ctx, stmt); err != nil {
			return formatError(ctx, fmt.Errorf("%s: %w", what, err))
		}
		return nil
	}
	name := m.from.name
	if name != m.to.name {
		if sameName(name, m.to.name) {
			// A change of case only: SQLite sees the same name, so go through
			// a temporary one.
			tmp := tempName("_basalt_rename_", m.to.name)
			if err := exec("renaming table", "ALTER TABLE "+quote(name)+" RENAME TO "+quote(tmp)); err != nil {
				return err
			}
			name = tmp
		}
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
	// Renames go through temporary names so that swaps and changes of case
	// never meet an existing column.
	type rename struct{ tmp, to string }
	var renames []rename
	taken := make(map[string]bool, len(m.from.cols)+len(m.to.cols))
	for _, c := range append(append([]column(nil), m.from.cols...), m.to.cols...) {
		taken[strings.ToLower(c.name)] = true
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
		if m.source[i] != nil {
			continue
		}
		if err := exec("adding column "+nc.name, "ALTER TABLE "+tbl+" ADD COLUMN "+nc.definition()); err != nil {
			return err
		}
	}
	return nil
}

// rebuildTable migrates by SQLite's "create new table, copy, drop, rename"
// procedure, converting values on the way. Row ids are kept so that storage
// order does not change.
func (t *tx) rebuildTable(ctx context.Context, m *migration) error {
	tmp := tempName("_basalt_new_", m.to.name)
	if _, err := t.conn.ExecContext(ctx, m.to.createSQL(tmp)); err != nil {
		return formatError(ctx, fmt.Errorf("creating table %s: %w", tmp, err))
	}
	cols := []string{"rowid"}
	exprs := []string{"rowid"}
	for i, nc := range m.to.cols {
		oc := m.source[i]
		if oc == nil {
			continue // takes its default
		}
		cols = append(cols, quote(nc.name))
		exprs = append(exprs, convertExpr(*oc, nc))
	}
	copySQL := "INSERT INTO " + quote(tmp) + " (" + strings.Join(cols, ", ") + ") SELECT " +
		strings.Join(exprs, ", ") + " FROM " + quote(m.from.name)
	if _, err := t.conn.ExecContext(ctx, copySQL); err != nil {
		return formatError(ctx, fmt.Errorf("copying %s: %w", m.from.name, err))
	}
	if _, err := t.conn.ExecContext(ctx, "DROP TABLE "+quote(m.from.name)); err != nil {
		return formatError(ctx, fmt.Errorf("dropping %s: %w", m.from.name, err))
	}
	if _, err := t.conn.ExecContext(ctx, "ALTER TABLE "+quote(tmp)+" RENAME TO "+quote(m.to.name)); err != nil {
		return formatError(ctx, fmt.Errorf("renaming %s: %w", tmp, err))
	}
	return nil
}

// convertExpr returns the SQL expression that reads oc's value as nc's.
func convertExpr(oc, nc column) string {
	col := quote(oc.name)
	switch {
	case oc.kind == kindText && nc.kind == kindMulti:
		return "CASE WHEN " + col + " IS NULL OR " + col + " = '' THEN '[]' ELSE json_array(" + col + ") END"
	case oc.kind == kindMulti && nc.kind == kindText:
		// checkConversions made sure no array has more than one element.
		return "CASE WHEN json_valid(" + col + ") AND json_type(" + col + ") = 'array' THEN COALESCE(json_extract(" + col + ", '$[0]'), '') ELSE COALESCE(" + col + ", '') END"
	}
	return col
}

// tempName derives a temporary table name from name, kept within the
// identifier length limit.
func tempName(prefix, name string) string {
	n := prefix + name
	if len(n) > maxIdentLen {
		n = n[:maxIdentLen]
	}
	return n
}

// savepoint runs fn inside a savepoint of the transaction, so that a failing
// multi-statement change leaves the transaction as it was.
func (t *tx) savepoint(ctx context.Context, fn func() error) error {
	if _, err := t.conn.ExecContext(ctx, "SAVEPOINT basalt_change"); err != nil {
		return formatError(ctx, fmt.Errorf("opening savepoint: %w", err))
	}
	if err := fn(); err != nil {
		// Rolling back must not be cut short by a canceled ctx.
		bg := context.WithoutCancel(ctx)
		if _, rbErr := t.conn.ExecContext(bg, "ROLLBACK TO basalt_change"); rbErr == nil {
			_, _ = t.conn.ExecContext(bg, "RELEASE basalt_change")
		}
		return err
	}
	if _, err := t.conn.ExecContext(ctx, "RELEASE basalt_change"); err != nil {
		return formatError(ctx, fmt.Errorf("releasing savepoint: %w", err))
	}
	return nil
}
