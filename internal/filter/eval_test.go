package filter

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// record is a test resolver: a map from identifier name to value.
type record map[string]Value

func (r record) Resolve(id *Identifier) (Value, error) {
	v, ok := r[id.Name()]
	if !ok {
		return Value{}, fmt.Errorf("unknown field %q", id.Name())
	}
	return v, nil
}

func text(s string) Value   { return Column(Text(s), AffinityText) }
func num(f float64) Value   { return Column(Real(f), AffinityNumeric) }
func integer(i int64) Value { return Column(Int(i), AffinityNumeric) }

// rows builds a multi value whose items come from the rows of one join.
func rows(join string, items ...Scalar) Value {
	v := Value{Multi: true, Affinity: AffinityText}
	for i, s := range items {
		v.Items = append(v.Items, Item{Scalar: s, Rows: []Row{{Join: join, Index: i}}})
	}
	if len(items) == 0 {
		v.Items = []Item{{Rows: []Row{{Join: join, Index: -1}}}}
	}
	return v
}

func TestEval(t *testing.T) {
	t.Parallel()
	rec := record{
		"title":                   text("Hello World"),
		"empty":                   text(""),
		"nullText":                Column(Null, AffinityText),
		"n":                       num(10),
		"i":                       integer(3),
		"active":                  integer(1),
		"numText":                 text("10"),
		"tags":                    text(`["a","b"]`),
		"tags:each":               Value{Multi: true, Items: []Item{{Scalar: Text("a")}, {Scalar: Text("b")}}},
		"none:each":               Value{Multi: true},
		"rel.name":                rows("rel", Text("x"), Text("y")),
		"rel.color":               rows("rel", Text("red"), Text("blue")),
		"empty.name":              rows("emptyRel"),
		"rel.missing":             rows("rel", Text("x"), Null),
		"json":                    Value{Items: []Item{{Scalar: Null}}, Strict: true},
		"jsonEmpty":               Value{Items: []Item{{Scalar: Text("")}}, Strict: true},
		"@request.auth.id":        Constant(Text("u1")),
		"@request.body.missing":   Constant(Null),
		"@request.body.blank":     Constant(Text("")),
		"@request.body.n":         Constant(Real(10)),
		"@request.body.t:isset":   Constant(Bool(true)),
		"@request.query.pattern":  Constant(Text("wor")),
		"@request.query.wildcard": Constant(Text("hel%")),
		"@collection.users.email": rows("@collection.users", Text("a@x"), Text("b@x")),
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{"title = 'Hello World'", true},
		{"title = 'hello world'", false},
		{"title != 'x'", true},
		{"title ~ 'world'", true},
		{"title ~ 'WORLD'", true},
		{"title !~ 'world'", false},
		{"title ~ 'Hel%'", true},
		{"title ~ 'World%'", false},
		{"title ~ '%World'", true},
		{"title ~ 'o_W'", false},  // _ escaped when no % is given
		{"title ~ 'o%W%'", false}, // a pattern with % is not wrapped
		{"title ~ '%o%W%'", true},
		{"title ~ 'H_llo%'", true},
		{"title ~ ''", true},
		{"title ~ null", false},
		{"title ~ @request.query.pattern", true},
		{"title ~ @request.query.wildcard", true},
		{"title ~ @request.body.missing", false},
		// null and '' normalisation
		{"empty = ''", true},
		{"empty = null", true},
		{"nullText = ''", true},
		{"nullText = null", true},
		{"nullText != ''", false},
		{"nullText != 'x'", true},
		{"nullText = 'x'", false},
		{"empty = nullText", true},
		{"title != null", true},
		{"'' = null", true},
		{"null != ''", false},
		{"@request.body.missing = ''", true},
		{"@request.body.blank = null", true},
		{"@request.body.missing = title", false},
		// strict JSON comparisons keep null and '' apart
		{"json = null", true},
		{"json = ''", false},
		{"jsonEmpty = ''", true},
		{"jsonEmpty = null", false},
		// numbers and affinity
		{"n = 10", true},
		{"n = '10'", true},
		{"n = '10.0'", true},
		{"n > 9.5 && n < 10.5", true},
		{"n >= 10 && n <= 10", true},
		{"i = 3", true},
		{"i = '3'", true},
		{"numText = 10", false}, // text column vs 10.0 → '10.0'
		{"numText = '10'", true},
		{"numText > 9", false}, // '10' < '9.0' as text
		{"numText < 9", true},
		{"title > 5", true}, // text sorts after numbers
		{"n = title", false},
		{"n > null", false},
		{"n < null", false},
		{"active = true", true},
		{"active = false", false},
		{"active = 'true'", false},
		{"@request.body.n = n", true},
		{"@request.body.t:isset = true", true},
		{"1 = 1", true},
		{"1 = '1'", false},
		{"'a' < 'b'", true},
		// multi-valued JSON text and :each
		{"tags ~ 'a'", true},
		{"tags = 'a'", false},
		{"tags:each ?= 'a'", true},
		{"tags:each = 'a'", false},
		{"tags:each ~ '_'", false},
		{"tags:each != 'c'", true},
		{"tags:each ?= 'c'", false},
		{"none:each = ''", true}, // an empty list is one NULL item
		{"none:each ?= null", true},
		{"none:each = 'a'", false},
		{"none:each != 'a'", true},
		// relations and correlation through shared joins
		{"rel.name ?= 'x'", true},
		{"rel.name = 'x'", false},
		{"rel.name ?= 'x' && rel.color ?= 'red'", true},
		{"rel.name ?= 'x' && rel.color ?= 'blue'", false},
		{"rel.name ?= 'y' && rel.color ?= 'blue'", true},
		{"rel.name ?= 'x' || rel.color ?= 'blue'", true},
		{"(rel.name ?= 'x' || rel.name ?= 'y') && rel.color ?= 'blue'", true},
		{"rel.name ?= rel.color", false},
		{"rel.missing = 'x'", true}, // NULL items are ignored by "all"
		{"rel.missing != 'x'", false},
		{"empty.name = ''", true},
		{"empty.name ?= 'x'", false},
		{"@collection.users.email ?= 'a@x' && @collection.users.email ?= 'b@x'", false},
		{"@collection.users.email ?~ 'a' && title ~ 'hello'", true},
		{"@collection.users.email ~ '@x'", true},
		// macros
		{"@year = 2024 && @month = 2 && @day = 29 && @weekday = 4", true},
		{"@now = '2024-02-29 13:14:15.000Z'", true},
		{"@todayStart = '2024-02-29 00:00:00.000Z' && @todayEnd = '2024-02-29 23:59:59.999Z'", true},
		{"@monthEnd = '2024-02-29 23:59:59.999Z' && @yearEnd = '2024-12-31 23:59:59.999Z'", true},
		{"@yesterday < @now && @tomorrow > @now", true},
		// functions
		{"geoDistance(23.3219, 42.6977, 23.3219, 42.6977) = 0", false},
		{"geoDistance(0, 0, 0, 1) > 111 && geoDistance(0, 0, 0, 1) < 112", true},
		{"geoDistance(0, 0, title, 1) = null", true},
		{"strftime('%Y-%m-%d', '2024-03-05 10:11:12.345Z') = '2024-03-05'", true},
		{"strftime('%H:%M:%f', '2024-03-05T10:11:12.345Z') = '10:11:12.345'", true},
		{"strftime('%Y', '2024-03-05', '+1 years') = '2025'", true},
		{"strftime('%Y-%m-%d', '2024-01-31', '+1 month') = '2024-03-02'", true},
		{"strftime('%w %j', '2024-03-05', 'start of year') = '1 001'", true},
		{"strftime('%s', 86400, 'unixepoch') = '86400'", true},
		{"strftime('%Y', 'garbage') = null", true},
	}
	env := Env{Now: time.Date(2024, 2, 29, 13, 14, 15, 0, time.UTC)}
	for _, tt := range tests {
		e, err := Parse(tt.filter)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.filter, err)
			continue
		}
		got, err := env.Eval(e, rec)
		if err != nil {
			t.Errorf("Eval(%q): %v", tt.filter, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Eval(%q) = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestEvalPlaceholders(t *testing.T) {
	t.Parallel()
	rec := record{"title": text("x"), "n": num(5), "active": integer(1), "blank": text("")}
	env := Env{Params: map[string]any{
		"t": "x", "n": 5, "yes": true, "nothing": nil, "list": []string{"a"},
	}}
	for filter, want := range map[string]bool{
		"title = {:t}":        true,
		"n = {:n}":            true,
		"active = {:yes}":     true,
		"blank = {:nothing}":  true,
		"title = {:list}":     false,
		`{:list} = '["a"]'`:   true,
		"title ~ {:t}":        true,
		"title != {:nothing}": true,
	} {
		got, err := env.Eval(mustParse(t, filter), rec)
		if err != nil || got != want {
			t.Errorf("Eval(%q) = %v, %v; want %v", filter, got, err, want)
		}
	}
	if _, err := env.Eval(mustParse(t, "title = {:missing}"), rec); err == nil {
		t.Error("missing placeholder: no error")
	}
}

func TestEvalErrors(t *testing.T) {
	t.Parallel()
	rec := record{"title": text("x"), "rel.name": rows("rel", Text("a"), Text("b"))}
	for _, filter := range []string{
		"nope = 1",
		"title = 'x' && nope = 1",
		"geoDistance(rel.name, 0, 0, 0) > 1",
	} {
		if _, err := Eval(mustParse(t, filter), rec); err == nil {
			t.Errorf("Eval(%q): no error", filter)
		}
	}
	// A short-circuited branch is not resolved.
	if ok, err := Eval(mustParse(t, "title = 'x' || nope = 1"), rec); err != nil || !ok {
		t.Errorf("short circuit: %v, %v", ok, err)
	}
	resolverErr := errors.New("boom")
	_, err := Eval(mustParse(t, "a = 1"), ResolverFunc(func(*Identifier) (Value, error) { return Value{}, resolverErr }))
	if !errors.Is(err, resolverErr) {
		t.Errorf("resolver error not passed through: %v", err)
	}
}

func TestEvalMasked(t *testing.T) {
	t.Parallel()
	masked := func(v Value, which ...int) Value {
		v.Items = append([]Item(nil), v.Items...)
		for _, i := range which {
			v.Items[i].Masked = true
		}
		return v
	}
	rec := record{
		"email":         masked(text("a@x"), 0),
		"shown":         text("b@x"),
		"editors.email": masked(rows("editors", Text("a@x"), Text("b@x")), 0),
		"editors.name":  rows("editors", Text("Ann"), Text("Bob")),
		"others.email":  masked(rows("others", Text("a@x"), Text("a@x")), 1),
	}
	for filter, want := range map[string]bool{
		"email = 'a@x'":                  false, // masked: never true...
		"email != 'a@x'":                 false,
		"email = ''":                     false,
		"email ~ '@'":                    false,
		"shown = 'b@x'":                  true,
		"email = shown":                  false,
		"shown != email":                 false,
		"email = 'a@x' || shown = 'b@x'": true,
		"editors.email ?= 'a@x'":         false,
		"editors.email ?= 'b@x'":         true,
		"editors.email ?~ '@x' && editors.name ?= 'Ann'": false, // correlated: Ann's email is masked
		"editors.email ?~ '@x' && editors.name ?= 'Bob'": true,
		"others.email = 'a@x'":                           true,  // one visible item matches and none compares false
		"editors.email = 'b@x'":                          false, // ...but masked items still count as false
		"strftime('%Y', email) = null":                   false, // a function of a masked value is masked
		"strftime('%Y', shown) = null":                   true,
	} {
		got, err := Eval(mustParse(t, filter), rec)
		if err != nil || got != want {
			t.Errorf("Eval(%q) = %v, %v; want %v", filter, got, err, want)
		}
	}
}

func TestEvalAll(t *testing.T) {
	t.Parallel()
	trusted := record{"email": text("a@x"), "rel.name": rows("rel", Text("x"), Text("y"))}
	client := record{"email": Value{Items: []Item{{Scalar: Text("a@x"), Masked: true}}}, "rel.name": trusted["rel.name"]}
	for _, tt := range []struct {
		rule, filter string
		want         bool
	}{
		{"email = 'a@x'", "", true},
		{"", "email = 'a@x'", false}, // the same name, read by the client's resolver
		{"email = 'a@x'", "email = 'a@x'", false},
		{"email = 'a@x'", "rel.name ?= 'y'", true},
		{"rel.name ?= 'x'", "rel.name ?= 'y'", false}, // one row of rel for both parts
		{"rel.name ?= 'x' || rel.name ?= 'y'", "rel.name ?= 'y'", true},
		{"", "", true},
	} {
		var parts []Part
		if tt.rule != "" {
			parts = append(parts, Part{Expr: mustParse(t, tt.rule), Resolver: trusted})
		}
		if tt.filter != "" {
			parts = append(parts, Part{Expr: mustParse(t, tt.filter), Resolver: client})
		}
		parts = append(parts, Part{}) // skipped
		got, err := Env{}.EvalAll(parts...)
		if err != nil || got != tt.want {
			t.Errorf("EvalAll(%q, %q) = %v, %v; want %v", tt.rule, tt.filter, got, err, tt.want)
		}
	}
	if _, err := (Env{}).EvalAll(Part{Expr: mustParse(t, "nope = 1"), Resolver: trusted}); err == nil {
		t.Error("unknown field: no error")
	}
}

func TestEvalTooComplex(t *testing.T) {
	t.Parallel()
	// Four independent joins of 30 rows each, all compared with ?=, need
	// 30^4 combinations.
	rec := record{}
	filter := ""
	for j := range 4 {
		var items []Scalar
		for range 30 {
			items = append(items, Text("x"))
		}
		name := fmt.Sprintf("r%d.v", j)
		rec[name] = rows(fmt.Sprintf("r%d", j), items...)
		if j > 0 {
			filter += " && "
		}
		filter += name + " ?= 'x'"
	}
	if _, err := Eval(mustParse(t, filter), rec); !errors.Is(err, ErrTooComplex) {
		t.Errorf("err = %v, want ErrTooComplex", err)
	}
}

func mustParse(t *testing.T, s string) Expr {
	t.Helper()
	e, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return e
}

func TestSQLRealText(t *testing.T) {
	t.Parallel()
	for f, want := range map[float64]string{
		5: "5.0", 1e20: "1.0e+20", 1.5e-7: "1.5e-07", 0.1: "0.1", 1e15: "1000000000000000.0",
		1e16: "10000000000000000.0", 1e17: "1.0e+17", 1.5e16: "15000000000000000.0", 0.0001: "0.0001",
		2.5e-5: "2.5e-05", -0.0: "0.0", 123456789.123456789: "123456789.12345679", -3.25: "-3.25", 1e300: "1.0e+300",
	} {
		if got := sqlRealText(f); got != want {
			t.Errorf("sqlRealText(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestLike(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string
	}{
		{"abc", "%abc%"},
		{"a_b", `%a\_b%`},
		{`a\b`, `%a\\b%`},
		{`50\%`, `%50\%%`},
		{"a%", "a%"},
		{"__", `%_\_%`},
		{`\`, `%\\%`},
	} {
		if got := LikePattern(tt.in); got != tt.want {
			t.Errorf("LikePattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		pattern, text string
		want          bool
	}{
		{"%", "", true},
		{"", "", true},
		{"", "a", false},
		{"a%", "ABC", true},
		{"_", "é", true},
		{"É", "é", false},
		{`a\%`, "a%", true},
		{`a\%`, "ab", false},
		{`a\`, "a", false},
		{"%a%b%c%", "xxaxxbxxc", true},
		{"%a%b%c", "xxaxxbxxcx", false},
		{"a_c", "abc", true},
		{"a_c", "ac", false},
	} {
		if got := likeMatch(tt.pattern, tt.text); got != tt.want {
			t.Errorf("likeMatch(%q, %q) = %v, want %v", tt.pattern, tt.text, got, tt.want)
		}
	}
}

func TestMacroValue(t *testing.T) {
	t.Parallel()
	now := time.Date(2023, 12, 31, 23, 0, 0, 0, time.FixedZone("x", 3600))
	for name, want := range map[string]any{
		"@now": "2023-12-31 22:00:00.000Z", "@yesterday": "2023-12-30 22:00:00.000Z",
		"@tomorrow": "2024-01-01 22:00:00.000Z", "@monthStart": "2023-12-01 00:00:00.000Z",
		"@monthEnd": "2023-12-31 23:59:59.999Z", "@yearStart": "2023-01-01 00:00:00.000Z",
		"@second": 0, "@minute": 0, "@hour": 22, "@day": 31, "@weekday": 0, "@month": 12, "@year": 2023,
	} {
		got, ok := MacroValue(name, now)
		if !ok || got != want {
			t.Errorf("MacroValue(%s) = %v, want %v", name, got, want)
		}
	}
	if _, ok := MacroValue("@nope", now); ok {
		t.Error("unknown macro accepted")
	}
}
