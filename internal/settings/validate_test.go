package settings

import "testing"

func TestFormatChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		check func(string) bool
		ok    []string
		bad   []string
	}{
		{"isURL", isURL,
			[]string{"http://localhost:8090", "https://example.com/a?b=c", "example.com", "localhost:8090", "http://10.0.0.1", "http://[::1]:80/"},
			[]string{"", "not a url", "http://", "://x", "http://bad host", "http://x:99999", "http://exa mple.com", "ht tp://x.com", "http://-x.com"}},
		{"isHost", isHost,
			[]string{"smtp.example.com", "localhost", "10.0.0.1", "::1", "a_b.example.com", "example.com."},
			[]string{"", "bad host", "-x.com", "x-.com", "a..b", "exa!mple.com", "[::1]"}},
		{"isEmail", isEmail,
			[]string{"support@example.com", "a.b+c@d.co"},
			[]string{"", "nope", "Name <a@b.com>", "a@", "@b.com", "<a@b.com>"}},
		{"isIPOrPrefix", isIPOrPrefix,
			[]string{"1.2.3.4", "10.0.0.0/8", "::1", "2001:db8::/32"},
			[]string{"", "1.2.3", "300.0.0.1", "10.0.0.0/33", "example.com"}},
	}
	for _, tt := range tests {
		for _, v := range tt.ok {
			if !tt.check(v) {
				t.Errorf("%s(%q) = false, want true", tt.name, v)
			}
		}
		for _, v := range tt.bad {
			if tt.check(v) {
				t.Errorf("%s(%q) = true, want false", tt.name, v)
			}
		}
	}
}
