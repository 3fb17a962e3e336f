package record_test

import (
	"context"
	"regexp"
	"testing"
)

// TestRecordIDs checks where the ids of new records come from: the
// service's generator for the default id field, the collection's own
// autogeneratePattern when it set one, and the client when it sent one.
func TestRecordIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.cols.Create(ctx, []byte(`{"name":"codes","createRule":"","viewRule":"","fields":[
		{"name":"id","type":"text","primaryKey":true,"required":true,"min":12,"max":12,"pattern":"^[A-Z]+$","autogeneratePattern":"[A-Z]{12}"},
		{"name":"title","type":"text"}]}`)); err != nil {
		t.Fatalf("creating collection: %v", err)
	}
	for _, tc := range []struct {
		name, coll string
		data       map[string]any
		want       *regexp.Regexp
	}{
		// newFixture's generator is random.ID: 15 characters of [a-z0-9].
		{"default pattern", "posts", map[string]any{"title": "a"}, regexp.MustCompile(`^[a-z0-9]{15}$`)},
		{"own pattern", "codes", map[string]any{"title": "a"}, regexp.MustCompile(`^[A-Z]{12}$`)},
		{"client id", "codes", map[string]any{"id": "ABCDEFGHIJKL", "title": "a"}, regexp.MustCompile(`^ABCDEFGHIJKL$`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.create(t, su(), tc.coll, tc.data)
			if !tc.want.MatchString(r.ID()) {
				t.Fatalf("id %q does not match %s", r.ID(), tc.want)
			}
		})
	}
}
