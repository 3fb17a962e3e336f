package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/mail/mailtest"
	"github.com/basalt-dev/basalt/internal/mail/smtp"
)

func message(to string) *mail.Message {
	return &mail.Message{
		From:    mail.Address{Name: "Acme Support", Address: "support@acme.test"},
		To:      []mail.Address{{Address: to}},
		Subject: "Vérifiez votre compte\r\nBcc: evil@example.com",
		HTML:    `<p>Hello &amp; welcome,</p><p><a href="http://app.test/confirm/abc.def.ghi">Verify</a></p>` + "\n.\n..dots\n",
	}
}

func sender(srv *mailtest.Server, cfg smtp.Config) *smtp.Sender {
	cfg.Enabled, cfg.Host, cfg.Port = true, srv.Host, srv.Port
	return &smtp.Sender{Config: func() smtp.Config { return cfg }}
}

func TestSendVariants(t *testing.T) {
	t.Parallel()
	tlsConfig, pool := mailtest.TLS(t)
	tests := []struct {
		name     string
		opts     mailtest.Options
		cfg      smtp.Config
		wantUser string
		wantTLS  bool
	}{
		{name: "plain connection, no auth", opts: mailtest.Options{}},
		{name: "STARTTLS when offered", opts: mailtest.Options{TLS: tlsConfig}, wantTLS: true},
		{name: "STARTTLS and AUTH PLAIN", opts: mailtest.Options{TLS: tlsConfig, Username: "u", Password: "p"},
			cfg: smtp.Config{Username: "u", Password: "p"}, wantUser: "u", wantTLS: true},
		{name: "STARTTLS and AUTH LOGIN", opts: mailtest.Options{TLS: tlsConfig, Username: "u", Password: "p"},
			cfg: smtp.Config{Username: "u", Password: "p", AuthMethod: "LOGIN"}, wantUser: "u", wantTLS: true},
		{name: "implicit TLS", opts: mailtest.Options{TLS: tlsConfig, ImplicitTLS: true, Username: "u", Password: "p"},
			cfg: smtp.Config{TLS: true, Username: "u", Password: "p"}, wantUser: "u", wantTLS: true},
		{name: "AUTH PLAIN over loopback without TLS", opts: mailtest.Options{Username: "u", Password: "p"},
			cfg: smtp.Config{Username: "u", Password: "p"}, wantUser: "u"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.Start(t, tt.opts)
			s := sender(srv, tt.cfg)
			s.RootCAs = pool
			if err := s.Send(context.Background(), message("alice@example.com")); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.WaitTo(t, 5*time.Second, "alice@example.com")
			if got.User != tt.wantUser || got.TLS != tt.wantTLS {
				t.Errorf("user=%q tls=%v, want user=%q tls=%v", got.User, got.TLS, tt.wantUser, tt.wantTLS)
			}
			if got.From != "support@acme.test" {
				t.Errorf("envelope from = %q", got.From)
			}
			if subject := got.Subject(); subject != "Vérifiez votre compte Bcc: evil@example.com" {
				t.Errorf("subject = %q (line breaks must not start a header)", subject)
			}
			if got.Header("Bcc") != "" {
				t.Errorf("a Bcc header was injected")
			}
			if from := got.Header("From"); from != `"Acme Support" <support@acme.test>` {
				t.Errorf("From header = %q", from)
			}
			html := strings.ReplaceAll(got.HTML(), "\r\n", "\n")
			if !strings.Contains(html, `href="http://app.test/confirm/abc.def.ghi"`) || !strings.Contains(html, "\n.\n..dots") {
				t.Errorf("html part = %q", html)
			}
			text := got.Text()
			if !strings.Contains(text, "Hello & welcome,") || !strings.Contains(text, "Verify (http://app.test/confirm/abc.def.ghi)") {
				t.Errorf("text part = %q", text)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	tlsConfig, pool := mailtest.TLS(t)
	tests := []struct {
		name          string
		opts          mailtest.Options
		cfg           smtp.Config
		setup         func(*mailtest.Server)
		wantPermanent bool
	}{
		{name: "temporary failure", setup: func(s *mailtest.Server) { s.FailNext(1, "451 4.3.0 try later") }},
		{name: "permanent failure", setup: func(s *mailtest.Server) { s.FailNext(1, "554 5.0.0 rejected") }, wantPermanent: true},
		{name: "rejected recipient", setup: func(s *mailtest.Server) { s.Reject("alice@example.com") }, wantPermanent: true},
		{name: "wrong password", opts: mailtest.Options{TLS: tlsConfig, Username: "u", Password: "p"},
			cfg: smtp.Config{Username: "u", Password: "wrong"}, wantPermanent: true},
		{name: "server without AUTH", cfg: smtp.Config{Username: "u", Password: "p"}, wantPermanent: true},
		{name: "untrusted certificate", opts: mailtest.Options{TLS: tlsConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := mailtest.Start(t, tt.opts)
			if tt.setup != nil {
				tt.setup(srv)
			}
			s := sender(srv, tt.cfg)
			if tt.name != "untrusted certificate" {
				s.RootCAs = pool
			}
			err := s.Send(context.Background(), message("alice@example.com"))
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if got := mail.IsPermanent(err); got != tt.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tt.wantPermanent)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("server recorded %d messages, want 0", n)
			}
		})
	}
}

func TestSendHonoursContext(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	release := srv.Hold()
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := sender(srv, smtp.Config{}).Send(ctx, message("alice@example.com"))
	if err == nil {
		t.Fatal("Send to a stalled server succeeded")
	}
}

func TestSendConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	srv.Close()
	err := sender(srv, smtp.Config{}).Send(context.Background(), message("alice@example.com"))
	if err == nil || mail.IsPermanent(err) {
		t.Errorf("Send to a closed port = %v, want a temporary error", err)
	}
}

func TestDisabledFallsBack(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &smtp.Sender{
		Config:   func() smtp.Config { return smtp.Config{Enabled: false, Host: "127.0.0.1", Port: 1} },
		Fallback: mail.LogSender{Logger: slog.New(slog.NewTextHandler(&logs, nil))},
	}
	if err := s.Send(context.Background(), message("alice@example.com")); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.Contains(logs.String(), "alice@example.com") || strings.Contains(logs.String(), "abc.def.ghi") {
		t.Errorf("fallback log = %s", logs.String())
	}
	noFallback := &smtp.Sender{Config: func() smtp.Config { return smtp.Config{} }}
	if err := noFallback.Send(context.Background(), message("a@b.c")); !mail.IsPermanent(err) {
		t.Errorf("disabled without fallback = %v, want a permanent error", err)
	}
}

func TestQueueOverSMTPRetries(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t, mailtest.Options{})
	srv.FailNext(2, "421 4.7.0 busy")
	q := mail.NewQueue(sender(srv, smtp.Config{}), slog.New(slog.DiscardHandler),
		mail.QueueOptions{Backoff: time.Millisecond, Attempts: 5})
	if err := q.Send(context.Background(), message("bob@example.com")); err != nil {
		t.Fatal(err)
	}
	srv.WaitTo(t, 5*time.Second, "bob@example.com")
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("got %d messages, want 1", n)
	}
	if !errors.Is(q.Send(context.Background(), message("x@example.com")), mail.ErrQueueClosed) {
		t.Error("Send after Close should fail")
	}
}
