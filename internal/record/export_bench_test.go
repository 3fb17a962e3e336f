package record_test

import (
	"encoding/json"
	"testing"

	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// benchPost is a typical record of the load benchmark's posts collection,
// with a multi-valued select and a JSON field besides.
func benchPost() *record.Item {
	c := schema.NewCollection(schema.TypeBase, "posts", nil)
	c.ID = "pbc_posts"
	c.Fields = append(c.Fields,
		&schema.Field{ID: "t", Name: "title", Type: schema.TypeText},
		&schema.Field{ID: "b", Name: "body", Type: schema.TypeText},
		&schema.Field{ID: "v", Name: "views", Type: schema.TypeNumber, OnlyInt: true},
		&schema.Field{ID: "p", Name: "published", Type: schema.TypeBool},
		&schema.Field{ID: "g", Name: "tags", Type: schema.TypeSelect, MaxSelect: 3, Values: []string{"go", "db", "web"}},
		&schema.Field{ID: "m", Name: "meta", Type: schema.TypeJSON},
	)
	c.Fields = append(c.Fields, schema.AutodateFields(false)...)
	r := schema.NewRecord(c)
	r.Data["id"] = "a1b2c3d4e5f6g7h"
	r.Data["title"] = "Post number 4711"
	r.Data["body"] = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt ut labore."
	r.Data["views"] = 512.0
	r.Data["published"] = true
	r.Data["tags"] = []string{"go", "db"}
	r.Data["meta"] = json.RawMessage(`{"source":"import","score":0.75}`)
	r.Data["created"] = "2024-05-01 10:00:00.000Z"
	r.Data["updated"] = "2024-05-02 11:30:00.000Z"
	return &record.Item{Record: r}
}

// BenchmarkExport measures turning a record into its client JSON: Export
// alone, and Export followed by json.Marshal.
func BenchmarkExport(b *testing.B) {
	it := benchPost()
	b.Run("export", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = record.Export(it, nil)
		}
	})
	b.Run("export+marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(record.Export(it, nil)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
