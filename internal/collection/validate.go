package collection

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
)

var (
	namePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// Record keys that a field may not shadow.
	reservedFieldNames = map[string]bool{
		"expand": true, "collectionid": true, "collectionname": true,
		"passwordconfirm": true, "oldpassword": true,
	}
	// Table names a collection may not take.
	reservedCollectionNames = map[string]bool{
		"_collections": true, "_params": true, "_migrations": true, "sqlite_master": true,
		"sqlite_sequence": true, "sqlite_schema": true,
	}
)

// validate checks next (prev is the stored version, nil on create) and
// returns an Invalid error with per-key problems. lookup resolves relation
// targets.
func validate(prev, next *schema.Collection, lookup func(string) *schema.Collection) error {
	fe := apperr.FieldErrors{}

	switch {
	case next.Name == "":
		fe.Add("name", "validation_required", "Cannot be blank.")
	case len(next.Name) > 100 || !namePattern.MatchString(next.Name):
		fe.Add("name", "validation_invalid_name", "Invalid collection name: use letters, digits and underscores only.")
	case reservedCollectionNames[strings.ToLower(next.Name)] || strings.HasPrefix(strings.ToLower(next.Name), "sqlite_"):
		fe.Add("name", "validation_collection_name_invalid", "The name is reserved.")
	case (prev == nil || !prev.System) && schema.IsSystemName(next.Name) && !next.System:
		fe.Add("name", "validation_collection_name_invalid", "Names starting with _ are reserved for system collections.")
	default:
		if other := lookup(next.Name); other != nil && other.ID != next.ID {
			fe.Add("name", "validation_collection_name_exists", "Collection name must be unique (case insensitive).")
		}
	}
	if next.ID != "" && (len(next.ID) > 100 || !namePattern.MatchString(next.ID)) {
		fe.Add("id", "validation_invalid_id", "Invalid collection id.")
	}
	switch next.Type {
	case schema.TypeBase, schema.TypeAuth:
	case "view":
		fe.Add("type", "validation_unsupported_type", "View collections are not supported yet.")
	default:
		fe.Add("type", "validation_invalid_type", "Must be base or auth.")
	}
	if prev != nil {
		if prev.Type != next.Type {
			fe.Add("type", "validation_collection_type_change", "Collection type cannot be changed.")
		}
		if prev.System && prev.Name != next.Name {
			fe.Add("name", "validation_system_collection_name_change", "System collection name cannot be changed.")
		}
		if prev.System != next.System {
			fe.Add("system", "validation_system_change", "System flag cannot be changed.")
		}
	}
	fields := validateFields(prev, next, lookup)
	if len(fields.general) > 0 {
		fe.Add("fields", "validation_invalid_fields", fields.general[0])
	}
	if next.IsAuth() {
		validateAuth(next, fe)
	}
	if len(fe) == 0 && len(fields.byIndex) == 0 {
		return nil
	}
	data := make(map[string]any, len(fe)+1)
	for k, v := range fe {
		data[k] = v
	}
	if _, ok := data["fields"]; !ok && len(fields.byIndex) > 0 {
		data["fields"] = fields.byIndex
	}
	return &apperr.Error{Code: apperr.Invalid, Message: "Failed to save collection.", Data: data}
}

// fieldProblems are the problems of a field list: per field index, and for
// the list as a whole.
type fieldProblems struct {
	byIndex map[string]any
	general []string
}

func (p *fieldProblems) at(i int, code, format string, args ...any) {
	key := strconv.Itoa(i)
	if _, ok := p.byIndex[key]; !ok {
		p.byIndex[key] = apperr.Field{Code: code, Message: fmt.Sprintf(format, args...)}
	}
}

func (p *fieldProblems) list(format string, args ...any) {
	p.general = append(p.general, fmt.Sprintf(format, args...))
}

// validateFields checks the field list of next against prev.
func validateFields(prev, next *schema.Collection, lookup func(string) *schema.Collection) *fieldProblems {
	p := &fieldProblems{byIndex: map[string]any{}}
	names := map[string]bool{}
	ids := map[string]bool{}
	if len(next.Fields) > 1000 {
		p.list("A collection can have at most 1000 fields.")
		return p
	}
	for i, f := range next.Fields {
		if f == nil {
			p.at(i, "validation_required", "Field %d is empty.", i)
			continue
		}
		lower := strings.ToLower(f.Name)
		switch {
		case f.Name == "":
			p.at(i, "validation_required", "Field %d: name cannot be blank.", i)
		case len(f.Name) > 100 || !namePattern.MatchString(f.Name):
			p.at(i, "validation_invalid_name", "Field %q: invalid name (letters, digits and underscores only).", f.Name)
		case reservedFieldNames[lower]:
			p.at(i, "validation_field_name_reserved", "Field %q: the name is reserved.", f.Name)
		case names[lower]:
			p.at(i, "validation_duplicated_field_name", "Field %q: duplicated name (case insensitive).", f.Name)
		}
		names[lower] = true
		if f.ID == "" || ids[f.ID] {
			p.at(i, "validation_duplicated_field_id", "Field %q: missing or duplicated id.", f.Name)
		}
		ids[f.ID] = true
		if !isFieldType(f.Type) {
			p.at(i, "validation_invalid_field_type", "Field %q: unknown type %q.", f.Name, f.Type)
			continue
		}
		if prev != nil {
			if old := prev.FieldByID(f.ID); old != nil {
				if old.Type != f.Type {
					p.at(i, "validation_field_type_change", "Field %q: the type cannot be changed from %s to %s; add a new field instead.", f.Name, old.Type, f.Type)
				}
				if old.System && (old.Name != f.Name || !f.System) {
					p.at(i, "validation_system_field_change", "Field %q: system fields cannot be renamed or made non-system.", old.Name)
				}
			} else if f.System && !(next.IsAuth() || f.Name == "id") {
				p.at(i, "validation_system_field_change", "Field %q: new fields cannot be system fields.", f.Name)
			}
		}
		if problems := validateFieldOptions(next, f, lookup); len(problems) > 0 {
			p.at(i, "validation_invalid_field_options", "%s", problems[0])
		}
		if f.PrimaryKey && f.Name != "id" {
			p.at(i, "validation_primary_key", "Field %q: only the id field can be the primary key.", f.Name)
		}
	}
	if prev != nil {
		for _, old := range prev.Fields {
			if old.System && next.FieldByID(old.ID) == nil {
				p.list("Field %q: system fields cannot be removed.", old.Name)
			}
		}
	}
	if id := next.Field("id"); id == nil || id.Type != schema.TypeText || !id.PrimaryKey {
		p.list("The collection must have a text primary key field named id.")
	}
	return p
}

func validateFieldOptions(c *schema.Collection, f *schema.Field, lookup func(string) *schema.Collection) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("Field %q: ", f.Name)+fmt.Sprintf(format, args...))
	}
	if f.Min != nil && f.Max != nil && *f.Max < *f.Min && f.Type != schema.TypeText && f.Type != schema.TypePassword {
		add("max must be greater than or equal to min.")
	}
	switch f.Type {
	case schema.TypeText, schema.TypePassword:
		if f.Min != nil && (*f.Min < 0 || *f.Min > 1<<20) {
			add("min must be between 0 and 1048576.")
		}
		if f.Max != nil && (*f.Max < 0 || *f.Max > 1<<24) {
			add("max must be between 0 and 16777216.")
		}
		if f.Min != nil && f.Max != nil && *f.Max != 0 && *f.Max < *f.Min {
			add("max must be greater than or equal to min.")
		}
		if f.Pattern != "" {
			if _, err := regexp.Compile(f.Pattern); err != nil {
				add("invalid pattern.")
			}
		}
		if f.AutogeneratePattern != "" {
			if _, err := regexp.Compile(f.AutogeneratePattern); err != nil {
				add("invalid autogenerate pattern.")
			}
		}
	case schema.TypeSelect:
		if len(f.Values) == 0 {
			add("values cannot be empty.")
		}
		seen := map[string]bool{}
		for _, v := range f.Values {
			if v == "" || seen[v] {
				add("values must be unique and not blank.")
				break
			}
			seen[v] = true
		}
		if f.MaxSelect < 0 || f.MaxSelect > len(f.Values) && len(f.Values) > 0 {
			add("maxSelect must be between 0 and the number of values.")
		}
	case schema.TypeRelation:
		target := lookup(f.CollectionID)
		if target == nil && f.CollectionID != c.ID {
			add("the related collection does not exist.")
		} else if target != nil && f.CollectionID != target.ID {
			// Accept names on input; store ids.
			f.CollectionID = target.ID
		}
		if f.MinSelect < 0 || f.MaxSelect < 0 || (f.MaxSelect > 0 && f.MinSelect > f.MaxSelect) {
			add("minSelect must be between 0 and maxSelect.")
		}
	case schema.TypeFile:
		if f.MaxSelect < 0 || f.MaxSize < 0 {
			add("maxSelect and maxSize cannot be negative.")
		}
		if f.MaxSize > 1<<32 {
			add("maxSize cannot exceed 4 GiB.")
		}
	case schema.TypeEditor, schema.TypeJSON:
		if f.MaxSize < 0 {
			add("maxSize cannot be negative.")
		}
	case schema.TypeDate:
		for _, v := range []string{f.DateMin, f.DateMax} {
			if _, ok := schema.ParseTime(v); v != "" && !ok {
				add("min and max must be valid dates.")
			}
		}
	case schema.TypeAutodate:
		if !f.OnCreate && !f.OnUpdate {
			add("at least one of onCreate and onUpdate must be set.")
		}
	}
	return problems
}

func validateAuth(c *schema.Collection, fe apperr.FieldErrors) {
	for _, name := range c.PasswordAuth.IdentityFields {
		f := c.Field(name)
		if f == nil || !hasUniqueIndex(c, name) {
			fe.Add("passwordAuth", "validation_invalid_identity_field",
				fmt.Sprintf("Identity field %q must be an existing field with a unique index.", name))
			fe.Add("passwordAuth.identityFields", "validation_invalid_identity_field",
				fmt.Sprintf("Identity field %q must be an existing field with a unique index.", name))
		}
	}
	// Problems of nested options carry dotted keys ("oauth2.providers.1.name",
	// "mfa.duration") beside the option's own key, so a form can show each
	// next to its input and older clients still find the option's key.
	for i, p := range c.OAuth2.Problems() {
		if i == 0 {
			fe.Add("oauth2", "validation_invalid_oauth2_provider", p.Message)
		}
		fe.Add(fmt.Sprintf("oauth2.providers.%d.%s", p.Index, p.Key), "validation_invalid_oauth2_provider", p.Message)
	}
	tokens := []struct {
		key string
		cfg schema.TokenConfig
	}{
		{"authToken", c.AuthToken}, {"passwordResetToken", c.PasswordResetToken}, {"emailChangeToken", c.EmailChangeToken},
		{"verificationToken", c.VerificationToken}, {"fileToken", c.FileToken},
	}
	for _, t := range tokens {
		if t.cfg.Duration < 10 || t.cfg.Duration > 63072000 {
			fe.Add(t.key, "validation_invalid_token_duration", "Token durations must be between 10 seconds and 2 years.")
			fe.Add(t.key+".duration", "validation_invalid_token_duration", "Must be between 10 seconds and 2 years.")
		}
	}
	if c.MFA.Enabled && (c.MFA.Duration < 10 || c.MFA.Duration > 86400) {
		fe.Add("mfa", "validation_invalid_duration", "The MFA duration must be between 10 seconds and 1 day.")
		fe.Add("mfa.duration", "validation_invalid_duration", "Must be between 10 seconds and 1 day.")
	}
	if c.OTP.Enabled {
		if c.OTP.Duration < 10 || c.OTP.Duration > 86400 {
			fe.Add("otp", "validation_invalid_duration", "The OTP duration must be between 10 seconds and 1 day.")
			fe.Add("otp.duration", "validation_invalid_duration", "Must be between 10 seconds and 1 day.")
		}
		if c.OTP.Length < 4 || c.OTP.Length > 32 {
			fe.Add("otp", "validation_invalid_length", "The OTP length must be between 4 and 32 digits.")
			fe.Add("otp.length", "validation_invalid_length", "Must be between 4 and 32 digits.")
		}
	}
}

func hasUniqueIndex(c *schema.Collection, field string) bool {
	if field == "id" {
		return true
	}
	for _, idx := range c.Indexes {
		u := strings.ToUpper(idx)
		if !strings.HasPrefix(strings.TrimSpace(u), "CREATE UNIQUE INDEX") {
			continue
		}
		open, close := strings.IndexByte(idx, '('), strings.IndexByte(idx, ')')
		if open < 0 || close < open {
			continue
		}
		cols := strings.Split(idx[open+1:close], ",")
		if len(cols) != 1 {
			continue
		}
		if words := strings.Fields(cols[0]); len(words) > 0 && strings.EqualFold(strings.Trim(words[0], "`\"[]"), field) {
			return true
		}
	}
	return false
}

func isFieldType(t string) bool {
	for _, ft := range schema.FieldTypes {
		if ft == t {
			return true
		}
	}
	return false
}
