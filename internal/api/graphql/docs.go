package graphql

import (
	"sync"

	"github.com/graphql-go/graphql/language/ast"
)

// maxCachedDocs bounds the validated documents kept per schema: clients
// send a few distinct queries many times.
const maxCachedDocs = 512

// maxCachedQuery is the longest query text cached.
const maxCachedQuery = 8 << 10

// docCache keeps parsed documents that passed validation, by query text.
// Execution only reads documents, so one may serve concurrent requests.
// When full it starts over: simple, and a working set larger than the
// cache costs what no cache costs.
type docCache struct {
	mu   sync.Mutex
	max  int
	docs map[string]*ast.Document
}

func newDocCache(max int) *docCache {
	return &docCache{max: max, docs: make(map[string]*ast.Document)}
}

func (c *docCache) get(query string) (*ast.Document, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.docs[query]
	return d, ok
}

func (c *docCache) put(query string, d *ast.Document) {
	if len(query) > maxCachedQuery {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.docs) >= c.max {
		clear(c.docs)
	}
	c.docs[query] = d
}
