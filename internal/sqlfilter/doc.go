// Package sqlfilter compiles a parsed filter (package filter) for one
// collection into a parameterized SQL condition and ORDER BY clause, through
// a small [Dialect] so each storage engine renders its own SQL.
//
// Every literal becomes a bound parameter; identifiers are checked against
// the schema and quoted. The compiled SQL has the semantics of the in-memory
// evaluator [filter.Env.Eval] given a [MemoryResolver] over the same data: a
// differential test holds the two together.
//
// sqlfilter imports the domain model (schema), the store ports and the filter
// language only; it must not import services, transports or engines.
package sqlfilter
