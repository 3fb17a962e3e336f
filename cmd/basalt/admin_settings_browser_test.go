package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestAdminSettingsInBrowser drives the settings screens of the admin
// dashboard in headless Chromium against a real server: rate limit rules
// edited in the structured editor (saved, and a server error shown under
// the input it concerns), the trusted proxy, the backup schedule, a
// backup created, downloaded and uploaded again (and a broken upload
// refused with a clear error), then restored, after which the server
// serves the restored data and the dashboard carries on; a phone-width
// layout, and no console error.
func TestAdminSettingsInBrowser(t *testing.T) {
	base := startAdminServer(t, "admin@example.com", "s3cret-Passw0rd")
	b := newBrowserSession(t, base)
	login := apiCall(t, "POST", base+"/api/collections/_superusers/auth-with-password", "", map[string]string{"identity": "admin@example.com", "password": "s3cret-Passw0rd"})
	token, _ := login["token"].(string)
	settings := func() map[string]any { return apiCall(t, "GET", base+"/api/settings", token, nil) }
	apiCall(t, "POST", base+"/api/collections", token, map[string]any{"name": "notes", "type": "base",
		"listRule": "", "fields": []map[string]any{{"name": "title", "type": "text"}}})
	apiCall(t, "POST", base+"/api/collections/notes/records", token, map[string]any{"title": "before the backup"})

	b.do("open the dashboard", chromedp.Navigate(base+"/_/"))
	signIn(b, "admin@example.com", "s3cret-Passw0rd")

	// Rate limits: the four default rules in the editor; change one, remove
	// one, add one and an excluded IP, and the server has exactly that.
	b.do("open rate limits", chromedp.Navigate(base+"/_/#/settings/ratelimits"))
	b.waitFor("the rule rows", `document.querySelectorAll('.rule-row').length === 4`)
	b.shot("settings-0-ratelimits")
	b.click(`label`, "Enable rate limits")
	b.fill("#rateLimits-rules-0-maxRequests", "5")
	b.click(`button[aria-label="Remove rule 3"]`, "×") // /api/batch
	b.click(".rules-editor button", "Add rule")
	b.waitFor("the new row with focus", `document.activeElement?.id === 'rateLimits-rules-3-label'`)
	b.fill("#rateLimits-rules-3-label", "POST /api/collections/notes/records")
	b.fill("#rateLimits-rules-3-audience", "@guest")
	b.fill("#rateLimits-rules-3-duration", "60")
	b.fill("#rateLimits-rules-3-maxRequests", "10")
	b.waitFor("the rule's summary", `document.getElementById('rateLimits-rules-3-summary').textContent.includes('at most 10 requests every 60 s from each guest')`)
	b.click(".list-editor button", "Add IP")
	b.fill("#rateLimits-excludedIPs-0", "10.0.0.0/8")
	saveSettings(b)
	rl := settings()["rateLimits"].(map[string]any)
	wantRules := []any{
		map[string]any{"label": "*:auth", "audience": "", "duration": 3.0, "maxRequests": 5.0},
		map[string]any{"label": "*:create", "audience": "", "duration": 5.0, "maxRequests": 20.0},
		map[string]any{"label": "/api/", "audience": "", "duration": 10.0, "maxRequests": 300.0},
		map[string]any{"label": "POST /api/collections/notes/records", "audience": "@guest", "duration": 60.0, "maxRequests": 10.0},
	}
	if !reflect.DeepEqual(rl["rules"], wantRules) || rl["enabled"] != true || !reflect.DeepEqual(rl["excludedIPs"], []any{"10.0.0.0/8"}) {
		t.Fatalf("saved rate limits = %v\nwant enabled, rules %v and excludedIPs [10.0.0.0/8]", rl, wantRules)
	}

	// A malformed label and IP: the server's errors, keyed by index, land
	// under their inputs, the first invalid input gets the focus, and
	// nothing is saved. A fraction is caught before sending.
	b.fill("#rateLimits-rules-1-duration", "1.5")
	b.click(".settings-form button[type=submit]", "Save")
	b.waitFor("the whole-number error", `document.getElementById('rateLimits-rules-1-duration-err').textContent === 'Must be a whole number.'`)
	b.fill("#rateLimits-rules-1-duration", "5")
	b.fill("#rateLimits-rules-3-label", "not a label!")
	b.fill("#rateLimits-excludedIPs-0", "10.0.0.300")
	eval[bool](b, `(document.getElementById('toasts').replaceChildren(), true)`)
	b.click(".settings-form button[type=submit]", "Save")
	b.waitFor("the inline rule error", `document.getElementById('rateLimits-rules-3-label-err').textContent === 'Must be in a valid format.' &&
		document.getElementById('rateLimits-rules-3-label').getAttribute('aria-invalid') === 'true' &&
		document.getElementById('rateLimits-excludedIPs-0-err').textContent.includes('valid IP')`)
	if got := eval[string](b, `document.activeElement.id`); got != "rateLimits-rules-3-label" {
		t.Errorf("focus after the failed save is on %q, want the first invalid input", got)
	}
	if got := eval[string](b, `document.getElementById('rateLimits-rules-1-duration-err').textContent`); got != "" {
		t.Errorf("the fixed duration still shows %q", got)
	}
	b.shot("settings-1-ratelimits-error")
	if rl := settings()["rateLimits"].(map[string]any); !reflect.DeepEqual(rl["rules"], wantRules) {
		t.Fatalf("an invalid save changed the rules: %v", rl["rules"])
	}

	// The same editor on a phone: no sideways scrolling.
	b.do("narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload())
	b.waitFor("the rule rows on a phone", `document.querySelectorAll('.rule-row').length === 4`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 392 {
		t.Errorf("the rate limits screen is %dpx wide on a 390px screen", w)
	}
	b.shot("settings-2-ratelimits-phone")
	b.do("wide viewport", chromedp.EmulateViewport(1280, 900))

	// Trusted proxy: the IP the server sees, a header and the leftmost IP.
	b.do("open the trusted proxy", chromedp.Navigate(base+"/_/#/settings/proxy"))
	b.waitFor("the client IP", `document.querySelector('.proxy-seen')?.textContent.includes('127.0.0.1')`)
	b.click(".list-editor button", "Add header")
	b.fill("#trustedProxy-headers-0", "X-Forwarded-For")
	b.click("label", "Use the leftmost IP")
	saveSettings(b)
	tp := settings()["trustedProxy"].(map[string]any)
	if !reflect.DeepEqual(tp["headers"], []any{"X-Forwarded-For"}) || tp["useLeftmostIP"] != true {
		t.Fatalf("saved trusted proxy = %v", tp)
	}
	b.shot("settings-3-proxy")

	// Backups: the schedule (a bad cron expression is reported inline).
	b.do("open backups", chromedp.Navigate(base+"/_/#/settings/backups"))
	b.waitFor("the schedule", `!!document.querySelector('input[name="backups.cron"]') && !!document.querySelector('.tab-body .table-wrap p, .tab-body table')`)
	b.fill(`input[name="backups.cron"]`, "every day")
	b.click(".settings-form button[type=submit]", "Save")
	b.waitFor("the cron error", `document.getElementById('backups-cron-err').textContent.length > 0`)
	b.fill(`input[name="backups.cron"]`, "0 3 * * *")
	b.fill(`input[name="backups.cronMaxKeep"]`, "5")
	saveSettings(b)
	if bk := settings()["backups"].(map[string]any); bk["cron"] != "0 3 * * *" || bk["cronMaxKeep"] != 5.0 {
		t.Fatalf("saved backup schedule = %v", bk)
	}

	// Create a backup, take it through the API, and upload it back under
	// another name; a file that is no backup is refused with the reason.
	b.click("button.primary", "Create backup")
	b.waitFor("the new backup", `[...document.querySelectorAll('table.backups td')].some((td) => td.textContent.endsWith('.zip'))`)
	key := eval[string](b, `document.querySelector('table.backups td').textContent`)
	upload := filepath.Join(t.TempDir(), "restore-me.zip")
	if err := os.WriteFile(upload, downloadBackup(t, base, token, key), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(t.TempDir(), "broken.zip")
	if err := os.WriteFile(broken, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("choose a broken backup", chromedp.SetUploadFiles(`input[type=file][name=file]`, []string{broken}))
	b.waitFor("the upload error", `document.querySelector('.tab-body .form-error[role=alert]')?.textContent.startsWith('Upload of broken.zip failed: Invalid backup')`)
	b.shot("settings-4-backups-upload-error")
	b.do("choose the backup", chromedp.SetUploadFiles(`input[type=file][name=file]`, []string{upload}))
	b.waitFor("the uploaded backup", `[...document.querySelectorAll('table.backups td')].some((td) => td.textContent === 'restore-me.zip')`)
	b.waitFor("the upload error to clear", `document.querySelector('.tab-body .form-error[role=alert]').textContent === ''`)
	b.shot("settings-5-backups")

	// Data written after the backup goes with the restore.
	apiCall(t, "POST", base+"/api/collections/notes/records", token, map[string]any{"title": "after the backup"})
	b.click(`button[aria-label="Restore restore-me.zip"]`, "Restore")
	b.waitFor("the restore confirmation", `document.querySelector('dialog.modal')?.textContent.includes('replaces all current data')`)
	b.fill("dialog.modal input[name=confirm]", "restore-me")
	b.click("dialog.modal button.danger", "Restore and replace all data")
	b.waitFor("the confirmation error", `document.querySelector('dialog.modal input[name=confirm]').getAttribute('aria-invalid') === 'true'`)
	b.shot("settings-6-restore-confirm")
	b.fill("dialog.modal input[name=confirm]", "restore-me.zip")
	b.click("dialog.modal button.danger", "Restore and replace all data")
	b.waitFor("the restore's end", `document.querySelector('dialog.restore-progress')?.textContent.includes('Basalt serves the restored data.')`)
	if n := eval[int](b, `document.querySelectorAll('dialog.restore-progress .step.done').length`); n != 4 {
		t.Errorf("%d restore steps done, want 4", n)
	}
	b.shot("settings-7-restored")
	b.click("dialog.restore-progress button", "Close")
	b.waitFor("the backups list after the restore", `!document.querySelector('dialog') && [...document.querySelectorAll('table.backups td')].some((td) => td.textContent === 'restore-me.zip')`)
	titles := []string{}
	res := apiCall(t, "GET", base+"/api/collections/notes/records?sort=title", token, nil)
	for _, it := range res["items"].([]any) {
		titles = append(titles, it.(map[string]any)["title"].(string))
	}
	if !reflect.DeepEqual(titles, []string{"before the backup"}) {
		t.Fatalf("records after the restore = %q, want only the one before the backup", titles)
	}
	// The session survived (the superuser is in the backup): the dashboard
	// still works without signing in again.
	b.do("open the records", chromedp.Navigate(base+"/_/#/c/notes"))
	b.waitFor("the restored records", `document.querySelectorAll('table.records tbody tr').length === 1`)

	// A superuser who is not in the backup restores it: the dashboard
	// follows the restart, then asks to sign in again.
	apiCall(t, "POST", base+"/api/collections/_superusers/records", token, map[string]any{
		"email": "ops@example.com", "password": "0ps-Passw0rd!", "passwordConfirm": "0ps-Passw0rd!"})
	b.click("button", "Sign out")
	signIn(b, "ops@example.com", "0ps-Passw0rd!")
	b.do("open backups as ops", chromedp.Navigate(base+"/_/#/settings/backups"))
	b.click(`button[aria-label="Restore restore-me.zip"]`, "Restore")
	b.fill("dialog.modal input[name=confirm]", "restore-me.zip")
	b.click("dialog.modal button.danger", "Restore and replace all data")
	b.waitFor("the sign-in form after the restore", `location.hash === '#/login' && !document.querySelector('dialog') &&
		[...document.querySelectorAll('.toast')].some((t) => t.textContent.includes('sign in with a superuser of the backup'))`)
	b.shot("settings-8-restored-signed-out")
	signIn(b, "admin@example.com", "s3cret-Passw0rd")

	// The backups and the trusted proxy on a phone: no sideways scrolling.
	b.do("narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, tab := range []string{"backups", "proxy"} {
		b.do("open "+tab+" on a phone", chromedp.Navigate(base+"/_/#/settings/"+tab))
		b.waitFor(tab+" on a phone", `!!document.querySelector('.settings-form button[type=submit]')`)
		if w := eval[int](b, `document.documentElement.scrollWidth`); w > 392 {
			t.Errorf("the %s screen is %dpx wide on a 390px screen", tab, w)
		}
		b.shot("settings-9-" + tab + "-phone")
	}

	// The browser logs the health checks refused while the server restarts
	// on the restored data; anything else is a problem.
	var problems []string
	refused := 0
	for _, p := range b.consoleProblems() {
		if strings.Contains(p, "/api/health") && strings.Contains(p, "ERR_CONNECTION") {
			refused++
			continue
		}
		problems = append(problems, p)
	}
	t.Logf("%d health checks refused while the server restarted", refused)
	if len(problems) > 0 {
		t.Fatalf("the dashboard wrote to the console:\n%s", strings.Join(problems, "\n"))
	}
}

// signIn signs in on the dashboard's sign-in form.
func signIn(b *browserSession, email, password string) {
	b.t.Helper()
	b.waitFor("the sign-in form", `!!document.querySelector('input[name=identity]')`)
	b.fill("input[name=identity]", email)
	b.fill("input[name=password]", password)
	b.click("button[type=submit]", "Sign in")
	b.waitFor("the collections overview", `document.querySelector('main h1')?.textContent === 'Collections'`)
}

// saveSettings submits the settings form and waits for its confirmation.
func saveSettings(b *browserSession) {
	b.t.Helper()
	eval[bool](b, `(document.getElementById('toasts').replaceChildren(), true)`)
	b.click(".settings-form button[type=submit]", "Save")
	b.waitFor("the saved settings", `[...document.querySelectorAll('.toast')].some((t) => t.textContent === 'Settings saved.')`)
}

// downloadBackup fetches a backup as a superuser's download link does.
func downloadBackup(t *testing.T, base, token, key string) []byte {
	t.Helper()
	ft := apiCall(t, "POST", base+"/api/files/token", token, nil)["token"].(string)
	res, err := http.Get(fmt.Sprintf("%s/api/backups/%s?token=%s", base, url.PathEscape(key), url.QueryEscape(ft)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("downloading %s: %d %v", key, res.StatusCode, err)
	}
	return body
}
