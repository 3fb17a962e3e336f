package auth

import (
	"context"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/token"
)

// Problems of a submitted token, as PocketBase reports them.
var (
	problemRequired           = apperr.Field{Code: "validation_required", Message: "Cannot be blank."}
	problemInvalidToken       = apperr.Field{Code: "validation_invalid_token", Message: "Invalid or expired token."}
	problemCollectionMismatch = apperr.Field{Code: "validation_token_collection_mismatch", Message: "The provided token is for different auth collection."}
)

// RequestVerification mails a verification link to the unverified record
// of collection with email. It answers the same for unknown addresses,
// verified records and queued mail: the work happens after the response.
func (s *Service) RequestVerification(ctx context.Context, ip, collection, email string) error {
	c, err := s.authCollection(collection)
	if err != nil {
		return err
	}
	if c.ID == schema.SuperusersID {
		return apperr.New(apperr.Invalid, "All superusers are verified by default.")
	}
	r, err := s.requestTarget(ctx, c, "request-verification", ip, email)
	if err != nil || r == nil {
		return err
	}
	s.later("verification mail", func(ctx context.Context) error {
		if r.Bool("verified") {
			return nil
		}
		tok, err := s.sign(ctx, r, token.Claims{Type: token.TypeVerification, Email: r.String("email")})
		if err != nil {
			return err
		}
		return s.send(ctx, "verification", s.message(r, r.String("email"), c.VerificationTemplate, map[string]string{PlaceholderToken: tok}))
	})
	return nil
}

// ConfirmVerification marks the record of a verification token verified.
// The token names the email it was sent to: once the email changes, the
// token is void; confirming twice is harmless.
func (s *Service) ConfirmVerification(ctx context.Context, collection, raw string) error {
	c, err := s.authCollection(collection)
	if err != nil {
		return err
	}
	if c.ID == schema.SuperusersID {
		return apperr.New(apperr.Invalid, "All superusers are verified by default.")
	}
	r, claims, problem, err := s.checkToken(ctx, c, raw, token.TypeVerification)
	if err != nil {
		return err
	}
	if problem == nil {
		switch {
		case claims.Email == "":
			problem = &apperr.Field{Code: "validation_invalid_token_claims", Message: "Missing email token claim."}
		case claims.Email != r.String("email"):
			problem = &apperr.Field{Code: "validation_token_email_mismatch", Message: "The record email doesn't match with the requested token claims."}
		}
	}
	if problem != nil {
		return apperr.Fields(msgValidation, map[string]apperr.Field{"token": *problem})
	}
	if r.Bool("verified") {
		return nil
	}
	data := map[string]any{"verified": true}
	if !c.PasswordAuth.Enabled {
		// Without password sign-in, a password set before the address was
		// proven could belong to someone who registered it first.
		p := random.Secret()
		data["password"], data["passwordConfirm"] = p, p
	}
	_, err = s.records.Update(ctx, internal(), c.ID, r.ID(), record.Input{Data: data}, "")
	return rewrap(err, "An error occurred while saving the verified state.")
}

// checkToken verifies raw as a token of type typ for collection c. A token
// that fails is reported as a problem of the "token" field.
func (s *Service) checkToken(ctx context.Context, c *schema.Collection, raw, typ string) (*schema.Record, *token.Claims, *apperr.Field, error) {
	if raw == "" {
		return nil, nil, &problemRequired, nil
	}
	r, claims, err := s.recordByToken(ctx, raw, typ)
	if err == errBadToken {
		return nil, nil, &problemInvalidToken, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if r.Collection.ID != c.ID {
		return nil, nil, &problemCollectionMismatch, nil
	}
	return r, claims, nil, nil
}

// RequestPasswordReset mails a password reset link to the record of
// collection with email, answering the same whether or not it exists.
func (s *Service) RequestPasswordReset(ctx context.Context, ip, collection, email string) error {
	c, err := s.authCollection(collection)
	if err != nil {
		return err
	}
	if !c.PasswordAuth.Enabled {
		return apperr.New(apperr.Invalid, "The collection is not configured to allow password authentication.")
	}
	r, err := s.requestTarget(ctx, c, "request-password-reset", ip, email)
	if err != nil || r == nil {
		return err
	}
	s.later("password reset mail", func(ctx context.Context) error {
		tok, err := s.sign(ctx, r, token.Claims{Type: token.TypePasswordReset, Email: r.String("email")})
		if err != nil {
			return err
		}
		return s.send(ctx, "password reset", s.message(r, r.String("email"), c.ResetPasswordTemplate, map[string]string{PlaceholderToken: tok}))
	})
	return nil
}

// ConfirmPasswordReset sets a new password for the record of a password
// reset token. The new password rotates the record's tokenKey, which ends
// its sessions and voids the reset token itself. A record whose email is
// still the one the token was sent to becomes verified. Requests are
// throttled per client IP.
func (s *Service) ConfirmPasswordReset(ctx context.Context, ip, collection, raw, pass, confirm string) error {
	c, err := s.authCollection(collection)
	if err != nil {
		return err
	}
	if err := s.allowIP(ctx, "confirm-password-reset", c, ip); err != nil {
		return err
	}
	r, claims, problem, err := s.checkToken(ctx, c, raw, token.TypePasswordReset)
	if err != nil {
		return err
	}
	fe := apperr.FieldErrors{}
	if problem != nil {
		fe.Add("token", problem.Code, problem.Message)
	}
	minLen := 1
	if f := c.Field("password"); f != nil && f.Min != nil && *f.Min > 0 {
		minLen = int(*f.Min)
	}
	switch {
	case pass == "":
		fe.Add("password", problemRequired.Code, problemRequired.Message)
	case len(pass) < minLen || len(pass) > 255:
		fe.Add("password", "validation_length_out_of_range", "The length must be between "+strconv.Itoa(minLen)+" and 255.")
	}
	switch {
	case confirm == "":
		fe.Add("passwordConfirm", problemRequired.Code, problemRequired.Message)
	case confirm != pass:
		fe.Add("passwordConfirm", "validation_values_mismatch", "Values don't match.")
	}
	if err := fe.Err(msgValidation); err != nil {
		return err
	}
	data := map[string]any{"password": pass, "passwordConfirm": pass}
	if !r.Bool("verified") && claims.Email != "" && claims.Email == r.String("email") {
		data["verified"] = true
	}
	_, err = s.records.Update(ctx, internal(), c.ID, r.ID(), record.Input{Data: data}, "")
	return rewrap(err, "Failed to set new password.")
}

// RequestEmailChange mails a confirmation link to newEmail for the record
// signed in with req, which must belong to collection.
func (s *Service) RequestEmailChange(ctx context.Context, req *record.Request, ip, collection, newEmail string) error {
	c, err := s.authCollection(collection)
	if err != nil {
		return err
	}
	if c.ID == schema.SuperusersID {
		return apperr.New(apperr.Invalid, "All superusers can change their emails directly.")
	}
	if req == nil || req.Auth == nil {
		return apperr.New(apperr.Unauthenticated, "The request requires valid auth record.")
	}
	if req.Auth.Collection.ID != c.ID {
		return apperr.New(apperr.Forbidden, "The request requires valid record authorization token of the same collection.")
	}
	if err := s.allowIP(ctx, "request-email-change", c, ip); err != nil {
		return err
	}
	r, err := s.byID(ctx, c, req.Auth.ID())
	if err != nil {
		return err
	}
	problem := emailProblem(newEmail)
	if problem == nil && strings.EqualFold(newEmail, r.String("email")) {
		problem = &apperr.Field{Code: "validation_not_in_invalid", Message: "Must not be a valid value."}
	}
	if problem == nil {
		other, err := s.findByIdentity(ctx, c, []string{"email"}, newEmail)
		if err != nil {
			return err
		}
		if other != nil && other.ID() != r.ID() {
			problem = &apperr.Field{Code: "validation_invalid_new_email", Message: "Invalid new email address."}
		}
	}
	if problem != nil {
		return apperr.Fields(msgValidation, map[string]apperr.Field{"newEmail": *problem})
	}
	if err := s.allowIdentity(ctx, "request-email-change", c, r.ID()); err != nil {
		return err
	}
	s.later("email change mail", func(ctx context.Context) error {
		tok, err := s.sign(ctx, r, token.Claims{Type: token.TypeEmailChange, Email: r.String("email"), NewEmail: newEmail})
		if err != nil {
			return err
		}
		return s.send(ctx, "email change", s.message(r, newEmail, c.ConfirmEmailChangeTemplate, map[string]string{PlaceholderToken: tok}))
	})
	return nil
}

// ConfirmEmailChange sets the new email of an email change token once the
// record's password is confirmed. The token is void once the record's email
// is no longer the one it was issued for. Requests are throttled per
// client IP, since each checks a password.
func (s *Service) ConfirmEmailChange(ctx context.Context, ip, collection, raw, pass string) error {
	c, err := s.authCollection(collection)
	if err != nil {
		return err
	}
	if c.ID == schema.SuperusersID {
		return apperr.New(apperr.Invalid, "All superusers can change their emails directly.")
	}
	if err := s.allowIP(ctx, "confirm-email-change", c, ip); err != nil {
		return err
	}
	fe := apperr.FieldErrors{}
	var r *schema.Record
	var claims *token.Claims
	if raw == "" {
		fe.Add("token", problemRequired.Code, problemRequired.Message)
	} else if unverified, err := token.Unverified(raw); err != nil || unverified.NewEmail == "" {
		fe.Add("token", "validation_invalid_token_payload", "Invalid token payload - newEmail must be set.")
	} else {
		var problem *apperr.Field
		r, claims, problem, err = s.checkToken(ctx, c, raw, token.TypeEmailChange)
		if err != nil {
			return err
		}
		if problem == nil && claims.Email != r.String("email") {
			problem = &problemInvalidToken // already used, or the email changed since
		}
		if problem == nil {
			other, err := s.findByIdentity(ctx, c, []string{"email"}, claims.NewEmail)
			if err != nil {
				return err
			}
			if other != nil {
				problem = &apperr.Field{Code: "validation_invalid_token_email", Message: "The new email address is invalid."}
			}
		}
		if problem != nil {
			fe.Add("token", problem.Code, problem.Message)
			r = nil
		}
	}
	switch {
	case pass == "":
		fe.Add("password", problemRequired.Code, problemRequired.Message)
	case len(pass) > 100:
		fe.Add("password", "validation_length_out_of_range", "The length must be between 1 and 100.")
	case r == nil || !password.Check(r.String("password"), pass):
		fe.Add("password", "validation_invalid_password", "Missing or invalid auth record password.")
	}
	if err := fe.Err(msgValidation); err != nil {
		return err
	}
	data := map[string]any{"email": claims.NewEmail, "verified": true}
	_, err = s.records.Update(ctx, internal(), c.ID, r.ID(), record.Input{Data: data}, "")
	return rewrap(err, "Failed to confirm email change.")
}

// rewrap gives a validation error of a record update the flow's message.
func rewrap(err error, message string) error {
	if e := apperr.As(err); e != nil && e.Code == apperr.Invalid {
		return &apperr.Error{Code: apperr.Invalid, Message: message, Data: e.Data, Cause: err}
	}
	return err
}
