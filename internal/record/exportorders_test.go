package record

import (
	"fmt"
	"slices"
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
)

// The key orders an Exporter of a Service remembers follow a collection
// that changes (a new *schema.Collection), and stay bounded.
func TestExportOrdersFollowNewCollections(t *testing.T) {
	t.Parallel()
	s := &Service{}
	keysOf := func(c *schema.Collection) []string {
		r := schema.NewRecord(c)
		r.Data["id"] = "a00000000000001"
		var keys []string
		err := s.NewExporter(nil).Each(&Item{Record: r}, func(key string, _ any) error {
			keys = append(keys, key)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.ID = "pbc_posts"
	c.Fields = append(c.Fields, &schema.Field{ID: "t", Name: "title", Type: schema.TypeText})
	if got, want := keysOf(c), []string{"collectionId", "collectionName", "id", "title"}; !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	next := c.Clone()
	next.Fields = append(next.Fields, &schema.Field{ID: "a", Name: "author", Type: schema.TypeText},
		&schema.Field{ID: "s", Name: "secret", Type: schema.TypeText, Hidden: true})
	if got, want := keysOf(next), []string{"author", "collectionId", "collectionName", "id", "title"}; !slices.Equal(got, want) {
		t.Fatalf("keys after the change %v, want %v (the hidden field left out)", got, want)
	}
	if got, want := keysOf(c), []string{"collectionId", "collectionName", "id", "title"}; !slices.Equal(got, want) {
		t.Fatalf("keys of the old collection %v, want %v", got, want)
	}
	for i := range 2 * maxExportOrders {
		other := c.Clone()
		other.Name = fmt.Sprintf("c%d", i)
		keysOf(other)
	}
	if n := len(s.exportOrders.keys); n > maxExportOrders {
		t.Errorf("%d key orders kept, want at most %d", n, maxExportOrders)
	}
}
