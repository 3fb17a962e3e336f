// Package sqlite is Basalt's SQLite storage engine: it implements store.Store
// on modernc.org/sqlite (pure Go) with one writer connection for every
// transaction, a separate read-only pool for concurrent reads, one table per
// collection and one column per field.
//
// The package only translates to SQL. It must not import services,
// transports or other adapters; access rules, validation and events belong
// to the services that call it.
package sqlite
