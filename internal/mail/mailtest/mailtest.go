// Package mailtest runs a small SMTP server on loopback that records the
// messages it receives, for tests of everything that sends mail. It speaks
// enough ESMTP for the smtp adapter: EHLO/HELO, STARTTLS, AUTH PLAIN and
// LOGIN, MAIL, RCPT, DATA, RSET, NOOP and QUIT, and can be told to fail,
// reject recipients or hold messages.
//
// mailtest is for tests only; production code never imports it.
package mailtest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one received mail.
type Message struct {
	From string
	To   []string
	// User is the authenticated username ("" without AUTH).
	User string
	// TLS reports whether the message came over TLS.
	TLS bool
	Raw []byte
}

// Options configure a Server.
type Options struct {
	// TLS, when set, makes the server offer STARTTLS with this config.
	TLS *tls.Config
	// ImplicitTLS serves TLS from the first byte (needs TLS).
	ImplicitTLS bool
	// Username and Password, when set, are required (AUTH PLAIN or LOGIN)
	// before MAIL.
	Username, Password string
}

// Server is a running test SMTP server.
type Server struct {
	// Host and Port are where it listens (127.0.0.1 and a free port).
	Host string
	Port int

	opts    Options
	ln      net.Listener
	mu      sync.Mutex
	msgs    []*Message
	notify  chan struct{} // closed and replaced whenever a message arrives
	fail    []string      // replies to DATA, used up one by one
	reject  map[string]bool
	hold    chan struct{} // when non-nil, DATA waits until it is closed
	release func()        // closes hold
	wg      sync.WaitGroup
	conns   map[net.Conn]bool
	closing bool
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listening: %v", err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	s := &Server{Host: "127.0.0.1", Port: addr.Port, opts: opts, ln: ln, notify: make(chan struct{}),
		reject: map[string]bool{}, conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and waits for its connections to end.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return
	}
	s.closing = true
	for c := range s.conns {
		c.Close()
	}
	release := s.release
	s.mu.Unlock()
	if release != nil {
		release()
	}
	s.ln.Close()
	s.wg.Wait()
}

// FailNext makes the next n messages fail at the end of DATA with reply
// (for example "451 4.3.0 try again later" or "554 5.0.0 rejected").
func (s *Server) FailNext(n int, reply string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, reply)
	}
}

// Reject makes RCPT TO address fail with 550.
func (s *Server) Reject(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject[strings.ToLower(address)] = true
}

// Hold makes every DATA wait (like a slow server) until release is called.
func (s *Server) Hold() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == ch {
				s.hold, s.release = nil, nil
			}
			s.mu.Unlock()
			close(ch)
		})
	}
	s.hold, s.release = ch, release
	return release
}

// Messages returns the messages received so far.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.msgs...)
}

// Wait returns the first message received (or already there) for which
// match returns true, failing the test after timeout.
func (s *Server) Wait(t testing.TB, timeout time.Duration, match func(*Message) bool) *Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, m := range s.msgs {
			if match == nil || match(m) {
				s.mu.Unlock()
				return m
			}
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("mailtest: no matching message within %s (got %d messages)", timeout, len(s.Messages()))
			return nil
		}
	}
}

// WaitTo waits for a message to address.
func (s *Server) WaitTo(t testing.TB, timeout time.Duration, address string) *Message {
	t.Helper()
	return s.Wait(t, timeout, func(m *Message) bool {
		for _, to := range m.To {
			if strings.EqualFold(to, address) {
				return true
			}
		}
		return false
	})
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

type session struct {
	s      *Server
	conn   net.Conn
	r      *bufio.Reader
	w      *bufio.Writer
	tls    bool
	user   string
	from   string
	to     []string
	greets bool
}

func (s *Server) session(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	ss := &session{s: s, conn: c}
	if s.opts.ImplicitTLS {
		tc := tls.Server(c, s.opts.TLS)
		if err := tc.Handshake(); err != nil {
			return
		}
		ss.conn, ss.tls = tc, true
	}
	ss.r, ss.w = bufio.NewReader(ss.conn), bufio.NewWriter(ss.conn)
	ss.reply("220 mailtest ESMTP ready")
	for {
		line, err := ss.readLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			ss.greets = true
			lines := []string{"250-mailtest", "250-8BITMIME"}
			if s.opts.TLS != nil && !ss.tls {
				lines = append(lines, "250-STARTTLS")
			}
			if s.opts.Username != "" {
				lines = append(lines, "250-AUTH PLAIN LOGIN")
			}
			lines = append(lines, "250 SMTPUTF8")
			ss.reply(lines...)
		case "HELO":
			ss.greets = true
			ss.reply("250 mailtest")
		case "STARTTLS":
			if s.opts.TLS == nil || ss.tls {
				ss.reply("502 5.5.1 STARTTLS not available")
				continue
			}
			ss.reply("220 2.0.0 go ahead")
			tc := tls.Server(ss.conn, s.opts.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			ss.conn, ss.tls, ss.greets = tc, true, false
			ss.r, ss.w = bufio.NewReader(tc), bufio.NewWriter(tc)
		case "AUTH":
			ss.auth(arg)
		case "MAIL":
			switch {
			case !ss.greets:
				ss.reply("503 5.5.1 EHLO first")
			case s.opts.Username != "" && ss.user == "":
				ss.reply("530 5.7.0 authentication required")
			default:
				ss.from, ss.to = addressOf(arg), nil
				ss.reply("250 2.1.0 ok")
			}
		case "RCPT":
			to := addressOf(arg)
			s.mu.Lock()
			rejected := s.reject[strings.ToLower(to)]
			s.mu.Unlock()
			if rejected {
				ss.reply("550 5.1.1 no such user")
				continue
			}
			ss.to = append(ss.to, to)
			ss.reply("250 2.1.5 ok")
		case "DATA":
			if len(ss.to) == 0 {
				ss.reply("503 5.5.1 RCPT first")
				continue
			}
			ss.reply("354 end with <CRLF>.<CRLF>")
			raw, err := ss.readData()
			if err != nil {
				return
			}
			ss.finish(raw)
		case "RSET":
			ss.from, ss.to = "", nil
			ss.reply("250 2.0.0 ok")
		case "NOOP":
			ss.reply("250 2.0.0 ok")
		case "QUIT":
			ss.reply("221 2.0.0 bye")
			return
		default:
			ss.reply("502 5.5.2 command not recognized")
		}
	}
}

func (ss *session) finish(raw []byte) {
	s := ss.s
	s.mu.Lock()
	hold := s.hold
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	s.mu.Lock()
	if len(s.fail) > 0 {
		reply := s.fail[0]
		s.fail = s.fail[1:]
		s.mu.Unlock()
		ss.reply(reply)
		return
	}
	s.msgs = append(s.msgs, &Message{From: ss.from, To: ss.to, User: ss.user, TLS: ss.tls, Raw: raw})
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	ss.from, ss.to = "", nil
	ss.reply("250 2.0.0 queued")
}

func (ss *session) auth(arg string) {
	mech, initial, _ := strings.Cut(arg, " ")
	var user, pass string
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if initial == "" {
			ss.reply("334 ")
			line, err := ss.readLine()
			if err != nil {
				return
			}
			initial = line
		}
		b, err := base64.StdEncoding.DecodeString(initial)
		parts := strings.Split(string(b), "\x00")
		if err != nil || len(parts) != 3 {
			ss.reply("501 5.5.2 malformed AUTH PLAIN")
			return
		}
		user, pass = parts[1], parts[2]
	case "LOGIN":
		var ok bool
		if user, ok = ss.challenge("Username:"); !ok {
			return
		}
		if pass, ok = ss.challenge("Password:"); !ok {
			return
		}
	default:
		ss.reply("504 5.5.4 mechanism not supported")
		return
	}
	if ss.s.opts.Username == "" || user != ss.s.opts.Username || pass != ss.s.opts.Password {
		ss.reply("535 5.7.8 authentication credentials invalid")
		return
	}
	ss.user = user
	ss.reply("235 2.7.0 authentication successful")
}

func (ss *session) challenge(prompt string) (string, bool) {
	ss.reply("334 " + base64.StdEncoding.EncodeToString([]byte(prompt)))
	line, err := ss.readLine()
	if err != nil {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		ss.reply("501 5.5.2 malformed response")
		return "", false
	}
	return string(b), true
}

func (ss *session) reply(lines ...string) {
	for _, l := range lines {
		ss.w.WriteString(l + "\r\n")
	}
	ss.w.Flush()
}

func (ss *session) readLine() (string, error) {
	line, err := ss.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// readData reads a DATA body up to the lone "." line and undoes dot-stuffing.
func (ss *session) readData() ([]byte, error) {
	var buf bytes.Buffer
	for {
		line, err := ss.r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		trimmed := strings.TrimRight(line, "\r\n")
		if trimmed == "." {
			return buf.Bytes(), nil
		}
		if strings.HasPrefix(trimmed, "..") {
			trimmed = trimmed[1:]
		}
		buf.WriteString(trimmed + "\r\n")
	}
}

// addressOf extracts the address of "FROM:<a@b> SIZE=1" or "TO:<a@b>".
func addressOf(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '>'); i >= 0 {
		v = v[:i+1]
	}
	return strings.Trim(v, "<>")
}

// Header returns the decoded value of a header of the message.
func (m *Message) Header(name string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return ""
	}
	v := msg.Header.Get(name)
	if d, err := new(mime.WordDecoder).DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// Subject returns the decoded subject.
func (m *Message) Subject() string { return m.Header("Subject") }

// HTML returns the decoded text/html part (or body).
func (m *Message) HTML() string { return m.part("text/html") }

// Text returns the decoded text/plain part (or body).
func (m *Message) Text() string { return m.part("text/plain") }

func (m *Message) part(want string) string {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return ""
	}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	if !strings.HasPrefix(typ, "multipart/") {
		if typ != want {
			return ""
		}
		b, _ := io.ReadAll(msg.Body)
		return string(b)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pt == want {
			b, _ := io.ReadAll(p) // quoted-printable is decoded by multipart
			return string(b)
		}
	}
}

// String describes the message for test failures.
func (m *Message) String() string {
	return fmt.Sprintf("mail from %s to %v: %q", m.From, m.To, m.Subject())
}
