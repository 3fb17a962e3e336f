package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/mail/smtp"
	"github.com/basalt-dev/basalt/internal/settings"
)

// newMailQueue returns the queue every service sends mail through: SMTP as
// the settings say at each send, or, while SMTP is disabled, a log line per
// mail (recipient and subject, never the body).
func newMailQueue(set *settings.Service, logger *slog.Logger) *mail.Queue {
	sender := &smtp.Sender{
		Config: func() smtp.Config {
			c := set.Get().SMTP
			return smtp.Config{Enabled: c.Enabled, Host: c.Host, Port: c.Port, Username: c.Username,
				Password: c.Password, AuthMethod: c.AuthMethod, TLS: c.TLS, LocalName: c.LocalName}
		},
		Fallback: mail.LogSender{Logger: logger},
	}
	return mail.NewQueue(sender, logger, mail.QueueOptions{})
}

// closeBackground lets the auth service finish its background work, then
// delivers the queued mail, both until ctx ends.
func (a *app) closeBackground(ctx context.Context) error {
	return errors.Join(a.auth.Close(ctx), a.mail.Close(ctx))
}
