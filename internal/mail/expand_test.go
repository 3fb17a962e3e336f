package mail

import "testing"

func TestExpand(t *testing.T) {
	t.Parallel()
	values := map[string]string{
		"{APP_NAME}":        "Acme & Co",
		"{TOKEN}":           "a.b.c",
		"{RECORD:name}":     `<script>alert("x")</script>`,
		"{RECORD:nickname}": "{TOKEN}",
	}
	tests := []struct {
		name, text string
		escape     bool
		want       string
	}{
		{"no placeholders", "plain text", true, "plain text"},
		{"escaped body", "<p>{APP_NAME}: {TOKEN}</p>", true, "<p>Acme &amp; Co: a.b.c</p>"},
		{"plain subject", "Welcome to {APP_NAME}", false, "Welcome to Acme & Co"},
		{"record field escaped", "Hi {RECORD:name}", true, "Hi &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"},
		{"value is not expanded again", "{RECORD:nickname}", true, "{TOKEN}"},
		{"unknown placeholder kept", "{NOPE} {TOKEN}", true, "{NOPE} a.b.c"},
		{"nested braces", "{{TOKEN}}", true, "{a.b.c}"},
		{"unclosed brace", "x {TOKEN", true, "x {TOKEN"},
		{"repeated", "{TOKEN}{TOKEN}", false, "a.b.ca.b.c"},
		{"empty braces", "{}", true, "{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Expand(tt.text, values, tt.escape); got != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "{", "}", "{TOKEN}", "{{TOKEN}}", "a{b}c{TOKEN"} {
		f.Add(s)
	}
	values := map[string]string{"{TOKEN}": "x"}
	f.Fuzz(func(t *testing.T, s string) {
		_ = Expand(s, values, true)
	})
}
