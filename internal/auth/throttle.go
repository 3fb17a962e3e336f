package auth

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/schema"
)

const msgTooMany = "Too Many Requests."

// Buckets keeps the throttle's token buckets: in the process by default,
// or somewhere every replica of a cluster shares (WithBuckets).
type Buckets interface {
	// Take takes one token from key's bucket under rule: nil, a
	// *ratelimit.Exceeded refusal, or the error that kept it from deciding.
	Take(ctx context.Context, key string, rule ratelimit.Rule) error
	// Refund gives back a token Take took.
	Refund(ctx context.Context, key string, rule ratelimit.Rule) error
}

// localBuckets keeps the buckets in the process.
type localBuckets struct{ l *ratelimit.Limiter }

func (b localBuckets) Take(_ context.Context, key string, rule ratelimit.Rule) error {
	return b.l.Allow(key, rule)
}

func (b localBuckets) Refund(_ context.Context, key string, rule ratelimit.Rule) error {
	b.l.Refund(key, rule)
	return nil
}

// allow takes a token for key under rule, or returns TooManyRequests.
func (s *Service) allow(ctx context.Context, key string, rule ratelimit.Rule, message string) error {
	err := s.buckets.Take(ctx, key, rule)
	var exceeded *ratelimit.Exceeded
	if errors.As(err, &exceeded) {
		return apperr.Wrap(apperr.TooManyRequests, message, err)
	}
	return err
}

// refund gives back a token of allow; a failure only logs, since the
// request it belongs to has succeeded.
func (s *Service) refund(ctx context.Context, key string, rule ratelimit.Rule) {
	if err := s.buckets.Refund(ctx, key, rule); err != nil {
		s.logger.Warn("refunding a throttle token failed", "error", err)
	}
}

func (s *Service) allowIP(ctx context.Context, endpoint string, c *schema.Collection, ip string) error {
	return s.allow(ctx, ipKey(endpoint, c, ip), s.throttle.PerIP, msgTooMany)
}

func (s *Service) allowIdentity(ctx context.Context, endpoint string, c *schema.Collection, identity string) error {
	return s.allow(ctx, identityKey(endpoint, c, identity), s.throttle.PerIdentity, msgTooMany)
}

func ipKey(endpoint string, c *schema.Collection, ip string) string {
	return "ip\x00" + endpoint + "\x00" + c.ID + "\x00" + clientNetwork(ip)
}

func identityKey(endpoint string, c *schema.Collection, identity string) string {
	return "id\x00" + endpoint + "\x00" + c.ID + "\x00" + strings.ToLower(identity)
}

// clientNetwork is the part of a client IP that throttling counts: an IPv4
// address, or the /64 network of an IPv6 address, since one subscriber
// usually holds a whole /64 and could otherwise change address at will.
func clientNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// loginAttempt takes one token from the failed sign-in buckets of the
// client IP and of the submitted identity (known or not), or refuses the
// attempt with TooManyRequests before any password is checked. The
// caller calls succeeded once the password proved right, which gives both
// tokens back: only failures count, and taking first keeps concurrent
// guesses from slipping past the limit.
func (s *Service) loginAttempt(ctx context.Context, c *schema.Collection, ip, identity string) (succeeded func(), err error) {
	const endpoint = "auth-with-password"
	ipk, idk := ipKey(endpoint, c, ip), identityKey(endpoint, c, identity)
	if err := s.allow(ctx, ipk, s.throttle.LoginPerIP, msgTooMany); err != nil {
		return nil, err
	}
	if err := s.allow(ctx, idk, s.throttle.LoginPerIdentity, msgTooMany); err != nil {
		// Refused without a password check: not a failure of this IP.
		s.refund(ctx, ipk, s.throttle.LoginPerIP)
		return nil, err
	}
	return func() {
		s.refund(ctx, ipk, s.throttle.LoginPerIP)
		s.refund(ctx, idk, s.throttle.LoginPerIdentity)
	}, nil
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
	if err := s.allowIP(ctx, endpoint, c, ip); err != nil {
		return nil, err
	}
	if p := emailProblem(email); p != nil {
		return nil, apperr.Fields(msgValidation, map[string]apperr.Field{"email": *p})
	}
	if err := s.allowIdentity(ctx, endpoint, c, email); err != nil {
		return nil, err
	}
	return s.findByIdentity(ctx, c, []string{"email"}, email)
}
