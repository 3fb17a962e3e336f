package realtime

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// TestVisibleRulePayloads: a field with a visibleRule is in a subscriber's
// payload only when the subscriber's auth satisfies the rule.
func TestVisibleRulePayloads(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ctx := context.Background()
	posts := f.cols.Lookup("posts").Clone()
	posts.Fields = append(posts.Fields, &schema.Field{Name: "secret", Type: schema.TypeText, VisibleRule: `@request.auth.name = "ann"`})
	body, err := json.Marshal(posts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.cols.Update(ctx, "posts", body); err != nil {
		t.Fatalf("adding a visibleRule field: %v", err)
	}
	p := f.createPost("ann", "hello")
	f.deliver()
	topic := "posts/" + p.ID()
	streams := map[string]*stream{}
	for _, who := range []string{"ann", "bob", "su", ""} {
		streams[who] = f.connect()
		f.mustSubscribe(streams[who], who, topic+"?expand=owner")
	}
	f.write(func(ctx context.Context) (*record.Item, error) {
		return f.records.Update(ctx, su(), "posts", p.ID(), record.Input{Data: map[string]any{"secret": "s3"}}, "")
	})
	f.deliver()
	for who, sees := range map[string]bool{"ann": true, "su": true, "bob": false, "": false} {
		got := expect(t, streams[who], topic+"?expand=owner", "update", p.ID())
		if v, ok := got.Record["secret"]; ok != sees || (ok && v != "s3") {
			t.Errorf("%q: secret = %v (present %v), want present %v", who, v, ok, sees)
		}
		if got.Record["title"] != "hello" {
			t.Errorf("%q: title = %v", who, got.Record["title"])
		}
	}
}
