package sqlfilter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store/postgres/pgtest"
)

// pgFixture copies f's tables and records into a fresh PostgreSQL database,
// laid out by PostgresColumn.
func pgFixture(t testing.TB, f *fixture) *pgx.Conn {
	t.Helper()
	return pgFixtureAt(t, f, pgtest.NewDatabase(t))
}

// icuDatabase creates a database whose default collation is ICU's en-US,
// as on many servers, where 'B' < 'a' is false and text must be compared
// under "C" explicitly; it is dropped when t ends.
func icuDatabase(t testing.TB) string {
	t.Helper()
	server := pgtest.ServerURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("basalt_test_icu_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"); err != nil {
		t.Fatalf("create ICU database: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), server)
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// pgFixtureAt is pgFixture in the database at dsn.
func pgFixtureAt(t testing.TB, f *fixture, dsn string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// As the store's pool should (see PostgresJIT): the planner's
	// estimates for JSON arrays (100 items each) push joined filters past
	// jit_above_cost, and compiling them takes seconds.
	cfg.RuntimeParams["jit"] = PostgresJIT
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	pg := Postgres{}
	names := make([]string, 0, len(f.colls))
	for name := range f.colls {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := f.colls[name]
		cols := []string{PostgresRowIDColumn}
		for _, fl := range c.Fields {
			cols = append(cols, pg.Quote(fl.Name)+" "+PostgresColumn(fl))
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE "+pg.Quote(c.Name)+" ("+strings.Join(cols, ", ")+")"); err != nil {
			t.Fatal(err)
		}
		for _, rec := range f.records[name] {
			var cols, marks []string
			var args []any
			for i, fl := range c.Fields {
				cols = append(cols, pg.Quote(fl.Name))
				mark := pg.Placeholder(i + 1)
				v := rec.Data[fl.Name]
				switch {
				case fl.Type == schema.TypeJSON:
					mark = "CAST(" + mark + " AS json)"
					raw, _ := v.(json.RawMessage)
					if raw == nil {
						v = nil
					} else {
						v = string(raw)
					}
				case fl.IsMulti():
					mark = "CAST(" + mark + " AS jsonb)"
					list := schema.AsStrings(v)
					if list == nil {
						list = []string{}
					}
					b, _ := json.Marshal(list)
					v = string(b)
				}
				marks = append(marks, mark)
				args = append(args, v)
			}
			if _, err := conn.Exec(ctx, "INSERT INTO "+pg.Quote(c.Name)+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")", args...); err != nil {
				t.Fatalf("insert into %s: %v", c.Name, err)
			}
		}
	}
	return conn
}

func sqliteIDs(t testing.TB, f *fixture, target string, q *Query, order string) []string {
	t.Helper()
	where := q.Where
	if where == "" {
		where = "1=1"
	}
	if order == "" {
		order = `"id"`
	}
	rows, err := f.db.Query(`SELECT "id" FROM `+SQLite{}.Quote(target)+` WHERE `+where+` ORDER BY `+order, q.Args...)
	if err != nil {
		t.Fatalf("SQLite error %v\n%s", err, where)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func pgIDs(conn *pgx.Conn, target string, q *Query, order string) ([]string, error) {
	where := q.Where
	if where == "" {
		where = "TRUE"
	}
	if order == "" {
		order = `"id"`
	}
	rows, err := conn.Query(context.Background(), `SELECT "id" FROM `+Postgres{}.Quote(target)+` WHERE `+where+` ORDER BY `+order, q.Args...)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, err
}

// pgOperands add to the operands of TestDifferential what sets PostgreSQL
// apart: text against numbers (SQLite's affinities), values of JSON
// documents against columns, text conversions of numbers (LIKE, :lower),
// more of strftime(), and a LIKE pattern ending in a lone escape character
// ({:p3}).
var pgOperands = []string{
	"data.a:lower", "data:lower", "labels:lower", "editors.name:lower", "views:lower", "author.age:lower",
	"data.a.b:lower", "published:lower", "data.1", "data.a.0",
	"'10.0'", "'5'", "' 5 '", "'1e1'", "'abc'", "'-3'", "10.0", "-0", "0.00001", "'true'", "'{\"a\":1}'", "'[1,2]'",
	`"a\_b"`, `"50\%"`, "{:p3}", "{:p4}", "{:p5}", "@month", "@todayStart", "@yesterday",
	"strftime('%Y-%m-%d %H:%M:%S', created)", "strftime('%j %w %s %f', created, 'start of month', '+1 day')",
	"strftime('%Y', created, 'weekday 0', '-2 years')", "strftime('%s', views, 'unixepoch')",
	"strftime('%Y-%m-%d %H:%M:%f', data.a, 'unixepoch')", "strftime('%Y', 2460000.5)", "strftime('%d %H', '2024-01-31T10:00Z', '+1 month')",
	"strftime('%Y-%m-%d %H:%M', '2024-01-31 23:00:00.5+02:00', '+1 months', 'start of day', '+36 hours')",
	"strftime('%Y', '2023-02-29 24:00', '+1 year')", "strftime('%m', '2024-01-05 ', 'utc')", "strftime('%%%Y', created, 'start of year', '-1 second')",
	"geoDistance(data.a, 0, 0, 0)", "geoDistance({:p4}, views, 2, 3)",
}

// pgUserOperands are pgOperands for the users collection.
var pgUserOperands = []string{
	"name:lower", "age:lower", "tags:lower", "team.score", "groups.score", "'10.0'", "' 5 '", "'abc'", "10.0",
	"{:p3}", "{:p4}", `"a\_b"`, "strftime('%Y', email, '+1 day')", "strftime('%s', age, 'unixepoch', 'start of day')", "posts_via_author.data.a", "posts_via_author.created",
}

// TestDifferentialPostgres runs the generated filters of TestDifferential on
// PostgreSQL over the same data (tables laid out by PostgresColumn) and
// compares each result set with SQLite's and the in-memory evaluator's. The
// third seed runs on a database with an ICU en-US default collation.
func TestDifferentialPostgres(t *testing.T) {
	t.Parallel()
	n := 3000
	if testing.Short() {
		n = 300
	}
	env := filter.Env{Now: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), Params: map[string]any{"p1": "hello", "p2": 10, "p3": `x%\`, "p4": " 5 ", "p5": 10.5}}
	postOps := slices.Concat(operands, pgOperands)
	userOps := slices.Concat(userOperands, pgUserOperands)
	checked, failures := 0, 0
	for seed := range uint64(3) {
		f := newFixture(t, seed)
		var conn *pgx.Conn
		if seed == 2 {
			conn = pgFixtureAt(t, f, icuDatabase(t))
		} else {
			conn = pgFixture(t, f)
		}
		r := rand.New(rand.NewPCG(seed, 99))
		for i := range n / 3 {
			target, ops := "posts", postOps
			if i%4 == 3 {
				target, ops = "users", userOps
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
			lite, err := Compile(SQLite{}, src, Options{Env: env}, in)
			if err != nil {
				continue
			}
			q, err := Compile(Postgres{}, src, Options{Env: env}, in)
			if err != nil {
				t.Fatalf("%q compiles for SQLite but not for PostgreSQL: %v", text, err)
			}
			checked++
			fromSQLite := sqliteIDs(t, f, target, lite, "")
			start := time.Now()
			fromPG, err := pgIDs(conn, target, q, "")
			if d := time.Since(start); d > 300*time.Millisecond && os.Getenv("BASALT_DIFF_SLOW") != "" {
				t.Logf("slow (%v): %q", d, text)
			}
			if err != nil {
				failures++
				if failures <= 10 {
					t.Errorf("seed %d: %q: PostgreSQL error %v\n%s %v", seed, text, err, q.Where, q.Args)
				}
				continue
			}
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
			if !slices.Equal(fromPG, fromEval) || !slices.Equal(fromPG, fromSQLite) {
				failures++
				if failures <= 10 {
					t.Errorf("seed %d, %s, client %v, superuser %v: %q\nPostgreSQL: %v\nSQLite:     %v\nEval:       %v\n%s %v",
						seed, target, client, src.AllowHidden, text, fromPG, fromSQLite, fromEval, shorten(q.Where), q.Args)
				}
			}
		}
	}
	if checked < n/2 {
		t.Errorf("only %d of %d generated filters compiled", checked, n)
	}
	t.Logf("%d filters compared on PostgreSQL, SQLite and the evaluator: %d disagreements", checked, failures)
}

// shorten keeps a failure message readable.
func shorten(sql string) string {
	if len(sql) > 3000 {
		return sql[:3000] + "…"
	}
	return sql
}

// TestSortPostgres compares the order of sorted list queries on PostgreSQL
// and SQLite over the same data: NULLs first, numbers before text, text
// bytewise, relation paths, JSON values and @rowid.
func TestSortPostgres(t *testing.T) {
	t.Parallel()
	sorts := map[string][]string{
		"posts": {"title", "-title", "views", "-views", "published", "author.name", "-author.team.name", "author.team.score",
			"data.a", "-data.a", "data", "-data", "data.a.b", "data.0", "data.b", "created", "-created", "title:lower", "-data.a:lower",
			"labels:length", "-editors:length", "kind", "kind:length", "author", "author.email", "-author.age", "@rowid", "-@rowid",
			"title,-views", "published,-data.a,views", "-author.email:lower,title"},
		"users": {"email", "-email", "name,-age", "team.name", "verified,-emailVisibility", "tags:length", "-@rowid"},
	}
	for run := range 6 {
		// Every seed on a default database and on an ICU en-US one.
		seed := uint64(run / 2)
		f := newFixture(t, seed)
		conn := pgFixture(t, f)
		if run%2 == 1 {
			conn = pgFixtureAt(t, f, icuDatabase(t))
		}
		for target, list := range sorts {
			for _, text := range list {
				sort, err := filter.ParseSort(text)
				if err != nil {
					t.Fatalf("%q: %v", text, err)
				}
				src := testSource(f)
				src.Collection = f.colls[target]
				lite, err := Compile(SQLite{}, src, Options{}, Input{Sort: sort})
				if err != nil {
					t.Fatalf("%q: %v", text, err)
				}
				q, err := Compile(Postgres{}, src, Options{}, Input{Sort: sort})
				if err != nil {
					t.Fatalf("%q: %v", text, err)
				}
				want := sqliteIDs(t, f, target, lite, lite.OrderBy+`, "id"`)
				got, err := pgIDs(conn, target, q, q.OrderBy+`, "id"`)
				if err != nil {
					t.Fatalf("seed %d, %s sorted by %q: %v\n%s", seed, target, text, err, q.OrderBy)
				}
				if !slices.Equal(got, want) {
					t.Errorf("seed %d, %s sorted by %q:\nPostgreSQL: %v\nSQLite:     %v\n%s", seed, target, text, got, want, q.OrderBy)
				}
			}
		}
		// @random only has to run.
		sort, _ := filter.ParseSort("@random")
		q, err := Compile(Postgres{}, testSource(f), Options{}, Input{Sort: sort})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pgIDs(conn, "posts", q, q.OrderBy); err != nil {
			t.Fatal(err)
		}
	}
}

// TestGoldenPostgresRuns runs every golden case's PostgreSQL query, so the
// golden file holds SQL that PostgreSQL accepts.
func TestGoldenPostgresRuns(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	conn := pgFixture(t, f)
	cases, pgCases := goldenCases()
	for _, tc := range slices.Concat(cases, pgCases) {
		src := testSource(f)
		q := tc.compile(t, Postgres{}, src)
		order := `"id"`
		if q.OrderBy != "" {
			order = q.OrderBy + `, "id"`
		}
		if _, err := pgIDs(conn, src.Collection.Name, q, order); err != nil {
			t.Errorf("%+v: %v\n%s", tc, err, q.Where)
		}
	}
}

// FuzzPostgres runs fuzzed filters on PostgreSQL, SQLite and the evaluator
// over the fixture's data: PostgreSQL must never fail at run time (strict
// typing turns SQLite's silent conversions into errors) and must agree with
// the other two wherever they agree with each other.
func FuzzPostgres(f *testing.F) {
	for _, s := range slices.Concat(operands, pgOperands) {
		f.Add(s + " > 'x' || " + s + " ?~ 5")
	}
	fx := newFixture(f, 7)
	conn := pgFixture(f, fx)
	env := filter.Env{Now: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), Params: map[string]any{"p1": "hello", "p2": 10, "p3": `x%\`, "p4": " 5 ", "p5": 10.5}}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := filter.Parse(text)
		if err != nil {
			return
		}
		src := testSource(fx)
		in := Input{Client: e}
		lite, err := Compile(SQLite{}, src, Options{Env: env}, in)
		if err != nil {
			return
		}
		q, err := Compile(Postgres{}, src, Options{Env: env}, in)
		if err != nil {
			if textError(err) {
				return
			}
			t.Fatalf("%q compiles for SQLite but not for PostgreSQL: %v", text, err)
		}
		fromPG, err := pgIDs(conn, "posts", q, "")
		if err != nil {
			t.Fatalf("%q: PostgreSQL error %v\n%s %v", text, err, shorten(q.Where), q.Args)
		}
		fromSQLite := sqliteIDs(t, fx, "posts", lite, "")
		var fromEval []string
		for _, rec := range fx.records["posts"] {
			ok, err := env.Eval(e, &MemoryResolver{Source: src, Data: fx, Record: rec, Client: true})
			if err != nil {
				return // e.g. a multi value as a function argument
			}
			if ok {
				fromEval = append(fromEval, rec.ID())
			}
		}
		slices.Sort(fromEval)
		if slices.Equal(fromSQLite, fromEval) && !slices.Equal(fromPG, fromEval) {
			t.Fatalf("%q:\nPostgreSQL: %v\nSQLite and evaluator: %v\n%s %v", text, fromPG, fromEval, shorten(q.Where), q.Args)
		}
	})
}

// textError reports whether err is the *Error of text PostgreSQL cannot
// take (invalid UTF-8, NUL characters).
func textError(err error) bool {
	var ce *Error
	return errors.As(err, &ce) && strings.Contains(ce.Msg, "not valid UTF-8")
}

// TestPostgresExtremeValues checks values that PostgreSQL's casts reject
// and SQLite takes: numbers beyond double precision in JSON documents and
// in text compared with numbers. The queries must run and agree with
// SQLite.
func TestPostgresExtremeValues(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 0)
	docs := []string{`{"a":1e400,"b":"1e999","c":-1e-400}`, `{"a":-1e400,"b":" -2.5e00001 ","c":0.0000001}`, `{"a":123456789012345678901,"b":"1e-99999","c":1.5}`}
	for i, doc := range docs {
		rec := f.records["posts"][i]
		rec.Data["data"] = json.RawMessage(doc)
		rec.Data["title"] = []string{"1e999", "-1E+400", " 12e00003 "}[i]
		if _, err := f.db.Exec(`UPDATE "posts" SET "data" = ?, "title" = ? WHERE "id" = ?`, doc, rec.Data["title"], rec.ID()); err != nil {
			t.Fatal(err)
		}
	}
	conn := pgFixture(t, f)
	for _, text := range []string{
		"data.a > 5", "data.a < 0", "data.a = title", "views < data.b", "views > title", "title = views", "data.c = 0",
		"data.a ~ 'Inf'", "data.a:lower ~ 'inf'", "data.b > 1", "published = data.b", "data.c ~ 'e-07'", "data.a ~ '1.23'",
		"geoDistance(data.a, 0, 0, 0) != null", "geoDistance(title, 0, 0, 0) > 1", "strftime('%Y', data.b) = '2024'", "strftime('%s', data.a, 'unixepoch') != ''",
		"strftime('%Y', data.c, 'unixepoch') = '1970'", "views >= data.a.b || data.a.0 = 1",
	} {
		e, err := filter.Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		src := testSource(f)
		lite, err := Compile(SQLite{}, src, Options{}, Input{Trusted: e})
		if err != nil {
			t.Fatal(err)
		}
		q, err := Compile(Postgres{}, src, Options{}, Input{Trusted: e})
		if err != nil {
			t.Fatal(err)
		}
		got, err := pgIDs(conn, "posts", q, "")
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if want := sqliteIDs(t, f, "posts", lite, ""); !slices.Equal(got, want) {
			t.Errorf("%q:\nPostgreSQL: %v\nSQLite:     %v", text, got, want)
		}
	}
}
