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

// Throttle limits the public endpoints that send mail or check one-time
// passwords: request-verification, request-password-reset,
// request-email-change, request-otp and auth-with-otp. A refused request
// gets apperr TooManyRequests with a *ratelimit.Exceeded cause (for
// Retry-After). Zero rules turn a limit off.
type Throttle struct {
	// PerIP limits requests per endpoint and client IP.
	PerIP ratelimit.Rule
	// PerIdentity limits requests per endpoint and target: the submitted
	// email address (known or not, so the limit reveals nothing) or, for
	// request-email-change, the signed-in record.
	PerIdentity ratelimit.Rule
	// OTPAttempts limits auth-with-otp attempts per auth record.
	OTPAttempts ratelimit.Rule
}

// DefaultThrottle allows 30 requests a minute per IP and endpoint, 5 mails
// per 10 minutes per address and endpoint, and, as PocketBase does, 5
// one-time password attempts per 3 minutes per auth record.
var DefaultThrottle = Throttle{
	PerIP:       ratelimit.Rule{Burst: 30, Per: time.Minute},
	PerIdentity: ratelimit.Rule{Burst: 5, Per: 10 * time.Minute},
	OTPAttempts: ratelimit.Rule{Burst: 5, Per: 3 * time.Minute},
}

// logMailer stands in when no mailer is configured.
type logMailer struct{ logger *slog.Logger }

func (l logMailer) Send(ctx context.Context, m *mail.Message) error {
	return mail.LogSender{Logger: l.logger}.Send(ctx, m)
}

func (l logMailer) SendNow(ctx context.Context, m *mail.Message) error { return l.Send(ctx, m) }
