package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/basalt-dev/basalt/internal/store"
)

// Configuration changes (store.ConfigWatcher). A SQLite database is served
// by one Basalt process, whose services reload their own changes, so there
// is nothing to watch; the versions are kept all the same (one small write
// per configuration change) so that both engines answer ConfigVersions
// alike.

// configKeyPrefix prefixes the "_params" keys of the area versions.
const configKeyPrefix = "basalt.config."

// TouchConfig bumps area's version.
func (t *tx) TouchConfig(ctx context.Context, area store.ConfigArea) error {
	_, err := t.conn.ExecContext(ctx, `INSERT INTO "_params" ("key", "value", "updated") VALUES (?, CAST('1' AS BLOB), `+nowSQL+`)
		ON CONFLICT ("key") DO UPDATE SET "value" = CAST(CAST(CAST("value" AS TEXT) AS INTEGER) + 1 AS TEXT), "updated" = excluded."updated"`,
		configKeyPrefix+string(area))
	if err != nil {
		return formatError(ctx, fmt.Errorf("bumping the %s config version: %w", area, err))
	}
	return nil
}

// ConfigVersions returns the version of every touched area.
func (r reader) ConfigVersions(ctx context.Context) (map[store.ConfigArea]int64, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT "key", CAST(CAST("value" AS TEXT) AS INTEGER) FROM "_params" WHERE substr("key", 1, ?) = ?`,
		len(configKeyPrefix), configKeyPrefix)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading config versions: %w", err))
	}
	defer rows.Close()
	out := map[store.ConfigArea]int64{}
	for rows.Next() {
		var (
			key string
			n   int64
		)
		if err := rows.Scan(&key, &n); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading config versions: %w", err))
		}
		out[store.ConfigArea(strings.TrimPrefix(key, configKeyPrefix))] = n
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading config versions: %w", err))
	}
	return out, nil
}

// WatchConfig returns nil at once: no other process changes the database
// while Basalt serves it.
func (s *Store) WatchConfig(context.Context, func(store.ConfigArea)) error { return nil }
