package postgres

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
)

// querier is what reads run on: the pool outside a transaction, the
// transaction inside one.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
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
	rows, err := r.q.Query(ctx, `SELECT "data" FROM "_collections" ORDER BY "created", "seq"`)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing collections: %w", err))
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("listing collections: %w", err))
	}
	out := make([]*schema.Collection, 0, len(list))
	for _, data := range list {
		c, err := decodeCollection(data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// collectionByID returns the stored collection with the given id.
func (r reader) collectionByID(ctx context.Context, id string) (*schema.Collection, error) {
	var data string
	err := r.q.QueryRow(ctx, `SELECT "data" FROM "_collections" WHERE "id" = $1`, id).Scan(&data)
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
	// Read as hex text: the statement is sent untyped (see Open), and the
	// text form of bytea is what decode() reads back unambiguously.
	var hex string
	err := r.q.QueryRow(ctx, `SELECT encode("value", 'hex') FROM "_params" WHERE "key" = $1`, key).Scan(&hex)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading param %q: %w", key, err))
	}
	value, err = decodeHex(hex)
	if err != nil {
		return nil, internalf("reading param %q: %w", key, err)
	}
	return value, nil
}

// SetParam stores value under key, replacing any previous value.
func (t *tx) SetParam(ctx context.Context, key string, value []byte) error {
	if key == "" {
		return apperr.New(apperr.Invalid, "Missing param key.")
	}
	_, err := t.exec(ctx, `INSERT INTO "_params" ("key", "value", "updated") VALUES ($1, decode($2, 'hex'), $3)
		ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updated" = excluded."updated"`,
		key, encodeHex(value), nowText())
	if err != nil {
		return formatError(ctx, fmt.Errorf("storing param %q: %w", key, err))
	}
	return nil
}

// encodeHex and decodeHex carry bytea values as hex text.
func encodeHex(b []byte) string { return hex.EncodeToString(b) }

func decodeHex(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// nowText is the current time in Basalt's date layout.
func nowText() string { return schema.FormatTime(time.Now()) }
