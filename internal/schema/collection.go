package schema

import (
	"hash/crc32"
	"strconv"
	"strings"
)

// Collection types.
const (
	TypeBase = "base"
	TypeAuth = "auth"
)

// Ids and names of the collections that exist from the first start.
const (
	SuperusersID   = "pbc_3142635823"
	SuperusersName = "_superusers"
	UsersID        = "_pb_users_auth_"
	UsersName      = "users"
)

// Collection is a user-defined table: its fields, indexes and API rules. A nil
// rule means superusers only; "" means everyone.
type Collection struct {
	ID         string   `json:"id"`
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	System     bool     `json:"system"`
	Fields     []*Field `json:"fields"`
	Indexes    []string `json:"indexes"`
	ListRule   *string  `json:"listRule"`
	ViewRule   *string  `json:"viewRule"`
	CreateRule *string  `json:"createRule"`
	UpdateRule *string  `json:"updateRule"`
	DeleteRule *string  `json:"deleteRule"`
	// AuthOptions is non-nil exactly for auth collections; its keys are
	// encoded inline.
	*AuthOptions
	Created string `json:"created"`
	Updated string `json:"updated"`
}

// AuthOptions are the settings of an auth collection.
type AuthOptions struct {
	AuthRule                   *string       `json:"authRule"`
	ManageRule                 *string       `json:"manageRule"`
	AuthAlert                  AuthAlert     `json:"authAlert"`
	OAuth2                     OAuth2        `json:"oauth2"`
	PasswordAuth               PasswordAuth  `json:"passwordAuth"`
	MFA                        MFA           `json:"mfa"`
	OTP                        OTP           `json:"otp"`
	AuthToken                  TokenConfig   `json:"authToken"`
	PasswordResetToken         TokenConfig   `json:"passwordResetToken"`
	EmailChangeToken           TokenConfig   `json:"emailChangeToken"`
	VerificationToken          TokenConfig   `json:"verificationToken"`
	FileToken                  TokenConfig   `json:"fileToken"`
	VerificationTemplate       EmailTemplate `json:"verificationTemplate"`
	ResetPasswordTemplate      EmailTemplate `json:"resetPasswordTemplate"`
	ConfirmEmailChangeTemplate EmailTemplate `json:"confirmEmailChangeTemplate"`
}

// TokenConfig is the signing secret and lifetime (seconds) of one token type.
// The secret is stored but never sent to clients.
type TokenConfig struct {
	Secret   string `json:"secret,omitempty"`
	Duration int64  `json:"duration"`
}

// EmailTemplate is a mail subject and HTML body with {PLACEHOLDERS}.
type EmailTemplate struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// AuthAlert configures the new-login alert mail.
type AuthAlert struct {
	Enabled       bool          `json:"enabled"`
	EmailTemplate EmailTemplate `json:"emailTemplate"`
}

// OAuth2 configures OAuth2 sign-in.
type OAuth2 struct {
	MappedFields map[string]string `json:"mappedFields"`
	Enabled      bool              `json:"enabled"`
	Providers    []OAuth2Provider  `json:"providers"`
}

// PasswordAuth configures identity/password sign-in.
type PasswordAuth struct {
	Enabled        bool     `json:"enabled"`
	IdentityFields []string `json:"identityFields"`
}

// MFA configures multi-factor authentication.
type MFA struct {
	Enabled  bool   `json:"enabled"`
	Duration int64  `json:"duration"`
	Rule     string `json:"rule"`
}

// OTP configures one-time-password sign-in.
type OTP struct {
	Enabled       bool          `json:"enabled"`
	Duration      int64         `json:"duration"`
	Length        int           `json:"length"`
	EmailTemplate EmailTemplate `json:"emailTemplate"`
}

// IsAuth reports whether c is an auth collection.
func (c *Collection) IsAuth() bool { return c.Type == TypeAuth }

// Field returns the field named name (case-sensitive), or nil.
func (c *Collection) Field(name string) *Field {
	for _, f := range c.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// FieldByID returns the field with the given id, or nil.
func (c *Collection) FieldByID(id string) *Field {
	for _, f := range c.Fields {
		if f.ID == id {
			return f
		}
	}
	return nil
}

// Clone returns a deep copy of c.
func (c *Collection) Clone() *Collection {
	out := *c
	out.Fields = make([]*Field, len(c.Fields))
	for i, f := range c.Fields {
		out.Fields[i] = f.Clone()
	}
	out.Indexes = cloneStrings(c.Indexes)
	for _, p := range []**string{&out.ListRule, &out.ViewRule, &out.CreateRule, &out.UpdateRule, &out.DeleteRule} {
		*p = cloneRule(*p)
	}
	if c.AuthOptions != nil {
		a := *c.AuthOptions
		a.AuthRule, a.ManageRule = cloneRule(a.AuthRule), cloneRule(a.ManageRule)
		a.PasswordAuth.IdentityFields = cloneStrings(a.PasswordAuth.IdentityFields)
		a.OAuth2.MappedFields = cloneMap(a.OAuth2.MappedFields)
		a.OAuth2.Providers = cloneProviders(a.OAuth2.Providers)
		out.AuthOptions = &a
	}
	return &out
}

// Public returns a copy of c without secrets, for clients.
func (c *Collection) Public() *Collection {
	out := c.Clone()
	if out.AuthOptions != nil {
		for _, t := range out.tokenConfigs() {
			t.Secret = ""
		}
		if out.OAuth2.Providers == nil {
			out.OAuth2.Providers = []OAuth2Provider{}
		}
		for i := range out.OAuth2.Providers {
			out.OAuth2.Providers[i].ClientSecret = ""
		}
	}
	return out
}

func (c *Collection) tokenConfigs() []*TokenConfig {
	a := c.AuthOptions
	return []*TokenConfig{&a.AuthToken, &a.PasswordResetToken, &a.EmailChangeToken, &a.VerificationToken, &a.FileToken}
}

func cloneRule(r *string) *string {
	if r == nil {
		return nil
	}
	v := *r
	return &v
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Rule returns a pointer to a rule string, for literals.
func Rule(s string) *string { return &s }

// DefaultCollectionID returns the id given to a new collection without one.
func DefaultCollectionID(typ, name string) string {
	return "pbc_" + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(typ+name))), 10)
}

// IsSystemName reports whether name is reserved for Basalt's own collections.
func IsSystemName(name string) bool { return strings.HasPrefix(name, "_") }
