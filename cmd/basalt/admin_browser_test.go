package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// browserPath finds Debian's chromium (or another Chrome) for the browser
// test; "" when there is none.
func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browserSession drives one headless Chromium tab against a Basalt server
// and records what the page writes to its console.
type browserSession struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu       sync.Mutex
	problems []string
}

func newBrowserSession(t *testing.T, base string) *browserSession {
	t.Helper()
	exe := browserPath()
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (apt-get install chromium); CI must run the admin browser test")
		}
		t.Skip("chromium is not installed: skipping the admin dashboard browser test (apt-get install chromium)")
	}
	shots := os.Getenv("BASALT_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "basalt-admin-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the admin dashboard go to %s", shots)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()),
	}
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // CI runs as root, where Chromium's sandbox cannot start
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 150*time.Second)
	b := &browserSession{t: t, ctx: ctx, base: base, shots: shots}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			// The browser logs every answer of 400 as a failed request; the
			// test provokes them on purpose (a rule or filter with an error,
			// shown inline). Any other entry is a problem.
			expected := m.Source == "network" && strings.Contains(m.Text, "status of 400")
			if !expected && (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning) {
				b.mu.Lock()
				b.problems = append(b.problems, fmt.Sprintf("console %s at %s:%d: %s", m.Type, m.URL, m.Line+1, m))
				b.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancelTime(); cancelTab(); cancelAlloc() })
	return b
}

// do runs steps and fails the test with what failed.
func (b *browserSession) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		loc, _ := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.Location())
		b.shot("failure")
		b.t.Fatalf("%s: %v (page %s)", what, err, loc)
	}
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](b *browserSession, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript condition until it is true.
func (b *browserSession) waitFor(what, cond string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.shot("failure")
		b.t.Fatalf("waiting for %s (%s): %v", what, cond, err)
	}
}

// fill sets an input's value as typing would (an input event follows).
func (b *browserSession) fill(sel, value string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); if (!el) return false;
		el.value = %q; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`, sel, value)
	if !eval[bool](b, js) {
		b.shot("failure")
		b.t.Fatalf("no element %s to fill", sel)
	}
}

// click clicks the first element matching sel whose text contains text.
func (b *browserSession) click(sel, text string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const el = [...document.querySelectorAll(%q)].find((e) => e.textContent.includes(%q)); if (!el) return false; el.click(); return true; })()`, sel, text)
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.shot("failure")
		b.t.Fatalf("clicking %s %q: %v", sel, text, err)
	}
}

// shot saves a screenshot of the page as name.png.
func (b *browserSession) shot(name string) {
	buf, err := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), buf, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}

// consoleProblems returns the console errors, warnings and exceptions seen.
func (b *browserSession) consoleProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// testPNG writes a small PNG for the upload.
func testPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		for y := range 30 {
			img.Set(x, y, color.RGBA{R: uint8(x * 6), G: 120, B: uint8(y * 8), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cover.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// apiCall calls the public API as a client other than the dashboard would.
func apiCall(t *testing.T, method, url, token string, body any) map[string]any {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v", method, url, res.StatusCode, out)
	}
	return out
}

// startAdminServer skips the test in -short mode; otherwise it starts
// Basalt on a fresh data directory with the superuser email/password and
// returns its base URL.
func startAdminServer(t *testing.T, email, password string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"superuser", "upsert", email, password, "--dir", dir}, noEnv, strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out.String())
	}
	addr, _ := startServer(t, dir)
	return "http://" + addr
}

// TestAdminDashboardInBrowser drives the admin dashboard in headless
// Chromium against a real server: keyboard sign-in, a collection with
// several field types and an invalid rule caught inline, records created
// (with a file), edited and filtered, a rule changed, a record created
// through the API appearing live, the monitoring, logs and settings
// screens, a narrow phone viewport, and no console error anywhere.
func TestAdminDashboardInBrowser(t *testing.T) {
	base := startAdminServer(t, "admin@example.com", "s3cret-Passw0rd")
	b := newBrowserSession(t, base)

	// Sign in with the keyboard only: the email field has focus, Tab moves
	// to the password, Enter submits.
	b.do("open the dashboard", chromedp.Navigate(base+"/_/"))
	b.waitFor("the sign-in form", `document.activeElement && document.activeElement.name === 'identity'`)
	b.shot("01-sign-in")
	b.do("type the email", chromedp.KeyEvent("admin@example.com"), chromedp.KeyEvent("\t"))
	if got := eval[string](b, `document.activeElement.name`); got != "password" {
		t.Fatalf("Tab from the email field focused %q, want the password field", got)
	}
	b.do("type the password", chromedp.KeyEvent("s3cret-Passw0rd"), chromedp.KeyEvent("\r"))
	b.waitFor("the collections overview", `document.querySelector('main h1')?.textContent === 'Collections'`)
	b.shot("02-collections")

	// A collection with several field types; an invalid rule is reported
	// inline before saving, by the server's own filter compiler.
	b.do("open the new collection form", chromedp.Navigate(base+"/_/#/new-collection"))
	b.waitFor("the collection form", `!!document.querySelector('input[name=name]')`)
	b.fill("input[name=name]", "posts")
	for _, f := range []struct{ typ, name string }{
		{"text", "title"}, {"number", "views"}, {"bool", "published"}, {"select", "status"},
		{"json", "meta"}, {"date", "due"}, {"file", "cover"}, {"relation", "author"},
	} {
		b.fill(".add-field select", f.typ)
		b.click(".add-field button", "Add field")
		b.fill(".field-card:last-of-type input.fname", f.name)
	}
	b.click("button.lock", "Locked") // unlocks listRule, the first rule
	b.fill("#rule-listRule", "nosuchfield = 1")
	b.waitFor("the inline rule error", `document.getElementById('rule-listRule-err').textContent.includes('nosuchfield')`)
	b.shot("03-collection-rule-error")
	b.fill("#rule-listRule", "")
	b.waitFor("the rule error to clear", `document.getElementById('rule-listRule-err').textContent === ''`)
	b.click("button.lock", "Locked") // viewRule: everyone
	b.click("button.lock", "Locked") // createRule: everyone
	b.shot("04-collection-form")
	b.click("button[type=submit]", "Create collection")
	b.waitFor("the records table", `location.hash.startsWith('#/c/posts') && !!document.querySelector('.filter-input')`)

	// A user to relate posts to, made through the API.
	login := apiCall(t, "POST", base+"/api/collections/_superusers/auth-with-password", "", map[string]string{"identity": "admin@example.com", "password": "s3cret-Passw0rd"})
	token, _ := login["token"].(string)
	ada := apiCall(t, "POST", base+"/api/collections/users/records", token, map[string]any{
		"email": "ada@example.com", "name": "Ada", "password": "s3cret-Passw0rd", "passwordConfirm": "s3cret-Passw0rd"})

	// Two records through the form, one with an uploaded image and an
	// author chosen with the relation picker.
	for i, rec := range []struct{ title, views string }{{"First post", "3"}, {"Second post", "12"}} {
		b.click("a.button", "New record")
		b.waitFor("the record form", `!!document.querySelector('.record-form input[name=title]')`)
		b.fill(".record-form input[name=title]", rec.title)
		b.fill(".record-form input[name=views]", rec.views)
		b.fill(".record-form select[name=status]", "b")
		b.fill(".record-form textarea[name=meta]", `{"tags": ["a", "b"]}`)
		b.fill(".record-form input[name=due]", "2026-05-01T10:30:00")
		if i == 0 {
			b.do("check published", chromedp.Click(`.record-form input[name=published]`, chromedp.NodeVisible))
			b.do("choose the cover", chromedp.SetUploadFiles(`.record-form input[name=cover]`, []string{testPNG(t)}))
			b.waitFor("the upload preview", `!!document.querySelector('figure.file.new img')`)
			b.fill(".record-form input[name=author]", "Ad")
			b.click(".picker-results button", "Ada")
			b.waitFor("the chosen author", fmt.Sprintf(`document.querySelector('.record-form .chips')?.textContent.includes(%q)`, ada["id"]))
			b.shot("05-record-form")
		}
		b.click(".record-form button[type=submit]", "Create")
		b.waitFor("the new record in the table", fmt.Sprintf(`[...document.querySelectorAll('table.records td')].some((td) => td.textContent === %q)`, rec.title))
	}
	b.waitFor("the uploaded thumbnail", `[...document.querySelectorAll('img.thumb')].some((i) => i.complete && i.naturalWidth > 0)`)
	b.shot("06-records")

	// Edit the first record.
	b.click("table.records tbody tr td", "First post")
	b.waitFor("the edit form", `document.querySelector('.record-form input[name=title]')?.value === 'First post'`)
	b.waitFor("the author named in the edit form", `document.querySelector('.record-form .chips')?.textContent.includes('Ada')`)
	b.fill(".record-form input[name=title]", "First post, edited")
	b.click(".record-form button[type=submit]", "Save changes")
	b.waitFor("the edited title", `[...document.querySelectorAll('table.records td')].some((td) => td.textContent === 'First post, edited')`)

	// Filter, then a filter with a syntax error reported inline.
	b.fill(".filter-input", "views > 5")
	b.click("form.filter button[type=submit]", "Apply")
	b.waitFor("the filtered table", `document.querySelectorAll('table.records tbody tr').length === 1 && document.querySelector('table.records tbody').textContent.includes('Second post')`)
	b.fill(".filter-input", "views >")
	b.click("form.filter button[type=submit]", "Apply")
	b.waitFor("the inline filter error", `document.getElementById('filter-err').textContent.length > 0`)
	b.shot("07-records-filter-error")
	b.fill(".filter-input", "")
	b.click("form.filter button[type=submit]", "Apply")
	b.waitFor("the unfiltered table", `document.querySelectorAll('table.records tbody tr').length === 2`)

	// The first record was stored with its author and cover.
	list := apiCall(t, "GET", base+"/api/collections/posts/records?filter="+url.QueryEscape(`title = "First post, edited"`), token, nil)
	items, _ := list["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("the edited record: %v", list)
	}
	first := items[0].(map[string]any)
	if first["author"] != ada["id"] || first["published"] != true || first["views"] != 3.0 || !strings.HasPrefix(fmt.Sprint(first["cover"]), "cover") {
		t.Errorf("stored record %v: want author %v, published, 3 views and the cover", first, ada["id"])
	}

	// A record created through the API appears live.
	b.waitFor("the realtime subscription", `document.querySelector('.live')?.textContent.includes('Live')`)
	apiCall(t, "POST", base+"/api/collections/posts/records", token, map[string]any{"title": "Made through the API", "views": 1})
	b.waitFor("the live record", `[...document.querySelectorAll('table.records td')].some((td) => td.textContent === 'Made through the API')`)

	// Bulk delete: select two rows, confirm, and they are gone.
	apiCall(t, "POST", base+"/api/collections/posts/records", token, map[string]any{"title": "Also made through the API", "views": 2})
	b.waitFor("the second live record", `document.querySelectorAll('table.records tbody tr').length === 4`)
	for _, title := range []string{"Made through the API", "Also made through the API"} {
		b.do("select "+title, chromedp.Click(fmt.Sprintf(`//tr[td[normalize-space(.)=%q]]//input[@type="checkbox"]`, title), chromedp.NodeVisible))
	}
	b.click(".bulk button.danger", "Delete selected (2)")
	b.waitFor("the confirmation", `!!document.querySelector('dialog.modal')`)
	b.click("dialog.modal button", "Delete")
	b.waitFor("the rows to go", `document.querySelectorAll('table.records tbody tr').length === 2 && !document.querySelector('table.records').textContent.includes('through the API')`)

	// Change a rule and remove a field: saving first warns that the
	// field's data goes, then the stored collection has both changes.
	b.click("a.button", "Edit collection")
	b.waitFor("the collection editor", `!!document.getElementById('rule-viewRule')`)
	b.fill("#rule-viewRule", "published = true")
	b.waitFor("the rule check to pass", `document.getElementById('rule-viewRule-err').textContent === '' && !document.getElementById('rule-viewRule').hasAttribute('aria-invalid')`)
	b.click("button.icon-btn.danger", "×") // the first removable field: created
	b.click("button[type=submit]", "Save changes")
	b.waitFor("the data loss warning", `document.querySelector('dialog.modal')?.textContent.includes('"created"')`)
	b.shot("07b-drop-data-warning")
	b.click("dialog.modal button", "Drop data and save")
	// The rows, not just the filter box: the records page writes its URL once
	// they are loaded, which would undo a navigation made before.
	b.waitFor("the records table again", `location.hash.startsWith('#/c/posts') && document.querySelectorAll('table.records tbody tr').length === 2`)
	col := apiCall(t, "GET", base+"/api/collections/posts", token, nil)
	if got := col["viewRule"]; got != "published = true" {
		t.Fatalf("viewRule = %v, want %q", got, "published = true")
	}
	for _, f := range col["fields"].([]any) {
		if f.(map[string]any)["name"] == "created" {
			t.Fatal("the removed field created is still there")
		}
	}

	// Backups and webhooks in the settings.
	b.do("open backups", chromedp.Navigate(base+"/_/#/settings/backups"))
	b.click("button.primary", "Create backup")
	b.waitFor("the new backup", `[...document.querySelectorAll('table.records td')].some((td) => td.textContent.endsWith('.zip'))`)
	b.shot("15-backups")
	b.do("open webhooks", chromedp.Navigate(base+"/_/#/settings/webhooks"))
	b.waitFor("the webhooks section", `document.querySelector('.tab-body')?.textContent.includes('No webhooks yet.')`)

	// The other screens.
	b.do("open monitoring", chromedp.Navigate(base+"/_/#/monitoring"))
	b.waitFor("the monitoring tiles", `document.querySelectorAll('.tile').length === 8`)
	// The first point of the history comes 10 s after the server start; the
	// page refreshes every 10 s.
	b.waitFor("the monitoring charts", `document.querySelectorAll('.chart-card svg.chart').length === 7`)
	b.shot("08-monitoring")
	b.do("open the users collection", chromedp.Navigate(base+"/_/#/c/users/edit"))
	b.waitFor("the auth options", `!!document.querySelector('#ao-passwordAuth-identityFields input[value=name]')`)
	b.click("#ao-passwordAuth-identityFields label", "name") // name has no unique index
	b.waitFor("the auth option error", `document.getElementById('ao-passwordAuth-identityFields-err').textContent.includes('"name"')`)
	b.shot("13-auth-collection")
	b.do("open logs", chromedp.Navigate(base+"/_/#/logs"))
	b.waitFor("the request log", `document.querySelectorAll('table.logs tbody tr').length > 0`)
	b.shot("09-logs")
	b.do("open settings", chromedp.Navigate(base+"/_/#/settings/application"))
	b.waitFor("the settings form", `!!document.querySelector('input[name="meta.appName"]')`)
	b.shot("10-settings")
	b.fill(`input[name="meta.appName"]`, "Basalt under test")
	b.click(".settings-form button[type=submit]", "Save")
	b.waitFor("the saved settings", `[...document.querySelectorAll('.toast')].some((t) => t.textContent === 'Settings saved.')`)
	if got := apiCall(t, "GET", base+"/api/settings", token, nil)["meta"].(map[string]any)["appName"]; got != "Basalt under test" {
		t.Errorf("appName = %v after saving the settings form", got)
	}
	b.do("open the log settings", chromedp.Navigate(base+"/_/#/settings/logs"))
	b.waitFor("the log settings", `!!document.querySelector('input[name="logs.maxDays"]')`)

	// The dark theme follows the system's.
	b.do("dark theme", func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return chromedp.Void{}, err
	}, chromedp.Navigate(base+"/_/#/c/posts"))
	b.waitFor("the records table in the dark", `document.querySelectorAll('table.records tbody tr').length === 2 && getComputedStyle(document.body).backgroundColor !== 'rgb(246, 247, 249)'`)
	b.shot("14-records-dark")

	// A narrow phone screen: the table scrolls inside its box, the page
	// does not scroll sideways, and the menu opens.
	b.do("narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/_/#/c/posts"))
	b.waitFor("the records table on a phone", `document.querySelectorAll('table.records tbody tr').length === 2`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 392 {
		t.Errorf("the page is %dpx wide on a 390px screen", w)
	}
	b.shot("11-records-phone")
	b.click("button.menu-toggle", "")
	b.waitFor("the open menu", `document.body.classList.contains('nav-open')`)
	b.shot("12-menu-phone")

	if p := b.consoleProblems(); len(p) > 0 {
		t.Fatalf("the dashboard wrote to the console:\n%s", strings.Join(p, "\n"))
	}
}
