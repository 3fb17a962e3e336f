package filter

import (
	"strings"
	"sync"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"a = 1",
		"title ~ 'x' && (n > -1.5 || tags:each ?= \"a\")",
		"@collection.users:u.email = @request.auth.email // c",
		"geoDistance(lon, lat, 1, 2) < 3 && strftime('%Y', created, 'start of year') = {:y}",
		`a = 'it\'s' || b = "q\"" || c = null || d = TRUE`,
		"((a = 1))",
		"a=1&&b=2||c=3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Parse(%q) error of type %T", src, err)
			}
			return
		}
		s := e.String()
		e2, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not re-parse: %v", src, s, err)
		}
		if !Equal(e, e2) {
			t.Fatalf("Parse(%q).String() = %q re-parses to %q", src, s, e2.String())
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("String not canonical: %q then %q", s, s2)
		}
		// Evaluation must not panic either, whatever the values.
		_, _ = Eval(e, ResolverFunc(func(id *Identifier) (Value, error) {
			switch len(id.Name()) % 4 {
			case 0:
				return Column(Text(id.Name()), AffinityText), nil
			case 1:
				return Column(Int(int64(len(id.Name()))), AffinityNumeric), nil
			case 2:
				return Multi(Text("a"), Null, Real(1.5)), nil
			}
			return Value{}, nil
		}))
	})
}

func FuzzParseSort(f *testing.F) {
	f.Add("-created,+title,author.name,@random")
	f.Fuzz(func(t *testing.T, src string) {
		fields, err := ParseSort(src)
		if err != nil {
			return
		}
		parts := make([]string, len(fields))
		for i, fl := range fields {
			parts[i] = fl.String()
		}
		again, err := ParseSort(strings.Join(parts, ","))
		if err != nil || len(again) != len(fields) {
			t.Fatalf("ParseSort(%q) round trip: %v", src, err)
		}
	})
}

func TestCache(t *testing.T) {
	t.Parallel()
	c := NewCache(2)
	a1, err := c.Parse("a = 1")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.Parse("a = 1")
	if a1 != a2 {
		t.Error("cached parse returned a different AST")
	}
	if _, err := c.Parse("a ="); err == nil || c.Len() != 1 {
		t.Errorf("error cached or missing: err %v, len %d", err, c.Len())
	}
	c.Parse("b = 1")
	c.Parse("a = 1") // a is now the most recent
	c.Parse("c = 1") // evicts b
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2", c.Len())
	}
	if a3, _ := c.Parse("a = 1"); a3 != a1 {
		t.Error("most recently used entry was evicted")
	}

	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				src := "x = " + strings.Repeat("1", (i+j)%5+1)
				if _, err := c.Parse(src); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if c.Len() > 2 {
		t.Errorf("Len = %d after concurrent use, want <= 2", c.Len())
	}
}

const benchFilter = `@request.auth.id != '' && (status = 'active' || status = 'pending') &&
	author.name ~ 'smith' && tags:each ?= 'go' && created >= @todayStart && n > {:min}`

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse(benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCached(b *testing.B) {
	c := NewCache(100)
	for b.Loop() {
		if _, err := c.Parse(benchFilter); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEval(b *testing.B) {
	e, _ := Parse("title ~ 'world' && n > 5 && (tags:each ?= 'b' || active = true)")
	rec := record{
		"title": text("hello world"), "n": num(10), "active": integer(1),
		"tags:each": Multi(Text("a"), Text("b")),
	}
	for b.Loop() {
		if ok, err := Eval(e, rec); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
