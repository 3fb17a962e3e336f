package filter

import (
	"container/list"
	"sync"
)

// Cache remembers parsed filters by their source text, so a filter used on
// every request (a collection rule, a popular query) is parsed once. It holds
// at most a fixed number of filters and drops the least recently used one
// when full. Parse errors are not cached. A Cache is safe for concurrent use;
// the zero value is not usable, call [NewCache].
type Cache struct {
	mu    sync.Mutex
	size  int
	order *list.List // front: most recently used; values are *cacheEntry
	index map[string]*list.Element
}

type cacheEntry struct {
	src  string
	expr Expr
}

// NewCache returns a cache holding at most size parsed filters (at least 1).
func NewCache(size int) *Cache {
	return &Cache{size: max(size, 1), order: list.New(), index: map[string]*list.Element{}}
}

// Parse returns the parsed form of src, parsing it only if it is not cached.
func (c *Cache) Parse(src string) (Expr, error) {
	c.mu.Lock()
	if el, ok := c.index[src]; ok {
		c.order.MoveToFront(el)
		e := el.Value.(*cacheEntry).expr
		c.mu.Unlock()
		return e, nil
	}
	c.mu.Unlock()

	e, err := Parse(src)
	if err != nil {
		return nil, err
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[src]; ok { // parsed concurrently
		c.order.MoveToFront(el)
		return el.Value.(*cacheEntry).expr, nil
	}
	c.index[src] = c.order.PushFront(&cacheEntry{src: src, expr: e})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.index, last.Value.(*cacheEntry).src)
	}
	return e, nil
}

// Len returns the number of cached filters.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
