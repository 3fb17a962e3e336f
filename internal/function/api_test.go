package function

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/mail"
)

// mailbox keeps what basalt.mail.send queued.
type mailbox struct {
	mu   sync.Mutex
	sent []*mail.Message
}

func (m *mailbox) Send(_ context.Context, msg *mail.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, msg)
	return nil
}

func TestFetchAndMail(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(4 * time.Second)
		case "/big":
			w.Write([]byte(strings.Repeat("x", maxFetchResponse+1)))
			return
		}
		w.Header().Set("X-Seen", r.Header.Get("X-Token")+" "+r.Method)
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(upstream.Close)
	box := &mailbox{}
	s := newTestService(t, map[string]string{"a.js": `
basalt.route("GET", "/fetch", (req) => {
	const r = basalt.http.fetch(req.query.url, { method: "POST", headers: { "X-Token": "t1" }, body: "hi", timeout: 500 });
	return { json: { status: r.status, seen: r.headers["x-seen"], ok: r.json().ok } };
});
basalt.route("GET", "/fail", (req) => {
	try { basalt.http.fetch(req.query.url, { timeout: 2000 }); return { body: "no error" }; }
	catch (e) { return { body: e.status + " " + e.message }; }
});
basalt.route("GET", "/mail", () => { basalt.mail.send({ to: ["a@example.com", "B <b@example.com>"], subject: "Hi", html: "<p>x</p>" }); });
basalt.route("GET", "/badmail", () => { basalt.mail.send({ to: "not an address", subject: "Hi" }); });
`}, Options{TimeLimit: 5 * time.Second, HTTPAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Mail: box, MailFrom: func() mail.Address { return mail.Address{Name: "App", Address: "app@example.com"} }})
	get := func(path string) (string, error) {
		res, err := s.ServeRoute(context.Background(), &RouteRequest{Method: "GET", Path: strings.SplitN(path, "?", 2)[0],
			Query: map[string]string{"url": strings.TrimPrefix(path[strings.Index(path+"?", "?"):], "?url=")}})
		if err != nil {
			return "", err
		}
		return string(res.Body), nil
	}
	if got, err := get("/fetch?url=" + upstream.URL + "/x"); err != nil || got != `{"ok":true,"seen":"t1 POST","status":418}` {
		t.Errorf("fetch: %s %v", got, err)
	}
	for path, want := range map[string]string{
		"/fail?url=" + upstream.URL + "/slow": "503 basalt.http.fetch: the request timed out.",
		"/fail?url=" + upstream.URL + "/big":  "413 basalt.http.fetch: the response is larger than 4 MiB.",
		"/fail?url=ftp://example.com/":        "400 basalt.http.fetch needs an http or https URL.",
		"/fail?url=http://10.0.0.1/":          "403 basalt.http.fetch: the address is not allowed (private or local network).",
	} {
		if got, err := get(path); err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", path, got, err, want)
		}
	}
	if _, err := get("/mail"); err != nil {
		t.Fatal(err)
	}
	if len(box.sent) != 1 || box.sent[0].Subject != "Hi" || len(box.sent[0].To) != 2 || box.sent[0].To[1].Address != "b@example.com" ||
		box.sent[0].From.Address != "app@example.com" {
		t.Errorf("mail: %+v", box.sent)
	}
	if _, err := get("/badmail"); err == nil || !strings.Contains(err.Error(), "Invalid recipient") {
		t.Errorf("bad recipient: %v", err)
	}
}
