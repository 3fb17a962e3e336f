package realtime

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/basalt-dev/basalt/internal/record"
)

func TestParseTopic(t *testing.T) {
	t.Parallel()
	opts := "?options=" + url.QueryEscape(`{"query":{"expand":"author","n":5,"flag":true,"nil":null},"headers":{"X-Token":"abc","Accept-Language":"en"}}`)
	tests := []struct {
		raw                  string
		collection, recordID string
		rule                 record.Rule
		query, headers       map[string]string
	}{
		{raw: "posts/*", collection: "posts", rule: record.ListRule},
		{raw: "pbc_123/*", collection: "pbc_123", rule: record.ListRule},
		{raw: "posts/abc123", collection: "posts", recordID: "abc123", rule: record.ViewRule},
		{raw: "posts", collection: "posts", rule: record.ListRule}, // legacy
		{raw: "posts/*" + opts, collection: "posts", rule: record.ListRule,
			query:   map[string]string{"expand": "author", "n": "5", "flag": "true", "nil": ""},
			headers: map[string]string{"x_token": "abc", "accept_language": "en"}},
		{raw: "posts/abc?options=not-json", collection: "posts", recordID: "abc", rule: record.ViewRule},
		{raw: "@oauth2", rule: record.ListRule},
		{raw: "posts/a/b", rule: record.ListRule},
		{raw: "posts/", rule: record.ListRule},
		{raw: "/x", rule: record.ListRule},
	}
	for _, tt := range tests {
		s := parseTopic(tt.raw)
		if s.raw != tt.raw || s.collection != tt.collection || s.recordID != tt.recordID || s.rule() != tt.rule {
			t.Errorf("parseTopic(%q) = %+v", tt.raw, s)
		}
		if tt.query != nil && !reflect.DeepEqual(s.query, tt.query) {
			t.Errorf("parseTopic(%q) query = %v, want %v", tt.raw, s.query, tt.query)
		}
		if tt.headers != nil && !reflect.DeepEqual(s.headers, tt.headers) {
			t.Errorf("parseTopic(%q) headers = %v, want %v", tt.raw, s.headers, tt.headers)
		}
	}
}

func FuzzParseTopic(f *testing.F) {
	for _, seed := range []string{"posts/*", "posts/abc?options=%7B%7D", "@oauth2", "a/b/c?x=1&options=%7B%22query%22%3A%7B%7D%7D", "?", "/"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s := parseTopic(raw)
		if s.raw != raw {
			t.Fatalf("raw changed: %q", s.raw)
		}
		if s.recordID != "" && s.collection == "" {
			t.Fatalf("record id without collection: %+v", s)
		}
	})
}
