package auth

import (
	"context"
	"log/slog"
	"time"

	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/settings"
)

// Option configures the service.
type Option func(*Service)

// Mailer delivers the service's mail.
type Mailer interface {
	// Send hands m over for delivery without waiting for the mail server
	// (a queue); delivery problems are the mailer's to log.
	Send(ctx context.Context, m *mail.Message) error
	// SendNow delivers m at once and reports the outcome (test emails).
	SendNow(ctx context.Context, m *mail.Message) error
}

// WithMail sends mail through m, with the application name, URL and sender
// taken from app (the settings' meta) at each send.
func WithMail(m Mailer, app func() settings.Meta) Option {
	return func(s *Service) { s.mailer, s.app = m, app }
}

// WithLogger logs background failures (mail that could not be queued,
// one-time passwords that could not be stored) to l.
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) { s.logger = l }
}

// WithThrottle replaces DefaultThrottle.
func WithThrottle(t Throttle) Option {
	return func(s *Service) { s.throttle = t }
}

// WithBuckets keeps the throttle's buckets in b instead of the process, so
// that replicas sharing b share the limits.
func WithBuckets(b Buckets) Option {
	return func(s *Service) { s.buckets = b }
}

// Throttle limits the public endpoints that check passwords, send mail or
// check one-time passwords. A refused request gets apperr TooManyRequests
// with a *ratelimit.Exceeded cause (for Retry-After). Zero rules turn a
// limit off. Limits are per collection, and IPv6 clients are counted per
// /64 network (one subscriber's allocation).
type Throttle struct {
	// PerIP limits requests per endpoint and client IP: request-otp,
	// auth-with-otp, request-verification, request-password-reset,
	// confirm-password-reset, request-email-change and
	// confirm-email-change.
	PerIP ratelimit.Rule
	// PerIdentity limits the mails of request-otp, request-verification,
	// request-password-reset and request-email-change per endpoint and
	// target: the submitted email address (known or not, so the limit
	// reveals nothing) or, for request-email-change, the signed-in record.
	PerIdentity ratelimit.Rule
	// OTPAttempts limits auth-with-otp attempts per auth record.
	OTPAttempts ratelimit.Rule
	// LoginPerIP limits failed auth-with-password attempts per client IP.
	// Only failures count: a sign-in whose password is right gives its
	// token back.
	LoginPerIP ratelimit.Rule
	// LoginPerIdentity limits failed auth-with-password attempts per
	// submitted identity, known or not (the same answer either way).
	LoginPerIdentity ratelimit.Rule
}

// DefaultThrottle allows 30 requests a minute per IP and endpoint, 5 mails
// per 10 minutes per address and endpoint, and, as PocketBase does, 5
// one-time password attempts per 3 minutes per auth record. Password
// sign-in allows 30 failures per IP and 10 per identity, each refilled
// over 10 minutes (one every 20 s and every minute): an online guesser
// gets about 1,440 tries a day at one account, however many addresses it
// comes from, while its owner is locked out for a minute at a time at
// most.
func DefaultThrottle() Throttle {
	return Throttle{
		PerIP:            ratelimit.Rule{Burst: 30, Per: time.Minute},
		PerIdentity:      ratelimit.Rule{Burst: 5, Per: 10 * time.Minute},
		OTPAttempts:      ratelimit.Rule{Burst: 5, Per: 3 * time.Minute},
		LoginPerIP:       ratelimit.Rule{Burst: 30, Per: 10 * time.Minute},
		LoginPerIdentity: ratelimit.Rule{Burst: 10, Per: 10 * time.Minute},
	}
}

// logMailer stands in when no mailer is configured.
type logMailer struct{ logger *slog.Logger }

func (l logMailer) Send(ctx context.Context, m *mail.Message) error {
	return mail.LogSender{Logger: l.logger}.Send(ctx, m)
}

func (l logMailer) SendNow(ctx context.Context, m *mail.Message) error { return l.Send(ctx, m) }
