package sqlfilter

import (
	"strconv"
	"strings"
)

// Dialect renders the engine-specific parts of the SQL. A dialect of a
// strictly typed engine also implements an unexported marker (Postgres
// does): the compiler then gives every value an explicit type and emulates
// SQLite's comparison rules itself, and of the methods below uses only
// Placeholder, Quote, JSONEach, JSONExtract (with a text[] path),
// JSONArrayLength, Like, Random and RowID.
type Dialect interface {
	// Placeholder returns the marker of the n-th bound parameter (1-based).
	Placeholder(n int) string
	// Quote quotes an identifier (a table, column or alias name).
	Quote(name string) string
	// JSONEach returns a table expression with one row per element of the
	// JSON array expr, the element in a column named "value".
	JSONEach(expr string) string
	// JSONExtract returns the SQL value at path (a bound parameter holding a
	// path like $.a[0].b) inside the JSON text expr.
	JSONExtract(expr, path string) string
	// JSONArrayLength returns the number of elements of the JSON array expr.
	JSONArrayLength(expr string) string
	// Like returns `expr LIKE pattern` with \ as escape character and ASCII
	// case folding (NOT LIKE when not is set).
	Like(expr, pattern string, not bool) string
	// Strftime returns strftime(args...) with SQLite semantics.
	Strftime(args []string) string
	// Random returns an expression for a random order.
	Random() string
	// RowID returns the insertion-order column of the table alias.
	RowID(alias string) string
}

// SQLite is the Dialect of SQLite.
type SQLite struct{}

var _ Dialect = SQLite{}

// Placeholder returns ?n.
func (SQLite) Placeholder(n int) string { return "?" + strconv.Itoa(n) }

// Quote returns "name" with embedded quotes doubled.
func (SQLite) Quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// JSONEach returns json_each(expr).
func (SQLite) JSONEach(expr string) string { return "json_each(" + expr + ")" }

// JSONExtract returns json_extract(expr, path).
func (SQLite) JSONExtract(expr, path string) string {
	return "json_extract(" + expr + ", " + path + ")"
}

// JSONArrayLength returns json_array_length(expr).
func (SQLite) JSONArrayLength(expr string) string { return "json_array_length(" + expr + ")" }

// Like returns expr [NOT] LIKE pattern ESCAPE '\'; SQLite's LIKE folds ASCII
// case by default.
func (SQLite) Like(expr, pattern string, not bool) string {
	op := " LIKE "
	if not {
		op = " NOT LIKE "
	}
	return expr + op + pattern + ` ESCAPE '\'`
}

// Strftime returns strftime(args...).
func (SQLite) Strftime(args []string) string { return "strftime(" + strings.Join(args, ", ") + ")" }

// Random returns RANDOM().
func (SQLite) Random() string { return "RANDOM()" }

// RowID returns alias._rowid_.
func (d SQLite) RowID(alias string) string { return alias + "._rowid_" }
