package sqlfilter

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenSource() *Source {
	colls := testCollections()
	lookup := func(n string) *schema.Collection {
		for _, c := range colls {
			if c.Name == n || c.ID == n {
				return c
			}
		}
		return nil
	}
	auth := &schema.Record{Collection: colls["users"], Data: map[string]any{"id": "u1", "email": "a@x.io", "verified": true}}
	return &Source{Collection: colls["posts"], Lookup: lookup, Request: &store.Request{
		Method: "GET", Auth: auth,
		Body: map[string]any{"title": "x", "labels": []string{"a"}, "editors": []string{"u1", "u2"}},
	}}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct{ filter, sort string }{
		{"title = 'x'", ""},
		{"title != ''", "-created,title"},
		{"views > 5 && (published = true || title ~ 'a_b')", "@random"},
		{"title ~ 'abc%'", "-@rowid"},
		{"author.name = 'x'", "author.name,-author.team.name"},
		{"author.id = 'u1'", ""},
		{"editors.name ?= 'x'", ""},
		{"editors.name = 'x'", ""},
		{"labels:each ?= 'a' && labels:length > 1", "labels:length"},
		{"labels ~ 'a'", ""},
		{"comments_via_post.body ?~ 'hi'", ""},
		{"@collection.teams:t.score > 1 && @collection.teams:t.name = 'x'", ""},
		{"data.a.b = true && data = null", "data.a"},
		{"@request.auth.id != '' && @request.auth.name = title", ""},
		{"@request.body.title:isset = true && @request.body.labels:each ?= 'a'", ""},
		{"@request.body.editors.name ?= 'x'", ""},
		{"title = {:t} && views >= {:n}", ""},
		{"created >= @todayStart && created <= @todayEnd", ""},
		{"geoDistance(views, views, 1, 2) < 10 && strftime('%Y', created) = '2024'", ""},
		{"title:lower = 'x' || editors:each != ''", ""},
	}
	var b strings.Builder
	src := goldenSource()
	opts := Options{Env: filter.Env{Now: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), Params: map[string]any{"t": "x", "n": 3}}}
	for _, tc := range cases {
		e, err := filter.Parse(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		var sort []filter.SortField
		if tc.sort != "" {
			if sort, err = filter.ParseSort(tc.sort); err != nil {
				t.Fatal(err)
			}
		}
		q, err := Compile(SQLite{}, src, opts, e, sort)
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		b.WriteString("filter: " + tc.filter + "\n")
		if tc.sort != "" {
			b.WriteString("sort:   " + tc.sort + "\n")
		}
		b.WriteString("where:  " + q.Where + "\n")
		if q.OrderBy != "" {
			b.WriteString("order:  " + q.OrderBy + "\n")
		}
		b.WriteString("args:   " + strings.TrimSpace(strings.ReplaceAll(strings.Trim(strings.ReplaceAll(fmtArgs(q.Args), "\n", " "), "[]"), "  ", " ")) + "\n\n")
	}
	path := filepath.Join("testdata", "compile.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != b.String() {
		t.Errorf("compiled SQL differs from %s (run go test -update and review the diff):\n%s", path, b.String())
	}
}

func fmtArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = strings.TrimSpace(strings.ReplaceAll(filter.ScalarOf(a).String(), "\n", " "))
	}
	return strings.Join(parts, ", ")
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	src := goldenSource()
	for _, tc := range []struct{ filter, sort, msg string }{
		{"nope = 1", "", `unknown field "nope"`},
		{"title.name = 1", "", "is not a relation"},
		{"author.nope = 1", "", `unknown field "nope"`},
		{"x_via_y.a = 1", "", "invalid back-relation"},
		{"@collection.nope.a = 1", "", "unknown collection"},
		{"title:length > 1", "", ":length needs"},
		{"title:each = 1", "", ":each needs"},
		{"title:isset = true", "", "only be used with @request"},
		{"data:each = 1", "", ":each needs"},
		{"author.secret = 'x'", "", "cannot be filtered"},
		{"@request.nope = 1", "", "unknown request field"},
		{"title = {:missing}", "", "no value for placeholder"},
		{"geoDistance(editors.age, 0, 0, 0) > 1", "", "must be a single value"},
		{"a.b.c.d.e.f.g.h = 1", "", "unknown field"},
		{"title = 'x'", "editors.name", "cannot sort"},
		{"title = 'x'", "nope", "unknown field"},
	} {
		e, err := filter.Parse(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		var sort []filter.SortField
		if tc.sort != "" {
			sort, _ = filter.ParseSort(tc.sort)
		}
		_, err = Compile(SQLite{}, src, Options{}, e, sort)
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, tc.msg) {
			t.Errorf("Compile(%q, %q) = %v, want *Error containing %q", tc.filter, tc.sort, err, tc.msg)
		}
	}
	deep := "editors.groups.name = 1"
	_ = deep
}

func FuzzCompile(f *testing.F) {
	for _, s := range operands[:20] {
		f.Add(s + " = 'x' && views > 1")
	}
	f.Add("@request.body.editors.name ?= 'x' || comments_via_post.likedBy.name != ''")
	src := goldenSource()
	f.Fuzz(func(t *testing.T, text string) {
		e, err := filter.Parse(text)
		if err != nil {
			return
		}
		q, err := Compile(SQLite{}, src, Options{Env: filter.Env{Params: map[string]any{"p1": "x"}}}, e, nil)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) error of type %T: %v", text, err, err)
			}
			return
		}
		if strings.Count(q.Where, "(") != strings.Count(q.Where, ")") {
			t.Fatalf("unbalanced SQL for %q: %s", text, q.Where)
		}
		if n := strings.Count(q.Where, "?"); n < len(q.Args) {
			t.Fatalf("%q: %d args but %d placeholders", text, len(q.Args), n)
		}
	})
}
