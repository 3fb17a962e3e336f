package function

import (
	"context"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// BenchmarkNoopBeforeHook measures what a no-op before-create hook adds to
// a create: one invocation with the event built and read back.
func BenchmarkNoopBeforeHook(b *testing.B) {
	dir := b.TempDir()
	writeFile(b, dir, "a.js", `basalt.beforeCreate("posts", () => {});`)
	s := New(Options{Dir: dir, TimeLimit: time.Second, PoolSize: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx); err != nil {
		b.Fatal(err)
	}
	c := &schema.Collection{ID: "pbc_posts", Name: "posts", Fields: []*schema.Field{
		{Name: "id", Type: schema.TypeText}, {Name: "title", Type: schema.TypeText},
		{Name: "views", Type: schema.TypeNumber}, {Name: "published", Type: schema.TypeBool},
	}}
	r := schema.NewRecord(c)
	r.Data["id"], r.Data["title"], r.Data["views"] = "abc123def456ghi", "Hello world", float64(3)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Before(ctx, &record.HookEvent{Action: store.ActionCreate, Collection: c, Request: &record.Request{}, Record: r}); err != nil {
			b.Fatal(err)
		}
	}
}
