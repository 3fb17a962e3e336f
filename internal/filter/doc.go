// Package filter is the filter language: it parses a PocketBase-compatible
// filter once into an immutable AST, and evaluates that AST in memory against a
// record (for realtime delivery and create rules).
//
// The same AST is compiled to SQL by a per-dialect compiler elsewhere; the
// semantics implemented by [Eval] are the reference both must agree on. They
// follow what SQLite does with the SQL a PocketBase-compatible server generates:
// three-valued comparisons, SQLite type affinity, null/” normalisation for = and
// !=, case-insensitive ASCII LIKE, and ALL/ANY matching over multi-valued
// operands. See [Eval] for the details.
//
// This package imports only the standard library and must not import any other
// Basalt package.
package filter
