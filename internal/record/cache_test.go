package record_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
	"github.com/basalt-dev/basalt/internal/store/versioned"
)

// cached is a record service with a read cache over a versioned SQLite
// store, and a public "notes" collection (n, a number; secret, hidden).
type cached struct {
	cols    *collection.Service
	records *record.Service
	cache   *record.ReadCache
}

func newCached(t *testing.T, maxRecords int) *cached {
	t.Helper()
	ctx := context.Background()
	inner, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inner.Close() })
	st := versioned.Wrap(inner)
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	c := &cached{cols: cols, records: record.New(st, cols, nil, time.Now, random.ID),
		cache: record.NewReadCache(st.Version, maxRecords)}
	c.records.Cache = c.cache
	if _, err := cols.Create(ctx, []byte(`{"name":"notes","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[{"name":"n","type":"number"},{"name":"secret","type":"text","hidden":true}]}`)); err != nil {
		t.Fatal(err)
	}
	return c
}

func guest() *record.Request { return &record.Request{Method: "GET"} }

func (c *cached) view(t *testing.T, req *record.Request, id string) map[string]any {
	t.Helper()
	it, err := c.records.View(context.Background(), req, "notes", id, "")
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return record.Export(it, req)
}

func (c *cached) hits() uint64 { h, _ := c.cache.Stats(); return h }

func TestReadCacheServesRepeatsAndNeverAnOlderWrite(t *testing.T) {
	c := newCached(t, 1000)
	ctx := context.Background()
	it, err := c.records.Create(ctx, su(), "notes", record.Input{Data: map[string]any{"n": 1, "secret": "s1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := it.Record.ID()

	c.view(t, guest(), id)
	h := c.hits()
	got := c.view(t, guest(), id)
	if c.hits() != h+1 {
		t.Fatalf("a repeated public view did not come from the cache (hits %d → %d)", h, c.hits())
	}
	if got["n"] != 1.0 {
		t.Fatalf("cached view n = %v", got["n"])
	}
	// What each caller may see is still decided per request.
	if _, ok := got["secret"]; ok {
		t.Fatal("a guest saw a hidden field through the cache")
	}
	if c.view(t, su(), id)["secret"] != "s1" {
		t.Fatal("a superuser lost a hidden field through the cache")
	}

	// An acknowledged update is visible to the very next read.
	if _, err := c.records.Update(ctx, su(), "notes", id, record.Input{Data: map[string]any{"n": 2}}, ""); err != nil {
		t.Fatal(err)
	}
	if n := c.view(t, guest(), id)["n"]; n != 2.0 {
		t.Fatalf("view after an update: n = %v, want 2", n)
	}
	// So is a delete.
	if err := c.records.Delete(ctx, su(), "notes", id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.records.View(ctx, guest(), "notes", id, ""); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("view after a delete: %v, want NotFound", err)
	}
}

func TestReadCacheFollowsRuleChanges(t *testing.T) {
	c := newCached(t, 1000)
	ctx := context.Background()
	it, err := c.records.Create(ctx, su(), "notes", record.Input{Data: map[string]any{"n": 1}}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := it.Record.ID()
	c.view(t, guest(), id)
	c.view(t, guest(), id)
	if _, err := c.records.List(ctx, guest(), "notes", record.ListOptions{}); err != nil {
		t.Fatal(err)
	}

	notes := c.cols.Lookup("notes")
	if _, err := c.cols.Update(ctx, notes.ID, []byte(`{"viewRule":"n > 5","listRule":null}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.records.View(ctx, guest(), "notes", id, ""); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("view after the rule became n > 5: %v, want NotFound", err)
	}
	if _, err := c.records.List(ctx, guest(), "notes", record.ListOptions{}); apperr.CodeOf(err) != apperr.Forbidden {
		t.Fatalf("list after the rule became superusers-only: %v, want Forbidden", err)
	}
}

func TestReadCacheListPages(t *testing.T) {
	c := newCached(t, 1000)
	ctx := context.Background()
	for i := range 5 {
		if _, err := c.records.Create(ctx, su(), "notes", record.Input{Data: map[string]any{"n": i}}, ""); err != nil {
			t.Fatal(err)
		}
	}
	opts := record.ListOptions{Filter: "n >= 2", Sort: "-n", PerPage: 2}
	list := func() (*record.ListResult, error) { return c.records.List(ctx, guest(), "notes", opts) }
	first, err := list()
	if err != nil {
		t.Fatal(err)
	}
	h := c.hits()
	again, err := list()
	if err != nil {
		t.Fatal(err)
	}
	if c.hits() != h+1 || again.TotalItems != 3 || len(again.Items) != 2 || again.Items[0].Record.ID() != first.Items[0].Record.ID() {
		t.Fatalf("repeated list: hits %d → %d, total %d, %d items", h, c.hits(), again.TotalItems, len(again.Items))
	}
	// Another page, filter or page size is another entry.
	opts.Page = 2
	if p2, err := list(); err != nil || len(p2.Items) != 1 || p2.Items[0].Record.Data["n"] != 2.0 {
		t.Fatalf("page 2: %v %+v", err, p2)
	}
	if _, err := c.records.Create(ctx, su(), "notes", record.Input{Data: map[string]any{"n": 9}}, ""); err != nil {
		t.Fatal(err)
	}
	opts.Page = 1
	after, err := list()
	if err != nil {
		t.Fatal(err)
	}
	if after.TotalItems != 4 || after.Items[0].Record.Data["n"] != 9.0 {
		t.Fatalf("list after a create: total %d, first n %v", after.TotalItems, after.Items[0].Record.Data["n"])
	}
	// Superusers' lists are not cached (their filters may read @request).
	h = c.hits()
	for range 2 {
		if _, err := c.records.List(ctx, su(), "notes", opts); err != nil {
			t.Fatal(err)
		}
	}
	if c.hits() != h {
		t.Fatal("a superuser's list came from the cache")
	}
}

func TestReadCacheStaysWithinItsBound(t *testing.T) {
	c := newCached(t, 3)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		it, err := c.records.Create(ctx, su(), "notes", record.Input{Data: map[string]any{"n": i}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.Record.ID())
	}
	for _, id := range ids {
		c.view(t, guest(), id)
	}
	// A page larger than the whole cache is never kept.
	for range 2 {
		if _, err := c.records.List(ctx, guest(), "notes", record.ListOptions{PerPage: 5}); err != nil {
			t.Fatal(err)
		}
	}
	h := c.hits()
	for _, id := range ids {
		if got := c.view(t, guest(), id)["n"]; got == nil {
			t.Fatalf("view %s lost its data", id)
		}
	}
	if hit := c.hits() - h; hit > 3 {
		t.Fatalf("%d of 5 views hit a cache bounded to 3 records", hit)
	}
}

// A working set a little larger than the cache still mostly hits: a full
// cache evicts some entries, not all of them.
func TestReadCacheEvictsPartly(t *testing.T) {
	c := newCached(t, 100)
	ctx := context.Background()
	var ids []string
	for i := range 110 {
		it, err := c.records.Create(ctx, su(), "notes", record.Input{Data: map[string]any{"n": i}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.Record.ID())
	}
	for _, id := range ids {
		c.view(t, guest(), id)
	}
	h := c.hits()
	const views = 1100
	for i := range views {
		id := ids[(i*37)%len(ids)]
		if got := c.view(t, guest(), id)["id"]; got != id {
			t.Fatalf("view %s gave %v", id, got)
		}
	}
	if hit := c.hits() - h; hit < views*7/10 {
		t.Fatalf("%d of %d views hit a cache of 100 records over 110: want at least 70%%", hit, views)
	}
}

// TestReadCacheUnderConcurrentWrites has writers bump counters while
// readers view them: a reader that starts after a write was acknowledged
// must see at least that value. Run with -race.
func TestReadCacheUnderConcurrentWrites(t *testing.T) {
	c := newCached(t, 1000)
	ctx := context.Background()
	const counters, writes = 4, 40
	ids := make([]string, counters)
	acked := make([]struct {
		sync.Mutex
		n int
	}, counters)
	for i := range ids {
		it, err := c.records.Create(ctx, su(), "notes", record.Input{Data: map[string]any{"n": 0}}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = it.Record.ID()
	}
	var wg sync.WaitGroup
	for i := range counters {
		wg.Go(func() {
			for w := 1; w <= writes; w++ {
				if _, err := c.records.Update(ctx, su(), "notes", ids[i], record.Input{Data: map[string]any{"n": w}}, ""); err != nil {
					t.Errorf("update: %v", err)
					return
				}
				acked[i].Lock()
				acked[i].n = w
				acked[i].Unlock()
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			for k := 0; k < 200; k++ {
				i := (k + r) % counters
				acked[i].Lock()
				floor := acked[i].n
				acked[i].Unlock()
				it, err := c.records.View(ctx, guest(), "notes", ids[i], "")
				if err != nil {
					t.Errorf("view: %v", err)
					return
				}
				got, _ := strconv.Atoi(fmt.Sprint(it.Record.Data["n"]))
				if got < floor {
					t.Errorf("read n = %d after the write of %d was acknowledged", got, floor)
					return
				}
			}
		})
	}
	wg.Wait()
}
