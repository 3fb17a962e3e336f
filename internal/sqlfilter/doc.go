// Package sqlfilter compiles a parsed filter (package filter) for one
// collection into a parameterized SQL condition and ORDER BY clause, through
// a small [Dialect] so each storage engine renders its own SQL: [SQLite],
// and [Postgres] for tables laid out by [PostgresColumn]. The filter
// language has SQLite's dynamic typing; for PostgreSQL, which is strictly
// typed, the compiler spells SQLite's affinity, comparison, text conversion
// and json_extract rules out in SQL (typed.go, strftime.go), and a
// differential test runs the same generated filters on both engines.
//
// Every literal becomes a bound parameter; identifiers are checked against
// the schema and quoted. Trusted conditions (rules) and a client's filter and
// sort compile into one query, the client's part held to what the client may
// read: no hidden fields unless it is a superuser, and emails of auth records
// only where they are visible (see [Input]). The compiled SQL has the semantics of the in-memory
// evaluator [filter.Env.Eval] given a [MemoryResolver] over the same data: a
// differential test holds the two together.
//
// sqlfilter imports the domain model (schema), the store ports and the filter
// language only; it must not import services, transports or engines.
package sqlfilter
