package postgres

import (
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/sqlfilter"
)

// maxIdentLen is PostgreSQL's identifier length limit (NAMEDATALEN-1):
// longer names would be truncated silently, so that two different names
// could name one table.
const maxIdentLen = 63

// validIdent reports whether name matches ^[A-Za-z_][A-Za-z0-9_]*$ and fits
// maxIdentLen, the only shape of name that ever reaches SQL text. Values
// are always bound as parameters; names are checked here and then quoted.
func validIdent(name string) bool {
	if name == "" || len(name) > maxIdentLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// reservedColumn reports names a field may not take: the insertion-order
// column every table has (sqlfilter.PostgresRowID), and the names SQLite
// reserves, so that a collection valid on one engine is valid on the other.
func reservedColumn(name string) bool {
	switch strings.ToLower(name) {
	case "rowid", "oid", "_rowid_", strings.ToLower(sqlfilter.PostgresRowID):
		return true
	}
	return false
}

// checkTableName returns an Invalid error when name cannot name a collection table.
func checkTableName(name string) error {
	if !validIdent(name) {
		return apperr.New(apperr.Invalid, "Invalid collection name "+quoteMessage(name)+": use at most 63 letters, digits and underscores, not starting with a digit.")
	}
	// Reserved on SQLite: refused here too, so that a collection valid on
	// one engine is valid on the other.
	if strings.HasPrefix(strings.ToLower(name), "sqlite_") {
		return apperr.New(apperr.Invalid, "Invalid collection name "+quoteMessage(name)+": the sqlite_ prefix is reserved.")
	}
	return nil
}

// checkColumnName returns an Invalid error when name cannot name a column.
func checkColumnName(name string) error {
	if !validIdent(name) {
		return apperr.New(apperr.Invalid, "Invalid field name "+quoteMessage(name)+": use at most 63 letters, digits and underscores, not starting with a digit.")
	}
	if reservedColumn(name) {
		return apperr.New(apperr.Invalid, "Invalid field name "+quoteMessage(name)+": the name is reserved.")
	}
	return nil
}

// quote returns name as a double-quoted SQL identifier. It is the only way
// a name reaches SQL text; callers must have validated name with validIdent.
func quote(name string) string {
	if !validIdent(name) {
		// A programming error: every path validates names before building SQL.
		panic("postgres: unvalidated identifier reached SQL: " + name)
	}
	return `"` + name + `"`
}

// quoteMessage renders a user-supplied name for an error message.
func quoteMessage(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + s + `"`
}
