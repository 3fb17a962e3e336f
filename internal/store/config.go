package store

import "context"

// ConfigArea names a kind of stored configuration that Basalt processes
// keep in memory (collections, settings…). Several processes may share one
// database (replicas on PostgreSQL): a service that changes an area says so
// in the changing transaction (Tx.TouchConfig), and every process reloads
// its copy when it learns of the change (Store.WatchConfig).
type ConfigArea string

// The configuration areas Basalt caches.
const (
	// ConfigCollections covers collection definitions: fields, rules,
	// indexes and auth options (token settings included).
	ConfigCollections ConfigArea = "collections"
	// ConfigSettings covers the runtime settings (SMTP, rate limits,
	// batch, trusted proxies, meta…).
	ConfigSettings ConfigArea = "settings"
)

// ConfigAreas lists every area, in a stable order.
func ConfigAreas() []ConfigArea { return []ConfigArea{ConfigCollections, ConfigSettings} }

// ConfigWatcher is the store side of configuration changes.
type ConfigWatcher interface {
	// ConfigVersions returns each touched area's version: a number that
	// grows with every committed transaction that called TouchConfig on
	// the area. Areas never touched are absent (version 0).
	ConfigVersions(ctx context.Context) (map[ConfigArea]int64, error)
	// WatchConfig calls changed(area), from one goroutine, whenever a
	// transaction that touched area commits in another process sharing
	// the database, until ctx ends; it then returns ctx's error. Calls may
	// also follow this process's own changes and may repeat: they are hints
	// to reload, never missed for long (an engine that is notified of
	// commits also checks ConfigVersions at least once a second, and calls
	// changed for every area after it reconnects). An engine that no other
	// process can share while Basalt runs (SQLite) returns nil at once.
	WatchConfig(ctx context.Context, changed func(ConfigArea)) error
}
