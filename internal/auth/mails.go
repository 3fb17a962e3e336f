package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Placeholders of email templates, as PocketBase names them. Every visible
// field of the record is also available as {RECORD:fieldName}.
const (
	PlaceholderAppName   = "{APP_NAME}"
	PlaceholderAppURL    = "{APP_URL}"
	PlaceholderToken     = "{TOKEN}"
	PlaceholderOTP       = "{OTP}"
	PlaceholderOTPID     = "{OTP_ID}"
	PlaceholderAlertInfo = "{ALERT_INFO}"
)

// message renders tpl for r and addresses it to to. Values are HTML-escaped
// in the body and inserted as they are in the subject (plain text).
func (s *Service) message(r *schema.Record, to string, tpl schema.EmailTemplate, extra map[string]string) *mail.Message {
	meta := s.app()
	values := map[string]string{PlaceholderAppName: meta.AppName, PlaceholderAppURL: meta.AppURL}
	for _, f := range r.Collection.Fields {
		if f.Hidden || f.Type == schema.TypePassword {
			continue
		}
		values["{RECORD:"+f.Name+"}"] = text(r.Data[f.Name])
	}
	for k, v := range extra {
		values[k] = v
	}
	return &mail.Message{
		From:    mail.Address{Name: meta.SenderName, Address: meta.SenderAddress},
		To:      []mail.Address{{Address: to}},
		Subject: mail.Expand(tpl.Subject, values, false),
		HTML:    mail.Expand(tpl.Body, values, true),
	}
}

// text renders a field value for a template.
func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case []string:
		return strings.Join(v, ", ")
	case json.RawMessage:
		return string(v)
	}
	return fmt.Sprint(v)
}

// send queues m. A full or closed queue is logged; the caller's request
// has already been answered.
func (s *Service) send(ctx context.Context, what string, m *mail.Message) error {
	if err := s.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("queueing %s mail: %w", what, err)
	}
	return nil
}
