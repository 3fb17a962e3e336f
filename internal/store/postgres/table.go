package postgres

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/sqlfilter"
)

// kind is how a field's value is bound and read. The column declarations
// themselves come from sqlfilter.PostgresColumn, which the filter compiler
// relies on.
type kind int

const (
	kindText   kind = iota // TEXT NOT NULL DEFAULT ''
	kindID                 // TEXT PRIMARY KEY
	kindNumber             // DOUBLE PRECISION NOT NULL DEFAULT 0
	kindBool               // BOOLEAN NOT NULL DEFAULT FALSE
	kindMulti              // JSONB NOT NULL DEFAULT '[]' (a JSON array of strings)
	kindJSON               // JSON NULL (the document as written, NULL for null)
)

// idColumn is the primary key every collection table has.
const idColumn = "id"

// column is one field's column.
type column struct {
	field *schema.Field
	name  string
	kind  kind
	decl  string // the declaration after the name
}

// table is a collection's validated table layout. Building one is the gate
// every collection passes before its names reach SQL text.
type table struct {
	name string
	cols []column
	// quoted is the quoted table name and list the quoted column list.
	quoted, list string
}

// kindOf returns f's kind.
func kindOf(f *schema.Field) (kind, error) {
	switch f.Type {
	case schema.TypeText, schema.TypeEmail, schema.TypeURL, schema.TypeEditor,
		schema.TypeDate, schema.TypeAutodate, schema.TypePassword:
		if f.Name == idColumn {
			return kindID, nil
		}
		return kindText, nil
	case schema.TypeNumber:
		return kindNumber, nil
	case schema.TypeBool:
		return kindBool, nil
	case schema.TypeJSON:
		return kindJSON, nil
	case schema.TypeSelect, schema.TypeRelation, schema.TypeFile:
		if f.IsMulti() {
			return kindMulti, nil
		}
		return kindText, nil
	}
	return 0, apperr.New(apperr.Invalid, "Unknown type "+quoteMessage(f.Type)+" of field "+quoteMessage(f.Name)+".")
}

// tableOf validates c's names and returns its table layout. It fails with
// Invalid for names that cannot be used in SQL, duplicate field names (also
// when they differ only in case, as SQLite would see them) and a missing
// text "id" field.
func tableOf(c *schema.Collection) (*table, error) {
	if c == nil {
		return nil, apperr.New(apperr.Invalid, "Missing collection.")
	}
	if err := checkTableName(c.Name); err != nil {
		return nil, err
	}
	t := &table{name: c.Name, cols: make([]column, 0, len(c.Fields))}
	seen := make(map[string]bool, len(c.Fields))
	hasID := false
	for _, f := range c.Fields {
		if f == nil {
			return nil, apperr.New(apperr.Invalid, "Missing field in collection "+quoteMessage(c.Name)+".")
		}
		if err := checkColumnName(f.Name); err != nil {
			return nil, err
		}
		lower := strings.ToLower(f.Name)
		if seen[lower] {
			return nil, apperr.New(apperr.Invalid, "Duplicate field name "+quoteMessage(f.Name)+".")
		}
		seen[lower] = true
		k, err := kindOf(f)
		if err != nil {
			return nil, err
		}
		decl := sqlfilter.PostgresColumn(f)
		if decl == "" {
			return nil, apperr.New(apperr.Invalid, "Unknown type "+quoteMessage(f.Type)+" of field "+quoteMessage(f.Name)+".")
		}
		if f.Name == idColumn {
			if f.Type != schema.TypeText {
				return nil, apperr.New(apperr.Invalid, `The "id" field must be a text field.`)
			}
			hasID = true
		}
		t.cols = append(t.cols, column{field: f, name: f.Name, kind: k, decl: decl})
	}
	if !hasID {
		return nil, apperr.New(apperr.Invalid, "Collection "+quoteMessage(c.Name)+` has no "id" field.`)
	}
	t.quoted = quote(t.name)
	var b strings.Builder
	for i, c := range t.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.name))
	}
	t.list = b.String()
	return t, nil
}

// definition returns the column's SQL definition for CREATE TABLE / ADD COLUMN.
func (c column) definition() string { return quote(c.name) + " " + c.decl }

// createSQL returns the CREATE TABLE statement for t under the given name:
// its field columns and the insertion-order column.
func (t *table) createSQL(name string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(quote(name))
	b.WriteString(" (")
	for _, c := range t.cols {
		b.WriteString(c.definition())
		b.WriteString(", ")
	}
	b.WriteString(sqlfilter.PostgresRowIDColumn)
	b.WriteString(")")
	return b.String()
}

// rowID returns the quoted insertion-order column of t.
func (t *table) rowID() string { return t.quoted + `."` + sqlfilter.PostgresRowID + `"` }

// bind converts v, a canonical value of c's field, into a query argument.
// A value that is not canonical is normalized first; one that cannot be is
// reported as an Invalid field problem.
func (c column) bind(v any) (any, error) {
	switch c.kind {
	case kindText, kindID:
		if s, ok := v.(string); ok {
			if strings.IndexByte(s, 0) >= 0 {
				return nil, c.invalid(&apperr.Field{Code: "validation_invalid_value", Message: "Must not contain NUL characters."})
			}
			return s, nil
		}
	case kindNumber:
		if n, ok := v.(float64); ok {
			return n, nil
		}
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case kindMulti:
		if list, ok := v.([]string); ok {
			if len(list) == 0 {
				return "[]", nil
			}
			for _, s := range list {
				if strings.IndexByte(s, 0) >= 0 {
					return nil, c.invalid(&apperr.Field{Code: "validation_invalid_value", Message: "Must not contain NUL characters."})
				}
			}
			b, err := json.Marshal(list)
			if err != nil {
				return nil, internalf("encoding %s: %w", c.name, err)
			}
			return string(b), nil
		}
	case kindJSON:
		if raw, ok := v.(json.RawMessage); ok {
			if len(raw) == 0 || string(raw) == "null" {
				return nil, nil
			}
			if !json.Valid(raw) {
				return nil, c.invalid(&apperr.Field{Code: "validation_invalid_json", Message: "Must be a valid json value."})
			}
			return string(raw), nil
		}
	}
	norm, problem := c.field.Normalize(v)
	if problem != nil {
		return nil, c.invalid(problem)
	}
	if !c.canonical(norm) {
		return nil, internalf("field %s: normalized value %T is not canonical", c.name, norm)
	}
	return c.bind(norm)
}

// canonical reports whether v has c's canonical Go type.
func (c column) canonical(v any) bool {
	var ok bool
	switch c.kind {
	case kindText, kindID:
		_, ok = v.(string)
	case kindNumber:
		_, ok = v.(float64)
	case kindBool:
		_, ok = v.(bool)
	case kindMulti:
		_, ok = v.([]string)
	case kindJSON:
		_, ok = v.(json.RawMessage)
	}
	return ok
}

func (c column) invalid(problem *apperr.Field) error {
	return apperr.Fields("Failed to store the record.", map[string]apperr.Field{c.name: *problem})
}

// scanTarget returns a fresh destination for reading c's column.
func (c column) scanTarget() any {
	switch c.kind {
	case kindNumber:
		return new(float64)
	case kindBool:
		return new(bool)
	case kindJSON:
		return new(*string)
	}
	return new(string)
}

// value converts what scanTarget received into the field's canonical value.
func (c column) value(dst any) (any, error) {
	switch c.kind {
	case kindText, kindID:
		return *dst.(*string), nil
	case kindNumber:
		return *dst.(*float64), nil
	case kindBool:
		return *dst.(*bool), nil
	case kindMulti:
		s := *dst.(*string)
		list := []string{}
		if err := json.Unmarshal([]byte(s), &list); err == nil && list != nil {
			return list, nil
		}
		// Not a JSON array of strings: let the field normalize it.
		if n, problem := c.field.Normalize(s); problem == nil {
			return n, nil
		}
		return nil, internalf("field %s: cannot read stored value %s", c.name, strconv.Quote(s))
	case kindJSON:
		p := *dst.(**string)
		if p == nil || *p == "" || *p == "null" {
			return json.RawMessage(nil), nil
		}
		return json.RawMessage(*p), nil
	}
	return nil, internalf("field %s: unknown kind %d", c.name, c.kind)
}

// column returns the column named name (exact match), or nil.
func (t *table) column(name string) *column {
	for i := range t.cols {
		if t.cols[i].name == name {
			return &t.cols[i]
		}
	}
	return nil
}
