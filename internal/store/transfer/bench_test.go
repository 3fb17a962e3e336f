package transfer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/transfer"
)

// BenchmarkCopy copies 20,000 records (text, number, bool, json, select)
// from SQLite into a fresh PostgreSQL database per iteration, then
// verifies the copy, and reports records per second of each phase.
//
//	go test -run '^$' -bench Copy -benchtime 3x ./internal/store/transfer
func BenchmarkCopy(b *testing.B) {
	const n = 20000
	ctx := context.Background()
	src := openSQLite(b)
	posts := schema.NewCollection(schema.TypeBase, "posts", nil)
	posts.ID = "pbc_posts"
	tags := field(schema.TypeSelect, "tags")
	tags.MaxSelect, tags.Values = 3, []string{"a", "b", "c"}
	posts.Fields = append(posts.Fields, field(schema.TypeText, "title"), field(schema.TypeNumber, "score"),
		field(schema.TypeBool, "draft"), field(schema.TypeJSON, "meta"), tags)
	posts.Fields = append(posts.Fields, schema.AutodateFields(false)...)
	if err := src.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateCollection(ctx, posts); err != nil {
			return err
		}
		for i := range n {
			r := schema.NewRecord(posts)
			r.Data["id"] = fmt.Sprintf("p%014d", i)
			r.Data["title"], r.Data["score"], r.Data["draft"] = fmt.Sprintf("Post number %d with a title", i), float64(i), i%2 == 0
			r.Data["meta"] = json.RawMessage(fmt.Sprintf(`{"n":%d,"tags":["x","y"]}`, i))
			r.Data["tags"] = []string{"a", "c"}
			r.Data["created"], r.Data["updated"] = "2024-02-02 00:00:00.000Z", "2024-02-03 00:00:00.000Z"
			if err := tx.InsertRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	var copyNS, verifyNS int64
	for b.Loop() {
		b.StopTimer()
		dst := targets[1].open(b)
		b.StartTimer()
		start := b.Elapsed()
		if _, err := transfer.Copy(ctx, src, dst, transfer.Options{}); err != nil {
			b.Fatal(err)
		}
		mid := b.Elapsed()
		rep, err := transfer.Verify(ctx, src, dst, transfer.Options{})
		if err != nil || !rep.OK() {
			b.Fatalf("verify: %v %+v", err, rep)
		}
		copyNS += int64(mid - start)
		verifyNS += int64(b.Elapsed() - mid)
	}
	b.ReportMetric(float64(n)*float64(b.N)/(float64(copyNS)/1e9), "copied-records/s")
	b.ReportMetric(float64(n)*float64(b.N)/(float64(verifyNS)/1e9), "verified-records/s")
}
