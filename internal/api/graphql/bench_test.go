package graphql_test

import (
	"fmt"
	"testing"

	"github.com/basalt-dev/basalt/internal/api/graphql"
)

// BenchmarkList is a page of 30 posts with their authors (every field) over GraphQL and
// the same page over REST with expand=author, in process over loopback.
func BenchmarkList(b *testing.B) {
	e := newEnv(b, graphql.DefaultLimits())
	for i := 0; i < 30; i++ {
		e.post(map[string]any{"title": fmt.Sprint("p", i), "published": true, "author": e.ids["alice"]})
	}
	q := `{ postsList(perPage: 30) { page perPage totalItems totalPages items { id collectionId collectionName title body views published meta when authorId tagsIds author { id collectionId collectionName name avatar emailVisibility verified created updated } } } }`
	b.Run("graphql", func(b *testing.B) {
		for b.Loop() {
			if res := e.do("", q, nil); len(res.Errors) > 0 {
				b.Fatal(res.raw)
			}
		}
	})
	b.Run("rest-expand", func(b *testing.B) {
		for b.Loop() {
			e.rest("", "/api/collections/posts/records?perPage=30&expand=author")
		}
	})
}
