package record

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/basalt-dev/basalt/internal/schema"
)

// ReadCache keeps the records that public reads found, so that repeated
// views and list pages of collections whose rule lets everyone read (an
// empty rule) skip the database. It serves only what the store holds now:
// every entry carries the store version (a count of ended write
// transactions, see package store/versioned) read before its query, and
// the whole cache is dropped as soon as the version moves. A client that
// got a write acknowledged therefore never reads an older copy, and no
// rule is bypassed: only reads whose rule adds no condition are cached,
// and what a client may see of a record (hidden fields, email visibility,
// expand) is still decided per request from the cached record.
//
// The version counts this process's writes only: use a ReadCache only when
// no other process writes the database (SQLite), never for replicas.
// System collections are never cached, since `basalt superuser upsert`
// may write _superusers from another process while the server runs.
type ReadCache struct {
	version func() uint64
	max     int // records held at most, over all entries

	mu    sync.RWMutex
	at    uint64 // the version the entries belong to
	held  int
	views map[viewKey]cachedView
	lists map[listKey]cachedPage

	hits, misses atomic.Uint64
}

type viewKey struct{ collection, id string }

// listKey is everything a public list page depends on. Superusers get
// their own entries: they may filter and sort on hidden fields.
type listKey struct {
	collection, filter, sort string
	page, perPage            int
	skipTotal, superuser     bool
}

// cachedPage is a page of records and its total (-1: not counted). In the
// cache, memos holds a Memo per record.
type cachedPage struct {
	records []*schema.Record
	memos   []*Memo
	total   int64
}

type cachedView struct {
	record *schema.Record
	memo   *Memo
}

// NewReadCache returns a cache of at most maxRecords records, for a store
// whose write version is read by version.
func NewReadCache(version func() uint64, maxRecords int) *ReadCache {
	return &ReadCache{version: version, max: maxRecords,
		views: map[viewKey]cachedView{}, lists: map[listKey]cachedPage{}}
}

// Stats returns the number of lookups that found an entry and that did not.
func (c *ReadCache) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// fresh returns the current version, dropping every entry of an older one.
func (c *ReadCache) fresh() uint64 {
	v := c.version()
	c.mu.RLock()
	stale := c.at != v
	c.mu.RUnlock()
	if stale {
		c.mu.Lock()
		if c.at != v {
			c.dropLocked(v)
		}
		c.mu.Unlock()
	}
	return v
}

func (c *ReadCache) dropLocked(v uint64) {
	clear(c.views)
	clear(c.lists)
	c.at, c.held = v, 0
}

func (c *ReadCache) count(hit bool) {
	if hit {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
}

// view returns the cached record id of collection (a zero cachedView if
// none) and the version to store a fresh one under.
func (c *ReadCache) view(collection, id string) (cachedView, uint64) {
	v := c.fresh()
	c.mu.RLock()
	cv := c.views[viewKey{collection, id}]
	c.mu.RUnlock()
	c.count(cv.record != nil)
	return cv, v
}

// putView keeps cv, read at version v.
func (c *ReadCache) putView(v uint64, collection string, cv cachedView) {
	c.put(v, 1, func() { c.views[viewKey{collection, cv.record.ID()}] = cv })
}

func (c *ReadCache) list(k listKey) (cachedPage, bool, uint64) {
	v := c.fresh()
	c.mu.RLock()
	p, ok := c.lists[k]
	c.mu.RUnlock()
	c.count(ok)
	return p, ok, v
}

func (c *ReadCache) putList(v uint64, k listKey, p cachedPage) {
	c.put(v, max(1, len(p.records)), func() { c.lists[k] = p })
}

// put runs add for an entry of n records read at version v, unless a write
// has ended since (the entry may be stale) or the entry is too large.
// A full cache first evicts entries picked at random, a sixteenth of its
// bound beyond what the new entry needs: hot entries mostly stay, and a
// working set slightly larger than the cache still mostly hits.
func (c *ReadCache) put(v uint64, n int, add func()) {
	if n > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at != v || c.version() != v {
		return
	}
	if c.held+n > c.max {
		c.evictLocked(c.held + n - c.max + c.max/16)
	}
	c.held += n
	add()
}

// evictLocked drops entries until at least need records are freed (or the
// cache is empty), a list page and a view in turn, each picked at random
// (map iteration starts at a random entry).
func (c *ReadCache) evictLocked(need int) {
	for freed := 0; freed < need && (len(c.lists) > 0 || len(c.views) > 0); {
		for k, p := range c.lists {
			n := max(1, len(p.records))
			freed, c.held = freed+n, c.held-n
			delete(c.lists, k)
			break
		}
		for k := range c.views {
			freed, c.held = freed+1, c.held-1
			delete(c.views, k)
			break
		}
	}
}

// publicRule reports whether rule lets everyone read without a condition.
func publicRule(rule *string) bool { return rule != nil && strings.TrimSpace(*rule) == "" }
