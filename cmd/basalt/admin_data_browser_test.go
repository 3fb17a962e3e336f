package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestAdminDataScreensInBrowser drives the data screens of the admin
// dashboard in headless Chromium: a field's visibleRule checked inline and
// saved, the JSON editor (line numbers that follow the scroll, Tab indent
// with Esc as the way out, line and column of an error, Format, a blocked
// save), the records table's column chooser kept across a reload, pinned
// columns while the table scrolls sideways, a page of 500 records, and a
// phone-width screen; no console error anywhere.
func TestAdminDataScreensInBrowser(t *testing.T) {
	base := startAdminServer(t, "admin@example.com", "s3cret-Passw0rd")
	b := newBrowserSession(t, base)

	b.do("open the dashboard", chromedp.Navigate(base+"/_/"))
	b.waitFor("the sign-in form", `!!document.querySelector('input[name=identity]')`)
	b.fill("input[name=identity]", "admin@example.com")
	b.fill("input[name=password]", "s3cret-Passw0rd")
	b.click("button[type=submit]", "Sign in")
	b.waitFor("the collections overview", `document.querySelector('main h1')?.textContent === 'Collections'`)

	// The scanner behind the editor's error positions agrees with
	// JSON.parse on valid and broken documents, mutated at random.
	bad, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](jsonScannerCheck, chromedp.EvalAwaitPromise))
	if err != nil || bad != "" {
		t.Fatalf("the JSON editor's scanner and JSON.parse disagree: %s %v", bad, err)
	}

	// A collection with a json field, more than ten columns, and a field
	// with a visibleRule: a rule that reads the record is refused inline
	// before saving, a rule over @request.* is saved.
	extra := []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"}
	b.do("open the new collection form", chromedp.Navigate(base+"/_/#/new-collection"))
	b.waitFor("the collection form", `!!document.querySelector('input[name=name]')`)
	b.fill("input[name=name]", "notes")
	fields := append([]string{"title", "meta"}, extra...)
	fields = append(fields, "secret")
	for _, name := range fields {
		typ := "text"
		if name == "meta" {
			typ = "json"
		}
		b.fill(".add-field select", typ)
		b.click(".add-field button", "Add field")
		b.fill(".field-card:last-of-type input.fname", name)
	}
	vrule := eval[string](b, `document.querySelector('.field-card:last-of-type .vrule').id`)
	b.fill("#"+vrule, "secret = 'x'")
	b.waitFor("the inline visibleRule error", fmt.Sprintf(`document.getElementById(%q).textContent.includes('@request')
		&& document.getElementById(%q).getAttribute('aria-invalid') === 'true'`, vrule+"-err", vrule))
	b.shot("d01-visible-rule-error")
	const rule = `@request.auth.id != ""`
	b.fill("#"+vrule, rule)
	b.waitFor("the visibleRule error to clear", fmt.Sprintf(`document.getElementById(%q).textContent === ''`, vrule+"-err"))
	b.click("button.lock", "Locked") // listRule: everyone
	b.click("button.lock", "Locked") // viewRule: everyone
	b.shot("d02-collection-form")
	b.click("button[type=submit]", "Create collection")
	b.waitFor("the records table", `location.hash.startsWith('#/c/notes') && !!document.querySelector('.filter-input')`)

	login := apiCall(t, "POST", base+"/api/collections/_superusers/auth-with-password", "", map[string]string{"identity": "admin@example.com", "password": "s3cret-Passw0rd"})
	token, _ := login["token"].(string)
	col := apiCall(t, "GET", base+"/api/collections/notes", token, nil)
	saved := map[string]any{}
	for _, f := range col["fields"].([]any) {
		f := f.(map[string]any)
		saved[f["name"].(string)] = f["visibleRule"]
	}
	if saved["secret"] != rule || saved["title"] != nil {
		t.Fatalf("visibleRules saved: secret %v, title %v; want %q and none", saved["secret"], saved["title"], rule)
	}

	// 520 records through the API, enough for a page of 500.
	start := time.Now()
	createNotes(t, base, token, 520)
	t.Logf("created 520 records through the API in %v", time.Since(start).Round(time.Millisecond))
	target := apiCall(t, "POST", base+"/api/collections/notes/records", token, map[string]any{
		"title": "Edit me", "meta": map[string]any{"old": true}, "secret": "s"})

	// The table shows the first ten fields; the chooser shows one beyond
	// them and hides another, and the choice outlives a reload.
	b.do("open the records", chromedp.Navigate(base+"/_/#/c/notes"))
	b.do("keep every request's timing", chromedp.Evaluate[chromedp.Void](`performance.setResourceTimingBufferSize(100000)`))
	heads := `[...document.querySelectorAll('table.records thead th[data-field]')].map((th) => th.dataset.field).join(',')`
	b.waitFor("the default columns", heads+` === 'id,created,updated,title,meta,f1,f2,f3,f4,f5'`)
	b.click("button.col-button", "Columns")
	b.waitFor("the column panel", `!document.getElementById('columns-panel').hidden && document.activeElement.name === 'col'`)
	b.shot("d03-column-chooser")
	b.click(".col-tools button", "Show all")
	b.waitFor("every column", heads+` === 'id,created,updated,title,meta,f1,f2,f3,f4,f5,f6,f7,f8,secret'`)
	// The table scrolls sideways in its box; the select and id columns stay.
	pinned := eval[bool](b, `(() => { const w = document.querySelector('.records-wrap');
		if (w.scrollWidth <= w.clientWidth) { document.querySelector('main').style.width = '700px'; }
		w.scrollLeft = 400; const wl = w.getBoundingClientRect().left;
		const box = document.querySelector('table.records tbody td.check').getBoundingClientRect();
		const id = document.querySelector('table.records tbody td.pin-id').getBoundingClientRect();
		const created = document.querySelector('table.records tbody td.t-autodate').getBoundingClientRect();
		return w.scrollLeft > 0 && Math.abs(box.left - wl) < 2 && Math.abs(id.left - box.right) < 2 && created.left < wl; })()`)
	if !pinned {
		t.Error("the select and id columns do not stay on the left while the table scrolls sideways")
	}
	b.shot("d04-all-columns-scrolled")
	b.do("reset the scroll", chromedp.Evaluate[chromedp.Void](`document.querySelector('main').style.width = ''; document.querySelector('.records-wrap').scrollLeft = 0`))
	b.click(".col-tools button", "First 10")
	b.waitFor("the default columns again", heads+` === 'id,created,updated,title,meta,f1,f2,f3,f4,f5'`)
	b.do("show f7", chromedp.Click(`#columns-panel input[value=f7]`, chromedp.NodeVisible))
	b.do("hide created", chromedp.Click(`#columns-panel input[value=created]`, chromedp.NodeVisible))
	want := `'id,updated,title,meta,f1,f2,f3,f4,f5,f7'`
	b.waitFor("f7 shown and created hidden", heads+` === `+want)
	b.do("close the panel with Esc", chromedp.KeyEvent("\u001b"))
	b.waitFor("the closed panel", `document.getElementById('columns-panel').hidden && document.activeElement.classList.contains('col-button')`)
	b.do("reload", chromedp.Reload())
	b.waitFor("the chosen columns after a reload", heads+` === `+want)
	if got := eval[string](b, `document.querySelector('table.records tbody tr:nth-child(2) td:nth-child(11)')?.textContent || ''`); !strings.HasPrefix(got, "f7 of ") {
		t.Errorf("the f7 column shows %q, want the f7 values", got)
	}

	// A page of 500 records, and a column toggled on it.
	b.do("ask for 500 a page", chromedp.Evaluate[chromedp.Void](`window.t0 = performance.now();
		const s = document.querySelector('select.per-page'); s.value = '500'; s.dispatchEvent(new Event('change'))`))
	b.waitFor("500 rows", `document.querySelectorAll('table.records tbody tr').length === 500 && !document.querySelector('.records-wrap').classList.contains('busy')`)
	loadMS := eval[float64](b, `performance.now() - window.t0`)
	requestMS := eval[float64](b, `performance.getEntriesByType('resource').filter((e) => e.name.includes('perPage=500')).pop()?.duration ?? -1`)
	toggleMS := eval[float64](b, `(() => { document.querySelector('button.col-button').click();
		document.body.offsetHeight;
		const t = performance.now(); document.querySelector('#columns-panel input[value=f8]').click(); document.body.offsetHeight; const d = performance.now() - t;
		document.querySelector('#columns-panel input[value=f8]').click(); return d; })()`)
	t.Logf("a page of 500 records: %.0f ms from the choice to the table, of which %.0f ms the request; redrawing and laying it out with one more column: %.0f ms", loadMS, requestMS, toggleMS)
	if !strings.Contains(eval[string](b, `location.hash`), "perPage=500") {
		t.Error("the page size is not in the URL")
	}
	b.do("back to 30 a page", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('select.per-page'); s.value = '30'; s.dispatchEvent(new Event('change')); })()`))
	b.waitFor("30 rows", `document.querySelectorAll('table.records tbody tr').length === 30`)

	// A record changed elsewhere is redrawn in its row, without reloading
	// the page (the sort and filter cannot move it).
	b.waitFor("the realtime subscription", `document.querySelector('.live')?.textContent.includes('Live')`)
	lists := `performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/collections/notes/records?')).length`
	before := eval[int](b, lists)
	apiCall(t, "PATCH", base+"/api/collections/notes/records/"+target["id"].(string), token, map[string]any{"title": "Edited live"})
	b.waitFor("the row redrawn live", `[...document.querySelectorAll('table.records tbody tr')].some((tr) => tr.classList.contains('flash') && tr.textContent.includes('Edited live'))`)
	b.do("wait past the reload delay", chromedp.Sleep(600*time.Millisecond))
	if after := eval[int](b, lists); after != before {
		t.Errorf("an update on the page reloaded it (%d list requests, then %d)", before, after)
	}

	// The JSON editor.
	b.do("open the record", chromedp.Navigate(base+"/_/#/c/notes/r/"+target["id"].(string)))
	ta := ".record-form textarea[name=meta]"
	b.waitFor("the JSON editor", fmt.Sprintf(`document.querySelector(%q)?.value.includes('"old": true')`, ta))
	errID := eval[string](b, fmt.Sprintf(`document.querySelector(%q).id + '-err'`, ta))
	numbers := `document.querySelector('.je-numbers').textContent.trim().split('\n')`
	if got := eval[string](b, numbers+`.join(',')`); got != "1,2,3" {
		t.Errorf("line numbers of a three-line value: %q", got)
	}
	// Line numbers follow the text as it scrolls.
	long := "[\n" + strings.Repeat("  1,\n", 60) + "  1\n]"
	b.fill(ta, long)
	scrolled := eval[string](b, fmt.Sprintf(`(() => { const t = document.querySelector(%q); t.scrollTop = 200; t.dispatchEvent(new Event('scroll'));
		return %s.length + ' ' + document.querySelector('.je-numbers').style.transform; })()`, ta, numbers))
	if want := fmt.Sprintf("%d translateY(-%dpx)", 63, 200); scrolled != want {
		t.Errorf("after scrolling the editor by 200px: %q, want %q", scrolled, want)
	}
	// An error names its line and column, marks the field and blocks the save.
	b.fill(ta, "{\n  \"a\": 1,\n  \"b\" 2\n}")
	b.waitFor("the line and column of the error", fmt.Sprintf(`document.getElementById(%q).textContent.startsWith('Line 3, column 7:')
		&& document.querySelector(%q).getAttribute('aria-invalid') === 'true'
		&& !document.querySelector('.je-band').hidden && document.querySelector('.je-band').style.transform === 'translateY(40px)'`, errID, ta))
	if d := eval[string](b, fmt.Sprintf(`document.querySelector(%q).getAttribute('aria-describedby')`, ta)); !strings.Contains(d, errID) {
		t.Errorf("aria-describedby %q does not name the error %s", d, errID)
	}
	b.shot("d05-json-error")
	b.click(".record-form button[type=submit]", "Save changes")
	b.waitFor("the blocked save", `document.querySelector('.record-form .form-error').textContent.includes('Line 3, column 7')`)
	if got := apiCall(t, "GET", base+"/api/collections/notes/records/"+target["id"].(string), token, nil)["meta"]; fmt.Sprint(got) != "map[old:true]" {
		t.Fatalf("invalid JSON was saved: meta = %v", got)
	}
	// Enter between brackets opens an indented line; Tab indents; Esc
	// then Tab leaves the editor.
	b.fill(ta, `{}`)
	b.do("Enter between braces", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const t = document.querySelector(%q); t.focus(); t.setSelectionRange(1, 1); })()`, ta)),
		pressEnter, chromedp.KeyEvent(`"a":1`))
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%q).value`, ta)); got != "{\n  \"a\":1\n}" {
		t.Errorf("after Enter between braces and typing, the editor holds %q", got)
	}
	b.fill(ta, `{"a":1,"b":[2,3]}`)
	b.do("Tab in the editor", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const t = document.querySelector(%q); t.focus(); t.setSelectionRange(0, 0); })()`, ta)),
		chromedp.KeyEvent("\t"))
	if got := eval[string](b, fmt.Sprintf(`document.activeElement === document.querySelector(%q) ? document.activeElement.value : 'focus left'`, ta)); got != `  {"a":1,"b":[2,3]}` {
		t.Errorf("after Tab the editor holds %q, want the line indented and the focus kept", got)
	}
	b.do("Shift+Tab", chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%q).value`, ta)); got != `{"a":1,"b":[2,3]}` {
		t.Errorf("after Shift+Tab the editor holds %q", got)
	}
	b.do("Esc, then Tab", chromedp.KeyEvent("\u001b"), chromedp.KeyEvent("\t"))
	if eval[bool](b, fmt.Sprintf(`document.activeElement === document.querySelector(%q)`, ta)) {
		t.Error("Esc then Tab did not move the focus out of the JSON editor")
	}
	// Esc, then Shift+Tab (a real keyboard sends Shift's own keydown first)
	// leaves it backwards.
	b.do("Esc, then Shift+Tab", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%q).focus()`, ta)),
		chromedp.KeyEvent("\u001b"), pressShift, chromedp.KeyEvent("\t", chromedp.KeyModifiers(chromedp.ModifierShift)))
	if got := eval[string](b, `document.activeElement.textContent + '|' + document.activeElement.className`); got != "Format|small je-format" {
		t.Errorf("Esc then Shift+Tab focused %q, want the Format button", got)
	}
	b.click(".record-form button.je-format", "Format")
	b.waitFor("the formatted JSON", fmt.Sprintf(`document.querySelector(%q).value === JSON.stringify({a: 1, b: [2, 3]}, null, 2)
		&& %s.length === 7 && document.getElementById(%q).textContent === ''`, ta, numbers, errID))
	b.shot("d06-json-formatted")
	b.click(".record-form button[type=submit]", "Save changes")
	b.waitFor("the records table after saving", `location.hash.startsWith('#/c/notes') && !!document.querySelector('table.records')`)
	stored := apiCall(t, "GET", base+"/api/collections/notes/records/"+target["id"].(string), token, nil)
	if got := fmt.Sprint(stored["meta"]); got != "map[a:1 b:[2 3]]" {
		t.Errorf("stored meta = %s, want {a: 1, b: [2, 3]}", got)
	}

	// A phone: the page stays as wide as the screen; the table scrolls.
	b.do("narrow viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/_/#/c/notes"))
	b.waitFor("the records table on a phone", `document.querySelectorAll('table.records tbody tr').length === 30`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 392 {
		t.Errorf("the page is %dpx wide on a 390px screen", w)
	}
	if !eval[bool](b, `(() => { const w = document.querySelector('.records-wrap'); return w.scrollWidth > w.clientWidth; })()`) {
		t.Error("the records table does not scroll sideways on a phone")
	}
	b.click("button.col-button", "Columns")
	b.waitFor("the column panel on a phone", `(() => { const p = document.getElementById('columns-panel'); const r = p.getBoundingClientRect(); return !p.hidden && r.left >= 0 && r.right <= 390; })()`)
	b.shot("d07-records-phone")
	b.do("the JSON editor on a phone", chromedp.Navigate(base+"/_/#/c/notes/r/"+target["id"].(string)))
	b.waitFor("the record form on a phone", fmt.Sprintf(`document.querySelector(%q)?.value.includes('"b"')`, ta))
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 392 {
		t.Errorf("the record form is %dpx wide on a 390px screen", w)
	}
	b.shot("d08-json-editor-phone")

	if p := b.consoleProblems(); len(p) > 0 {
		t.Fatalf("the dashboard wrote to the console:\n%s", strings.Join(p, "\n"))
	}
}

// pressEnter presses Enter as a keyboard does: one keyDown carrying the
// text, so a page that cancels the keydown gets no newline (chromedp's
// KeyEvent sends the text in a separate char event, which still types it).
func pressEnter(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
	key := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r", UnmodifiedText: "\r"}
	if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, key); err != nil {
		return chromedp.Void{}, err
	}
	key.Type, key.Text, key.UnmodifiedText = input.DispatchKeyEventTypeKeyUp, "", ""
	_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, key)
	return chromedp.Void{}, err
}

// pressShift sends the keydown of Shift alone, as a keyboard does before
// the key it modifies.
func pressShift(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
	key := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeRawKeyDown, Key: "Shift", Code: "ShiftLeft", WindowsVirtualKeyCode: 16, NativeVirtualKeyCode: 16, Modifiers: int64(chromedp.ModifierShift)}
	_, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, key)
	return chromedp.Void{}, err
}

// createNotes creates n records in the notes collection, eight at a time.
func createNotes(t *testing.T, base, token string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, n)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				rec := map[string]any{"title": fmt.Sprintf("Note %03d", i), "meta": map[string]any{"n": i}, "secret": "s"}
				for _, f := range []string{"f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"} {
					rec[f] = fmt.Sprintf("%s of note %d", f, i)
				}
				body, _ := json.Marshal(rec)
				req, _ := http.NewRequest("POST", base+"/api/collections/notes/records", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", token)
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusOK {
						err = fmt.Errorf("record %d: status %d", i, res.StatusCode)
					}
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("creating records: %v", err)
	}
}

// jsonScannerCheck compares the JSON editor's error scanner with JSON.parse
// on 5,000 random mutations of valid documents; it answers "" or the first
// disagreement.
var jsonScannerCheck = `(async () => {
	const { locateError } = await import(new URL('json-editor.js', document.querySelector('script[src$="app.js"]').src));
	const seeds = ['{"a": [1, 2.5e-3, -0, true, false, null], "b": {"c": "x\\u00e9\\n"}}', '[]', '{}', '"s"', '0', '[{"k": [[]]}]'];
	const alphabet = '{}[]:,"\\ \n\t0123456789.eE+-truefalsn\'ux/';
	let seed = 7;
	const rnd = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };
	for (let r = 0; r < 5000; r++) {
		let s = seeds[rnd(seeds.length)];
		for (let m = 1 + rnd(3); m > 0; m--) {
			const p = rnd(s.length + 1), c = alphabet[rnd(alphabet.length)], op = rnd(3);
			s = op === 0 ? s.slice(0, p) + c + s.slice(p) : op === 1 ? s.slice(0, p) + s.slice(p + 1) : s.slice(0, p) + c + s.slice(p + 1);
		}
		if (!s.trim()) continue;
		let ok = true;
		try { JSON.parse(s); } catch { ok = false; }
		const e = locateError(s);
		if ((e === null) !== ok) return JSON.stringify(s) + (ok ? ' is JSON but the scanner reports ' + e.text : ' is not JSON but the scanner accepts it');
	}
	const e = locateError('{\n  "a": 1,\n  "b" 2\n}');
	return e && e.line === 3 && e.column === 7 ? '' : 'wrong position ' + JSON.stringify(e);
})()`
