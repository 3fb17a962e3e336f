package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// Canonical in-memory values by field type:
//
//	text, email, url, editor, date, autodate, password  string ("" when empty)
//	number                                               float64
//	bool                                                 bool
//	select, relation, file                               string, or []string when IsMulti
//	json                                                 json.RawMessage (nil for null)

// Zero returns the canonical empty value of f.
func (f *Field) Zero() any {
	switch f.Type {
	case TypeNumber:
		return float64(0)
	case TypeBool:
		return false
	case TypeJSON:
		return json.RawMessage(nil)
	}
	if f.IsMulti() {
		return []string{}
	}
	return ""
}

// Normalize converts a decoded input value (from JSON, a form or storage)
// into f's canonical value. It fails with a field problem for values that
// cannot be converted.
func (f *Field) Normalize(v any) (any, *apperr.Field) {
	switch f.Type {
	case TypeNumber:
		return toNumber(v)
	case TypeBool:
		return toBool(v)
	case TypeJSON:
		return toJSON(v)
	case TypeDate, TypeAutodate:
		s, err := toString(v)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return "", nil
		}
		t, ok := ParseTime(s)
		if !ok {
			return nil, &apperr.Field{Code: "validation_invalid_date", Message: "Must be a valid date."}
		}
		return FormatTime(t), nil
	case TypeSelect, TypeRelation, TypeFile:
		list, err := toStrings(v)
		if err != nil {
			return nil, err
		}
		if f.IsMulti() {
			return unique(list), nil
		}
		if len(list) == 0 {
			return "", nil
		}
		return list[len(list)-1], nil
	}
	return toString(v)
}

func invalidType() *apperr.Field {
	return &apperr.Field{Code: "validation_invalid_value", Message: "Invalid value."}
}

func toString(v any) (string, *apperr.Field) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case json.Number:
		return x.String(), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	case []string:
		if len(x) == 0 {
			return "", nil
		}
		return x[len(x)-1], nil
	}
	return "", invalidType()
}

func toNumber(v any) (any, *apperr.Field) {
	var n float64
	switch x := v.(type) {
	case nil:
	case float64:
		n = x
	case int:
		n = float64(x)
	case int64:
		n = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, invalidNumber()
		}
		n = f
	case bool:
		if x {
			n = 1
		}
	case string, []string:
		s, _ := toString(x)
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, invalidNumber()
		}
		n = f
	default:
		return nil, invalidNumber()
	}
	if math.IsNaN(n) || math.IsInf(n, 0) {
		return nil, invalidNumber()
	}
	return n, nil
}

func invalidNumber() *apperr.Field {
	return &apperr.Field{Code: "validation_invalid_number", Message: "Must be a valid number."}
}

func toBool(v any) (any, *apperr.Field) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	case float64:
		return x != 0, nil
	case int:
		return x != 0, nil
	case int64:
		return x != 0, nil
	case json.Number:
		f, _ := x.Float64()
		return f != 0, nil
	case string, []string:
		s, _ := toString(x)
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "", "0", "f", "false", "off", "no":
			return false, nil
		case "1", "t", "true", "on", "yes":
			return true, nil
		}
	}
	return nil, &apperr.Field{Code: "validation_invalid_bool", Message: "Must be a valid boolean."}
}

func toJSON(v any) (any, *apperr.Field) {
	switch x := v.(type) {
	case nil:
		return json.RawMessage(nil), nil
	case json.RawMessage:
		if len(x) == 0 || string(x) == "null" {
			return json.RawMessage(nil), nil
		}
		if !json.Valid(x) {
			return nil, invalidJSON()
		}
		return x, nil
	case string:
		// Form values carry JSON as text; plain text becomes a JSON string.
		if json.Valid([]byte(x)) && strings.TrimSpace(x) != "" {
			return toJSON(json.RawMessage(x))
		}
		b, _ := json.Marshal(x)
		return json.RawMessage(b), nil
	case []string:
		if len(x) == 1 {
			return toJSON(x[0])
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalidJSON()
	}
	return toJSON(json.RawMessage(b))
}

func invalidJSON() *apperr.Field {
	return &apperr.Field{Code: "validation_invalid_json", Message: "Must be a valid json value."}
}

func toStrings(v any) ([]string, *apperr.Field) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return nonEmpty(x), nil
	case []any:
		out := make([]string, 0, len(x))
		for _, item := range x {
			s, err := toString(item)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return nonEmpty(out), nil
	case string:
		// A JSON array in a text value (forms, storage) is a list.
		if strings.HasPrefix(strings.TrimSpace(x), "[") {
			var list []string
			if err := json.Unmarshal([]byte(x), &list); err == nil {
				return nonEmpty(list), nil
			}
		}
		return nonEmpty([]string{x}), nil
	}
	s, err := toString(v)
	if err != nil {
		return nil, err
	}
	return nonEmpty([]string{s}), nil
}

func nonEmpty(list []string) []string {
	out := list[:0:0]
	for _, s := range list {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func unique(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// IsEmpty reports whether a canonical value counts as blank for "required".
func IsEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	case []string:
		return len(x) == 0
	case json.RawMessage:
		s := strings.TrimSpace(string(x))
		return s == "" || s == "null" || s == `""` || s == "[]" || s == "{}"
	}
	return false
}

// Validate checks a canonical value against f's options. Relation targets
// and file contents are checked by the services that know about them.
func (f *Field) Validate(v any) *apperr.Field { return f.ValidateWith(v, nil) }

// ValidateWith is Validate taking compiled text patterns from pats (nil
// compiles them per call).
func (f *Field) ValidateWith(v any, pats *Patterns) *apperr.Field {
	if f.Required && IsEmpty(v) && f.Type != TypeAutodate {
		return &apperr.Field{Code: "validation_required", Message: "Cannot be blank."}
	}
	switch f.Type {
	case TypeText, TypePassword:
		s, _ := v.(string)
		if s == "" {
			return nil
		}
		return f.validateText(s, pats)
	case TypeNumber:
		n, _ := v.(float64)
		if f.OnlyInt && n != math.Trunc(n) {
			return &apperr.Field{Code: "validation_only_int_constraint", Message: "Decimal numbers are not allowed."}
		}
		if f.Min != nil && n < *f.Min {
			return &apperr.Field{Code: "validation_min_number_constraint", Message: fmt.Sprintf("Must be larger than %v.", *f.Min)}
		}
		if f.Max != nil && n > *f.Max {
			return &apperr.Field{Code: "validation_max_number_constraint", Message: fmt.Sprintf("Must be less than %v.", *f.Max)}
		}
	case TypeEmail:
		s, _ := v.(string)
		if s == "" {
			return nil
		}
		if !isEmail(s) {
			return &apperr.Field{Code: "validation_is_email", Message: "Must be a valid email address."}
		}
		return f.validateDomain(s[strings.LastIndexByte(s, '@')+1:])
	case TypeURL:
		s, _ := v.(string)
		if s == "" {
			return nil
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2048 {
			return &apperr.Field{Code: "validation_is_url", Message: "Must be a valid url."}
		}
		return f.validateDomain(u.Hostname())
	case TypeEditor:
		s, _ := v.(string)
		if max := sizeOr(f.MaxSize, DefaultEditorSize); int64(len(s)) > max {
			return sizeError(max)
		}
	case TypeJSON:
		raw, _ := v.(json.RawMessage)
		if max := sizeOr(f.MaxSize, DefaultJSONSize); int64(len(raw)) > max {
			return sizeError(max)
		}
	case TypeDate:
		s, _ := v.(string)
		if s == "" {
			return nil
		}
		if f.DateMin != "" && s < f.DateMin {
			return &apperr.Field{Code: "validation_min_date_constraint", Message: "Must be no earlier than " + f.DateMin + "."}
		}
		if f.DateMax != "" && s > f.DateMax {
			return &apperr.Field{Code: "validation_max_date_constraint", Message: "Must be no later than " + f.DateMax + "."}
		}
	case TypeSelect:
		list := AsStrings(v)
		for _, s := range list {
			if !contains(f.Values, s) {
				return &apperr.Field{Code: "validation_invalid_value", Message: "Invalid value " + s + "."}
			}
		}
		return f.validateCount(list)
	case TypeRelation, TypeFile:
		return f.validateCount(AsStrings(v))
	}
	return nil
}

func (f *Field) validateText(s string, pats *Patterns) *apperr.Field {
	n := utf8.RuneCountInString(s)
	min, max := intOf(f.Min), intOf(f.Max)
	if max == 0 {
		max = DefaultTextMax
		if f.Type == TypePassword {
			max = DefaultPasswordMax
		}
	}
	if n < min {
		return &apperr.Field{Code: "validation_min_text_constraint", Message: fmt.Sprintf("Must be at least %d character(s).", min)}
	}
	if n > max {
		return &apperr.Field{Code: "validation_max_text_constraint", Message: fmt.Sprintf("Must be less than %d character(s).", max)}
	}
	if f.Pattern != "" {
		re, err := pats.compile(f.Pattern)
		if err != nil || !re.MatchString(s) {
			return &apperr.Field{Code: "validation_invalid_format", Message: "Invalid value format."}
		}
	}
	return nil
}

func (f *Field) validateDomain(domain string) *apperr.Field {
	domain = strings.ToLower(domain)
	if len(f.OnlyDomains) > 0 && !containsFold(f.OnlyDomains, domain) {
		return &apperr.Field{Code: "validation_domain_not_allowed", Message: "Domain is not allowed."}
	}
	if containsFold(f.ExceptDomains, domain) {
		return &apperr.Field{Code: "validation_domain_not_allowed", Message: "Domain is not allowed."}
	}
	return nil
}

func (f *Field) validateCount(list []string) *apperr.Field {
	max := f.MaxSelect
	if max < 1 {
		max = 1
	}
	if len(list) > max {
		if f.Type == TypeFile {
			return &apperr.Field{Code: "validation_too_many_files", Message: fmt.Sprintf("The maximum allowed files is %d.", max)}
		}
		return &apperr.Field{Code: "validation_too_many_values", Message: fmt.Sprintf("Select no more than %d.", max)}
	}
	if f.Type == TypeRelation && len(list) > 0 && len(list) < f.MinSelect {
		return &apperr.Field{Code: "validation_not_enough_values", Message: fmt.Sprintf("Select at least %d.", f.MinSelect)}
	}
	return nil
}

func sizeOr(v, def int64) int64 {
	if v <= 0 {
		return def
	}
	return v
}

func sizeError(max int64) *apperr.Field {
	return &apperr.Field{Code: "validation_content_size_limit", Message: fmt.Sprintf("The maximum allowed content size is %d bytes.", max)}
}

var emailLocal = regexp.MustCompile(`^[a-zA-Z0-9.!#$%&'*+/=?^_` + "`" + `{|}~-]+$`)

func isEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || at == len(s)-1 {
		return false
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s {
		return false
	}
	return emailLocal.MatchString(s[:at]) && strings.Contains(s[at+1:], ".")
}

// AsStrings returns a select/relation/file value as a list.
func AsStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
