package mail

import (
	"context"
	"log/slog"
)

// LogSender "delivers" mail by logging that it was not sent: its recipients
// and subject, never its body, because bodies carry tokens and one-time
// passwords. It stands in for an SMTP server while none is configured.
type LogSender struct {
	Logger *slog.Logger
}

// Send logs m at info level and reports success.
func (l LogSender) Send(ctx context.Context, m *Message) error {
	l.Logger.InfoContext(ctx, "mail not sent: SMTP is disabled in the settings",
		"to", m.Recipients(), "subject", m.Subject, "bodyBytes", len(m.HTML)+len(m.Text))
	return nil
}
