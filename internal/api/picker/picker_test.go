package picker

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/basalt-dev/basalt/internal/apperr"
)

func TestPick(t *testing.T) {
	t.Parallel()
	record := `{"id":"r1","title":"Hello","n":9007199254740993,"tags":["a","b"],"body":"<p>Hello <b>big</b> world</p>",
		"expand":{"author":{"id":"u1","name":"Ann","email":"a@x"},"tags":[{"id":"t1","name":"go"},{"id":"t2","name":"db"}]}}`
	list := `{"page":1,"perPage":30,"totalItems":2,"totalPages":1,"items":[{"id":"a","title":"A","x":1},{"id":"b","title":"B","x":2}]}`
	tests := []struct {
		name   string
		input  string
		fields string
		want   string
	}{
		{"empty fields", record, "", record},
		{"blank fields", record, "  ", record},
		{"top level", record, "id,title", `{"id":"r1","title":"Hello"}`},
		{"spaces and newlines", record, " id ,\n title\t", `{"id":"r1","title":"Hello"}`},
		{"exact numbers", record, "n", `{"n":9007199254740993}`},
		{"missing key", record, "nope", `{}`},
		{"nested", record, "id,expand.author.name", `{"id":"r1","expand":{"author":{"name":"Ann"}}}`},
		{"nested list", record, "expand.tags.name", `{"expand":{"tags":[{"name":"go"},{"name":"db"}]}}`},
		{"whole and nested", record, "expand,expand.author.name",
			`{"expand":{"author":{"id":"u1","name":"Ann","email":"a@x"},"tags":[{"id":"t1","name":"go"},{"id":"t2","name":"db"}]}}`},
		{"star", `{"a":1,"b":{"c":1,"d":2}}`, "*", `{"a":1,"b":{"c":1,"d":2}}`},
		{"star with nested", `{"a":1,"b":{"c":1,"d":2}}`, "*,b.c", `{"a":1,"b":{"c":1}}`},
		{"nested star", record, "id,expand.author.*", `{"id":"r1","expand":{"author":{"id":"u1","name":"Ann","email":"a@x"}}}`},
		{"list result", list, "id", `{"page":1,"perPage":30,"totalItems":2,"totalPages":1,"items":[{"id":"a"},{"id":"b"}]}`},
		{"plain list", `[{"id":"a","x":1},{"id":"b","x":2},3]`, "x", `[{"x":1},{"x":2},3]`},
		{"not a list result", `{"page":1,"items":[{"id":"a"}]}`, "page", `{"page":1}`},
		{"scalar", `"text"`, "a", `"text"`},
		{"excerpt", record, "body:excerpt(10)", `{"body":"Hello big"}`},
		{"excerpt ellipsis", record, "body:excerpt(10,true)", `{"body":"Hello big..."}`},
		{"excerpt with spaces", record, "body:excerpt( 10 , true )", `{"body":"Hello big..."}`},
		{"excerpt long enough", record, "body:excerpt(100,true)", `{"body":"Hello big world"}`},
		{"excerpt bad bool", record, "body:excerpt(10,maybe)", `{"body":"Hello big"}`},
		{"excerpt non-string", record, "tags:excerpt(1),n:excerpt(1)", `{"tags":["a","b"],"n":9007199254740993}`},
		{"excerpt nested", record, "expand.author.name:excerpt(2,1)", `{"expand":{"author":{"name":"An..."}}}`},
		{"star excerpt", `{"a":"<b>xyz</b>","b":5}`, "*:excerpt(2)", `{"a":"xy","b":5}`},
		{"excerpt multibyte", `{"a":"<p>żółć gęś</p>"}`, "a:excerpt(6,true)", `{"a":"żółć g..."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in any
			dec := json.NewDecoder(strings.NewReader(tt.input))
			dec.UseNumber()
			if err := dec.Decode(&in); err != nil {
				t.Fatal(err)
			}
			before := jsonText(t, in)
			got, err := Pick(in, tt.fields)
			if err != nil {
				t.Fatalf("Pick(%q): %v", tt.fields, err)
			}
			if g := jsonText(t, got); g != jsonText(t, mustJSON(t, tt.want)) {
				t.Fatalf("Pick(%q) = %s\nwant %s", tt.fields, g, tt.want)
			}
			if after := jsonText(t, in); after != before {
				t.Fatalf("Pick modified its input: %s", after)
			}
		})
	}
}

func mustJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func TestPickTypedValues(t *testing.T) {
	t.Parallel()
	type author struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	got, err := Pick(map[string]any{"id": "x", "author": author{"u1", "Ann"}, "n": 3}, "author.name,n")
	if err != nil {
		t.Fatal(err)
	}
	if g := jsonText(t, got); g != `{"author":{"name":"Ann"},"n":3}` {
		t.Fatalf("got %s", g)
	}
}

func TestPickInvalid(t *testing.T) {
	t.Parallel()
	for _, fields := range []string{
		"a:excerpt(", "a:excerpt(1", "a)", "a:excerpt", "a:excerpt()", "a:excerpt(0)", "a:excerpt(-1)",
		"a:excerpt(abc)", "a:excerpt(1.5)", "a:excerpt(1,true,3)", "a:unknown(1)", "a:", "a:(1)", "'a", `"a`,
		"a:excerpt(1)x", strings.Repeat("a,", maxPickedFields+1),
	} {
		_, err := Pick(map[string]any{"a": "x"}, fields)
		if e := apperr.As(err); e == nil || e.Code != apperr.Invalid {
			t.Errorf("Pick(%.40q) error = %v, want invalid", fields, err)
		}
	}
}

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"  lots   of \n\t space  ", "lots of space"},
		{"<p>Hello</p><p>World</p>", "Hello World"},
		{"<b>Bold</b><i>Italic</i>", "BoldItalic"},
		{"a<br>b", "ab"},
		{"a<hr>b", "a b"},
		{"<div>x</div>\n<div>y</div>", "x y"},
		{"Tom &amp; Jerry &lt;3 &#x1F600; &nbsp;!", "Tom & Jerry <3 😀 \u00a0!"},
		{"<script>alert('<b>hi</b>')</script>after", "after"},
		{"<SCRIPT type='x'>var a = '<script>';</SCRIPT>after", "after"},
		{"<style>p{color:red}</style>text", "text"},
		{"<svg><g><svg></svg><text>inner</text></g></svg>out", "out"},
		{"<img src=x onerror='a>b'>caption", "caption"},
		{"<a href=\"x>y\">link</a>", "link"},
		{"<!-- comment <p>x</p> -->visible", "visible"},
		{"<!DOCTYPE html><html><head><title>T</title></head><body>B</body></html>", "B"},
		{"a < b and c > d", "a < b and c > d"},
		{"unterminated <p class='x", "unterminated"},
		{"<!-- never closed", ""},
		{"</>text", "text"},
		{"<form><input name=a><button>Go</button></form>kept", "kept"},
		{"<template><p>hidden</p></template>shown", "shown"},
	}
	for _, tt := range tests {
		if got := plainText(tt.in, 1000); got != tt.want {
			t.Errorf("plainText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// It stops early on long input.
	long := strings.Repeat("<p>word</p>", 100000)
	if got := plainText(long, 20); utf8.RuneCountInString(got) > 25 {
		t.Fatalf("plainText did not stop early: %d characters", utf8.RuneCountInString(got))
	}
}

func FuzzPickFields(f *testing.F) {
	f.Add("id,title", `{"id":"x","title":"<p>t</p>","expand":{"a":{"b":1}}}`)
	f.Add("*,expand.a.b", `{"id":"x","expand":{"a":{"b":1,"c":2}}}`)
	f.Add("title:excerpt(3,true)", `{"title":"<p>hello <b>there</b></p><!-- x -->"}`)
	f.Add("items.id", `{"page":1,"perPage":1,"totalItems":1,"totalPages":1,"items":[{"id":"a"}]}`)
	f.Add("a:excerpt((1)),'b", `[1,{"a":"<script>"}]`)
	f.Fuzz(func(t *testing.T, fields, input string) {
		var in any
		if err := json.Unmarshal([]byte(input), &in); err != nil {
			return
		}
		got, err := Pick(in, fields)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("Pick(%q) error %v, want invalid", fields, err)
			}
			return
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("picked value cannot be encoded: %v", err)
		}
	})
}

func FuzzPlainText(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "<script>x</script>", "<!--", "<a b='>'>", "&amp;", "<svg><svg></svg>", "</", "<x/>"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if limit < 0 || limit > 1<<20 {
			return
		}
		got := plainText(s, limit)
		if strings.TrimSpace(got) != got {
			t.Fatalf("plainText(%q) = %q is not trimmed", s, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("plainText(%q) = %q is not valid UTF-8", s, got)
		}
		if excerpt := (excerpt{max: max(limit, 1)}).modify(s).(string); utf8.RuneCountInString(excerpt) > max(limit, 1) {
			t.Fatalf("excerpt of %q is %d characters, over %d", s, utf8.RuneCountInString(excerpt), limit)
		}
	})
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
