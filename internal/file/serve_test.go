package file

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// serve runs Serve for one request and returns the recorder and error.
func serve(t *testing.T, s *Service, method, name string, download bool, hdr map[string]string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	req := httptest.NewRequest(method, "/api/files/c/r/f", nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	err := s.Serve(rec, req, "c", "r", name, download)
	return rec, err
}

func TestServe(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	pngData := pngBytes(t, 3, 3)
	files := map[string][]byte{
		"a.png":  pngData,
		"p.html": []byte("<html><script>alert(document.cookie)</script></html>"),
		"i.svg":  []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
		"t.txt":  []byte("0123456789"),
		"d.pdf":  []byte("%PDF-1.4\n..."),
		"x.js":   []byte("alert(1)"),
	}
	for name, b := range files {
		if err := s.Save(ctx, "c", "r", name, FromBytes(name, b)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		download  bool
		wantType  string
		wantDispo string
	}{
		{"a.png", false, "image/png", "inline; filename=a.png"},
		{"a.png", true, "image/png", "attachment; filename=a.png"},
		{"d.pdf", false, "application/pdf", "inline; filename=d.pdf"},
		{"p.html", false, "text/html; charset=utf-8", "attachment; filename=p.html"},
		{"i.svg", false, "image/svg+xml", "attachment; filename=i.svg"},
		{"x.js", false, "text/javascript; charset=utf-8", "attachment; filename=x.js"},
		{"t.txt", false, "text/plain; charset=utf-8", "attachment; filename=t.txt"},
	}
	for _, tt := range tests {
		rec, err := serve(t, s, "GET", tt.name, tt.download, nil)
		if err != nil {
			t.Fatalf("Serve(%s): %v", tt.name, err)
		}
		h := rec.Header()
		if rec.Code != 200 || rec.Body.String() != string(files[tt.name]) {
			t.Errorf("Serve(%s) = %d %.30q", tt.name, rec.Code, rec.Body.String())
		}
		for k, want := range map[string]string{
			"Content-Type":            tt.wantType,
			"Content-Disposition":     tt.wantDispo,
			"Content-Security-Policy": "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
			"X-Content-Type-Options":  "nosniff",
			"Cache-Control":           "max-age=2592000, stale-while-revalidate=86400",
			"Accept-Ranges":           "bytes",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("Serve(%s, download=%v) %s = %q, want %q", tt.name, tt.download, k, got, want)
			}
		}
		if h.Get("Last-Modified") == "" {
			t.Errorf("Serve(%s): no Last-Modified", tt.name)
		}
	}
}

func TestServeConditionalAndRange(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	if err := s.Save(context.Background(), "c", "r", "t.txt", FromBytes("t.txt", []byte("0123456789"))); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		method     string
		hdr        map[string]string
		wantCode   int
		wantBody   string
		wantHeader map[string]string
	}{
		{"range", "GET", map[string]string{"Range": "bytes=2-5"}, 206, "2345",
			map[string]string{"Content-Range": "bytes 2-5/10", "Content-Length": "4"}},
		{"suffix range", "GET", map[string]string{"Range": "bytes=-3"}, 206, "789", nil},
		{"open range", "GET", map[string]string{"Range": "bytes=8-"}, 206, "89", nil},
		{"unsatisfiable range", "GET", map[string]string{"Range": "bytes=50-60"}, 416, "", nil},
		{"not modified", "GET", map[string]string{"If-Modified-Since": future}, 304, "", nil},
		{"modified", "GET", map[string]string{"If-Modified-Since": past}, 200, "0123456789", nil},
		{"head", "HEAD", nil, 200, "", map[string]string{"Content-Length": "10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec, err := serve(t, s, tt.method, "t.txt", false, tt.hdr)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Code != tt.wantCode {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if tt.wantBody != "" && rec.Body.String() != tt.wantBody {
				t.Errorf("body = %q, want %q", rec.Body.String(), tt.wantBody)
			}
			if tt.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD body = %q", rec.Body.String())
			}
			for k, want := range tt.wantHeader {
				if got := rec.Header().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestServeKeepsCallerCacheControl(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	if err := s.Save(context.Background(), "c", "r", "t.txt", FromBytes("t.txt", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	rec.Header().Set("Cache-Control", "private, max-age=180")
	if err := s.Serve(rec, req, "c", "r", "t.txt", false); err != nil {
		t.Fatal(err)
	}
	if got := rec.Header().Get("Cache-Control"); got != "private, max-age=180" {
		t.Errorf("Cache-Control = %q", got)
	}
}

func TestServeMissing(t *testing.T) {
	t.Parallel()
	s, _ := newService(t)
	ctx := context.Background()
	if err := s.Save(ctx, "c", "r", "a.txt", FromBytes("a.txt", []byte("x"))); err != nil {
		t.Fatal(err)
	}
	if err := s.store.Put(ctx, "c/r/thumbs_a.txt/1x1_a.txt", strings.NewReader("t")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"missing.txt", "", "..", ".", "../r/a.txt", "a.txt/..", "..%2fa.txt", `..\a.txt`,
		".hidden", "thumbs_a.txt", "a.txt\x00.png", "A.TXT ",
	} {
		rec, err := serve(t, s, "GET", name, false, nil)
		if apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Serve(%q) = %v, want not_found", name, err)
			continue
		}
		if msg := apperr.As(err).Message; msg != "The requested resource wasn't found." {
			t.Errorf("Serve(%q) message = %q", name, msg)
		}
		if rec.Body.Len() != 0 || len(rec.Header()) != 0 || rec.Code != 200 {
			t.Errorf("Serve(%q) wrote %d %v %q; want nothing written", name, rec.Code, rec.Header(), rec.Body.String())
		}
	}
	// Other collection or record ids in the path cannot escape either.
	req := httptest.NewRequest("GET", "/", nil)
	for _, ids := range [][2]string{{"..", "r"}, {"c", ".."}, {"c/r", "x"}, {"", ""}} {
		if err := s.Serve(httptest.NewRecorder(), req, ids[0], ids[1], "a.txt", false); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("Serve(%q, %q, a.txt) = %v, want not_found", ids[0], ids[1], err)
		}
	}
}
