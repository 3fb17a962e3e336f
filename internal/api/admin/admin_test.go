package admin

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, headers map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestServe(t *testing.T) {
	t.Parallel()
	h := New()
	prefix := h.AssetPrefix()
	if !regexp.MustCompile(`^/_/a/[0-9a-f]{12}/$`).MatchString(prefix) {
		t.Fatalf("asset prefix %q", prefix)
	}
	tests := []struct {
		name, method, path string
		headers            map[string]string
		status             int
		ctype, cache       string
		bodyHas            string
	}{
		{"page", "GET", "/_/", nil, 200, "text/html; charset=utf-8", "no-cache", prefix + "app.js"},
		{"page at any path", "GET", "/_/some/where", nil, 200, "text/html; charset=utf-8", "no-cache", "<!doctype html>"},
		{"script", "GET", prefix + "app.js", nil, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", "import"},
		{"style", "GET", prefix + "app.css", nil, 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", ":root"},
		{"icon", "GET", prefix + "favicon.svg", nil, 200, "image/svg+xml", "public, max-age=31536000, immutable", "<svg"},
		{"asset of another build", "GET", "/_/a/000000000000/app.js", nil, 200, "text/javascript; charset=utf-8", "no-cache", "import"},
		{"missing asset", "GET", prefix + "nope.js", nil, 404, "", "", ""},
		{"path escape", "GET", prefix + "../admin.go", nil, 404, "", "", ""},
		{"head", "HEAD", prefix + "app.js", nil, 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", ""},
		{"post", "POST", "/_/", nil, 405, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, h, tc.method, tc.path, tc.headers)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			if got := w.Header().Get("Content-Security-Policy"); got != ContentSecurityPolicy {
				t.Errorf("CSP %q", got)
			}
			if tc.status != 200 {
				return
			}
			if got := w.Header().Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := w.Header().Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			if w.Header().Get("ETag") == "" {
				t.Error("no ETag")
			}
			if tc.method == "HEAD" && w.Body.Len() != 0 {
				t.Error("HEAD has a body")
			}
			if !strings.Contains(w.Body.String(), tc.bodyHas) {
				t.Errorf("body lacks %q", tc.bodyHas)
			}
		})
	}
}

func TestRevalidation(t *testing.T) {
	t.Parallel()
	h := New()
	for _, path := range []string{"/_/", h.AssetPrefix() + "lib.js"} {
		etag := get(t, h, "GET", path, nil).Header().Get("ETag")
		for _, match := range []string{etag, "W/" + etag, `"x", ` + etag, "*"} {
			if w := get(t, h, "GET", path, map[string]string{"If-None-Match": match}); w.Code != 304 || w.Body.Len() != 0 {
				t.Errorf("%s If-None-Match %s: %d", path, match, w.Code)
			}
		}
		if w := get(t, h, "GET", path, map[string]string{"If-None-Match": `"other"`}); w.Code != 200 {
			t.Errorf("%s with another ETag: %d", path, w.Code)
		}
	}
}

var importRe = regexp.MustCompile(`(?:from\s+|import\()\s*'(\./[^']+)'`)

// Every module the dashboard imports is embedded, the page loads nothing
// inline (the CSP forbids it) and no module writes HTML from strings.
func TestEmbeddedFiles(t *testing.T) {
	t.Parallel()
	ui, err := fs.Sub(files, "ui")
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(ui, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(index)
	if strings.Contains(page, " style=") || regexp.MustCompile(`<script(?:\s+type="module")?>`).MatchString(page) {
		t.Error("index.html has inline scripts or styles, which the Content-Security-Policy blocks")
	}
	modules := 0
	err = fs.WalkDir(ui, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".js") {
			return err
		}
		modules++
		b, err := fs.ReadFile(ui, p)
		if err != nil {
			return err
		}
		src := string(b)
		for _, m := range importRe.FindAllStringSubmatch(src, -1) {
			if _, err := fs.Stat(ui, strings.TrimPrefix(m[1], "./")); err != nil {
				t.Errorf("%s imports %s, which is not embedded", p, m[1])
			}
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			if strings.Contains(src, bad) {
				t.Errorf("%s uses %s", p, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if modules < 8 {
		t.Errorf("only %d modules embedded", modules)
	}
}
