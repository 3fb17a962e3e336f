package schema

import "fmt"

func fl(v float64) *float64 { return &v }

// DefaultIDPattern is the autogeneratePattern of the default id field:
// 15 characters of [a-z0-9].
const DefaultIDPattern = "[a-z0-9]{15}"

// IDField returns the primary-key field every collection has.
func IDField() *Field {
	return &Field{
		ID: "text3208210256", Name: "id", Type: TypeText, System: true, Required: true, PrimaryKey: true,
		Min: fl(15), Max: fl(15), Pattern: "^[a-z0-9]+$", AutogeneratePattern: DefaultIDPattern,
	}
}

// AutodateFields returns the conventional created/updated fields.
func AutodateFields(system bool) []*Field {
	return []*Field{
		{ID: "autodate2990389176", Name: "created", Type: TypeAutodate, System: system, OnCreate: true},
		{ID: "autodate3332085495", Name: "updated", Type: TypeAutodate, System: system, OnCreate: true, OnUpdate: true},
	}
}

// AuthSystemFields returns the fields every auth collection has, after id.
func AuthSystemFields() []*Field {
	return []*Field{
		{ID: "password901924565", Name: "password", Type: TypePassword, System: true, Hidden: true, Required: true, Min: fl(8)},
		{ID: "text2504183744", Name: "tokenKey", Type: TypeText, System: true, Hidden: true, Required: true,
			Min: fl(30), Max: fl(60), AutogeneratePattern: "[a-zA-Z0-9]{50}"},
		{ID: "email3885137012", Name: "email", Type: TypeEmail, System: true, Required: true},
		{ID: "bool1547992806", Name: "emailVisibility", Type: TypeBool, System: true},
		{ID: "bool256245529", Name: "verified", Type: TypeBool, System: true},
	}
}

// AuthIndexes returns the unique indexes every auth collection has.
func AuthIndexes(id, name string) []string {
	return []string{
		fmt.Sprintf("CREATE UNIQUE INDEX `idx_tokenKey_%s` ON `%s` (`tokenKey`)", id, name),
		fmt.Sprintf("CREATE UNIQUE INDEX `idx_email_%s` ON `%s` (`email`) WHERE `email` != ''", id, name),
	}
}

// NewAuthOptions returns the default options of an auth collection, with
// fresh secrets from secret.
func NewAuthOptions(secret func() string) *AuthOptions {
	footer := "<p>\n  Thanks,<br/>\n  {APP_NAME} team\n</p>"
	return &AuthOptions{
		AuthRule: Rule(""),
		AuthAlert: AuthAlert{Enabled: true, EmailTemplate: EmailTemplate{
			Subject: "Login from a new location",
			Body:    "<p>Hello,</p>\n<p>We noticed a login to your {APP_NAME} account from a new location.</p>\n<p>If this was you, you may disregard this email.</p>\n" + footer,
		}},
		OAuth2:       OAuth2{MappedFields: map[string]string{"id": "", "name": "", "username": "", "avatarURL": ""}},
		PasswordAuth: PasswordAuth{Enabled: true, IdentityFields: []string{"email"}},
		MFA:          MFA{Duration: 1800},
		OTP: OTP{Duration: 180, Length: 8, EmailTemplate: EmailTemplate{
			Subject: "OTP for {APP_NAME}",
			Body:    "<p>Hello,</p>\n<p>Your one-time password is: <strong>{OTP}</strong></p>\n" + footer,
		}},
		AuthToken:          TokenConfig{Secret: secret(), Duration: 604800},
		PasswordResetToken: TokenConfig{Secret: secret(), Duration: 1800},
		EmailChangeToken:   TokenConfig{Secret: secret(), Duration: 1800},
		VerificationToken:  TokenConfig{Secret: secret(), Duration: 259200},
		FileToken:          TokenConfig{Secret: secret(), Duration: 180},
		VerificationTemplate: EmailTemplate{
			Subject: "Verify your {APP_NAME} email",
			Body:    "<p>Hello,</p>\n<p>Click on the link below to verify your email address.</p>\n<p><a href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\">Verify</a></p>\n" + footer,
		},
		ResetPasswordTemplate: EmailTemplate{
			Subject: "Reset your {APP_NAME} password",
			Body:    "<p>Hello,</p>\n<p>Click on the link below to reset your password.</p>\n<p><a href=\"{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\">Reset password</a></p>\n" + footer,
		},
		ConfirmEmailChangeTemplate: EmailTemplate{
			Subject: "Confirm your {APP_NAME} new email address",
			Body:    "<p>Hello,</p>\n<p>Click on the link below to confirm your new email address.</p>\n<p><a href=\"{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\">Confirm new email</a></p>\n" + footer,
		},
	}
}

// NewCollection returns a collection of the given type with its required
// system fields and defaults. Auth collections get fresh secrets.
func NewCollection(typ, name string, secret func() string) *Collection {
	c := &Collection{Name: name, Type: typ, Fields: []*Field{IDField()}, Indexes: []string{}}
	if typ == TypeAuth {
		c.Fields = append(c.Fields, AuthSystemFields()...)
		c.AuthOptions = NewAuthOptions(secret)
	}
	return c
}

// Superusers returns the definition of the _superusers collection.
func Superusers(secret func() string) *Collection {
	c := NewCollection(TypeAuth, SuperusersName, secret)
	c.ID, c.System = SuperusersID, true
	c.Fields = append(c.Fields, AutodateFields(true)...)
	c.Indexes = AuthIndexes(c.ID, c.Name)
	c.AuthToken.Duration = 86400
	return c
}

// Users returns the definition of the default users collection.
func Users(secret func() string) *Collection {
	c := NewCollection(TypeAuth, UsersName, secret)
	c.ID = UsersID
	owner := Rule("id = @request.auth.id")
	c.ListRule, c.ViewRule, c.UpdateRule, c.DeleteRule = owner, Rule(*owner), Rule(*owner), Rule(*owner)
	c.CreateRule = Rule("")
	c.Fields = append(c.Fields,
		&Field{ID: "text1579384326", Name: "name", Type: TypeText, Max: fl(255)},
		&Field{ID: "file376926767", Name: "avatar", Type: TypeFile, MaxSelect: 1,
			MimeTypes: []string{"image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"}},
	)
	c.Fields = append(c.Fields, AutodateFields(false)...)
	c.Indexes = AuthIndexes(c.ID, c.Name)
	c.OAuth2.MappedFields["name"] = "name"
	c.OAuth2.MappedFields["avatarURL"] = "avatar"
	return c
}
