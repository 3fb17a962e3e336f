package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// fixture is the service over a real store with a "posts" collection, and
// a receiver that records what it is sent.
type fixture struct {
	t       *testing.T
	st      *sqlite.Store
	cols    *collection.Service
	records *record.Service
	recv    *receiver
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatalf("collection.New: %v", err)
	}
	if _, err := cols.Create(ctx, []byte(`{"name":"posts","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[{"name":"title","type":"text"},{"name":"note","type":"text","hidden":true}]}`)); err != nil {
		t.Fatalf("creating posts: %v", err)
	}
	f := &fixture{t: t, st: st, cols: cols, records: record.New(st, cols, nil, time.Now, random.ID), recv: newReceiver(t)}
	return f
}

// service returns a running service with fast retries; it stops with the
// test or when the returned function is called.
func (f *fixture) service(opts Options) (*Service, func()) {
	f.t.Helper()
	if opts.AllowPrivate == nil {
		opts.AllowPrivate = loopback
	}
	if opts.Poll == 0 {
		opts.Poll = 10 * time.Millisecond
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase, opts.BackoffMax = time.Millisecond, 5*time.Millisecond
	}
	s := New(f.st, f.cols, f.records, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				f.t.Errorf("Run: %v", err)
			}
		})
	}
	f.t.Cleanup(stop)
	// Run has stored its cursor once a first fan-out pass finished.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := f.st.Param(context.Background(), cursorKey); err == nil {
			break
		}
		if time.Now().After(deadline) {
			f.t.Fatal("webhook cursor never initialised")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return s, stop
}

func su() *record.Request {
	return &record.Request{Method: "POST", Auth: &schema.Record{
		Collection: &schema.Collection{ID: schema.SuperusersID, Name: schema.SuperusersName},
		Data:       map[string]any{"id": "root00000000000"},
	}}
}

func (f *fixture) createPost(title string) string {
	f.t.Helper()
	it, err := f.records.Create(context.Background(), su(), "posts", record.Input{Data: map[string]any{"title": title, "note": "n"}}, "")
	if err != nil {
		f.t.Fatalf("creating a post: %v", err)
	}
	return it.Record.ID()
}

func (f *fixture) hook(s *Service, in Input) *store.Webhook {
	f.t.Helper()
	if in.URL == nil {
		in.URL = ptr(f.recv.srv.URL + "/hook")
	}
	w, err := s.Create(context.Background(), in)
	if err != nil {
		f.t.Fatalf("Create: %v", err)
	}
	return w
}

func ptr[T any](v T) *T { return &v }

// message is one request the receiver got.
type message struct {
	header http.Header
	body   []byte
}

type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	got    []message
	status int // answer; 200 when 0
	notify chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, notify: make(chan struct{}, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, message{req.Header.Clone(), body})
		status := r.status
		r.mu.Unlock()
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		io.WriteString(w, strings.Repeat("x", 3000))
		r.notify <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) setStatus(s int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = s
}

// wait returns the messages once there are n.
func (r *receiver) wait(n int) []message {
	r.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		got := append([]message(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.notify:
		case <-deadline:
			r.t.Fatalf("receiver got %d messages, want %d", len(got), n)
		}
	}
}

// verify checks a message's Standard Webhooks signature against secret:
// one of the space-separated v1 signatures must be the HMAC-SHA256 of
// "id.timestamp.body" under the decoded secret.
func verify(secret string, m message) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(m.header.Get("webhook-id") + "." + m.header.Get("webhook-timestamp") + "."))
	mac.Write(m.body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(m.header.Get("webhook-signature")) {
		v, ok := strings.CutPrefix(sig, "v1,")
		if !ok {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(v)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}

type ce struct {
	SpecVersion, ID, Source, Type, Subject, Time, DataContentType string
	Data                                                          struct {
		Action, Collection string
		Record, Before     map[string]any
	}
}

func decodeCE(t *testing.T, m message) ce {
	t.Helper()
	var e ce
	if err := json.Unmarshal(m.body, &e); err != nil {
		t.Fatalf("decoding %s: %v", m.body, err)
	}
	return e
}

func TestDeliversSignedCloudEventsInOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, _ := f.service(Options{})
	w := f.hook(s, Input{})
	if !strings.HasPrefix(w.Secret, "whsec_") {
		t.Fatalf("secret = %q, want a whsec_ secret", w.Secret)
	}
	ctx := context.Background()
	id := f.createPost("one")
	if _, err := f.records.Update(ctx, su(), "posts", id, record.Input{Data: map[string]any{"title": "two"}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := f.records.Delete(ctx, su(), "posts", id); err != nil {
		t.Fatal(err)
	}
	s.Consume(ctx, nil)
	got := f.recv.wait(3)
	wantTypes := []string{"basalt.record.created", "basalt.record.updated", "basalt.record.deleted"}
	wantTitles := []string{"one", "two", "two"}
	seen := map[string]bool{}
	for i, m := range got[:3] {
		if err := verify(w.Secret, m); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
		e := decodeCE(t, m)
		if e.SpecVersion != "1.0" || e.Type != wantTypes[i] || e.Source != "/basalt/collections/posts" || e.DataContentType != "application/json" || e.Subject != id {
			t.Errorf("message %d envelope = %+v", i, e)
		}
		if e.ID != m.header.Get("webhook-id") || seen[e.ID] {
			t.Errorf("message %d: id %q, header %q (ids must be unique and match)", i, e.ID, m.header.Get("webhook-id"))
		}
		seen[e.ID] = true
		if e.Data.Record["title"] != wantTitles[i] || e.Data.Record["note"] != "n" || e.Data.Collection != "posts" {
			t.Errorf("message %d record = %v, want title %q with the hidden note", i, e.Data.Record, wantTitles[i])
		}
		if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil {
			t.Errorf("message %d time %q: %v", i, e.Time, err)
		}
	}
	if e := decodeCE(t, got[1]); e.Data.Before["title"] != "one" {
		t.Errorf("update before = %v, want title one", e.Data.Before)
	}
	if ct := got[0].header.Get("Content-Type"); ct != "application/cloudevents+json" {
		t.Errorf("Content-Type = %q", ct)
	}
	// Every delivery is recorded with its attempt.
	waitFor(t, func() bool {
		ds, total, err := s.Deliveries(ctx, w.ID, 0, 0)
		if err != nil || total != 3 {
			return false
		}
		for _, d := range ds {
			if d.Status != store.DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].Status != 200 || len(d.Attempts[0].Response) != 1024 {
				return false
			}
		}
		return true
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSubscriptionsAndFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, _ := f.service(Options{})
	f.hook(s, Input{Actions: &[]string{"create"}, Filter: ptr("title ~ 'keep'"), Collections: &[]string{"posts"}})
	f.hook(s, Input{Collections: &[]string{"users"}})
	f.createPost("drop")
	id := f.createPost("keep me")
	f.createPost("last keep")
	if _, err := f.records.Update(context.Background(), su(), "posts", id, record.Input{Data: map[string]any{"title": "keep too"}}, ""); err != nil {
		t.Fatal(err)
	}
	got := f.recv.wait(2)
	time.Sleep(100 * time.Millisecond)
	got = f.recv.wait(2)
	if len(got) != 2 {
		t.Fatalf("got %d messages, want 2", len(got))
	}
	for i, want := range []string{"keep me", "last keep"} {
		if e := decodeCE(t, got[i]); e.Data.Record["title"] != want {
			t.Errorf("message %d title = %v, want %q", i, e.Data.Record["title"], want)
		}
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s := New(f.st, f.cols, f.records, Options{})
	for name, tc := range map[string]struct {
		in    Input
		field string
	}{
		"no url":           {Input{}, "url"},
		"ftp url":          {Input{URL: ptr("ftp://example.com")}, "url"},
		"unknown coll":     {Input{URL: ptr("https://example.com"), Collections: &[]string{"nope"}}, "collections"},
		"bad action":       {Input{URL: ptr("https://example.com"), Actions: &[]string{"upsert"}}, "actions"},
		"bad filter":       {Input{URL: ptr("https://example.com"), Filter: ptr("title = ")}, "filter"},
		"unknown field":    {Input{URL: ptr("https://example.com"), Collections: &[]string{"posts"}, Filter: ptr("nope = 1")}, "filter"},
		"malformed secret": {Input{URL: ptr("https://example.com"), Secret: ptr("whsec_!!!")}, "secret"},
	} {
		_, err := s.Create(context.Background(), tc.in)
		e := apperr.As(err)
		if e == nil || e.Code != apperr.Invalid || e.Data[tc.field] == nil {
			t.Errorf("%s: got %v, want invalid %s", name, err, tc.field)
		}
	}
	w, err := s.Create(context.Background(), Input{URL: ptr("https://example.com"), Collections: &[]string{"posts"}, Filter: ptr("title != ''")})
	if err != nil {
		t.Fatalf("valid webhook: %v", err)
	}
	if m := MaskSecret(w.Secret); m == w.Secret || !strings.HasPrefix(m, "whsec_****") || !strings.HasSuffix(w.Secret, m[len(m)-4:]) {
		t.Errorf("MaskSecret(%q) = %q", w.Secret, m)
	}
}

func TestRetriesUntilDeadThenReplay(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.recv.setStatus(http.StatusInternalServerError)
	s, _ := f.service(Options{MaxAttempts: 3})
	w := f.hook(s, Input{})
	f.createPost("x")
	ctx := context.Background()
	var d *store.Delivery
	waitFor(t, func() bool {
		ds, _, _ := s.Deliveries(ctx, w.ID, 0, 0)
		if len(ds) == 1 && ds[0].Status == store.DeliveryDead {
			d = ds[0]
			return true
		}
		return false
	})
	if d.AttemptCount != 3 || len(d.Attempts) != 3 {
		t.Fatalf("dead delivery has %d attempts (%d logged), want 3", d.AttemptCount, len(d.Attempts))
	}
	for _, a := range d.Attempts {
		if a.Status != 500 || a.Error == "" || len(a.Response) != 1024 {
			t.Errorf("attempt = %+v, want a 500 with an error and a 1 KiB excerpt", a)
		}
	}
	msgs := f.recv.wait(3)
	for _, m := range msgs {
		if m.header.Get("webhook-id") != d.EventID {
			t.Errorf("retry webhook-id = %q, want the event id %q", m.header.Get("webhook-id"), d.EventID)
		}
	}
	f.recv.setStatus(http.StatusNoContent)
	if _, err := s.Replay(ctx, "other", d.ID); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("Replay under another webhook: got %v, want not_found", err)
	}
	if _, err := s.Replay(ctx, w.ID, d.ID); err != nil {
		t.Fatalf("Replay: %v", err)
	}
	waitFor(t, func() bool {
		got, _ := f.st.Delivery(ctx, d.ID)
		return got.Status == store.DeliverySucceeded && got.AttemptCount == 1 && len(got.Attempts) == 4
	})
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	t.Parallel()
	s := New(nil, nil, nil, Options{BackoffBase: time.Second, BackoffMax: 10 * time.Second})
	for n, max := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 8 * time.Second, 9: 10 * time.Second} {
		for range 50 {
			if d := s.backoff(n); d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, d, max/2, max)
			}
		}
	}
}

func TestSecretRotationSignsWithBoth(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, _ := f.service(Options{})
	w := f.hook(s, Input{})
	old := w.Secret
	w2, err := s.Update(context.Background(), w.ID, Input{Secret: ptr("")})
	if err != nil {
		t.Fatal(err)
	}
	if w2.Secret == old || w2.PreviousSecret != old {
		t.Fatalf("rotation: secret %q previous %q", w2.Secret, w2.PreviousSecret)
	}
	f.createPost("x")
	m := f.recv.wait(1)[0]
	if n := len(strings.Fields(m.header.Get("webhook-signature"))); n != 2 {
		t.Errorf("signatures = %d, want 2", n)
	}
	if verify(old, m) != nil || verify(w2.Secret, m) != nil {
		t.Error("both the old and the new secret must verify")
	}
}

func TestResumesAfterRestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createPost("before webhooks") // not delivered: the cursor starts at the end
	s, stop := f.service(Options{})
	w := f.hook(s, Input{})
	f.createPost("live")
	f.recv.wait(1)
	// Stopping mid-request may deliver "live" again (at least once); wait
	// until its success is recorded.
	waitFor(t, func() bool {
		ds, _, _ := s.Deliveries(context.Background(), w.ID, 0, 0)
		return len(ds) == 1 && ds[0].Status == store.DeliverySucceeded
	})
	stop()
	f.createPost("while down 1")
	f.createPost("while down 2")
	f.service(Options{})
	got := f.recv.wait(3)
	time.Sleep(50 * time.Millisecond)
	got = f.recv.wait(3)
	if len(got) != 3 {
		t.Fatalf("got %d messages, want 3", len(got))
	}
	for i, want := range []string{"live", "while down 1", "while down 2"} {
		if e := decodeCE(t, got[i]); e.Data.Record["title"] != want {
			t.Errorf("message %d title = %v, want %q", i, e.Data.Record["title"], want)
		}
	}
}

func TestRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t)
	_, port, _ := strings.Cut(strings.TrimPrefix(recv.srv.URL, "http://"), ":")
	c := newClient(2*time.Second, nil, nil)
	for _, url := range []string{
		recv.srv.URL,
		"http://localhost:" + port, // a name resolving to loopback
		"http://10.1.2.3/",
		"http://192.168.0.1/",
		"http://169.254.169.254/latest/meta-data/",
		"http://[::1]:" + port,
		"http://[::ffff:127.0.0.1]:" + port,
		"http://0.0.0.0:" + port,
		"http://100.64.0.1/",
	} {
		res := c.post(context.Background(), url, http.Header{}, []byte("{}"))
		if !errors.Is(res.err, ErrForbiddenAddress) {
			t.Errorf("%s: got %v (status %d), want a refusal", url, res.err, res.status)
		}
	}
	if got := len(recv.got); got != 0 {
		t.Errorf("receiver got %d requests", got)
	}
	// The allow-list opens loopback.
	allowed := newClient(2*time.Second, loopback, nil)
	if res := allowed.post(context.Background(), recv.srv.URL, http.Header{}, []byte("{}")); res.err != nil || res.status != 200 {
		t.Errorf("allowed loopback: %v %d", res.err, res.status)
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t)
	redirect := httptest.NewServer(http.RedirectHandler(recv.srv.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	c := newClient(2*time.Second, loopback, nil)
	res := c.post(context.Background(), redirect.URL, http.Header{}, []byte("{}"))
	if res.err != nil || res.status != http.StatusTemporaryRedirect {
		t.Errorf("got %v %d, want the 307 itself", res.err, res.status)
	}
	if len(recv.got) != 0 {
		t.Error("the redirect was followed")
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(func() { close(block); slow.Close() })
	c := newClient(100*time.Millisecond, loopback, nil)
	start := time.Now()
	res := c.post(context.Background(), slow.URL, http.Header{}, []byte("{}"))
	if res.err == nil {
		t.Fatal("no timeout error")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout took %v", time.Since(start))
	}
}

func TestSlowReceiverDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := make(chan struct{})
	var slowHits sync.WaitGroup
	slowHits.Add(1)
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(slowHits.Done)
		<-release
	}))
	t.Cleanup(func() { close(release); slow.Close() })
	s, _ := f.service(Options{Workers: 4})
	f.hook(s, Input{URL: ptr(slow.URL)})
	// A backlog for the stuck receiver, older than anything the other gets.
	for range 40 {
		f.createPost("backlog")
	}
	slowHits.Wait()
	waitFor(t, func() bool { // the backlog is fanned out
		pos, _ := s.Position(context.Background())
		last, _ := f.st.LastEventSeq(context.Background())
		return pos == last
	})
	f.hook(s, Input{})
	f.createPost("fresh")
	if e := decodeCE(t, f.recv.wait(1)[0]); e.Data.Record["title"] != "fresh" {
		t.Errorf("title = %v, want fresh", e.Data.Record["title"])
	}
}

func TestPrunesFinishedDeliveries(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var mu sync.Mutex
	offset := time.Duration(0)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	s, _ := f.service(Options{Now: now, DeliveryRetention: time.Hour, PruneEvery: 5 * time.Millisecond})
	w := f.hook(s, Input{})
	f.createPost("x")
	waitFor(t, func() bool {
		ds, _, _ := s.Deliveries(context.Background(), w.ID, 0, 0)
		return len(ds) == 1 && ds[0].Status == store.DeliverySucceeded
	})
	time.Sleep(20 * time.Millisecond)
	if _, total, _ := s.Deliveries(context.Background(), w.ID, 0, 0); total != 1 {
		t.Fatalf("pruned within the retention")
	}
	mu.Lock()
	offset = 2 * time.Hour
	mu.Unlock()
	waitFor(t, func() bool {
		_, total, _ := s.Deliveries(context.Background(), w.ID, 0, 0)
		return total == 0
	})
}
