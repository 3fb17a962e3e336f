package blob

import (
	"path"
	"strings"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
)

func TestValidateKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key  string
		want bool
	}{
		{"a", true},
		{"pbc_123/abc123def456ghi/photo_a1b2c3d4e5.png", true},
		{"col/rec/thumbs_x.png/100x100_x.png", true},
		{"a-b_c.d/e.f.g", true},
		{"A/B", true},
		{strings.Repeat("a", MaxSegmentLen), true},
		{strings.Repeat("a/", MaxKeyLen/2-1) + "a", true},

		{"", false},
		{"/", false},
		{"/etc/passwd", false},
		{"a/", false},
		{"a//b", false},
		{"..", false},
		{".", false},
		{"../a", false},
		{"a/../b", false},
		{"a/..", false},
		{"a/./b", false},
		{".hidden", false},
		{"a/.tmp-123", false},
		{`a\b`, false},
		{`..\..\windows`, false},
		{"a\x00b", false},
		{"a b", false},
		{"a%2fb", false},
		{"caf\u00e9", false},
		{"a/b:c", false},
		{"C:/x", false},
		{strings.Repeat("a", MaxSegmentLen+1), false},
		{strings.Repeat("a/", MaxKeyLen/2) + "a", false},
	}
	for _, tt := range tests {
		err := ValidateKey(tt.key)
		if got := err == nil; got != tt.want {
			t.Errorf("ValidateKey(%.40q) = %v, want ok=%v", tt.key, err, tt.want)
		}
		if err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("ValidateKey(%.40q) code = %s, want %s", tt.key, apperr.CodeOf(err), apperr.Invalid)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix, want string
		ok           bool
	}{
		{"col/rec", "col/rec", true},
		{"col/rec/", "col/rec", true},
		{"col", "col", true},
		{"", "", false},
		{"/", "", false},
		{"col//", "", false},
		{"../col/", "", false},
	}
	for _, tt := range tests {
		got, err := ValidatePrefix(tt.prefix)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ValidatePrefix(%q) = %q, %v; want %q, ok=%v", tt.prefix, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzValidateKey(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../x", "a/./b", ".x", "/abs", "a\x00", "a//b", "x/y.png", `a\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if ValidateKey(key) != nil {
			return
		}
		// An accepted key must be clean and relative, so joining it under a
		// root can never leave that root.
		if path.IsAbs(key) || path.Clean(key) != key || key == "." {
			t.Fatalf("accepted unclean key %q", key)
		}
		if strings.HasPrefix(path.Clean("/root/"+key), "/root/") == false {
			t.Fatalf("accepted escaping key %q", key)
		}
		for seg := range strings.SplitSeq(key, "/") {
			if seg == ".." || seg == "." || strings.HasPrefix(seg, ".") {
				t.Fatalf("accepted key %q with segment %q", key, seg)
			}
		}
		if strings.ContainsAny(key, "\x00\\: ") || len(key) > MaxKeyLen {
			t.Fatalf("accepted key %q", key)
		}
	})
}
