package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
)

// Field types.
const (
	TypeText     = "text"
	TypeNumber   = "number"
	TypeBool     = "bool"
	TypeEmail    = "email"
	TypeURL      = "url"
	TypeEditor   = "editor"
	TypeDate     = "date"
	TypeAutodate = "autodate"
	TypeSelect   = "select"
	TypeJSON     = "json"
	TypeRelation = "relation"
	TypeFile     = "file"
	TypePassword = "password"
)

// FieldTypes lists every supported field type.
var FieldTypes = []string{
	TypeText, TypeNumber, TypeBool, TypeEmail, TypeURL, TypeEditor, TypeDate,
	TypeAutodate, TypeSelect, TypeJSON, TypeRelation, TypeFile, TypePassword,
}

// Size defaults applied when a field's MaxSize (or text Max) is zero.
const (
	DefaultTextMax     = 5000
	DefaultEditorSize  = 5 << 20
	DefaultJSONSize    = 1 << 20
	DefaultFileSize    = 5 << 20
	DefaultPasswordMax = 71 // bcrypt's limit
)

// Field is one column of a collection. Options that do not apply to Type are
// zero and are neither encoded nor read.
type Field struct {
	ID          string
	Name        string
	Type        string
	System      bool
	Hidden      bool
	Presentable bool
	Required    bool
	Help        string

	// Min and Max are length bounds for text and password (0 = none/default)
	// and value bounds for number (nil = none).
	Min, Max *float64
	// DateMin and DateMax bound date fields ("" = none).
	DateMin, DateMax string

	Pattern             string // text, password
	AutogeneratePattern string // text
	PrimaryKey          bool   // text
	OnlyInt             bool   // number

	ExceptDomains, OnlyDomains []string // email, url

	MaxSize     int64 // editor, json, file (bytes)
	ConvertURLs bool  // editor

	OnCreate, OnUpdate bool // autodate

	Values    []string // select
	MaxSelect int      // select, file, relation
	MinSelect int      // relation

	MimeTypes []string // file
	Thumbs    []string // file
	Protected bool     // file

	CollectionID  string // relation
	CascadeDelete bool   // relation

	Cost int // password (bcrypt cost)

	// VisibleRule, when not "", is a filter expression over @request.*
	// only: the field is sent to clients whose request satisfies it (and
	// to superusers). A Basalt extension, encoded only when set.
	VisibleRule string
}

// IsMulti reports whether the field holds a list of values.
func (f *Field) IsMulti() bool {
	switch f.Type {
	case TypeSelect, TypeRelation, TypeFile:
		return f.MaxSelect > 1
	}
	return false
}

// DefaultFieldID returns the id given to a new field without one.
func DefaultFieldID(typ, name string) string {
	return typ + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(name))), 10)
}

func intOf(p *float64) int {
	if p == nil {
		return 0
	}
	return int(*p)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// MarshalJSON encodes the field in the flat, type-specific wire shape.
func (f *Field) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"id": f.ID, "name": f.Name, "type": f.Type, "system": f.System,
		"hidden": f.Hidden, "presentable": f.Presentable,
	}
	if f.Type != TypeAutodate {
		m["required"] = f.Required
		m["help"] = f.Help
	}
	if f.VisibleRule != "" {
		m["visibleRule"] = f.VisibleRule
	}
	switch f.Type {
	case TypeText:
		m["min"], m["max"] = intOf(f.Min), intOf(f.Max)
		m["pattern"], m["autogeneratePattern"], m["primaryKey"] = f.Pattern, f.AutogeneratePattern, f.PrimaryKey
	case TypePassword:
		m["min"], m["max"], m["pattern"], m["cost"] = intOf(f.Min), intOf(f.Max), f.Pattern, f.Cost
	case TypeNumber:
		m["min"], m["max"], m["onlyInt"] = f.Min, f.Max, f.OnlyInt
	case TypeEmail, TypeURL:
		m["exceptDomains"], m["onlyDomains"] = f.ExceptDomains, f.OnlyDomains
	case TypeEditor:
		m["maxSize"], m["convertURLs"] = f.MaxSize, f.ConvertURLs
	case TypeDate:
		m["min"], m["max"] = f.DateMin, f.DateMax
	case TypeAutodate:
		m["onCreate"], m["onUpdate"] = f.OnCreate, f.OnUpdate
	case TypeSelect:
		m["values"], m["maxSelect"] = nonNil(f.Values), f.MaxSelect
	case TypeJSON:
		m["maxSize"] = f.MaxSize
	case TypeRelation:
		m["collectionId"], m["cascadeDelete"] = f.CollectionID, f.CascadeDelete
		m["minSelect"], m["maxSelect"] = f.MinSelect, f.MaxSelect
	case TypeFile:
		m["maxSelect"], m["maxSize"], m["protected"] = f.MaxSelect, f.MaxSize, f.Protected
		m["mimeTypes"], m["thumbs"] = nonNil(f.MimeTypes), nonNil(f.Thumbs)
	}
	return json.Marshal(m)
}

// FieldDecodeError reports an option of a field definition with the wrong JSON type.
type FieldDecodeError struct {
	Key string
	Err error
}

func (e *FieldDecodeError) Error() string { return fmt.Sprintf("field option %q: %v", e.Key, e.Err) }

// UnmarshalJSON decodes the flat, type-specific wire shape. Unknown keys are ignored.
func (f *Field) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		return &FieldDecodeError{Key: "", Err: fmt.Errorf("field must be an object")}
	}
	var out Field
	get := func(key string, dst any) error {
		v, ok := raw[key]
		if !ok || bytes.Equal(v, []byte("null")) {
			return nil
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return &FieldDecodeError{Key: key, Err: fmt.Errorf("invalid value")}
		}
		return nil
	}
	common := []struct {
		key string
		dst any
	}{
		{"id", &out.ID}, {"name", &out.Name}, {"type", &out.Type}, {"system", &out.System},
		{"hidden", &out.Hidden}, {"presentable", &out.Presentable}, {"required", &out.Required},
		{"help", &out.Help}, {"visibleRule", &out.VisibleRule},
	}
	for _, c := range common {
		if err := get(c.key, c.dst); err != nil {
			return err
		}
	}
	var specific []struct {
		key string
		dst any
	}
	add := func(key string, dst any) {
		specific = append(specific, struct {
			key string
			dst any
		}{key, dst})
	}
	switch out.Type {
	case TypeText:
		add("min", &out.Min)
		add("max", &out.Max)
		add("pattern", &out.Pattern)
		add("autogeneratePattern", &out.AutogeneratePattern)
		add("primaryKey", &out.PrimaryKey)
	case TypePassword:
		add("min", &out.Min)
		add("max", &out.Max)
		add("pattern", &out.Pattern)
		add("cost", &out.Cost)
	case TypeNumber:
		add("min", &out.Min)
		add("max", &out.Max)
		add("onlyInt", &out.OnlyInt)
	case TypeEmail, TypeURL:
		add("exceptDomains", &out.ExceptDomains)
		add("onlyDomains", &out.OnlyDomains)
	case TypeEditor:
		add("maxSize", &out.MaxSize)
		add("convertURLs", &out.ConvertURLs)
	case TypeDate:
		add("min", &out.DateMin)
		add("max", &out.DateMax)
	case TypeAutodate:
		add("onCreate", &out.OnCreate)
		add("onUpdate", &out.OnUpdate)
	case TypeSelect:
		add("values", &out.Values)
		add("maxSelect", &out.MaxSelect)
	case TypeJSON:
		add("maxSize", &out.MaxSize)
	case TypeRelation:
		add("collectionId", &out.CollectionID)
		add("cascadeDelete", &out.CascadeDelete)
		add("minSelect", &out.MinSelect)
		add("maxSelect", &out.MaxSelect)
	case TypeFile:
		add("maxSelect", &out.MaxSelect)
		add("maxSize", &out.MaxSize)
		add("protected", &out.Protected)
		add("mimeTypes", &out.MimeTypes)
		add("thumbs", &out.Thumbs)
	}
	for _, s := range specific {
		if err := get(s.key, s.dst); err != nil {
			return err
		}
	}
	// text and password store lengths as whole numbers; zero means "none".
	if out.Type == TypeText || out.Type == TypePassword {
		for _, p := range []**float64{&out.Min, &out.Max} {
			if *p != nil && **p == 0 {
				*p = nil
			}
		}
	}
	*f = out
	return nil
}

// Clone returns a deep copy of f.
func (f *Field) Clone() *Field {
	c := *f
	c.ExceptDomains = cloneStrings(f.ExceptDomains)
	c.OnlyDomains = cloneStrings(f.OnlyDomains)
	c.Values = cloneStrings(f.Values)
	c.MimeTypes = cloneStrings(f.MimeTypes)
	c.Thumbs = cloneStrings(f.Thumbs)
	if f.Min != nil {
		v := *f.Min
		c.Min = &v
	}
	if f.Max != nil {
		v := *f.Max
		c.Max = &v
	}
	return &c
}

// cloneStrings copies s, keeping nil and empty apart (they encode as null
// and [] respectively).
func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append(make([]string, 0, len(s)), s...)
}
