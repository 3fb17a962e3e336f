package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

// kind is how a field is laid out in its column.
type kind int

const (
	kindText   kind = iota // TEXT NOT NULL DEFAULT ''
	kindID                 // TEXT PRIMARY KEY NOT NULL
	kindNumber             // NUMERIC NOT NULL DEFAULT 0
	kindBool               // BOOLEAN NOT NULL DEFAULT FALSE
	kindMulti              // JSON NOT NULL DEFAULT '[]' (a JSON array of strings)
	kindJSON               // TEXT DEFAULT NULL (JSON text, NULL for null)
)

// idColumn is the primary key every collection table has.
const idColumn = "id"

// column is one field's column.
type column struct {
	field *schema.Field
	name  string
	kind  kind
}

// table is a collection's validated table layout. Building one is the gate
// every collection passes before its names reach SQL text.
type table struct {
	name string
	cols []column
	// quoted is the quoted table name, list the quoted column list and
	// insert the INSERT of a row, computed once by tableOf.
	quoted, list, insert string
}

// kindOf returns f's column kind.
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
// Invalid for names that cannot be used in SQL, duplicate field names and a
// missing text "id" field.
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
		// SQLite column names are case-insensitive.
		lower := strings.ToLower(f.Name)
		if seen[lower] {
			return nil, apperr.New(apperr.Invalid, "Duplicate field name "+quoteMessage(f.Name)+".")
		}
		seen[lower] = true
		k, err := kindOf(f)
		if err != nil {
			return nil, err
		}
		if f.Name == idColumn {
			if f.Type != schema.TypeText {
				return nil, apperr.New(apperr.Invalid, `The "id" field must be a text field.`)
			}
			hasID = true
		}
		t.cols = append(t.cols, column{field: f, name: f.Name, kind: k})
	}
	if !hasID {
		return nil, apperr.New(apperr.Invalid, "Collection "+quoteMessage(c.Name)+` has no "id" field.`)
	}
	t.quoted = quote(t.name)
	t.list = t.selectList()
	t.insert = "INSERT INTO " + t.quoted + " (" + t.list + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	return t, nil
}

// definition returns the column's SQL definition for CREATE TABLE / ADD COLUMN.
func (c column) definition() string {
	return quote(c.name) + " " + c.kind.declaration()
}

func (k kind) declaration() string {
	switch k {
	case kindID:
		return "TEXT PRIMARY KEY NOT NULL"
	case kindNumber:
		return "NUMERIC NOT NULL DEFAULT 0"
	case kindBool:
		return "BOOLEAN NOT NULL DEFAULT FALSE"
	case kindMulti:
		return "JSON NOT NULL DEFAULT '[]'"
	case kindJSON:
		// Declared TEXT rather than JSON: a "JSON" column has NUMERIC
		// affinity, which would rewrite number documents such as 1.50 or
		// 12345678901234567890 and lose the exact value.
		return "TEXT DEFAULT NULL"
	}
	return "TEXT NOT NULL DEFAULT ''"
}

// createSQL returns the CREATE TABLE statement for t under the given name.
func (t *table) createSQL(name string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(quote(name))
	b.WriteString(" (")
	for i, c := range t.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.definition())
	}
	b.WriteString(")")
	return b.String()
}

// selectList returns the quoted column list in field order.
func (t *table) selectList() string {
	if t.list != "" {
		return t.list
	}
	var b strings.Builder
	for i, c := range t.cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.name))
	}
	return b.String()
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

// bind converts v, a canonical value of c's field, into a driver value. A
// value that is not canonical is normalized first; one that cannot be is
// reported as an Invalid field problem.
func (c column) bind(v any) (any, error) {
	switch c.kind {
	case kindText, kindID:
		if s, ok := v.(string); ok {
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
	if _, again := c.bindCanonical(norm); !again {
		return nil, internalf("field %s: normalized value %T is not canonical", c.name, norm)
	}
	return c.bind(norm)
}

// bindCanonical reports (nil, true) when v has c's canonical Go type.
func (c column) bindCanonical(v any) (any, bool) {
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
	return nil, ok
}

func (c column) invalid(problem *apperr.Field) error {
	return apperr.Fields("Failed to store the record.", map[string]apperr.Field{c.name: *problem})
}

// scan converts a value read from c's column into the field's canonical value.
func (c column) scan(v any) (any, error) {
	switch c.kind {
	case kindText, kindID:
		switch x := v.(type) {
		case string:
			return x, nil
		case nil:
			return "", nil
		case []byte:
			return string(x), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
	case kindNumber:
		switch x := v.(type) {
		case int64:
			return float64(x), nil
		case float64:
			return x, nil
		case nil:
			return float64(0), nil
		case string, []byte:
			n, problem := c.field.Normalize(asString(x))
			if problem == nil {
				return n, nil
			}
		}
	case kindBool:
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case float64:
			return x != 0, nil
		case nil:
			return false, nil
		case string, []byte:
			b, problem := c.field.Normalize(asString(x))
			if problem == nil {
				return b, nil
			}
		}
	case kindMulti:
		switch x := v.(type) {
		case string, []byte:
			s := asString(x)
			list := []string{}
			if err := json.Unmarshal([]byte(s), &list); err == nil && list != nil {
				return list, nil
			}
			// Not a JSON array of strings: let the field normalize it.
			if n, problem := c.field.Normalize(s); problem == nil {
				return n, nil
			}
		case nil:
			return []string{}, nil
		}
	case kindJSON:
		switch x := v.(type) {
		case nil:
			return json.RawMessage(nil), nil
		case string, []byte:
			s := asString(x)
			if s == "" || s == "null" {
				return json.RawMessage(nil), nil
			}
			return json.RawMessage(s), nil
		case int64:
			return json.RawMessage(strconv.FormatInt(x, 10)), nil
		case float64:
			return json.RawMessage(strconv.FormatFloat(x, 'g', -1, 64)), nil
		}
	}
	return nil, internalf("field %s: cannot read stored %T value", c.name, v)
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}
