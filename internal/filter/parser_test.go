package filter

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src  string
		want string // canonical String() form
	}{
		{"a=1", "a = 1"},
		{"  title = 'x'  ", "title = 'x'"},
		{`title="x"`, "title = 'x'"},
		{`title = 'it\'s'`, `title = "it's"`},
		{`title = "say \"hi\""`, `title = 'say "hi"'`},
		{`title = 'both \' and "'`, `title = 'both \' and "'`},
		{`title ~ 'a\%b'`, `title ~ 'a\%b'`},
		{"n > -14", "n > -14"},
		{"n >= 10.50", "n >= 10.5"},
		{"n < -0.5", "n < -0.5"},
		{"a = null && b = TRUE && c = False", "a = null && b = true && c = false"},
		{"a = 1 && b = 2 || c = 3", "a = 1 && b = 2 || c = 3"},
		{"a = 1 || b = 2 && c = 3", "a = 1 || b = 2 && c = 3"},
		{"(a = 1 || b = 2) && c = 3", "(a = 1 || b = 2) && c = 3"},
		{"((a = 1 && b = 2)) && c = 3", "a = 1 && b = 2 && c = 3"},
		{"a = 1 || (b = 2 || c = 3)", "a = 1 || b = 2 || c = 3"},
		{"(a = 1)", "a = 1"},
		{"a ?= 1 && b ?!= 2 && c ?> 3 && d ?>= 4 && e ?< 5 && f ?<= 6 && g ?~ 'x' && h ?!~ 'y'",
			"a ?= 1 && b ?!= 2 && c ?> 3 && d ?>= 4 && e ?< 5 && f ?<= 6 && g ?~ 'x' && h ?!~ 'y'"},
		{"a != 1 && b ~ 'x' && c !~ 'y' && d <= 1", "a != 1 && b ~ 'x' && c !~ 'y' && d <= 1"},
		{"author.name = 'x'", "author.name = 'x'"},
		{"@request.auth.id != ''", "@request.auth.id != ''"},
		{"@collection.users:u.email = 'x'", "@collection.users:u.email = 'x'"},
		{"tags:length > 1 && title:lower = 'x' && tags:each ?= 'a'", "tags:length > 1 && title:lower = 'x' && tags:each ?= 'a'"},
		{"@request.body.title:isset = true && @request.body.title:changed = false",
			"@request.body.title:isset = true && @request.body.title:changed = false"},
		{"comments_via_post.message ?~ 'x'", "comments_via_post.message ?~ 'x'"},
		{"created > @now && created < @todayEnd && @year = 2024", "created > @now && created < @todayEnd && @year = 2024"},
		{"title = {:title} && n > {:min}", "title = {:title} && n > {:min}"},
		{"geoDistance(lon, lat, 23.3, 42.7) < 25", "geoDistance(lon, lat, 23.3, 42.7) < 25"},
		{"strftime('%Y-%m', created) = '2024-01'", "strftime('%Y-%m', created) = '2024-01'"},
		{"strftime('%Y', strftime('%Y-%m-%d', created), 'start of year') = '2024'",
			"strftime('%Y', strftime('%Y-%m-%d', created), 'start of year') = '2024'"},
		{"a = 1 // comment\n && b = 2 // another", "a = 1 && b = 2"},
		{"// leading\na = 1", "a = 1"},
		{"a\t=\r\n1", "a = 1"},
		{"1 = 1", "1 = 1"},
		{"'x' = title", "'x' = title"},
		{"_id = 'x' && #tag = 1", "_id = 'x' && #tag = 1"},
		{"a='x'&&b='y'||c='z'", "a = 'x' && b = 'y' || c = 'z'"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Errorf("Parse(%q) error: %v", tt.src, err)
			continue
		}
		if got := e.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.src, got, tt.want)
		}
		e2, err := Parse(e.String())
		if err != nil || !Equal(e, e2) {
			t.Errorf("round trip of %q: %q, err %v", tt.src, e.String(), err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src     string
		pos     int
		message string
	}{
		{"", 0, "empty filter"},
		{"   // only a comment", 20, "empty filter"},
		{"a", 1, "expected an operator"},
		{"a =", 3, "expected a field"},
		{"a = 1 &&", 8, "expected a field"},
		{"a = 1 b = 2", 6, "expected &&"},
		{"a == 1", 2, `invalid operator "=="`},
		{"a =! 1", 2, `invalid operator "=!"`},
		{"a = 1 & b = 2", 6, "invalid join operator"},
		{"a = 1 ||| b = 2", 6, "invalid join operator"},
		{"a = 'x", 4, "unterminated text"},
		{`a = 'x\'`, 4, "unterminated text"},
		{"a = 1.", 4, `invalid number "1."`},
		{"a = 1.2.3", 4, "invalid number"},
		{"a = -", 4, "invalid number"},
		{"a = .5", 4, "unexpected character"},
		{"a = 1e3", 5, "expected &&"},
		{"(a = 1", 6, "expected &&, || or )"},
		{"a = 1)", 5, "expected &&, || or end"},
		{"()", 1, "empty parentheses"},
		{"a.b. = 1", 3, "must end with"},
		{"a..b = 1", 2, "empty path segment"},
		{"a:upper = 1", 1, `unknown modifier ":upper"`},
		{"a:lower.b = 1", 0, "only on the last segment"},
		{"a:lower:each = 1", 0, "too many ':'"},
		{"@foo = 1", 0, "unknown identifier"},
		{"@request = 1", 0, "expected @request.<field>"},
		{"@collection.users = 1", 0, "expected @collection"},
		{"a@b = 1", 1, "invalid character"},
		{"a = {name}", 4, "invalid placeholder"},
		{"a = {:}", 4, "invalid placeholder"},
		{"a = $", 4, "unexpected character '$'"},
		{"a = 1 / 2", 6, "unexpected character '/'"},
		{"a = é", 4, "unexpected character 'é'"},
		{"unknownFn(1) = 1", 0, `unknown function "unknownFn"`},
		{"geoDistance(1, 2, 3) = 1", 0, "expects 4 arguments"},
		{"geoDistance(1, 2, 3, 'x') = 1", 21, "must be numbers or fields"},
		{"strftime(created) = 1", 0, "expects a format"},
		{"strftime(fmt, created) = 1", 9, "format must be quoted text"},
		{"strftime('%Q', created) = 1", 9, "unsupported strftime() format"},
		{"strftime('%Y', created, 'next tuesday') = 1", 24, "unsupported strftime() modifier"},
		{"strftime('%Y', created, 'utc', 'unixepoch') = 1", 31, "unsupported strftime() modifier"},
		{"strftime('%Y', strftime('%Y', strftime('%Y', created))) = 1", 30, "nested deeper"},
		{"geoDistance (1,2,3,4) = 1", 12, "expected an operator"},
		{"a = 1, b = 2", 5, "unexpected \",\""},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var fe *Error
		if !errors.As(err, &fe) {
			t.Errorf("Parse(%q) error = %v, want *Error", tt.src, err)
			continue
		}
		if fe.Pos != tt.pos || !strings.Contains(fe.Msg, tt.message) {
			t.Errorf("Parse(%q) = %q at %d, want %q at %d", tt.src, fe.Msg, fe.Pos, tt.message, tt.pos)
		}
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	clause := "a = 1"
	ok := strings.Repeat(clause+" && ", MaxComparisons-1) + clause
	if _, err := Parse(ok); err != nil {
		t.Fatalf("%d comparisons: %v", MaxComparisons, err)
	}
	_, err := Parse(ok + " && " + clause)
	if err == nil || !strings.Contains(err.Error(), "more than 200 expressions") {
		t.Errorf("%d comparisons: err = %v", MaxComparisons+1, err)
	}

	long := "title = '" + strings.Repeat("x", MaxLength) + "'"
	if _, err := Parse(long); err == nil || !strings.Contains(err.Error(), "longer than 3500") {
		t.Errorf("long filter: err = %v", err)
	}

	deep := strings.Repeat("(", MaxDepth) + clause + strings.Repeat(")", MaxDepth)
	if _, err := Parse(deep); err != nil {
		t.Errorf("depth %d: %v", MaxDepth, err)
	}
	deeper := "(" + deep + ")"
	if _, err := Parse(deeper); err == nil || !strings.Contains(err.Error(), "nested deeper") {
		t.Errorf("depth %d: err = %v", MaxDepth+1, err)
	}
	// Deep unbalanced input within the length limit must fail cleanly.
	if _, err := Parse(strings.Repeat("(", MaxLength)); err == nil {
		t.Error("unbalanced parentheses parsed")
	}
}

func TestIdentifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src   string
		path  []string
		mod   Modifier
		alias string
	}{
		{"title", []string{"title"}, ModNone, ""},
		{"author.name:lower", []string{"author", "name"}, ModLower, ""},
		{"@collection.users:u.email", []string{"@collection", "users", "email"}, ModNone, "u"},
		{"@collection.users:u.tags:length", []string{"@collection", "users", "tags"}, ModLength, "u"},
		{"@request.body.title:isset", []string{"@request", "body", "title"}, ModIsset, ""},
		{"@request.body.title:changed", []string{"@request", "body", "title"}, ModChanged, ""},
		{"tags:each", []string{"tags"}, ModEach, ""},
		{"data.a.0.b", []string{"data", "a", "0", "b"}, ModNone, ""},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src + " = 1")
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		id := e.(*Comparison).Left().(*Identifier)
		if got := id.Path(); strings.Join(got, "|") != strings.Join(tt.path, "|") {
			t.Errorf("%s: path = %q, want %q", tt.src, got, tt.path)
		}
		if id.Modifier() != tt.mod || id.Alias() != tt.alias || id.Name() != tt.src {
			t.Errorf("%s: modifier %q alias %q name %q", tt.src, id.Modifier(), id.Alias(), id.Name())
		}
		if id.Len() != len(tt.path) || id.Segment(0) != tt.path[0] || !id.HasPrefix(tt.path[0]) {
			t.Errorf("%s: accessors disagree with Path", tt.src)
		}
	}
}

func TestParseSort(t *testing.T) {
	t.Parallel()
	got, err := ParseSort("-created, +title,author.name ,@random,-@rowid,tags:length")
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, f := range got {
		parts = append(parts, f.String())
	}
	if want := "-created|title|author.name|@random|-@rowid|tags:length"; strings.Join(parts, "|") != want {
		t.Errorf("ParseSort = %q, want %q", strings.Join(parts, "|"), want)
	}
	if !got[0].Desc || got[1].Desc || got[3].Special != SortRandom || got[2].Field.Segment(1) != "name" {
		t.Errorf("ParseSort fields = %+v", got)
	}
	bad := []struct {
		src string
		pos int
	}{
		{"", 0},
		{"a,,b", 2},
		{"-", 1},
		{"a,b,c,d,e,f,g,h,i", 16},
		{"@now", 0},
		{"a b", 1},
		{"'x'", 0},
		{"a:foo", 1},
		{"@foo", 0},
	}
	for _, tt := range bad {
		_, err := ParseSort(tt.src)
		var fe *Error
		if !errors.As(err, &fe) || fe.Pos != tt.pos {
			t.Errorf("ParseSort(%q) = %v, want error at %d", tt.src, err, tt.pos)
		}
	}
}
