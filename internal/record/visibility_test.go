package record_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// countingStore counts the in-memory rule evaluations.
type countingStore struct {
	store.Store
	matches atomic.Int64
}

func (c *countingStore) MatchRecord(ctx context.Context, q *store.Query, r *schema.Record) (bool, error) {
	c.matches.Add(1)
	return c.Store.MatchRecord(ctx, q, r)
}

// TestVisibleRuleOncePerField: a visibleRule is evaluated once per field for
// a response, however many records (and expanded records) it exports.
func TestVisibleRuleOncePerField(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	posts := f.cols.Lookup("posts").Clone()
	posts.Fields = append(posts.Fields,
		&schema.Field{Name: "secret", Type: schema.TypeText, VisibleRule: `@request.auth.email = "ann@example.com"`},
		&schema.Field{Name: "draft", Type: schema.TypeText, VisibleRule: `@request.auth.id != ""`})
	posts.ListRule = schema.Rule("")
	body, err := json.Marshal(posts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cols.Update(ctx, "posts", body); err != nil {
		t.Fatalf("adding visibleRule fields: %v", err)
	}
	var ids []string
	for i := 0; i < 5; i++ {
		p := f.create(t, su(), "posts", map[string]any{"title": "p", "secret": "s", "draft": "d", "owner": f.ann.ID()})
		ids = append(ids, p.ID())
	}
	f.create(t, su(), "comments", map[string]any{"body": "c", "post": ids[0], "mentions": ids})
	cs := &countingStore{Store: f.st}
	svc := record.New(cs, f.cols, nil, time.Now, random.ID)

	for _, tt := range []struct {
		name          string
		req           *record.Request
		secret, draft bool
		matches       int64
	}{
		{"ann", as(f.ann), true, true, 2},
		{"bob", as(f.bob), false, true, 2},
		{"guest", &record.Request{Method: "GET"}, false, false, 2},
		{"superuser", su(), true, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := cs.matches.Load()
			svc.Visibility(ctx, tt.req)
			res, err := svc.List(ctx, tt.req, "posts", record.ListOptions{PerPage: 50})
			if err != nil {
				t.Fatal(err)
			}
			comments, err := svc.List(ctx, tt.req, "comments", record.ListOptions{Expand: "post,mentions"})
			if err != nil {
				t.Fatal(err)
			}
			items := append(res.Items, comments.Items...)
			if len(res.Items) != 5 || len(comments.Items) != 1 {
				t.Fatalf("listed %d posts, %d comments", len(res.Items), len(comments.Items))
			}
			for _, it := range items {
				out := record.Export(it, tt.req)
				if it.Record.Collection.Name == "comments" {
					exp := out["expand"].(map[string]any)
					out = exp["post"].(map[string]any)
					for _, m := range exp["mentions"].([]any) {
						if _, ok := m.(map[string]any)["secret"]; ok != tt.secret {
							t.Errorf("expanded mention: secret shown = %v, want %v", ok, tt.secret)
						}
					}
				}
				if _, ok := out["secret"]; ok != tt.secret {
					t.Errorf("secret shown = %v, want %v", ok, tt.secret)
				}
				if _, ok := out["draft"]; ok != tt.draft {
					t.Errorf("draft shown = %v, want %v", ok, tt.draft)
				}
				if _, ok := out["title"]; !ok {
					t.Error("title missing")
				}
			}
			if got := cs.matches.Load() - before; got != tt.matches {
				t.Errorf("%d rule evaluations for 11 exported records, want %d (once per field)", got, tt.matches)
			}
		})
	}
	// Without Visibility, rule-guarded fields are hidden (superusers aside).
	it, err := svc.View(ctx, as(f.ann), "posts", ids[0], "")
	if err != nil {
		t.Fatal(err)
	}
	if out := record.Export(it, as(f.ann)); out["secret"] != nil || out["draft"] != nil {
		t.Errorf("fields shown without a visibility check: %v", out)
	}
	// A client filter or sort may not read a field the caller cannot see.
	bob := as(f.bob)
	svc.Visibility(ctx, bob)
	for _, opts := range []record.ListOptions{{Filter: `secret = "s"`}, {Sort: "-secret"}, {Filter: `title = "p" && secret:lower != ""`}} {
		if _, err := svc.List(ctx, bob, "posts", opts); err == nil {
			t.Errorf("bob listed posts with %+v", opts)
		}
	}
	ann := as(f.ann)
	svc.Visibility(ctx, ann)
	if res, err := svc.List(ctx, ann, "posts", record.ListOptions{Filter: `secret = "s"`, Sort: "-secret"}); err != nil || len(res.Items) != 5 {
		t.Errorf("ann filtering by secret: %v", err)
	}
}
