package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/basalt-dev/basalt/internal/mail/mailtest"
)

// TestAdminAuthInBrowser drives the authentication screens of the admin
// dashboard in headless Chromium: an auth collection created with an
// OAuth2 provider, MFA and one-time passwords through the structured
// forms (saved as the API then shows), server problems shown next to their
// inputs (a bad MFA rule, a repeated provider), MFA turned on for
// superusers in the same form, sign-out, a sign-in that needs the
// one-time password mailed to a test SMTP server (a wrong one first), and
// the token renewed on the next page load.
func TestAdminAuthInBrowser(t *testing.T) {
	const email, pass = "root@example.com", "s3cret-Passw0rd"
	base := startAdminServer(t, email, pass)
	smtp := mailtest.Start(t, mailtest.Options{})
	token := apiCall(t, "POST", base+"/api/collections/_superusers/auth-with-password", "", map[string]string{"identity": email, "password": pass})["token"].(string)
	apiCall(t, "PATCH", base+"/api/settings", token, map[string]any{"smtp": map[string]any{"enabled": true, "host": smtp.Host, "port": smtp.Port}})

	b := newBrowserSession(t, base)
	b.do("open the dashboard", chromedp.Navigate(base+"/_/"))
	authWait(b, "the sign-in form", `!!document.querySelector('input[name=identity]')`)
	b.fill("input[name=identity]", email)
	b.fill("input[name=password]", pass)
	b.click("form.login button[type=submit]", "Sign in")
	authWait(b, "the collections overview", `document.querySelector('main h1')?.textContent === 'Collections'`)

	// A new auth collection with an OAuth2 provider, MFA and one-time
	// passwords, all through the forms.
	b.do("open the new auth collection form", chromedp.Navigate(base+"/_/#/new-collection?type=auth"))
	authWait(b, "the auth options", `!!document.getElementById('ao-mfa-rule') && !!document.querySelector('input[name=name]')`)
	b.fill("input[name=name]", "members")
	b.click("fieldset[data-option=oauth2] > label.check", "Enabled")
	b.click("fieldset[data-option=oauth2] button", "Add provider")
	authWait(b, "the provider card", `!!document.getElementById('ao-oauth2-providers-0-name')`)
	b.fill("#ao-oauth2-providers-0-name", "google")
	authWait(b, "the Google card", `document.querySelector('.provider-card legend')?.textContent === 'Google'`)
	b.fill("#ao-oauth2-providers-0-clientId", "members-client")
	b.fill("#ao-oauth2-providers-0-clientSecret", "members-secret")
	b.click("fieldset[data-option=mfa] > label.check", "Enabled")
	b.fill("#ao-mfa-duration", "900")
	b.fill("#ao-mfa-rule", "verified = false")
	b.click("fieldset[data-option=otp] > label.check", "Enabled")
	b.fill("#ao-otp-length", "6")
	b.shot("auth-1-collection-form")
	b.click("button[type=submit]", "Create collection")
	authWait(b, "the members records", `location.hash.startsWith('#/c/members') && !!document.querySelector('.filter-input')`)
	col := apiCall(t, "GET", base+"/api/collections/members", token, nil)
	raw, _ := json.Marshal(col)
	if strings.Contains(string(raw), "members-secret") || strings.Contains(string(raw), `"clientSecret"`) {
		t.Errorf("the API returned the client secret: %s", raw)
	}
	oauth2 := col["oauth2"].(map[string]any)
	providers := oauth2["providers"].([]any)
	if oauth2["enabled"] != true || len(providers) != 1 || providers[0].(map[string]any)["name"] != "google" || providers[0].(map[string]any)["clientId"] != "members-client" {
		t.Errorf("saved oauth2 = %v", oauth2)
	}
	if mfa := col["mfa"].(map[string]any); mfa["enabled"] != true || mfa["duration"] != 900.0 || mfa["rule"] != "verified = false" {
		t.Errorf("saved mfa = %v", mfa)
	}
	if otp := col["otp"].(map[string]any); otp["enabled"] != true || otp["length"] != 6.0 {
		t.Errorf("saved otp = %v", otp)
	}
	// The secret was stored: the provider is offered for sign-in.
	methods := apiCall(t, "GET", base+"/api/collections/members/auth-methods", "", nil)
	if list, _ := methods["oauth2"].(map[string]any)["providers"].([]any); len(list) != 1 {
		t.Errorf("auth-methods oauth2 = %v, want the google provider", methods["oauth2"])
	}

	// The server's problems appear next to their inputs: a rule naming a
	// missing field, then a provider configured twice; saving is refused
	// and moves the focus to the input at fault.
	b.do("edit members", chromedp.Navigate(base+"/_/#/c/members/edit"))
	authWait(b, "the stored options", `document.getElementById('ao-mfa-rule')?.value === 'verified = false' && document.getElementById('ao-oauth2-providers-0-clientSecret')?.placeholder.includes('Stored')`)
	b.fill("#ao-mfa-rule", "nosuchfield = 1")
	authWait(b, "the inline MFA rule error", `document.getElementById('ao-mfa-rule-err').textContent.includes('nosuchfield') && document.getElementById('ao-mfa-rule').getAttribute('aria-invalid') === 'true'`)
	b.shot("auth-2-mfa-rule-error")
	b.fill("#ao-mfa-rule", "verified = false")
	authWait(b, "the MFA rule error to clear", `document.getElementById('ao-mfa-rule-err').textContent === ''`)
	b.click("fieldset[data-option=oauth2] button", "Add provider")
	authWait(b, "a second provider card", `!!document.getElementById('ao-oauth2-providers-1-name')`)
	b.fill("#ao-oauth2-providers-1-name", "google")
	b.fill("#ao-oauth2-providers-1-clientId", "again")
	authWait(b, "the inline provider error", `document.getElementById('ao-oauth2-providers-1-name-err').textContent.includes('twice')`)
	b.shot("auth-3-provider-error")
	b.click("button[type=submit]", "Save changes")
	authWait(b, "the refused save", `document.querySelector('.collection-form .form-error').textContent !== '' && document.activeElement?.id === 'ao-oauth2-providers-1-name'`)
	b.click(".providers .provider-card:last-child button.danger", "Remove provider")
	authWait(b, "the provider error to clear", `!document.getElementById('ao-oauth2-providers-1-name') && !document.querySelector('.auth-options [aria-invalid=true]')`)
	// The raw JSON escape hatch shows every option but the secrets, and
	// what it applies lands in the forms.
	b.click("details.advanced summary", "Advanced")
	authWait(b, "the options as JSON", `document.getElementById('ao-raw').value.includes('"members-client"') && !document.getElementById('ao-raw').value.includes('members-secret')`)
	if !eval[bool](b, `(() => { const t = document.getElementById('ao-raw'); const v = t.value.replace('"length": 6', '"length": 2'); t.value = v; return v.includes('"length": 2'); })()`) {
		t.Fatal("the JSON has no OTP length of 6")
	}
	b.click("details.advanced button", "Apply JSON")
	authWait(b, "the applied OTP length and its inline error", `document.getElementById('ao-otp-length').value === '2' && document.getElementById('ao-otp-length-err').textContent.includes('4 and 32')`)
	b.fill("#ao-otp-length", "6")
	authWait(b, "the OTP length error to clear", `document.getElementById('ao-otp-length-err').textContent === ''`)
	b.click("button[type=submit]", "Save changes")
	authWait(b, "the members records again", `location.hash.startsWith('#/c/members') && !!document.querySelector('.filter-input')`)
	if list, _ := apiCall(t, "GET", base+"/api/collections/members/auth-methods", "", nil)["oauth2"].(map[string]any)["providers"].([]any); len(list) != 1 {
		t.Errorf("after saving without a secret the google provider is gone from auth-methods: %v", list)
	}

	// MFA with one-time passwords for superusers, and a shorter auth token.
	b.do("edit _superusers", chromedp.Navigate(base+"/_/#/c/_superusers/edit"))
	authWait(b, "the superusers' options", `!!document.getElementById('ao-mfa-rule')`)
	b.click("fieldset[data-option=mfa] > label.check", "Enabled")
	authWait(b, "the warning that one sign-in method locks everyone out", `document.getElementById('ao-mfa-warning').textContent.includes('two sign-in methods')`)
	b.click("fieldset[data-option=otp] > label.check", "Enabled")
	authWait(b, "the warning to go", `document.getElementById('ao-mfa-warning').textContent === ''`)
	b.fill("#ao-otp-length", "6")
	b.fill("#ao-authToken-duration", "3600")
	authWait(b, "the duration in words", `document.getElementById('ao-authToken-duration-help').textContent.includes('1 hour')`)
	b.click("button[type=submit]", "Save changes")
	authWait(b, "the superusers table", `location.hash.startsWith('#/c/_superusers') && !!document.querySelector('.filter-input')`)
	su := apiCall(t, "GET", base+"/api/collections/_superusers", token, nil)
	if su["mfa"].(map[string]any)["enabled"] != true || su["otp"].(map[string]any)["enabled"] != true || su["authToken"].(map[string]any)["duration"] != 3600.0 {
		t.Fatalf("saved superuser options: mfa %v otp %v authToken %v", su["mfa"], su["otp"], su["authToken"])
	}

	// Sign out: the session is gone and the dashboard asks to sign in. The
	// session's messages go with it: the "saved" toast, up for 3.5 s, is
	// gone as soon as the sign-in form shows.
	authWait(b, "the saved toast", `[...document.querySelectorAll('#toasts .toast')].some((t) => t.textContent === 'Collection saved.')`)
	b.click("header.topbar button", "Sign out")
	authWait(b, "the sign-in form after signing out", `location.hash === '#/login' && !!document.querySelector('input[name=identity]')`)
	if n := eval[int](b, `document.querySelectorAll('#toasts .toast').length`); n != 0 {
		t.Errorf("%d toasts of the signed-out session are still shown", n)
	}
	authWait(b, "the session to go", `localStorage.getItem('basalt_admin_auth') === null`)
	b.do("open a screen signed out", chromedp.Navigate(base+"/_/#/c/members"))
	authWait(b, "the sign-in form again", `location.hash === '#/login' && document.activeElement?.name === 'identity'`)

	// The password is the first step; the one-time password from the mail
	// the second. A wrong one is refused with a clear error.
	b.fill("input[name=identity]", email)
	b.fill("input[name=password]", pass)
	b.click("form.login button[type=submit]", "Sign in")
	authWait(b, "the second step", `document.querySelector('form.login h1')?.textContent === 'Second step' && document.activeElement?.autocomplete === 'one-time-code'`)
	msg := smtp.Wait(t, 15*time.Second, func(m *mailtest.Message) bool { return strings.Contains(m.Subject(), "OTP") })
	code := regexp.MustCompile(`<strong>(\d+)</strong>`).FindStringSubmatch(msg.HTML())
	if code == nil || len(code[1]) != 6 {
		t.Fatalf("no 6-digit one-time password in the mail:\n%s", msg.HTML())
	}
	wrong := []byte(code[1])
	wrong[0] = '0' + (wrong[0]-'0'+1)%10
	b.shot("auth-4-otp-step")
	b.fill("input[autocomplete=one-time-code]", string(wrong))
	b.click("form.login button[type=submit]", "Verify")
	authWait(b, "the wrong code refused", `document.querySelector('form.login .form-error')?.textContent.includes('one-time password') && document.querySelector('input[autocomplete=one-time-code]').getAttribute('aria-invalid') === 'true'`)
	b.shot("auth-5-otp-wrong")
	if got := eval[string](b, `localStorage.getItem('basalt_admin_auth') || ''`); got != "" {
		t.Fatalf("a wrong one-time password signed in: %s", got)
	}
	b.fill("input[autocomplete=one-time-code]", code[1])
	b.click("form.login button[type=submit]", "Verify")
	authWait(b, "the dashboard after MFA", `document.querySelector('main h1')?.textContent === 'Collections'`)
	first := eval[string](b, `JSON.parse(localStorage.getItem('basalt_admin_auth')).token`)

	// The dashboard renews a token with less than a day left when it loads
	// (and every 30 minutes): with the 1 hour lifetime set above, reloading
	// gets a new token. JWT times are in seconds, so wait for the next one.
	time.Sleep(1100 * time.Millisecond)
	b.do("reload", chromedp.Reload())
	authWait(b, "the renewed token", fmt.Sprintf(`JSON.parse(localStorage.getItem('basalt_admin_auth') || '{}').token !== %q && document.querySelector('main h1')?.textContent === 'Collections'`, first))
	renewed := eval[string](b, `JSON.parse(localStorage.getItem('basalt_admin_auth')).token`)
	if left := jwtExpiry(t, renewed) - time.Now().Unix(); left < 3500 || left > 3600 {
		t.Errorf("the renewed token expires in %d s, want the configured hour", left)
	}
	apiCall(t, "GET", base+"/api/collections/_superusers", renewed, nil) // the renewed token works

	// The forms fit a phone screen.
	b.do("narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/_/#/c/members/edit"))
	authWait(b, "the auth options on a phone", `!!document.getElementById('ao-oauth2-providers-0-clientId')`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 392 {
		t.Errorf("the auth options are %dpx wide on a 390px screen", w)
	}
	b.shot("auth-6-options-phone")

	var problems []string
	for _, p := range b.consoleProblems() {
		// The password step of an MFA sign-in answers 401 {mfaId} by design.
		if strings.Contains(p, "status of 401") && strings.Contains(p, "auth-with-password") {
			continue
		}
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		t.Fatalf("the dashboard wrote to the console:\n%s", strings.Join(problems, "\n"))
	}
}

// jwtExpiry returns the exp claim of a token (Unix seconds).
func jwtExpiry(t *testing.T, token string) int64 {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decoding the token: %v", err)
	}
	var claims struct{ Exp int64 }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("decoding the claims: %v", err)
	}
	return claims.Exp
}

// authWait is waitFor that also reports where the page was when the wait
// failed: the URL fragment and the start of the screen's text.
func authWait(b *browserSession, what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.shot("failure-auth")
		where, _ := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.Evaluate[string](
			`location.hash + ' | ' + (document.querySelector('#app')?.innerText || '').replace(/\s+/g, ' ').slice(0, 400)`))
		b.t.Fatalf("waiting for %s (%s): %v\npage: %s", what, cond, err, where)
	}
}
