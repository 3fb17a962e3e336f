package sqlfilter

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// fixture is a small schema with data, kept both in SQLite and in memory.
type fixture struct {
	db      *sql.DB
	colls   map[string]*schema.Collection
	records map[string][]*schema.Record
}

func (f *fixture) Records(c *schema.Collection) []*schema.Record { return f.records[c.Name] }

func (f *fixture) lookup(nameOrID string) *schema.Collection {
	for _, c := range f.colls {
		if c.Name == nameOrID || c.ID == nameOrID {
			return c
		}
	}
	return nil
}

func field(name, typ string, opts ...func(*schema.Field)) *schema.Field {
	f := &schema.Field{Name: name, Type: typ}
	for _, o := range opts {
		o(f)
	}
	return f
}

func multi(n int) func(*schema.Field)    { return func(f *schema.Field) { f.MaxSelect = n } }
func to(coll string) func(*schema.Field) { return func(f *schema.Field) { f.CollectionID = coll } }

func testCollections() map[string]*schema.Collection {
	id := func() *schema.Field { return field("id", schema.TypeText) }
	return map[string]*schema.Collection{
		"teams": {ID: "c_teams", Name: "teams", Fields: []*schema.Field{id(),
			field("name", schema.TypeText), field("score", schema.TypeNumber)}},
		"users": {ID: "c_users", Name: "users", Type: "auth", Fields: []*schema.Field{id(),
			field("name", schema.TypeText), field("age", schema.TypeNumber), field("email", schema.TypeEmail),
			field("emailVisibility", schema.TypeBool), field("verified", schema.TypeBool), field("tags", schema.TypeSelect, multi(3)),
			field("team", schema.TypeRelation, to("c_teams"), multi(1)),
			field("groups", schema.TypeRelation, to("c_teams"), multi(5)),
			field("secret", schema.TypeText, func(f *schema.Field) { f.Hidden = true })}},
		"posts": {ID: "c_posts", Name: "posts", Fields: []*schema.Field{id(),
			field("title", schema.TypeText), field("views", schema.TypeNumber), field("published", schema.TypeBool),
			field("author", schema.TypeRelation, to("c_users"), multi(1)),
			field("editors", schema.TypeRelation, to("c_users"), multi(5)),
			field("labels", schema.TypeSelect, multi(3)), field("kind", schema.TypeSelect, multi(1)),
			field("data", schema.TypeJSON), field("created", schema.TypeAutodate)}},
		"comments": {ID: "c_comments", Name: "comments", Fields: []*schema.Field{id(),
			field("post", schema.TypeRelation, to("c_posts"), multi(1)), field("body", schema.TypeText),
			field("votes", schema.TypeNumber), field("likedBy", schema.TypeRelation, to("c_users"), multi(3))}},
	}
}

// declaration mirrors the SQLite store's column declarations.
func declaration(f *schema.Field) string {
	switch {
	case f.Name == "id":
		return "TEXT PRIMARY KEY NOT NULL"
	case f.Type == schema.TypeNumber:
		return "NUMERIC NOT NULL DEFAULT 0"
	case f.Type == schema.TypeBool:
		return "BOOLEAN NOT NULL DEFAULT FALSE"
	case f.IsMulti():
		return "JSON NOT NULL DEFAULT '[]'"
	case f.Type == schema.TypeJSON:
		return "TEXT DEFAULT NULL"
	}
	return "TEXT NOT NULL DEFAULT ''"
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func subset(r *rand.Rand, xs []string, max int) []string {
	out := []string{}
	for range r.IntN(max + 1) {
		out = append(out, pick(r, xs...))
	}
	return out
}

var (
	texts  = []string{"", "Hello", "hello world", "10", "a_b", "50%", "Zed", "x"}
	nums   = []float64{0, 1, 5, 10, 10.5, -3}
	labels = []string{"a", "b", "c"}
	docs   = []string{"", `{"a":1,"b":"x"}`, `{"a":"1"}`, `[1,2]`, `"str"`, `5`, `{"a":{"b":true}}`, `null`, `{"a":10.5}`}
	dates  = []string{"2024-01-05 10:00:00.000Z", "2023-12-31 23:59:59.999Z", "2024-02-29 12:30:00.000Z", ""}
)

func newFixture(t testing.TB, seed uint64) *fixture {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "diff.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db, colls: testCollections(), records: map[string][]*schema.Record{}}
	ids := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}
	teamIDs, userIDs, postIDs := ids("t", 3), ids("u", 5), ids("p", 12)
	refs := func(all []string) []string { return append(slices.Clone(all), "", "missing") }
	gen := map[string]func(*schema.Field) any{}
	value := func(c *schema.Collection, fl *schema.Field) any {
		if g, ok := gen[c.Name+"."+fl.Name]; ok {
			return g(fl)
		}
		switch fl.Type {
		case schema.TypeNumber:
			return pick(r, nums...)
		case schema.TypeBool:
			return r.IntN(2) == 0
		case schema.TypeJSON:
			d := pick(r, docs...)
			if d == "" {
				return json.RawMessage(nil)
			}
			return json.RawMessage(d)
		case schema.TypeSelect:
			if fl.IsMulti() {
				return subset(r, labels, 3)
			}
			return pick(r, append([]string{""}, labels...)...)
		case schema.TypeAutodate:
			return pick(r, dates...)
		}
		return pick(r, texts...)
	}
	gen["users.team"] = func(*schema.Field) any { return pick(r, refs(teamIDs)...) }
	gen["users.groups"] = func(*schema.Field) any { return subset(r, refs(teamIDs), 3) }
	gen["posts.author"] = func(*schema.Field) any { return pick(r, refs(userIDs)...) }
	gen["posts.editors"] = func(*schema.Field) any { return subset(r, refs(userIDs), 3) }
	gen["comments.post"] = func(*schema.Field) any { return pick(r, refs(postIDs)...) }
	gen["comments.likedBy"] = func(*schema.Field) any { return subset(r, userIDs, 3) }
	gen["users.email"] = func(*schema.Field) any { return pick(r, "a@x.io", "B@x.io", "") }
	for _, spec := range []struct {
		coll string
		ids  []string
	}{{"teams", teamIDs}, {"users", userIDs}, {"posts", postIDs}, {"comments", ids("m", 14)}} {
		c := f.colls[spec.coll]
		var cols []string
		for _, fl := range c.Fields {
			cols = append(cols, SQLite{}.Quote(fl.Name)+" "+declaration(fl))
		}
		if _, err := db.Exec("CREATE TABLE " + SQLite{}.Quote(c.Name) + " (" + strings.Join(cols, ", ") + ")"); err != nil {
			t.Fatal(err)
		}
		for _, id := range spec.ids {
			rec := &schema.Record{Collection: c, Data: map[string]any{"id": id}}
			var names, marks []string
			var args []any
			for _, fl := range c.Fields {
				if fl.Name != "id" {
					rec.Data[fl.Name] = value(c, fl)
				}
				names = append(names, SQLite{}.Quote(fl.Name))
				marks = append(marks, "?")
				args = append(args, StoredScalar(fl, rec.Data[fl.Name]).Any())
				if fl.Type == schema.TypeNumber {
					args[len(args)-1] = rec.Data[fl.Name]
				}
			}
			if _, err := db.Exec("INSERT INTO "+SQLite{}.Quote(c.Name)+" ("+strings.Join(names, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...); err != nil {
				t.Fatal(err)
			}
			f.records[c.Name] = append(f.records[c.Name], rec)
		}
	}
	return f
}

var operands = []string{
	"title", "title", "views", "views", "published", "author", "author.name", "author.age", "author.id",
	"author.team.name", "author.team.score", "editors", "editors.name", "editors.age", "editors:length",
	"editors:each", "labels", "labels:each", "labels:length", "kind", "kind:each", "kind:length",
	"data", "data.a", "data.a.b", "data.0", "data.b", "id", "created", "title:lower", "author.tags",
	"author.tags:each", "author.groups.name", "author.groups.score", "editors.groups.name",
	"comments_via_post.body", "comments_via_post.votes", "comments_via_post.likedBy.name",
	"@collection.teams.name", "@collection.teams:t.score", "@collection.comments.post",
	"@request.auth.id", "@request.auth.name", "@request.auth.team.name", "@request.auth.email",
	"@request.body.title", "@request.body.views", "@request.body.labels:each", "@request.body.labels:length",
	"@request.body.editors.name", "@request.body.title:isset", "@request.body.title:changed",
	"@request.query.q", "@request.method", "@request.body.missing",
	"author.email", "author.email", "editors.email", "editors.email", "author.email:lower",
	"comments_via_post.likedBy.email", "@collection.users.email", "@request.auth.team.name",
	"strftime('%Y', author.email)", "'a@x.io'", "'b@x.io'", "'@x'",
	"'hello'", "''", "'Hello'", "'10'", "'a'", "'a_b'", "'%ell%'", "'50%'", "'x'", "'1'",
	"10", "5", "0", "-3", "10.5", "1", "true", "false", "null", "@year", "@now", "{:p1}", "{:p2}",
	"geoDistance(views, 0, views, 0)", "strftime('%Y', created)", "strftime('%Y-%m', created, '+1 month')",
}

// geoDistance above always measures 0 km: the evaluator computes with Go's
// math.Cos, which can differ from SQLite's cos() in the last bit, and acos()
// magnifies that into the 13th digit of a distance, which = and ~ compare.

// userOperands are the operands of filters on the users collection, an auth
// collection.
var userOperands = []string{
	"email", "email", "email", "email:lower", "emailVisibility", "name", "age", "verified", "tags:each",
	"team.name", "groups.name", "posts_via_author.title", "posts_via_editors.author.email",
	"posts_via_author.editors.email", "@collection.users:u.email", "@request.auth.email", "@request.auth.id", "id",
	"strftime('%Y', email)", "geoDistance(age, age, 0, 0)",
	"'a@x.io'", "'b@x.io'", "'B@x.io'", "'@x'", "''", "'x'", "'Hello'", "'u1'", "null", "true", "false", "10", "0", "{:p1}",
}

var ops = []string{"=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?>", "?>=", "?<", "?<=", "?~", "?!~"}

func randomFilter(r *rand.Rand, depth int, operands []string) string {
	if depth > 0 && r.IntN(3) > 0 {
		n := 2 + r.IntN(2)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = randomFilter(r, depth-1, operands)
		}
		join := pick(r, " && ", " || ")
		return "(" + strings.Join(parts, join) + ")"
	}
	return pick(r, operands...) + " " + pick(r, ops...) + " " + pick(r, operands...)
}

func testSource(f *fixture) *Source {
	users := f.colls["users"]
	var auth *schema.Record
	for _, u := range f.records["users"] {
		if u.ID() == "u1" {
			auth = u
		}
	}
	auth.Collection = users
	return &Source{
		Collection: f.colls["posts"],
		Lookup:     f.lookup,
		Request: &store.Request{
			Method: "GET", Context: "default", Auth: auth,
			Body:     map[string]any{"title": "Hello", "views": 10.0, "labels": []string{"a", "b"}, "editors": []string{"u0", "u2", "missing"}},
			Existing: &schema.Record{Data: map[string]any{"title": "Hello"}},
			Query:    map[string]string{"q": "hello"},
		},
	}
}

// TestDifferential compares the compiled SQL with the in-memory evaluator on
// random filters over posts (a base collection whose relations lead to an
// auth collection) and users (an auth collection), each compiled as a trusted
// condition, as client input and as a superuser's client input, which differ
// in how they treat emails that users keep private. Some client filters come
// with a trusted rule, compiled into the same query and evaluated with
// EvalAll.
func TestDifferential(t *testing.T) {
	t.Parallel()
	n := 3000
	if testing.Short() {
		n = 300
	}
	env := filter.Env{Now: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), Params: map[string]any{"p1": "hello", "p2": 10}}
	checked, failures := 0, 0
	for seed := range uint64(3) {
		f := newFixture(t, seed)
		r := rand.New(rand.NewPCG(seed, 99))
		for i := range n / 3 {
			target, ops := "posts", operands
			if i%4 == 3 {
				target, ops = "users", userOperands
			}
			text := randomFilter(r, 2, ops)
			e, err := filter.Parse(text)
			if err != nil {
				t.Fatalf("generated filter does not parse: %q: %v", text, err)
			}
			src := testSource(f)
			src.Collection = f.colls[target]
			mode := i % 3
			client := mode > 0
			src.AllowHidden = mode == 2
			in := Input{Trusted: e}
			if client {
				in = Input{Client: e}
				if r.IntN(3) == 0 {
					ruleText := randomFilter(r, 1, ops)
					if in.Trusted, err = filter.Parse(ruleText); err != nil {
						t.Fatalf("generated filter does not parse: %q: %v", ruleText, err)
					}
					text = "rule " + ruleText + ", filter " + text
				}
			}
			q, err := Compile(SQLite{}, src, Options{Env: env}, in)
			if err != nil {
				continue // e.g. :each on a json field; the evaluator agrees via the same planner
			}
			checked++
			rows, err := f.db.Query(`SELECT "id" FROM `+SQLite{}.Quote(target)+` WHERE `+q.Where+` ORDER BY "id"`, q.Args...)
			if err != nil {
				t.Fatalf("%q: SQL error %v\n%s", text, err, q.Where)
			}
			var fromSQL []string
			for rows.Next() {
				var id string
				rows.Scan(&id)
				fromSQL = append(fromSQL, id)
			}
			rows.Close()
			var fromEval []string
			for _, rec := range f.records[target] {
				ok, err := env.EvalAll(
					filter.Part{Expr: in.Trusted, Resolver: &MemoryResolver{Source: src, Data: f, Record: rec}},
					filter.Part{Expr: in.Client, Resolver: &MemoryResolver{Source: src, Data: f, Record: rec, Client: true}})
				if err != nil {
					t.Fatalf("%q: eval error %v", text, err)
				}
				if ok {
					fromEval = append(fromEval, rec.ID())
				}
			}
			slices.Sort(fromEval)
			if !slices.Equal(fromSQL, fromEval) {
				failures++
				if failures <= 10 {
					t.Errorf("seed %d, %s, client %v, superuser %v: %q\nSQL:  %v\nEval: %v\n%s %v", seed, target, client, src.AllowHidden, text, fromSQL, fromEval, q.Where, q.Args)
				}
			}
		}
	}
	if checked < n/2 {
		t.Errorf("only %d of %d generated filters compiled", checked, n)
	}
	t.Logf("%d filters compared, %d disagreements", checked, failures)
}
