package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// CreateCollection stores c and creates its table and indexes. Conflict when
// a collection with the same id or name (case-insensitive) exists, or a
// table or index of the same name exists.
func (t *tx) CreateCollection(ctx context.Context, c *schema.Collection) error {
	tbl, err := tableOf(c)
	if err != nil {
		return err
	}
	if c.ID == "" {
		return apperr.New(apperr.Invalid, "Missing collection id.")
	}
	indexes, err := parseIndexes(c.Indexes, tbl, c.Name)
	if err != nil {
		return err
	}
	if err := t.checkUnique(ctx, c, true); err != nil {
		return err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return internalf("encoding collection %s: %w", c.Name, err)
	}
	return t.savepoint(ctx, func() error {
		if _, err := t.tx.Exec(ctx, tbl.createSQL(tbl.name)); err != nil {
			return formatError(ctx, fmt.Errorf("creating table %s: %w", tbl.name, err))
		}
		if err := t.createIndexes(ctx, tbl.name, indexes); err != nil {
			return err
		}
		_, err = t.tx.Exec(ctx, `INSERT INTO "_collections" ("id", "name", "type", "system", "data", "created", "updated")
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.Name, c.Type, c.System, string(data), c.Created, c.Updated)
		if err != nil {
			return formatError(ctx, fmt.Errorf("storing collection %s: %w", c.Name, err))
		}
		return nil
	})
}

// checkUnique returns Conflict when another stored collection has c's name
// (case-insensitive) or, when checkID is set, c's id.
func (t *tx) checkUnique(ctx context.Context, c *schema.Collection, checkID bool) error {
	rows, err := t.tx.Query(ctx, `SELECT "id", "name" FROM "_collections" WHERE "id" = $1 OR lower("name") = lower($2)`, c.ID, c.Name)
	if err != nil {
		return formatError(ctx, fmt.Errorf("checking collection %s: %w", c.Name, err))
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return formatError(ctx, fmt.Errorf("checking collection %s: %w", c.Name, err))
		}
		if id == c.ID {
			if checkID {
				return &apperr.Error{Code: apperr.Conflict, Message: "A collection with the same id already exists.",
					Data: map[string]any{"id": notUnique}}
			}
			continue
		}
		return &apperr.Error{Code: apperr.Conflict, Message: "A collection with the same name already exists.",
			Data: map[string]any{"name": apperr.Field{Code: "validation_collection_name_exists", Message: "Collection name must be unique (case insensitive)."}}}
	}
	if err := rows.Err(); err != nil {
		return formatError(ctx, fmt.Errorf("checking collection %s: %w", c.Name, err))
	}
	return nil
}

// createIndexes creates the indexes on table and records each one's SQL as
// the index's comment, so that a later update can tell an unchanged index
// (kept) from a changed one (rebuilt).
func (t *tx) createIndexes(ctx context.Context, table string, indexes []*index) error {
	for _, ix := range indexes {
		stmt := ix.sql(table)
		if _, err := t.tx.Exec(ctx, stmt); err != nil {
			err = formatError(ctx, fmt.Errorf("creating index %s: %w", ix.name, err))
			if e := apperr.As(err); e != nil && e.Code == apperr.Conflict {
				if e.Data != nil {
					e.Message = "Cannot create unique index " + quoteMessage(ix.name) + ": existing records repeat a value."
				} else {
					e.Message = "Cannot create index " + quoteMessage(ix.name) + ": the name is already used."
				}
			}
			return err
		}
		// COMMENT takes no parameters: the text is an escaped literal of SQL
		// that the index parser built from validated names and literals.
		if _, err := t.tx.Exec(ctx, "COMMENT ON INDEX "+quote(ix.name)+" IS "+sqlString(stmt)); err != nil {
			return formatError(ctx, fmt.Errorf("recording index %s: %w", ix.name, err))
		}
	}
	return nil
}

// existingIndexes returns the recorded SQL of every index of table that
// Basalt created, by index name (the primary key's index is not one).
func (t *tx) existingIndexes(ctx context.Context, table string) (map[string]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT ic.relname::text, COALESCE(obj_description(ic.oid, 'pg_class'), '')
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_class tc ON tc.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = tc.relnamespace
		WHERE n.nspname = current_schema() AND tc.relname = $1
			AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`, table)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing indexes of %s: %w", table, err))
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, stmt string
		if err := rows.Scan(&name, &stmt); err != nil {
			return nil, formatError(ctx, fmt.Errorf("listing indexes of %s: %w", table, err))
		}
		if !validIdent(name) {
			return nil, internalf("index %q of %s has an unexpected name", name, table)
		}
		out[name] = stmt
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing indexes of %s: %w", table, err))
	}
	return out, nil
}

// dropIndexes drops the named indexes.
func (t *tx) dropIndexes(ctx context.Context, names []string) error {
	for _, n := range names {
		if _, err := t.tx.Exec(ctx, "DROP INDEX "+quote(n)); err != nil {
			return formatError(ctx, fmt.Errorf("dropping index %s: %w", n, err))
		}
	}
	return nil
}

// DeleteCollection drops c's table and definition. NotFound when no
// collection with c's id is stored.
func (t *tx) DeleteCollection(ctx context.Context, c *schema.Collection) error {
	if c == nil {
		return apperr.New(apperr.Invalid, "Missing collection.")
	}
	stored, err := t.collectionByID(ctx, c.ID)
	if err != nil {
		return err
	}
	if err := checkTableName(stored.Name); err != nil {
		return internalf("stored collection %s: %w", c.ID, err)
	}
	return t.savepoint(ctx, func() error {
		if _, err := t.tx.Exec(ctx, "DROP TABLE IF EXISTS "+quote(stored.Name)); err != nil {
			return formatError(ctx, fmt.Errorf("dropping table %s: %w", stored.Name, err))
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM "_collections" WHERE "id" = $1`, c.ID); err != nil {
			return formatError(ctx, fmt.Errorf("deleting collection %s: %w", stored.Name, err))
		}
		return nil
	})
}
