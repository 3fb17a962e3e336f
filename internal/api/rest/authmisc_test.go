package rest_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/store"
)

func TestImpersonate(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	url := "/api/collections/users/impersonate/{{userId}}"
	var tok string
	m.run(t, []scenario{
		{name: "guest", method: "POST", url: url, body: `{}`, wantStatus: 401},
		{name: "user", method: "POST", url: url, auth: "user", body: `{}`, wantStatus: 403},
		{name: "superuser", method: "POST", url: url, auth: "superuser", body: `{}`, wantStatus: 200, notContains: secretsAbsent,
			wantJSON: `{"token":"<nonempty>","record":{"id":"{{userId}}","email":"alice@example.com","collectionName":"users"}}`,
			after: func(t *testing.T, e *env, res *response) {
				tok = res.json(t).(map[string]any)["token"].(string)
				c := claims(t, tok)
				if c["type"] != "auth" || c["id"] != e.vars["userId"] || c["refreshable"] != nil {
					t.Errorf("claims = %v, want a non-refreshable auth token", c)
				}
				days := (c["exp"].(float64) - float64(time.Now().Unix())) / 86400
				if days < 6.9 || days > 7.01 {
					t.Errorf("lifetime %.2f days, want the collection's 7", days)
				}
			}},
		{name: "the token acts as the user", method: "GET", url: "/api/collections/users/records/{{userId}}",
			auth: "raw:" + "{{impersonated}}", wantStatus: 200,
			before: func(t *testing.T, e *env) { e.vars["impersonated"] = tok }},
		{name: "the token cannot be refreshed", method: "POST", url: "/api/collections/users/auth-refresh",
			auth: "raw:{{impersonated}}", wantStatus: 403, wantJSON: `{"message":"The current auth token is not refreshable."}`},
		{name: "custom duration", method: "POST", url: url, auth: "superuser", body: `{"duration":100}`, wantStatus: 200,
			after: func(t *testing.T, e *env, res *response) {
				c := claims(t, res.json(t).(map[string]any)["token"].(string))
				if left := c["exp"].(float64) - float64(time.Now().Unix()); left < 95 || left > 101 {
					t.Errorf("lifetime %.0fs, want 100", left)
				}
			}},
		{name: "negative duration", method: "POST", url: url, auth: "superuser", body: `{"duration":-1}`, wantStatus: 400,
			wantJSON: `{"data":{"duration":{"code":"validation_min_greater_equal_than_required"}}}`},
		{name: "duration of the wrong type", method: "POST", url: url, auth: "superuser", body: `{"duration":"soon"}`, wantStatus: 400},
		{name: "unknown record", method: "POST", url: "/api/collections/users/impersonate/nothere", auth: "superuser", body: `{}`, wantStatus: 404},
		{name: "unknown collection", method: "POST", url: "/api/collections/nope/impersonate/{{userId}}", auth: "superuser", body: `{}`, wantStatus: 404},
	})
}

func TestTestEmail(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	url := "/api/settings/test/email"
	m.run(t, []scenario{
		{name: "guest", method: "POST", url: url, body: `{"email":"t@example.com","template":"verification"}`, wantStatus: 401},
		{name: "user", method: "POST", url: url, auth: "user", body: `{"email":"t@example.com","template":"verification"}`, wantStatus: 403},
		{name: "invalid input", method: "POST", url: url, auth: "superuser", body: `{"email":"nope","template":"welcome","collection":"nope"}`,
			wantStatus: 400, wantJSON: `{"message":"Failed to send the test email.","data":{"email":{"code":"validation_is_email"},
				"template":{"code":"validation_in_invalid"},"collection":{"code":"validation_invalid_auth_collection"}}}`},
		{name: "missing input", method: "POST", url: url, auth: "superuser", body: `{}`, wantStatus: 400,
			wantJSON: `{"data":{"email":{"code":"validation_required"},"template":{"code":"validation_required"}}}`},
	})
	for template, subject := range map[string]string{
		"verification":   "Verify your Basalt Test email",
		"password-reset": "Reset your Basalt Test password",
		"email-change":   "Confirm your Basalt Test new email address",
		"otp":            "OTP for Basalt Test",
		"login-alert":    "Login from a new location",
	} {
		t.Run(template, func(t *testing.T) {
			m.t = t
			to := template + "@example.com"
			m.mustJSON("POST", url, "superuser", map[string]any{"email": to, "template": template, "collection": "users"}, 204)
			// Delivered before the answer: no waiting.
			list := m.mailsTo(to)
			if len(list) != 1 {
				t.Fatalf("got %d mails to %s", len(list), to)
			}
			if got := list[0].Subject(); got != subject {
				t.Errorf("subject = %q, want %q", got, subject)
			}
			if template == "otp" && otpIn(t, list[0]) != "123456" {
				t.Errorf("body = %s", list[0].HTML())
			}
			if template == "verification" && claims(t, tokenIn(t, list[0]))["type"] != "verification" {
				t.Errorf("body = %s", list[0].HTML())
			}
		})
	}
	t.Run("the default collection is _superusers", func(t *testing.T) {
		m.t = t
		m.mustJSON("POST", url, "superuser", map[string]any{"email": "su@example.com", "template": "verification"}, 204)
		if c := claims(t, tokenIn(t, m.mailsTo("su@example.com")[0])); c["collectionId"] != "pbc_3142635823" {
			t.Errorf("claims = %v", c)
		}
	})
	t.Run("a failing server is reported", func(t *testing.T) {
		m.t = t
		m.smtp.FailNext(1, "554 5.7.1 relay denied")
		res := m.do("POST", url, "superuser", map[string]any{"email": "x@example.com", "template": "otp"}, nil)
		if res.status != 400 || !strings.Contains(string(res.body), "Failed to send the test email.") || !strings.Contains(string(res.body), "relay denied") {
			t.Errorf("got %d %s", res.status, res.body)
		}
	})
}

func TestTemplatesEscapeValues(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.patchCollection(t, "users", map[string]any{"verificationTemplate": map[string]any{
		"subject": "Hello {RECORD:name} from {APP_NAME}",
		"body":    `<p>Hi {RECORD:name} ({RECORD:email}, verified: {RECORD:verified}) {UNKNOWN}</p><a href="{APP_URL}/v/{TOKEN}">go</a>`,
	}})
	m.mustJSON("PATCH", "/api/collections/users/records/"+m.vars["userId"], "superuser", map[string]any{"name": `<b>Al & "Co"</b> {TOKEN}`}, 200)
	m.mustJSON("POST", "/api/collections/users/request-verification", "", map[string]any{"email": userEmail}, 204)
	msg := m.nextMail(t, userEmail)
	if got, want := msg.Subject(), `Hello <b>Al & "Co"</b> {TOKEN} from Basalt Test`; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	html := msg.HTML()
	for _, want := range []string{`Hi &lt;b&gt;Al &amp; &#34;Co&#34;&lt;/b&gt; {TOKEN} (alice@example.com, verified: false) {UNKNOWN}`, `href="http://app.test/v/ey`} {
		if !strings.Contains(html, want) {
			t.Errorf("body lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "tokenKey") || strings.Contains(html, "$2a$") {
		t.Errorf("hidden fields in the body: %s", html)
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	perIP := newMailEnv(t, auth.WithThrottle(auth.Throttle{PerIP: ratelimit.Rule{Burst: 3, Per: time.Minute}}))
	t.Run("per IP", func(t *testing.T) {
		perIP.t = t
		for i := range 3 {
			perIP.mustJSON("POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": "u" + strconv.Itoa(i) + "@example.com"}, 204)
		}
		res := perIP.do("POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": "u9@example.com"}, nil)
		if res.status != http.StatusTooManyRequests {
			t.Fatalf("4th request: %d %s", res.status, res.body)
		}
		if n, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || n < 1 || n > 20 {
			t.Errorf("Retry-After = %q, want about 20s", res.header.Get("Retry-After"))
		}
		if p := matchJSON("$", decode(`{"status":429,"message":"Too Many Requests.","data":{}}`), res.json(t)); len(p) > 0 {
			t.Error(p)
		}
		// Other endpoints have their own budget.
		perIP.mustJSON("POST", "/api/collections/users/request-verification", "", map[string]any{"email": "u9@example.com"}, 204)
	})

	perID := newMailEnv(t, auth.WithThrottle(auth.Throttle{PerIdentity: ratelimit.Rule{Burst: 2, Per: time.Hour}}))
	t.Run("per address, known or not alike", func(t *testing.T) {
		perID.t = t
		for _, address := range []string{userEmail, "ghost@example.com"} {
			for range 2 {
				perID.mustJSON("POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": address}, 204)
			}
			res := perID.do("POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": strings.ToUpper(address)}, nil)
			if res.status != http.StatusTooManyRequests {
				t.Errorf("3rd request for %s: %d %s", address, res.status, res.body)
			}
		}
		perID.mustJSON("POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": user2Email}, 204)
		perID.settle(t)
		if n := len(perID.mailsTo(userEmail)); n != 2 {
			t.Errorf("alice got %d mails, want 2", n)
		}
	})
	t.Run("email change per record", func(t *testing.T) {
		perID.t = t
		for i := range 2 {
			perID.mustJSON("POST", "/api/collections/users/request-email-change", "user", map[string]any{"newEmail": "n" + strconv.Itoa(i) + "@example.com"}, 204)
		}
		if res := perID.do("POST", "/api/collections/users/request-email-change", "user", map[string]any{"newEmail": "n9@example.com"}, nil); res.status != 429 {
			t.Errorf("3rd request: %d %s", res.status, res.body)
		}
	})
}

func TestSlowOrFailingSMTPDoesNotHoldRequests(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	release := m.smtp.Hold()
	done := make(chan *response, 1)
	go func() {
		done <- m.do("POST", "/api/collections/users/request-verification", "", map[string]any{"email": userEmail}, nil)
	}()
	select {
	case res := <-done:
		if res.status != 204 {
			t.Fatalf("got %d %s", res.status, res.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request waited for the SMTP server")
	}
	if n := len(m.mailsTo(userEmail)); n != 0 {
		t.Fatalf("the held mail was recorded (%d)", n)
	}
	release()
	m.nextMail(t, userEmail)

	// Temporary failures are retried in the background.
	m.smtp.FailNext(2, "451 4.3.0 try again later")
	m.mustJSON("POST", "/api/collections/users/request-password-reset", "", map[string]any{"email": userEmail}, 204)
	if msg := m.nextMail(t, userEmail); msg.Subject() != "Reset your Basalt Test password" {
		t.Errorf("subject = %q", msg.Subject())
	}
}

func TestRequestsDoNotWriteBeforeAnswering(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t)
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true}})
	// Hold the database's only writer: an endpoint that wrote for a known
	// address (and not for an unknown one) would wait here, and so answer
	// later than for an unknown address.
	release, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = m.st.InTx(context.Background(), func(tx store.Tx) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	for _, ep := range []string{"request-otp", "request-verification", "request-password-reset"} {
		done := make(chan *response, 1)
		go func() {
			done <- m.do("POST", "/api/collections/users/"+ep, "", map[string]any{"email": userEmail}, nil)
		}()
		select {
		case res := <-done:
			if res.status >= 300 {
				t.Errorf("%s: %d %s", ep, res.status, res.body)
			}
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatalf("%s waited for the database writer", ep)
		}
	}
	close(release)
	m.settle(t)
	subjects := map[string]bool{}
	for _, msg := range m.mailsTo(userEmail) {
		subjects[msg.Subject()] = true
	}
	for _, want := range []string{"OTP for Basalt Test", "Verify your Basalt Test email", "Reset your Basalt Test password"} {
		if !subjects[want] {
			t.Errorf("no mail %q once the writer was free (got %v)", want, subjects)
		}
	}
}
