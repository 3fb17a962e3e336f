package sqlfilter

import (
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/filter"
)

// benchFilters are a list request's rule and client filter: a plain one (the
// load benchmark's filtered list) and one that walks relations and reads the
// request.
var benchFilters = []struct {
	name, rule, client, sort string
}{
	{"plain", "", "views>500 && published=true", "-views"},
	{"relations", "@request.auth.id != '' && (author = @request.auth.id || editors ?= @request.auth.id)",
		"author.name ~ 'smith' && labels:each ?= 'a' && created >= @todayStart", "-created,title"},
}

// BenchmarkCompile measures a list query's filter and sort from source text
// to SQL: parsed every time (uncached), or parsed once and only compiled
// (cached), as the store does with its filter cache.
func BenchmarkCompile(b *testing.B) {
	src := goldenSource()
	opts := Options{Env: filter.Env{Now: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)}}
	for _, bf := range benchFilters {
		compile := func(b *testing.B, parse func(string) (filter.Expr, error)) {
			in := Input{}
			var err error
			if bf.rule != "" {
				if in.Trusted, err = parse(bf.rule); err != nil {
					b.Fatal(err)
				}
			}
			if in.Client, err = parse(bf.client); err != nil {
				b.Fatal(err)
			}
			if in.Sort, err = filter.ParseSort(bf.sort); err != nil {
				b.Fatal(err)
			}
			if _, err := Compile(SQLite{}, src, opts, in); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(bf.name+"/uncached", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				compile(b, filter.Parse)
			}
		})
		b.Run(bf.name+"/cached", func(b *testing.B) {
			cache := filter.NewCache(16)
			b.ReportAllocs()
			for b.Loop() {
				compile(b, cache.Parse)
			}
		})
		b.Run(bf.name+"/cached/postgres", func(b *testing.B) {
			cache := filter.NewCache(16)
			in := Input{}
			var err error
			if bf.rule != "" {
				if in.Trusted, err = cache.Parse(bf.rule); err != nil {
					b.Fatal(err)
				}
			}
			if in.Client, err = cache.Parse(bf.client); err != nil {
				b.Fatal(err)
			}
			if in.Sort, err = filter.ParseSort(bf.sort); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compile(Postgres{}, src, opts, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemoryEval measures rule evaluation in memory (how realtime
// decides who sees a change): a rule and a client filter against one record,
// relations resolved from the fixture's records.
func BenchmarkMemoryEval(b *testing.B) {
	f := newFixture(b, 1)
	src := testSource(f)
	env := filter.Env{Now: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)}
	rec := f.records["posts"][0]
	for _, bf := range benchFilters {
		b.Run(bf.name, func(b *testing.B) {
			var rule filter.Expr
			var err error
			if bf.rule != "" {
				if rule, err = filter.Parse(bf.rule); err != nil {
					b.Fatal(err)
				}
			}
			client, err := filter.Parse(bf.client)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, err := env.EvalAll(
					filter.Part{Expr: rule, Resolver: &MemoryResolver{Source: src, Data: f, Record: rec}},
					filter.Part{Expr: client, Resolver: &MemoryResolver{Source: src, Data: f, Record: rec, Client: true}})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
