// Package mail is the outgoing-mail port: the Message type, the Sender
// interface that delivery adapters (SMTP in mail/smtp) implement, a bounded
// Queue that delivers in the background with retries, and the placeholder
// expansion used by email templates.
//
// mail imports only the standard library and leaf packages; adapters live in
// subpackages and services import this package, never an adapter.
package mail

import (
	"context"
	"errors"
	"net/mail"
	"strings"
)

// Address is a mail address with an optional display name.
type Address = mail.Address

// Message is one mail. HTML is the body; Text, when empty, is derived from
// HTML by adapters that send a plain-text alternative.
type Message struct {
	From    Address
	To      []Address
	Subject string
	HTML    string
	Text    string
}

// Sender delivers messages.
type Sender interface {
	// Send delivers m. An error wrapped with Permanent means retrying cannot
	// help (a rejected recipient, bad credentials); any other error may be
	// temporary.
	Send(ctx context.Context, m *Message) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, m *Message) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m *Message) error { return f(ctx, m) }

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as a failure that retrying will not fix.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Recipients returns the addresses of m.To, for logs.
func (m *Message) Recipients() string {
	list := make([]string, len(m.To))
	for i, a := range m.To {
		list[i] = a.Address
	}
	return strings.Join(list, ", ")
}
