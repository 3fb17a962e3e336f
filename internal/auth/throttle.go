package auth

import (
	"context"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/schema"
)

const msgTooMany = "Too Many Requests."

// allow takes a token for key under rule, or returns TooManyRequests.
func (s *Service) allow(key string, rule ratelimit.Rule, message string) error {
	if err := s.limiter.Allow(key, rule); err != nil {
		return apperr.Wrap(apperr.TooManyRequests, message, err)
	}
	return nil
}

func (s *Service) allowIP(endpoint string, c *schema.Collection, ip string) error {
	return s.allow("ip\x00"+endpoint+"\x00"+c.ID+"\x00"+ip, s.throttle.PerIP, msgTooMany)
}

func (s *Service) allowIdentity(endpoint string, c *schema.Collection, identity string) error {
	return s.allow("id\x00"+endpoint+"\x00"+c.ID+"\x00"+strings.ToLower(identity), s.throttle.PerIdentity, msgTooMany)
}

// emailProblem validates an email address of a request body.
func emailProblem(email string) *apperr.Field {
	switch {
	case email == "":
		return &apperr.Field{Code: "validation_required", Message: "Cannot be blank."}
	case len(email) > 255:
		return &apperr.Field{Code: "validation_length_out_of_range", Message: "The length must be between 1 and 255."}
	}
	return (&schema.Field{Type: schema.TypeEmail}).Validate(email)
}

// requestTarget is the common start of the request-* endpoints: throttle
// by IP, validate the address, throttle by address, then find the record
// (nil when none has it). Known and unknown addresses take the same path.
func (s *Service) requestTarget(ctx context.Context, c *schema.Collection, endpoint, ip, email string) (*schema.Record, error) {
	if err := s.allowIP(endpoint, c, ip); err != nil {
		return nil, err
	}
	if p := emailProblem(email); p != nil {
		return nil, apperr.Fields(msgValidation, map[string]apperr.Field{"email": *p})
	}
	if err := s.allowIdentity(endpoint, c, email); err != nil {
		return nil, err
	}
	return s.findByIdentity(ctx, c, []string{"email"}, email)
}
