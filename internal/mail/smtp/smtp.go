// Package smtp is the SMTP adapter of the mail port: it delivers messages
// to the server configured in the settings (implicit TLS or STARTTLS, AUTH
// PLAIN or LOGIN) and falls back to another Sender, normally one that only
// logs, while SMTP is disabled. The configuration is read at every send,
// so settings changes apply without a restart.
//
// smtp imports the mail port and the standard library only.
package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/mail"
)

// Config is one SMTP server's settings.
type Config struct {
	Enabled  bool
	Host     string
	Port     int
	Username string
	Password string
	// AuthMethod is "PLAIN" (also when empty) or "LOGIN".
	AuthMethod string
	// TLS dials with implicit TLS (port 465); otherwise STARTTLS is used
	// whenever the server offers it.
	TLS bool
	// LocalName is the EHLO name ("" = localhost).
	LocalName string
}

// DefaultTimeout bounds one delivery when ctx has no earlier deadline.
const DefaultTimeout = time.Minute

// Sender delivers through SMTP as Config says.
type Sender struct {
	// Config returns the current settings; it is called for every message.
	Config func() Config
	// Fallback receives the messages while Config().Enabled is false.
	Fallback mail.Sender
	// RootCAs verifies server certificates (nil = the system's roots).
	RootCAs *x509.CertPool
}

// Send delivers m. Replies in the 5xx range are returned as permanent
// errors (mail.IsPermanent); network failures and 4xx replies are not.
func (s *Sender) Send(ctx context.Context, m *mail.Message) error {
	cfg := s.Config()
	if !cfg.Enabled {
		if s.Fallback == nil {
			return mail.Permanent(errors.New("smtp: disabled and no fallback"))
		}
		return s.Fallback.Send(ctx, m)
	}
	if len(m.To) == 0 {
		return mail.Permanent(errors.New("smtp: message has no recipient"))
	}
	raw, err := build(m, time.Now())
	if err != nil {
		return mail.Permanent(err)
	}
	if err := s.deliver(ctx, cfg, m, raw); err != nil {
		return classify(err)
	}
	return nil
}

func (s *Sender) deliver(ctx context.Context, cfg Config, m *mail.Message, raw []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	tlsConfig := &tls.Config{ServerName: cfg.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
	dialer := &net.Dialer{}
	var conn net.Conn
	var err error
	if cfg.TLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp: connecting to %s: %w", addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	// Cancellation interrupts a blocked read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	c, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		return fmt.Errorf("smtp: greeting: %w", err)
	}
	defer c.Close()
	localName := cfg.LocalName
	if localName == "" {
		localName = "localhost"
	}
	if err := c.Hello(localName); err != nil {
		return fmt.Errorf("smtp: EHLO: %w", err)
	}
	if !cfg.TLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("smtp: STARTTLS: %w", err)
			}
		}
	}
	if cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return mail.Permanent(errors.New("smtp: the server does not support AUTH"))
		}
		var a smtp.Auth
		if strings.EqualFold(cfg.AuthMethod, "LOGIN") {
			a = &loginAuth{username: cfg.Username, password: cfg.Password, host: cfg.Host}
		} else {
			a = smtp.PlainAuth("", cfg.Username, cfg.Password, cfg.Host)
		}
		if err := c.Auth(a); err != nil {
			return fmt.Errorf("smtp: AUTH: %w", err)
		}
	}
	if err := c.Mail(m.From.Address); err != nil {
		return fmt.Errorf("smtp: MAIL FROM: %w", err)
	}
	for _, to := range m.To {
		if err := c.Rcpt(to.Address); err != nil {
			return fmt.Errorf("smtp: RCPT TO %s: %w", to.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp: DATA: %w", err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("smtp: writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp: ending message: %w", err)
	}
	// The message is accepted; a failed QUIT does not undo that.
	_ = c.Quit()
	return nil
}

// classify marks permanent SMTP failures: 5xx replies and refused
// authentication over an unencrypted connection.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return mail.Permanent(err)
	}
	if strings.Contains(err.Error(), "unencrypted connection") {
		return mail.Permanent(err)
	}
	return err
}

// loginAuth is the AUTH LOGIN mechanism. Like net/smtp's PLAIN, it sends
// credentials only over TLS or to a loopback host.
type loginAuth struct {
	username, password, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !isLoopback(server.Name) {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(challenge []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch strings.ToLower(strings.TrimSpace(string(challenge))) {
	case "username:", "user name", "username":
		return []byte(a.username), nil
	case "password:", "password":
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN challenge %q", challenge)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
