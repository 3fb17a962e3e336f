package auth

import (
	"context"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/token"
)

// Templates of SendTestEmail.
const (
	TemplateVerification  = "verification"
	TemplatePasswordReset = "password-reset"
	TemplateEmailChange   = "email-change"
	TemplateOTP           = "otp"
	TemplateLoginAlert    = "login-alert"
)

// SendTestEmail renders one of collection's email templates ("" =
// _superusers) for a made-up record and delivers it to email at once,
// reporting a delivery failure (superusers use it to check the SMTP
// settings).
func (s *Service) SendTestEmail(ctx context.Context, collection, template, email string) error {
	fe := apperr.FieldErrors{}
	var c *schema.Collection
	if collection == "" {
		c = s.cols.Lookup(schema.SuperusersID)
	} else if c = s.cols.Lookup(collection); len(collection) > 255 || c == nil || !c.IsAuth() {
		fe.Add("collection", "validation_invalid_auth_collection", "Must be a valid auth collection id or name.")
	}
	if p := emailProblem(email); p != nil {
		fe.Add("email", p.Code, p.Message)
	}
	switch template {
	case "":
		fe.Add("template", problemRequired.Code, problemRequired.Message)
	case TemplateVerification, TemplatePasswordReset, TemplateEmailChange, TemplateOTP, TemplateLoginAlert:
	default:
		fe.Add("template", "validation_in_invalid", "Must be a valid value.")
	}
	if err := fe.Err("Failed to send the test email."); err != nil {
		return err
	}

	r := schema.NewRecord(c)
	for _, f := range c.Fields {
		if !f.Hidden {
			r.Data[f.Name] = "__basalt_test_" + f.Name + "__"
		}
	}
	r.Data["id"], r.Data["tokenKey"], r.Data["email"] = random.ID(), random.Secret(), email

	var tpl schema.EmailTemplate
	values := map[string]string{}
	var typ string
	claims := token.Claims{Email: email}
	switch template {
	case TemplateVerification:
		tpl, typ = c.VerificationTemplate, token.TypeVerification
	case TemplatePasswordReset:
		tpl, typ = c.ResetPasswordTemplate, token.TypePasswordReset
	case TemplateEmailChange:
		tpl, typ, claims.NewEmail = c.ConfirmEmailChangeTemplate, token.TypeEmailChange, email
	case TemplateOTP:
		tpl = c.OTP.EmailTemplate
		values[PlaceholderOTP], values[PlaceholderOTPID] = "123456", "_BASALT_TEST_OTP_ID_"
	case TemplateLoginAlert:
		tpl = c.AuthAlert.EmailTemplate
		values[PlaceholderAlertInfo] = schema.FormatTime(s.now()) + " - TEST_IP TEST_USER_AGENT"
	}
	if typ != "" {
		claims.Type = typ
		tok, err := s.sign(ctx, r, claims)
		if err != nil {
			return err
		}
		values[PlaceholderToken] = tok
	}
	if err := s.mailer.SendNow(ctx, s.message(r, email, tpl, values)); err != nil {
		return apperr.Wrap(apperr.Invalid, "Failed to send the test email. Raw error: \n"+err.Error(), err)
	}
	return nil
}
