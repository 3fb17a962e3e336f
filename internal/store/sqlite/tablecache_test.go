package sqlite

import (
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
)

func TestTableCacheFollowsChangesInPlace(t *testing.T) {
	t.Parallel()
	tc := newTableCache()
	c := schema.NewCollection(schema.TypeBase, "notes", nil)
	c.Fields = append(c.Fields, &schema.Field{Name: "tags", Type: schema.TypeSelect, MaxSelect: 1})
	first, err := tc.tableOf(c)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := tc.tableOf(c); again != first {
		t.Error("unchanged collection: layout built again, want the cached one")
	}
	wantSame := func(what string) {
		t.Helper()
		got, err := tc.tableOf(c)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want, _ := tableOf(c)
		if got.name != want.name || got.list != want.list || got.quoted != want.quoted || len(got.cols) != len(want.cols) {
			t.Fatalf("%s: cached layout %+v, want %+v", what, got, want)
		}
		for i := range got.cols {
			if got.cols[i].field != want.cols[i].field || got.cols[i].kind != want.cols[i].kind || got.cols[i].name != want.cols[i].name {
				t.Fatalf("%s: column %d = %+v, want %+v", what, i, got.cols[i], want.cols[i])
			}
		}
	}
	c.Fields[len(c.Fields)-1].MaxSelect = 3 // now multi-valued
	wantSame("field made multi-valued")
	c.Fields[len(c.Fields)-1].Name = "labels"
	wantSame("field renamed")
	c.Fields = append(c.Fields, &schema.Field{Name: "n", Type: schema.TypeNumber})
	wantSame("field added")
	c.Fields[len(c.Fields)-1] = &schema.Field{Name: "n", Type: schema.TypeBool}
	wantSame("field replaced")
	c.Name = "memos"
	wantSame("collection renamed")

	c.Fields = append(c.Fields, &schema.Field{Name: "bad name", Type: schema.TypeText})
	if _, err := tc.tableOf(c); err == nil {
		t.Error("invalid field name: no error")
	}
}

func TestTableCacheIsBounded(t *testing.T) {
	t.Parallel()
	tc := newTableCache()
	for range tableCacheSize + 10 {
		if _, err := tc.tableOf(schema.NewCollection(schema.TypeBase, "notes", nil)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(tc.entries); n > tableCacheSize {
		t.Errorf("cache holds %d layouts, want at most %d", n, tableCacheSize)
	}
}
