package rest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	t.Parallel()
	xff := []string{"X-Forwarded-For"}
	tests := []struct {
		name     string
		remote   string
		headers  map[string][]string
		trusted  []string
		leftmost bool
		want     string
	}{
		{"remote ipv4", "203.0.113.5:1234", nil, nil, false, "203.0.113.5"},
		{"remote without port", "203.0.113.5", nil, nil, false, "203.0.113.5"},
		{"remote ipv6", "[2001:db8::1]:443", nil, nil, false, "2001:0db8:0000:0000:0000:0000:0000:0001"},
		{"remote mapped ipv4", "[::ffff:10.0.0.1]:80", nil, nil, false, "10.0.0.1"},
		{"remote garbage", "pipe", nil, nil, false, ""},
		{"untrusted header ignored", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"1.1.1.1"}}, nil, false, "10.0.0.1"},
		{"rightmost", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 2.2.2.2"}}, xff, false, "2.2.2.2"},
		{"leftmost", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 2.2.2.2"}}, xff, true, "1.1.1.1"},
		{"skips invalid entries", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"1.1.1.1, unknown, "}}, xff, false, "1.1.1.1"},
		{"last header line wins", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"6.6.6.6", "3.3.3.3"}}, xff, true, "3.3.3.3"},
		{"no valid entry falls back", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"nope"}}, xff, false, "10.0.0.1"},
		{"first set header used", "10.0.0.1:1", map[string][]string{"X-Real-Ip": {"4.4.4.4"}, "X-Forwarded-For": {"5.5.5.5"}},
			[]string{"CF-Connecting-IP", "X-Real-IP", "X-Forwarded-For"}, false, "4.4.4.4"},
		{"empty header skipped", "10.0.0.1:1", map[string][]string{"X-Real-Ip": {""}, "X-Forwarded-For": {"5.5.5.5"}},
			[]string{"X-Real-IP", "X-Forwarded-For"}, false, "5.5.5.5"},
		{"bracketed ipv6 in header", "10.0.0.1:1", map[string][]string{"X-Forwarded-For": {"[2001:db8::2]"}}, xff, false,
			"2001:0db8:0000:0000:0000:0000:0000:0002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for k, vs := range tt.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := clientIP(r, tt.trusted, tt.leftmost); got != tt.want {
				t.Fatalf("clientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
