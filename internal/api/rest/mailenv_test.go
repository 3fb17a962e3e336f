package rest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/api/rest"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/blob/local"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/file"
	"github.com/basalt-dev/basalt/internal/mail"
	"github.com/basalt-dev/basalt/internal/mail/mailtest"
	"github.com/basalt-dev/basalt/internal/mail/smtp"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/token"
)

// testClock is the auth service's clock in mail environments, so tests can
// let one-time passwords, MFA sessions and tokens expire.
type testClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// mailEnv is an env whose auth service sends mail through the mail queue
// and the SMTP adapter to a test SMTP server on loopback, as cmd/basalt
// wires it.
type mailEnv struct {
	*env
	smtp  *mailtest.Server
	auth  *auth.Service
	queue *mail.Queue
	st    *sqlite.Store
	clock *testClock
	seen  map[string]int // mails to an address already returned by nextMail
	flush int
}

// newMailEnv starts an instance like newEnv (a superuser, alice and bob)
// with SMTP enabled in the settings. opts are added to the auth service's.
func newMailEnv(t *testing.T, opts ...auth.Option) *mailEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewTextHandler(syncBuffer{make(chan struct{}, 1), logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data.db"), logger)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatalf("collection.New: %v", err)
	}
	sets, err := settings.New(ctx, st)
	if err != nil {
		t.Fatalf("settings.New: %v", err)
	}
	storage := filepath.Join(dir, "storage")
	blobs, err := local.New(storage)
	if err != nil {
		t.Fatalf("local.New: %v", err)
	}
	t.Cleanup(func() { blobs.Close() })
	files := file.New(blobs, func(n int) string { return random.String(random.LowerAlnum, n) })
	records := record.New(st, cols, files.ForRecords(), time.Now, random.ID)

	srv := mailtest.Start(t, mailtest.Options{})
	_, err = sets.Update(ctx, []byte(fmt.Sprintf(`{"meta":{"appName":"Basalt Test","appURL":"http://app.test",
		"senderName":"Basalt","senderAddress":"noreply@app.test"},"smtp":{"enabled":true,"host":%q,"port":%d}}`, srv.Host, srv.Port)))
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	sender := &smtp.Sender{
		Config: func() smtp.Config {
			c := sets.Get().SMTP
			return smtp.Config{Enabled: c.Enabled, Host: c.Host, Port: c.Port, Username: c.Username, Password: c.Password}
		},
		Fallback: mail.LogSender{Logger: logger},
	}
	// One worker keeps the queue in order, which flush relies on.
	queue := mail.NewQueue(sender, logger, mail.QueueOptions{Workers: 1, Backoff: 10 * time.Millisecond, Attempts: 4, Timeout: 10 * time.Second})
	clock := &testClock{}
	authSvc := auth.New(st, cols, records, clock.now, append([]auth.Option{
		auth.WithLogger(logger), auth.WithMail(queue, func() settings.Meta { return sets.Get().Meta }),
	}, opts...)...)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = authSvc.Close(ctx)
		_ = queue.Close(ctx)
	})
	handler := rest.NewServer(rest.Deps{
		Logger: logger, Collections: cols, Records: records, Auth: authSvc, Settings: sets, Files: files,
	})
	hs := httptest.NewServer(handler)
	t.Cleanup(hs.Close)
	e := &env{t: t, url: hs.URL, dir: dir, storage: storage, records: records, cols: cols, sets: sets,
		tokens: map[string]string{}, vars: map[string]string{}, logs: logs}
	t.Cleanup(func() {
		if t.Failed() && testing.Verbose() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	if err := authSvc.UpsertSuperuser(ctx, suEmail, suPassword); err != nil {
		t.Fatalf("UpsertSuperuser: %v", err)
	}
	e.tokens["superuser"] = e.login("_superusers", suEmail, suPassword)
	for name, email := range map[string]string{"user": userEmail, "user2": user2Email} {
		rec := e.mustJSON("POST", "/api/collections/users/records", "", map[string]any{
			"email": email, "password": userPass, "passwordConfirm": userPass, "name": name,
		}, 200)
		e.vars[name+"Id"] = rec["id"].(string)
		e.tokens[name] = e.login("users", email, userPass)
	}
	return &mailEnv{env: e, smtp: srv, auth: authSvc, queue: queue, st: st, clock: clock, seen: map[string]int{}}
}

func sentTo(m *mailtest.Message, address string) bool {
	for _, to := range m.To {
		if strings.EqualFold(to, address) {
			return true
		}
	}
	return false
}

// mailsTo returns the mails received for address so far.
func (m *mailEnv) mailsTo(address string) []*mailtest.Message {
	var out []*mailtest.Message
	for _, x := range m.smtp.Messages() {
		if sentTo(x, address) {
			out = append(out, x)
		}
	}
	return out
}

// nextMail waits for the next mail to address not returned before.
func (m *mailEnv) nextMail(t *testing.T, address string) *mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if list := m.mailsTo(address); len(list) > m.seen[address] {
			msg := list[m.seen[address]]
			m.seen[address]++
			return msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new mail to %s within 10s (%d received before)", address, m.seen[address])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settle waits until every mail the requests so far caused has reached the
// SMTP server: the auth service's background work is done and a marker mail
// queued behind it has arrived (the queue has one worker).
func (m *mailEnv) settle(t *testing.T) {
	t.Helper()
	m.auth.Wait()
	m.flush++
	marker := fmt.Sprintf("flush-%d@basalt.test", m.flush)
	if err := m.queue.Send(context.Background(), &mail.Message{To: []mail.Address{{Address: marker}}, Subject: "flush"}); err != nil {
		t.Fatalf("queueing the marker mail: %v", err)
	}
	m.nextMail(t, marker)
}

// noNewMail checks that no mail to address arrived beyond those returned.
func (m *mailEnv) noNewMail(t *testing.T, address string) {
	t.Helper()
	m.settle(t)
	if n := len(m.mailsTo(address)); n != m.seen[address] {
		t.Errorf("got %d unexpected mails to %s", n-m.seen[address], address)
	}
}

var (
	jwtPattern = regexp.MustCompile(`[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`)
	otpPattern = regexp.MustCompile(`<strong>(\d+)</strong>`)
)

// tokenIn returns the token in a mail's HTML body.
func tokenIn(t *testing.T, msg *mailtest.Message) string {
	t.Helper()
	tok := jwtPattern.FindString(msg.HTML())
	if tok == "" {
		t.Fatalf("no token in %s:\n%s", msg, msg.HTML())
	}
	return tok
}

// otpIn returns the one-time password in a mail's HTML body.
func otpIn(t *testing.T, msg *mailtest.Message) string {
	t.Helper()
	m := otpPattern.FindStringSubmatch(msg.HTML())
	if m == nil {
		t.Fatalf("no one-time password in %s:\n%s", msg, msg.HTML())
	}
	return m[1]
}

// stored reads a record with every field (tokenKey and password included).
func (m *mailEnv) stored(t *testing.T, collection, id string) *schema.Record {
	t.Helper()
	super := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
	it, err := m.records.View(context.Background(), super, collection, id, "")
	if err != nil {
		t.Fatalf("reading %s/%s: %v", collection, id, err)
	}
	return it.Record
}

// forge signs claims for a record as Basalt would, with the key of
// claims.Type (or secret when not empty), issued at "at" for ttl.
func (m *mailEnv) forge(t *testing.T, collection, id string, claims token.Claims, secret string, at time.Time, ttl time.Duration) string {
	t.Helper()
	r := m.stored(t, collection, id)
	c := r.Collection
	if secret == "" {
		secret = map[string]string{
			token.TypeAuth: c.AuthToken.Secret, token.TypeVerification: c.VerificationToken.Secret,
			token.TypePasswordReset: c.PasswordResetToken.Secret, token.TypeEmailChange: c.EmailChangeToken.Secret,
		}[claims.Type]
	}
	claims.ID, claims.CollectionID = r.ID(), c.ID
	tok, err := token.Sign(claims, []byte(r.String("tokenKey")+secret), at, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// patchCollection updates a collection as the superuser.
func (m *mailEnv) patchCollection(t *testing.T, name string, patch any) {
	t.Helper()
	m.t = t
	m.mustJSON("PATCH", "/api/collections/"+name, "superuser", patch, 200)
}
