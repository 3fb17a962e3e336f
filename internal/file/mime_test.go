package file

import (
	"bytes"
	"image"
	"image/png"
	"testing"
)

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestContentType(t *testing.T) {
	t.Parallel()
	pngData := pngBytes(t, 2, 2)
	tar := make([]byte, 512)
	copy(tar[257:], "ustar")
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"a.png", pngData, "image/png"},
		{"a.jpg", pngData, "image/png"}, // content wins over the name
		{"a.txt", pngData, "image/png"},
		{"a.png", []byte("hello"), "text/plain; charset=utf-8"},
		{"a.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`), "image/svg+xml"},
		{"a.svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "image/svg+xml"},
		{"a.svg", []byte(`<!-- c --><svg xmlns="http://www.w3.org/2000/svg"/>`), "image/svg+xml"},
		{"a.svg", []byte("just text"), "text/plain; charset=utf-8"},
		{"a.svg", []byte("<html><script>alert(1)</script></html>"), "text/html; charset=utf-8"},
		{"a.html", []byte("<html><body>x</body></html>"), "text/html; charset=utf-8"},
		{"a.html", []byte("plain"), "text/plain; charset=utf-8"}, // never upgraded to HTML by name
		{"a.png", []byte("<html><body>x</body></html>"), "text/html; charset=utf-8"},
		{"a.json", []byte(` {"a":1}`), "application/json"},
		{"a.json", []byte("not json"), "text/plain; charset=utf-8"},
		{"a.css", []byte("body{color:red}"), "text/css; charset=utf-8"},
		{"a.JS", []byte("alert(1)"), "text/javascript; charset=utf-8"},
		{"a.csv", []byte("a,b\n1,2\n"), "text/csv; charset=utf-8"},
		{"a.md", []byte("# hi"), "text/markdown; charset=utf-8"},
		{"a.pdf", []byte("%PDF-1.4\n"), "application/pdf"},
		{"a.docx", []byte("PK\x03\x04rest"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"a.zip", []byte("PK\x03\x04rest"), "application/zip"},
		{"a.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), "application/msword"},
		{"a.heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), "image/heic"},
		{"a.heic", []byte("\x00\x01\x02\x03garbage"), "application/octet-stream"},
		{"a.7z", []byte("7z\xBC\xAF\x27\x1C\x00\x04"), "application/x-7z-compressed"},
		{"a.flac", []byte("fLaC\x00\x00\x00\x22"), "audio/flac"},
		{"a.tar", tar, "application/x-tar"},
		{"empty", nil, "text/plain; charset=utf-8"},
		{"a.bin", []byte{0, 1, 2, 3}, "application/octet-stream"},
	}
	for _, tt := range tests {
		if got := ContentType(tt.content, tt.name); got != tt.want {
			t.Errorf("ContentType(%.20q, %q) = %q, want %q", tt.content, tt.name, got, tt.want)
		}
	}
}

func TestInline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ct   string
		want bool
	}{
		{"image/png", true},
		{"image/jpeg", true},
		{"IMAGE/JPG", true},
		{"video/mp4", true},
		{"audio/mpeg", true},
		{"application/pdf", true},
		{"image/svg+xml", false},
		{"text/html; charset=utf-8", false},
		{"text/plain; charset=utf-8", false},
		{"text/javascript", false},
		{"application/xhtml+xml", false},
		{"application/octet-stream", false},
	}
	for _, tt := range tests {
		if got := inline(tt.ct); got != tt.want {
			t.Errorf("inline(%q) = %v, want %v", tt.ct, got, tt.want)
		}
	}
}
