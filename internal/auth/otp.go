package auth

import (
	"context"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Sign-in methods, as stored in _mfas.method.
const (
	methodPassword = "password"
	methodOTP      = "otp"
)

// defaultOTPLength applies when a collection sets none.
const defaultOTPLength = 8

func otpDisabled() error {
	return apperr.New(apperr.Forbidden, "The collection is not configured to allow OTP authentication.")
}

// RequestOTP mails a one-time password to the record of collection with
// email and returns the id to sign in with. An unknown address gets an id
// of the same form that matches nothing, and the same answer time: the
// password is stored and mailed after the response.
func (s *Service) RequestOTP(ctx context.Context, ip, collection, email string) (string, error) {
	c, err := s.authCollection(collection)
	if err != nil {
		return "", err
	}
	if !c.OTP.Enabled {
		return "", otpDisabled()
	}
	r, err := s.requestTarget(ctx, c, "request-otp", ip, email)
	if err != nil {
		return "", err
	}
	id := random.ID()
	length := c.OTP.Length
	if length <= 0 {
		length = defaultOTPLength
	}
	code := random.String("0123456789", length)
	if r == nil {
		// The same bcrypt work as for a known address, also started while
		// the response is being written, so that the CPU it takes from
		// that response does not tell the two apart.
		s.later("one-time password", func(context.Context) error {
			_, err := password.Hash(code, schema.OTPCost)
			return err
		})
		return id, nil
	}
	s.later("one-time password", func(ctx context.Context) error {
		otps, err := s.system(schema.OTPsID)
		if err != nil {
			return err
		}
		hash, err := password.Hash(code, schema.OTPCost)
		if err != nil {
			return err
		}
		to := r.String("email")
		err = s.insertRow(ctx, otps, id, map[string]any{
			"collectionRef": c.ID, "recordRef": r.ID(), "password": hash, "sentTo": to,
		}, seconds(c.OTP.Duration))
		if err != nil {
			return err
		}
		return s.send(ctx, "one-time password", s.message(r, to, c.OTP.EmailTemplate,
			map[string]string{PlaceholderOTP: code, PlaceholderOTPID: id}))
	})
	return id, nil
}

// OTPLogin is the input of WithOTP.
type OTPLogin struct {
	OTPID, Password string
	// MFAID continues a multi-factor sign-in started with another method.
	MFAID string
	// IP is the client's address, for throttling.
	IP string
}

// WithOTP signs in with a one-time password. Every failure gives the same
// answer; a password works once, until it expires, and each auth record
// gets a limited number of attempts.
func (s *Service) WithOTP(ctx context.Context, req *record.Request, collection string, in OTPLogin) (login *Login, err error) {
	defer func() { s.auditSignIn(ctx, "otp", collection, in.OTPID, login, err) }()
	c, err := s.authCollection(collection)
	if err != nil {
		return nil, err
	}
	if !c.OTP.Enabled {
		return nil, otpDisabled()
	}
	fe := apperr.FieldErrors{}
	switch {
	case in.OTPID == "":
		fe.Add("otpId", problemRequired.Code, problemRequired.Message)
	case len(in.OTPID) > 255:
		fe.Add("otpId", "validation_length_out_of_range", "The length must be between 1 and 255.")
	}
	switch {
	case in.Password == "":
		fe.Add("password", problemRequired.Code, problemRequired.Message)
	case len(in.Password) > 71:
		fe.Add("password", "validation_length_out_of_range", "The length must be between 1 and 71.")
	}
	if err := fe.Err(msgValidation); err != nil {
		return nil, err
	}
	if err := s.allowIP(ctx, "auth-with-otp", c, in.IP); err != nil {
		return nil, err
	}
	invalid := apperr.New(apperr.Invalid, "Invalid or expired OTP.")
	otps, err := s.system(schema.OTPsID)
	if err != nil {
		return nil, err
	}
	row, err := s.byID(ctx, otps, in.OTPID)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if row.String("collectionRef") != c.ID {
		return nil, invalid
	}
	if s.expired(row, seconds(c.OTP.Duration)) {
		if _, err := s.takeRow(ctx, otps, row.ID()); err != nil {
			s.logger.Warn("deleting an expired one-time password failed", "otpId", row.ID(), "err", err)
		}
		return nil, invalid
	}
	r, err := s.byID(ctx, c, row.String("recordRef"))
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	// One-time passwords are short: limit the guesses per auth record.
	if err := s.allow(ctx, "otp\x00"+c.ID+"\x00"+r.ID(), s.throttle.OTPAttempts,
		"Too many attempts, please try again later with a new OTP."); err != nil {
		return nil, err
	}
	if !password.Check(row.String("password"), in.Password) {
		return nil, invalid
	}
	if taken, err := s.takeRow(ctx, otps, row.ID()); err != nil {
		return nil, err
	} else if !taken {
		return nil, invalid // used by a concurrent request
	}
	// The password reached the inbox it was sent to: that proves the address.
	if sentTo := row.String("sentTo"); !r.Bool("verified") && sentTo != "" && sentTo == r.String("email") {
		it, err := s.records.Update(ctx, internal(), c.ID, r.ID(), record.Input{Data: map[string]any{"verified": true}}, "")
		if err != nil {
			s.logger.Error("marking a record verified after a one-time password failed", "recordId", r.ID(), "err", err)
		} else {
			r = it.Record
		}
	}
	return s.finish(ctx, req, in.IP, r, methodOTP, in.MFAID)
}
