package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
)

// querier is what reads and writes run on: the read pool outside a
// transaction, the writer connection inside one.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// reader implements store.Reader on a querier.
type reader struct {
	q querier
	// filters caches parsed filter expressions; shared by the store and its
	// transactions.
	filters *filter.Cache
	// tables caches collection layouts for queries; shared like filters.
	tables *tableCache
}

// Collections returns every stored collection, oldest first.
func (r reader) Collections(ctx context.Context) ([]*schema.Collection, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT "data" FROM "_collections" ORDER BY "created", rowid`)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing collections: %w", err))
	}
	defer rows.Close()
	var out []*schema.Collection
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading collection: %w", err))
		}
		c, err := decodeCollection(data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing collections: %w", err))
	}
	return out, nil
}

// collectionByID returns the stored collection with the given id.
func (r reader) collectionByID(ctx context.Context, id string) (*schema.Collection, error) {
	var data string
	err := r.q.QueryRowContext(ctx, `SELECT "data" FROM "_collections" WHERE "id" = ?`, id).Scan(&data)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("loading collection %s: %w", id, err))
	}
	return decodeCollection(data)
}

func decodeCollection(data string) (*schema.Collection, error) {
	var c schema.Collection
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return nil, internalf("decoding stored collection: %w", err)
	}
	return &c, nil
}

// Param returns the value stored under key; NotFound when there is none.
func (r reader) Param(ctx context.Context, key string) ([]byte, error) {
	var value []byte
	err := r.q.QueryRowContext(ctx, `SELECT "value" FROM "_params" WHERE "key" = ?`, key).Scan(&value)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading param %q: %w", key, err))
	}
	if value == nil {
		value = []byte{}
	}
	return value, nil
}

// SetParam stores value under key, replacing any previous value.
func (t *tx) SetParam(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return apperr.New(apperr.Invalid, "Missing param key.")
	}
	if value == nil {
		value = []byte{}
	}
	_, err := t.conn.ExecContext(ctx, `INSERT INTO "_params" ("key", "value", "updated") VALUES (?, ?, `+nowSQL+`)
		ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updated" = excluded."updated"`, key, value)
	if err != nil {
		return formatError(ctx, fmt.Errorf("storing param %q: %w", key, err))
	}
	return nil
}
