package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"

	"github.com/basalt-dev/basalt/internal/api/admin"
)

// The dashboard mount builds its handler on the first request: requests
// that arrive together all get the page, with one asset version, and the
// assets it names are served.
func TestAdminMountLazy(t *testing.T) {
	mux := http.NewServeMux()
	for pattern, h := range adminMounts() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	get := func(path string) (int, string, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return 0, "", ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Security-Policy"), string(b)
	}
	asset := regexp.MustCompile(`/_/a/[0-9a-f]+/app\.css`)
	var wg sync.WaitGroup
	found := make([]string, 8)
	for i := range found {
		wg.Go(func() {
			code, csp, body := get(admin.Prefix)
			if code != http.StatusOK || csp != admin.ContentSecurityPolicy {
				t.Errorf("GET /_/: %d, CSP %q", code, csp)
			}
			found[i] = asset.FindString(body)
		})
	}
	wg.Wait()
	for _, f := range found {
		if f == "" || f != found[0] {
			t.Fatalf("asset URLs in the pages: %q", found)
		}
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{found[0], http.StatusOK},
		{"/_/collections", http.StatusOK},
	} {
		if code, _, _ := get(tc.path); code != tc.code {
			t.Errorf("GET %s: %d, want %d", tc.path, code, tc.code)
		}
	}
}
