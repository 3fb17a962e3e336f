package file

import (
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/blob"
)

// fixedRand returns "0123456789abc…" cut to n, so names are predictable.
func fixedRand(n int) string {
	const s = "0123456789abcdefghijklmnopqrstuvwxyz"
	return strings.Repeat(s, n/len(s)+1)[:n]
}

func TestName(t *testing.T) {
	t.Parallel()
	s := New(nil, fixedRand)
	const r = "0123456789"
	tests := []struct {
		in, want string
	}{
		{"photo.png", "photo_" + r + ".png"},
		{"My Photo.JPG", "my_photo_" + r + ".jpg"},
		{"myTestDB.txt", "my_test_db_" + r + ".txt"},
		{"File1Name.pdf", "file1_name_" + r + ".pdf"},
		{"archive.tar.gz", "archive_" + r + ".tar.gz"},
		{"report.2024.final.pdf", "report_2024_" + r + ".final.pdf"},
		{"noext", "noext_" + r},
		{"a.png", "a" + r + "_" + r + ".png"},
		{"", r + "_" + r},
		{".env", r + "_" + r + ".env"},
		{".htaccess", r + "_" + r + ".htaccess"},
		{"..", r + "_" + r},
		{"../../etc/passwd", "passwd_" + r},
		{`..\..\windows\system32\evil.exe`, "evil_" + r + ".exe"},
		{"/abs/path/x.PNG", "x" + r + "_" + r + ".png"},
		{"café crème.png", "caf_cr_me_" + r + ".png"},
		{"日本語.png", r + "_" + r + ".png"},
		{"x.p/ng", "ng" + r + "_" + r},
		{"evil.php%00.png", "evil_" + r + ".php00.png"},
		{"a\x00b.png", "a_b" + "_" + r + ".png"},
		{"name.", "name_" + r},
		{"name..", "name_" + r},
		{"name.$%&", "name_" + r},
		{"x.Ünïcödé", "x" + r + "_" + r + ".ncd"},
		{"photo.png ", "photo_" + r + ".png"},
		{"__init__.py", "init_" + r + ".py"},
		{strings.Repeat("a", 300) + ".png", strings.Repeat("a", 100) + "_" + r + ".png"},
		{"x." + strings.Repeat("b", 50), "x" + r + "_" + r + "." + strings.Repeat("b", 20)},
		{"x.aaaaaaaaaaaaaaaa.bbbbbbbbbbb", "x" + r + "_" + r + ".aaaaaaaa.bbbbbbbbbbb"},
		{"x." + strings.Repeat("a", 30) + ".b", "x" + r + "_" + r + "." + strings.Repeat("a", 18) + ".b"},
		{"x." + strings.Repeat("a", 24) + "." + strings.Repeat("b", 19), "x" + r + "_" + r + "." + strings.Repeat("b", 19)},
	}
	for _, tt := range tests {
		if got := s.Name(tt.in); got != tt.want {
			t.Errorf("Name(%.40q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNameBadRand(t *testing.T) {
	t.Parallel()
	s := New(nil, func(n int) string { return strings.Repeat("/.", n) })
	if got := s.Name("x.png"); got != "x_.png" {
		t.Errorf("Name with a hostile generator = %q, want %q", got, "x_.png")
	}
}

func TestRandom(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		r := Random(10)
		if len(r) != 10 || strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("Random(10) = %q", r)
		}
		if seen[r] {
			t.Fatalf("Random(10) repeated %q", r)
		}
		seen[r] = true
	}
	if r := Random(0); r != "" {
		t.Errorf("Random(0) = %q", r)
	}
}

func FuzzName(f *testing.F) {
	for _, s := range []string{"photo.png", "../../x", ".env", "a.tar.gz", "日本語.png", "x.", "", "A\x00B.C", `..\\x`, strings.Repeat("a", 200)} {
		f.Add(s)
	}
	s := New(nil, Random)
	f.Fuzz(func(t *testing.T, in string) {
		got := s.Name(in)
		if !blob.ValidSegment(got) {
			t.Fatalf("Name(%q) = %q: not a valid key segment", in, got)
		}
		if got == "" || got[0] == '.' || got[0] == '_' && len(got) < 12 {
			t.Fatalf("Name(%q) = %q: empty or hidden", in, got)
		}
		if strings.Trim(got, "abcdefghijklmnopqrstuvwxyz0123456789._") != "" {
			t.Fatalf("Name(%q) = %q: unexpected characters", in, got)
		}
		if len(got) > 150 {
			t.Fatalf("Name(%q) = %q: %d bytes", in, got, len(got))
		}
		if strings.Contains(got, "..") {
			t.Fatalf("Name(%q) = %q: contains ..", in, got)
		}
		// The random part is always there.
		base, _, _ := strings.Cut(got, ".")
		if i := strings.LastIndexByte(base, '_'); i < 0 || len(base)-i-1 != randomSuffix {
			t.Fatalf("Name(%q) = %q: no random suffix", in, got)
		}
	})
}
