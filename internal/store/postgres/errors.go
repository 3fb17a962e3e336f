package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// notUnique is the per-field problem reported for a unique violation.
var notUnique = apperr.Field{Code: "validation_not_unique", Message: "Value must be unique."}

// PostgreSQL error codes (SQLSTATE) that formatError tells apart.
const (
	codeUniqueViolation     = "23505"
	codeUndefinedTable      = "42P01"
	codeDuplicateTable      = "42P07"
	codeDuplicateObject     = "42710"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
	codeLockNotAvailable    = "55P03"
	codeQueryCanceled       = "57014"
	codeProgramLimit        = "54000"
	classIntegrity          = "23"
	classResources          = "53"
	classConnection         = "08"
	classOperatorIntervened = "57"
)

// formatError translates a driver error into Basalt's error codes. It is the
// only place that knows PostgreSQL's error codes. Errors that are already
// *apperr.Error pass through unchanged; ctx tells an interruption caused by
// cancellation apart from other failures. columns, when given, maps a
// unique index or constraint name to the fields it covers, so that a
// conflict names them; otherwise they are read from the error's detail.
func formatError(ctx context.Context, err error, columns ...func(constraint string) []string) error {
	if err == nil {
		return nil
	}
	if apperr.As(err) != nil {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if ctxErr == nil {
			ctxErr = err
		}
		return apperr.Wrap(apperr.Unavailable, "The request was canceled or timed out.", errors.Join(ctxErr, err))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return apperr.Wrap(apperr.NotFound, "The requested resource wasn't found.", err)
	}
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
			return apperr.Wrap(apperr.Unavailable, "The database is unavailable, try again later.", err)
		}
		return apperr.Wrap(apperr.Internal, "Something went wrong while processing your request.", err)
	}
	switch code := pe.Code; {
	case code == codeUniqueViolation:
		e := apperr.Wrap(apperr.Conflict, "Value must be unique.", err)
		var cols []string
		for _, f := range columns {
			if f != nil {
				cols = append(cols, f(pe.ConstraintName)...)
			}
		}
		if len(cols) == 0 {
			cols = uniqueColumns(pe.Detail)
		}
		if len(cols) > 0 {
			e.Data = make(map[string]any, len(cols))
			for _, c := range cols {
				e.Data[c] = notUnique
			}
		}
		return e
	case strings.HasPrefix(code, classIntegrity):
		return apperr.Wrap(apperr.Invalid, "The data violates a constraint.", err)
	case code == codeUndefinedTable:
		return apperr.Wrap(apperr.NotFound, "The requested resource wasn't found.", err)
	case code == codeDuplicateTable, code == codeDuplicateObject:
		return apperr.Wrap(apperr.Conflict, "A table or index with the same name already exists.", err)
	case code == codeSerialization, code == codeDeadlock, code == codeLockNotAvailable,
		strings.HasPrefix(code, classResources), strings.HasPrefix(code, classConnection):
		return apperr.Wrap(apperr.Unavailable, "The database is busy, try again later.", err)
	case code == codeQueryCanceled, strings.HasPrefix(code, classOperatorIntervened):
		return apperr.Wrap(apperr.Unavailable, "The request was canceled or timed out.", err)
	case code == codeProgramLimit:
		return apperr.Wrap(apperr.TooLarge, "The value is too large.", err)
	}
	return apperr.Wrap(apperr.Internal, "Something went wrong while processing your request.", err)
}

// uniqueColumns extracts the column names from PostgreSQL's detail of a
// unique violation, "Key (slug, lower(title))=(a, b) already exists.":
// plain or quoted names, and the argument of lower() or rtrim() (the
// expressions case-insensitive and trailing-space-insensitive indexes use).
func uniqueColumns(detail string) []string {
	const prefix = "Key ("
	if !strings.HasPrefix(detail, prefix) {
		return nil
	}
	rest := detail[len(prefix):]
	end := strings.Index(rest, ")=(")
	if end < 0 {
		return nil
	}
	var cols []string
	for _, part := range splitTop(rest[:end]) {
		part = strings.TrimSpace(part)
		for _, fn := range []string{"lower(", "rtrim("} {
			if strings.HasPrefix(part, fn) && strings.HasSuffix(part, ")") {
				part = part[len(fn) : len(part)-1]
				if i := strings.Index(part, ","); i >= 0 {
					part = part[:i]
				}
				if i := strings.Index(part, "::"); i >= 0 {
					part = part[:i]
				}
				part = strings.TrimSpace(part)
			}
		}
		part = strings.TrimPrefix(strings.TrimSuffix(part, `"`), `"`)
		if !validIdent(part) {
			return nil // an expression we cannot read: the field is unknown
		}
		cols = append(cols, part)
	}
	return cols
}

// splitTop splits s at the commas outside parentheses and quotes.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
