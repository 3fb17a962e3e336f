package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// benchStore returns a store with a posts collection holding n records.
func benchStore(b *testing.B, n int) (*Store, *schema.Collection) {
	b.Helper()
	s := openTest(b)
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.ID = "pbc_posts"
	c.Fields = append(c.Fields,
		&schema.Field{ID: "t", Name: "title", Type: schema.TypeText},
		&schema.Field{ID: "r", Name: "rank", Type: schema.TypeNumber},
		&schema.Field{ID: "g", Name: "tags", Type: schema.TypeSelect, MaxSelect: 3, Values: []string{"a", "b", "c"}},
	)
	c.Fields = append(c.Fields, schema.AutodateFields(false)...)
	c.Indexes = []string{"CREATE INDEX `idx_rank` ON `posts` (`rank`)"}
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			r := schema.NewRecord(c)
			r.Data["id"] = fmt.Sprintf("r%014d", i)
			r.Data["title"] = fmt.Sprintf("title %d", i)
			r.Data["rank"] = float64(i % 100)
			r.Data["tags"] = []string{"a", "b"}
			if err := tx.InsertRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, c
}

func BenchmarkFindByID(b *testing.B) {
	s, c := benchStore(b, 1000)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			q := &store.Query{Collection: c, IDs: []string{fmt.Sprintf("r%014d", i%1000)}}
			if got, err := s.FindRecords(ctx, q); err != nil || len(got) != 1 {
				b.Fatalf("FindRecords: %d, %v", len(got), err)
			}
			i++
		}
	})
}

func BenchmarkListFiltered(b *testing.B) {
	s, c := benchStore(b, 1000)
	ctx := context.Background()
	q := &store.Query{Collection: c, Filters: []string{`rank > 10 && title ~ "1"`}, Sort: "-rank,title", Limit: 30}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.FindRecords(ctx, q); err != nil {
				b.Fatal(err)
			}
			if _, err := s.CountRecords(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkInsert(b *testing.B) {
	s, c := benchStore(b, 0)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := schema.NewRecord(c)
		r.Data["id"] = fmt.Sprintf("i%014d", i)
		r.Data["title"] = "hello"
		if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, r) }); err != nil {
			b.Fatal(err)
		}
	}
}

// blogStore returns a store with the load benchmark's posts collection
// (title, body, views, published, created, updated) holding n records.
func blogStore(b *testing.B, n int) (*Store, *schema.Collection) {
	b.Helper()
	s := openTest(b)
	ctx := context.Background()
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.ID = "pbc_blog"
	c.Fields = append(c.Fields,
		&schema.Field{ID: "t", Name: "title", Type: schema.TypeText},
		&schema.Field{ID: "b", Name: "body", Type: schema.TypeText},
		&schema.Field{ID: "v", Name: "views", Type: schema.TypeNumber, OnlyInt: true},
		&schema.Field{ID: "p", Name: "published", Type: schema.TypeBool},
	)
	c.Fields = append(c.Fields, schema.AutodateFields(false)...)
	err := s.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateCollection(ctx, c); err != nil {
			return err
		}
		for i := range n {
			r := schema.NewRecord(c)
			r.Data["id"] = fmt.Sprintf("b%014d", i)
			r.Data["title"] = fmt.Sprintf("Post number %d", i)
			r.Data["body"] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt."
			r.Data["views"] = float64((i * 7919) % 1000)
			r.Data["published"] = i%2 == 0
			r.Data["created"] = "2024-05-01 10:00:00.000Z"
			r.Data["updated"] = "2024-05-01 10:00:00.000Z"
			if err := tx.InsertRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, c
}

// BenchmarkBlog measures the store's side of the load benchmark's
// scenarios over 10,000 posts: one record by id (as a view asks for it), a page of 30 in storage
// order, the total count, and the filtered and sorted page with its count.
func BenchmarkBlog(b *testing.B) {
	const n = 10000
	s, c := blogStore(b, n)
	ctx := context.Background()
	filtered := &store.Query{Collection: c, ClientFilter: "views>500 && published=true", Sort: "-views", Limit: 30}
	cases := []struct {
		name string
		run  func(i int) error
	}{
		{"find-by-id", func(i int) error {
			got, err := s.FindRecords(ctx, &store.Query{Collection: c, Filters: []string{""}, IDs: []string{fmt.Sprintf("b%014d", i%n)}, Limit: 1})
			if err == nil && len(got) != 1 {
				err = fmt.Errorf("found %d records", len(got))
			}
			return err
		}},
		{"list-page", func(int) error {
			_, err := s.FindRecords(ctx, &store.Query{Collection: c, Filters: []string{""}, Limit: 30})
			return err
		}},
		{"count", func(int) error {
			_, err := s.CountRecords(ctx, &store.Query{Collection: c, Filters: []string{""}})
			return err
		}},
		{"list-filtered", func(int) error {
			_, err := s.FindRecords(ctx, filtered)
			return err
		}},
		{"count-filtered", func(int) error {
			_, err := s.CountRecords(ctx, filtered)
			return err
		}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			defer cpuMetric(b)()
			for b.Loop() {
				if err := bc.run(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkMatchRecord measures a rule evaluated in memory against one
// record, as realtime delivery does for each subscriber.
func BenchmarkMatchRecord(b *testing.B) {
	s, c := blogStore(b, 10)
	ctx := context.Background()
	rec, err := s.FindRecords(ctx, &store.Query{Collection: c, IDs: []string{"b00000000000002"}})
	if err != nil || len(rec) != 1 {
		b.Fatal(len(rec), err)
	}
	q := &store.Query{Collection: c, Filters: []string{"published = true"}, ClientFilter: "views > 100 && title ~ 'number'"}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := s.MatchRecord(ctx, q, rec[0]); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// cpuMetric reports the process's CPU time per operation ("cpu-ns/op") of
// the loop it brackets: call it right before the loop and the returned
// function right after. On a shared machine wall time per op swings with
// other load; CPU time much less. It reads /proc/self/stat (Linux, 10 ms
// ticks: run for a second or more) and reports nothing elsewhere.
func cpuMetric(b *testing.B) func() {
	start, ok := processCPU()
	return func() {
		end, ok2 := processCPU()
		if ok && ok2 && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// processCPU returns user+system CPU time of the process in nanoseconds.
func processCPU() (int64, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (utime + stime) * int64(10*time.Millisecond), true // USER_HZ is 100
}
