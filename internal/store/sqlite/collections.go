package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
		if _, err := t.conn.ExecContext(ctx, tbl.createSQL(tbl.name)); err != nil {
			return formatError(ctx, fmt.Errorf("creating table %s: %w", tbl.name, err))
		}
		if err := t.createIndexes(ctx, tbl.name, indexes); err != nil {
			return err
		}
		_, err = t.conn.ExecContext(ctx, `INSERT INTO "_collections" ("id", "name", "type", "system", "data", "created", "updated")
			VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Name, c.Type, c.System, string(data), c.Created, c.Updated)
		if err != nil {
			return formatError(ctx, fmt.Errorf("storing collection %s: %w", c.Name, err))
		}
		return nil
	})
}

// checkUnique returns Conflict when another stored collection has c's name
// (case-insensitive) or, when checkID is set, c's id.
func (t *tx) checkUnique(ctx context.Context, c *schema.Collection, checkID bool) error {
	rows, err := t.conn.QueryContext(ctx, `SELECT "id", "name" FROM "_collections" WHERE "id" = ? OR "name" = ?`, c.ID, c.Name)
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

func (t *tx) createIndexes(ctx context.Context, table string, indexes []*index) error {
	for _, ix := range indexes {
		if _, err := t.conn.ExecContext(ctx, ix.sql(table)); err != nil {
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
	}
	return nil
}

// existingIndexes returns the SQL of every index of table that Basalt
// created, by index name (SQLite's own automatic indexes have no SQL).
func (t *tx) existingIndexes(ctx context.Context, table string) (map[string]string, error) {
	rows, err := t.conn.QueryContext(ctx, `SELECT "name", "sql" FROM sqlite_schema WHERE "type" = 'index' AND "tbl_name" = ? COLLATE NOCASE AND "sql" IS NOT NULL`, table)
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
		if _, err := t.conn.ExecContext(ctx, "DROP INDEX "+quote(n)); err != nil {
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
		if _, err := t.conn.ExecContext(ctx, "DROP TABLE IF EXISTS "+quote(stored.Name)); err != nil {
			return formatError(ctx, fmt.Errorf("dropping table %s: %w", stored.Name, err))
		}
		if _, err := t.conn.ExecContext(ctx, `DELETE FROM "_collections" WHERE "id" = ?`, c.ID); err != nil {
			return formatError(ctx, fmt.Errorf("deleting collection %s: %w", stored.Name, err))
		}
		return nil
	})
}

// sameName reports whether a and b name the same SQLite object.
func sameName(a, b string) bool { return strings.EqualFold(a, b) }
