// Package postgres is Basalt's PostgreSQL storage engine: it implements
// store.Store on github.com/jackc/pgx/v5 with a bounded connection pool,
// one table per collection and one column per field, laid out as
// sqlfilter.PostgresColumn decides so that compiled filters read the
// columns they expect.
//
// Writers are serialized cluster-wide: every InTx takes one
// transaction-scoped advisory lock before its first statement (see InTx).
// That keeps the port's promise that InTx serializes writers (a
// read-modify-write never loses an update) on any number of replicas, and
// makes the outbox's seq order equal to commit order, so that a reader of
// Events(after) can never skip an event that commits later with a lower seq.
// Reads outside transactions never take the lock and run in parallel on the
// pool. A transaction that appends events also sends a NOTIFY on commit, so
// that every replica's dispatcher can be woken at once (ListenEvents).
//
// Statements run with pgx's QueryExecModeExec (parsed on every run, no
// prepared statement kept per connection), because collection tables change
// shape at run time; each writing statement inside a transaction runs in a
// savepoint so that a failed one (a unique violation, say) leaves the
// transaction usable, as on SQLite.
//
// The package only translates to SQL. It must not import services,
// transports or other adapters; access rules, validation and events belong
// to the services that call it.
package postgres
