package smtp

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"regexp"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/mail"
)

// build renders m as an RFC 5322 message: a multipart/alternative body with
// a plain-text and an HTML part, both UTF-8 and quoted-printable.
func build(m *mail.Message, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	to := make([]string, len(m.To))
	for i, a := range m.To {
		to[i] = a.String()
	}
	mw := multipart.NewWriter(&buf)
	header := func(k, v string) {
		fmt.Fprintf(&buf, "%s: %s\r\n", k, oneLine(v))
	}
	from := m.From.String()
	if m.From.Address == "" {
		from = ""
	}
	header("From", from)
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(m.From.Address))
	header("MIME-Version", "1.0")
	header("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	buf.WriteString("\r\n")

	text := m.Text
	if text == "" {
		text = plainText(m.HTML)
	}
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", m.HTML}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", part.typ+"; charset=UTF-8")
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, fmt.Errorf("building message: %w", err)
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, fmt.Errorf("building message: %w", err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("building message: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("building message: %w", err)
	}
	return buf.Bytes(), nil
}

// oneLine removes line breaks, which would let a value inject headers.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

func messageID(from string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	domain := "basalt.local"
	if i := strings.LastIndexByte(from, '@'); i >= 0 && i < len(from)-1 {
		domain = from[i+1:]
	}
	return "<" + hex.EncodeToString(b) + "@" + domain + ">"
}

var (
	blockEnd = regexp.MustCompile(`(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|table)>`)
	tag      = regexp.MustCompile(`(?s)<[^>]*>`)
	anchor   = regexp.MustCompile(`(?is)<a\s[^>]*href\s*=\s*["']([^"']*)["'][^>]*>(.*?)</a>`)
	blanks   = regexp.MustCompile(`\n[ \t]*\n(\s*\n)+`)
)

// plainText derives a readable text alternative from an HTML body: links
// keep their target, block ends become line breaks, tags are dropped.
func plainText(h string) string {
	s := anchor.ReplaceAllString(h, "$2 ($1)")
	s = blockEnd.ReplaceAllString(s, "\n")
	s = tag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	s = strings.Join(lines, "\n")
	s = blanks.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}
