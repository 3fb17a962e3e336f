package sqlfilter

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
	cases, pgCases := goldenCases()
	for _, d := range []struct {
		dialect Dialect
		file    string
		cases   []golden
	}{
		{SQLite{}, "compile.golden", cases},
		{Postgres{}, "compile_postgres.golden", slices.Concat(cases, pgCases)},
	} {
		t.Run(d.file, func(t *testing.T) { goldenFile(t, d.dialect, d.file, d.cases) })
	}
}

// goldenCases are the filters of the golden files: cases for every
// dialect, pgCases for PostgreSQL only.
func goldenCases() (cases, pgCases []golden) {
	// filter is a trusted condition (a rule), client the client's filter;
	// the sort is client input too. Cases run on posts as a guest unless
	// coll or super say otherwise.
	cases = []golden{
		{filter: "title = 'x'"},
		{filter: "title != ''", sort: "-created,title"},
		{filter: "views > 5 && (published = true || title ~ 'a_b')", sort: "@random"},
		{filter: "title ~ 'abc%'", sort: "-@rowid"},
		{filter: "author.name = 'x'", sort: "author.name,-author.team.name"},
		{filter: "author.id = 'u1'"},
		{filter: "editors.name ?= 'x'"},
		{filter: "editors.name = 'x'"},
		{filter: "labels:each ?= 'a' && labels:length > 1", sort: "labels:length"},
		{filter: "labels ~ 'a'"},
		{filter: "comments_via_post.body ?~ 'hi'"},
		{filter: "@collection.teams:t.score > 1 && @collection.teams:t.name = 'x'"},
		{filter: "data.a.b = true && data = null", sort: "data.a"},
		{filter: "@request.auth.id != '' && @request.auth.name = title"},
		{filter: "@request.body.title:isset = true && @request.body.labels:each ?= 'a'"},
		{filter: "@request.body.editors.name ?= 'x'"},
		{filter: "title = {:t} && views >= {:n}"},
		{filter: "created >= @todayStart && created <= @todayEnd"},
		{filter: "geoDistance(views, views, 1, 2) < 10 && strftime('%Y', created) = '2024'"},
		{filter: "title:lower = 'x' || editors:each != ''"},
		// A rule and a client filter are one condition and share joins.
		{filter: "author.secret = 'x'", client: "author.name = 'y' && editors.name ?= 'z'"},
		// A client's condition on an auth record's email only matches
		// records that show it, wherever the email is on the path.
		{client: "author.email = 'a@x.io'", sort: "author.email"},
		{filter: "author.email = 'a@x.io'"},
		{client: "author.email = 'a@x.io'", super: true},
		{client: "email = 'a@x.io' || name = 'x'", coll: "users"},
		{client: "email:lower ~ '@x.io' && @request.auth.email != email", coll: "users"},
		{client: "editors.email = 'a@x.io'"},
		{client: "editors.email ?~ 'x.io' && editors.name ?= 'y'"},
		{client: "author.email = editors.email"},
		{client: "comments_via_post.likedBy.email ?= 'a@x.io'"},
		{client: "strftime('%Y', author.email) = '2024'"},
		{filter: "author.email != ''", client: "author.email:lower = 'a@x.io'"},
		// @collection and @request paths may read every field, as in
		// PocketBase.
		{client: "@collection.users.email ?= 'a@x.io' && @request.auth.team.name = 'x'"},
	}
	// What sets PostgreSQL apart, compiled for it only (the SQLite golden
	// file keeps its cases).
	pgCases = []golden{
		{filter: "data.a.0.b > 1 && data.1 = 'x'", sort: "-data.a"},
		{filter: "title = 10 && views = '10' && views:lower ~ '.5'"},
		{filter: "title ~ {:lone} && data ~ 'x'"},
		{filter: "strftime('%Y-%m-%d %H:%M:%S', created, 'start of month', '+1 month', 'weekday 1') > @now"},
		{filter: "strftime('%s', views, 'unixepoch') = '0' && strftime('%Y', data.a) != ''"},
		{filter: "published = true && @request.body.labels:length > 0 && editors:length >= 1", sort: "published,-views"},
	}
	return cases, pgCases
}

type golden struct {
	filter, sort, client, coll string
	super                      bool
}

// compile compiles tc for d with src (goldenSource or a fixture's source).
func (tc golden) compile(t *testing.T, d Dialect, src *Source) *Query {
	t.Helper()
	opts := Options{Env: filter.Env{Now: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), Params: map[string]any{"t": "x", "n": 3, "lone": `a%\`}}}
	parse := func(text string) filter.Expr {
		t.Helper()
		if text == "" {
			return nil
		}
		e, err := filter.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	if tc.coll != "" {
		src.Collection = src.Lookup(tc.coll)
	}
	src.AllowHidden = tc.super
	in := Input{Trusted: parse(tc.filter), Client: parse(tc.client)}
	if tc.sort != "" {
		var err error
		if in.Sort, err = filter.ParseSort(tc.sort); err != nil {
			t.Fatal(err)
		}
	}
	q, err := Compile(d, src, opts, in)
	if err != nil {
		t.Fatalf("%+v: %v", tc, err)
	}
	return q
}

func goldenFile(t *testing.T, d Dialect, file string, cases []golden) {
	t.Helper()
	var b strings.Builder
	for _, tc := range cases {
		q := tc.compile(t, d, goldenSource())
		if tc.coll != "" {
			b.WriteString("on:     " + tc.coll + "\n")
		}
		if tc.super {
			b.WriteString("as:     superuser\n")
		}
		if tc.filter != "" {
			b.WriteString("filter: " + tc.filter + "\n")
		}
		if tc.client != "" {
			b.WriteString("client: " + tc.client + "\n")
		}
		if tc.sort != "" {
			b.WriteString("sort:   " + tc.sort + "\n")
		}
		b.WriteString("where:  " + q.Where + "\n")
		if q.OrderBy != "" {
			b.WriteString("order:  " + q.OrderBy + "\n")
		}
		b.WriteString("args:   " + strings.TrimSpace(strings.ReplaceAll(strings.Trim(strings.ReplaceAll(fmtArgs(q.Args), "\n", " "), "[]"), "  ", " ")) + "\n\n")
	}
	path := filepath.Join("testdata", file)
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
		{"title = 'x'", "author.secret", "cannot be filtered"},
		{"comments_via_post.likedBy.secret ?= 'x'", "", "cannot be filtered"},
	} {
		e, err := filter.Parse(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		var sort []filter.SortField
		if tc.sort != "" {
			sort, _ = filter.ParseSort(tc.sort)
		}
		_, err = Compile(SQLite{}, src, Options{}, Input{Client: e, Sort: sort})
		var ce *Error
		if !errors.As(err, &ce) || !strings.Contains(ce.Msg, tc.msg) {
			t.Errorf("Compile(%q, %q) = %v, want *Error containing %q", tc.filter, tc.sort, err, tc.msg)
		}
	}
	deep := "editors.groups.name = 1"
	_ = deep
}

// TestHiddenFields checks who may read hidden fields: trusted conditions
// (rules) always, client filters and sorts only as a superuser.
func TestHiddenFields(t *testing.T) {
	t.Parallel()
	secret, err := filter.Parse("author.secret = 'x'")
	if err != nil {
		t.Fatal(err)
	}
	sort, err := filter.ParseSort("-author.secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		in    Input
		super bool
		ok    bool
	}{
		{"rule", Input{Trusted: secret}, false, true},
		{"client filter", Input{Client: secret}, false, false},
		{"client sort", Input{Sort: sort}, false, false},
		{"rule with a client sort", Input{Trusted: secret, Sort: sort}, false, false},
		{"superuser's client filter", Input{Client: secret}, true, true},
		{"superuser's client sort", Input{Sort: sort}, true, true},
	} {
		src := goldenSource()
		src.AllowHidden = tc.super
		_, err := Compile(SQLite{}, src, Options{}, tc.in)
		var ce *Error
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v, want no error", tc.name, err)
		case !tc.ok && (!errors.As(err, &ce) || !strings.Contains(ce.Msg, "cannot be filtered")):
			t.Errorf("%s: %v, want a hidden-field *Error", tc.name, err)
		}
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range operands[:20] {
		f.Add(s + " = 'x' && views > 1")
	}
	f.Add("@request.body.editors.name ?= 'x' || comments_via_post.likedBy.name != ''")
	f.Add("strftime('%Y-%m', created, '+1 month', 'weekday 2') > data.a.0.b && title:lower ~ {:p1}")
	src := goldenSource()
	f.Fuzz(func(t *testing.T, text string) {
		e, err := filter.Parse(text)
		if err != nil {
			return
		}
		opts := Options{Env: filter.Env{Params: map[string]any{"p1": "x"}}}
		q, err := Compile(SQLite{}, src, opts, Input{Client: e})
		pq, pgErr := Compile(Postgres{}, src, opts, Input{Client: e})
		if err == nil && textError(pgErr) {
			return
		}
		if (err == nil) != (pgErr == nil) {
			t.Fatalf("Compile(%q): SQLite error %v, PostgreSQL error %v", text, err, pgErr)
		}
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) || !errors.As(pgErr, &ce) {
				t.Fatalf("Compile(%q) error of type %T / %T: %v", text, err, pgErr, err)
			}
			return
		}
		for _, w := range []string{q.Where, pq.Where} {
			if strings.Count(w, "(") != strings.Count(w, ")") {
				t.Fatalf("unbalanced SQL for %q: %s", text, w)
			}
		}
		if n := strings.Count(q.Where, "?"); n < len(q.Args) {
			t.Fatalf("%q: %d args but %d placeholders", text, len(q.Args), n)
		}
		checkPlaceholders(t, text, pq)
	})
}

// checkPlaceholders checks that q's $n placeholders are exactly $1 to
// $len(Args).
func checkPlaceholders(t *testing.T, text string, q *Query) {
	t.Helper()
	seen := map[int]bool{}
	sql := q.Where + " " + q.OrderBy
	for i := 0; i < len(sql); i++ {
		if sql[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
			j++
		}
		if j == i+1 {
			continue // a $ inside a regular expression
		}
		n, _ := strconv.Atoi(sql[i+1 : j])
		if n < 1 || n > len(q.Args) {
			t.Fatalf("%q: placeholder $%d with %d args: %s", text, n, len(q.Args), sql)
		}
		seen[n] = true
	}
	if len(seen) != len(q.Args) {
		t.Fatalf("%q: %d args but %d placeholders used", text, len(q.Args), len(seen))
	}
}
